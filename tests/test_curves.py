"""Training-curve figures: the right numbers on the right axes, and a live figure updated in place."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
import torch

from lnviz import style
from lnviz.curves import LiveCurves, training_curves_figure, training_curves_update
from lnviz.models import MLP
from lnviz.train import History, train


# tiny models: one thread is faster, and much faster on a busy machine (fixture in conftest.py)
pytestmark = pytest.mark.usefixtures("one_thread")


def history(batch_size: int, losses: list[float], accuracies: list[float], interrupted: bool = False) -> History:
    steps = [10 * (i + 1) for i in range(len(losses))]
    return History(batch_size=batch_size, loss="cross_entropy", step=steps,
                   examples=[s * batch_size for s in steps], train_loss=losses,
                   val_loss=[2 * v for v in losses], val_accuracy=accuracies,
                   wall_time=[0.1 * s for s in steps], grad_norm=[1.0] * len(losses),
                   interrupted=interrupted)


@pytest.fixture
def runs() -> dict[str, History]:
    return {"none": history(4, [2.0, 1.5, 1.2], [0.5, 0.6, 0.7]),
            "layer": history(128, [1.8, 0.9], [0.6, 0.9])}


def test_one_trace_per_run_and_metric_with_the_runs_numbers(runs):
    fig = training_curves_figure(runs, x="examples", metrics=("train_loss", "val_error"))
    assert len(fig.data) == 4
    none_loss, none_error, layer_loss, layer_error = fig.data
    assert list(none_loss.x) == [40, 80, 120] and list(layer_loss.x) == [1280, 2560]
    assert list(none_loss.y) == [2.0, 1.5, 1.2]
    assert list(layer_error.y) == pytest.approx([0.4, 0.1])  # 1 - accuracy
    assert list(none_error.y) == pytest.approx([0.5, 0.4, 0.3])
    # each metric in its own subplot
    assert none_loss.xaxis != none_error.xaxis and none_loss.xaxis == layer_loss.xaxis
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["training loss", "validation error"]


def test_x_axis_by_step(runs):
    fig = training_curves_figure(runs, x="step", metrics=("val_loss",))
    assert [list(t.x) for t in fig.data] == [[10, 20, 30], [10, 20]]
    assert [list(t.y) for t in fig.data] == [[4.0, 3.0, 2.4], [3.6, 1.8]]
    assert fig.layout.xaxis.title.text == "training step"


def test_norm_labels_get_their_method_colour_and_name(runs):
    fig = training_curves_figure(runs)
    assert fig.data[0].line.color == style.METHOD_COLORS["none"]
    assert fig.data[2].line.color == style.METHOD_COLORS["layer"]
    assert fig.data[0].name == style.METHOD_NAMES["none"]
    # the legend lists each run once; clicking it hides the run in every subplot
    assert [t.showlegend for t in fig.data] == [True, False, True, False]
    assert fig.data[0].legendgroup == fig.data[1].legendgroup != fig.data[2].legendgroup


def test_other_labels_take_palette_colours_the_methods_do_not_use():
    runs = {"layer": history(4, [1.0], [0.5]), "batch 4": history(4, [1.0], [0.5]),
            "batch 128": history(128, [1.0], [0.5])}
    colours = [t.line.color for t in training_curves_figure(runs, metrics=("train_loss",)).data]
    assert colours[0] == style.METHOD_COLORS["layer"]
    assert len(set(colours)) == 3 and set(colours) <= set(style.PALETTE)
    assert [t.name for t in training_curves_figure(runs, metrics=("train_loss",)).data][1:] == ["batch 4", "batch 128"]


def test_an_interrupted_run_says_so_in_the_legend():
    fig = training_curves_figure({"layer": history(4, [1.0], [0.5], interrupted=True)})
    assert "interrupted" in fig.data[0].name


@pytest.mark.parametrize("kwargs, message", [
    (dict(x="epoch"), r"x must be one of \('examples', 'step', 'wall_time'\), got 'epoch'"),
    (dict(metrics=("accuracy",)), "metrics must be a non-empty selection of"),
    (dict(metrics=()), "metrics must be a non-empty selection of"),
])
def test_bad_arguments_raise(runs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        training_curves_figure(runs, **kwargs)


def test_no_histories_raise():
    with pytest.raises(ValueError, match="at least one history"):
        training_curves_figure({})


def test_update_and_figure_agree(runs):
    fig = training_curves_figure(runs, metrics=("train_loss", "grad_norm"))
    update = training_curves_update(runs, metrics=("train_loss", "grad_norm"))
    assert [list(t.y) for t in fig.data] == [list(t["y"]) for t in update.traces]


@pytest.fixture(scope="module")
def blobs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g)
    y = (x[:, 0] > 0).long()
    return x[:150], y[:150], x[150:], y[150:]


def test_live_curves_update_the_same_figure_widget_in_place(blobs):
    live = LiveCurves("layer")
    figure = live.figure
    assert isinstance(figure, go.FigureWidget)
    assert [len(t.y or ()) for t in figure.data] == [0, 0]
    seen = []

    def watch(history):
        live(history)
        seen.append(list(figure.data[0].y))

    history = train(lambda: MLP(6, (8,), 2, norm="layer"), *blobs, steps=30, batch_size=16, eval_every=10,
                    progress=False, callback=watch)
    assert live.figure is figure
    assert [len(s) for s in seen] == [1, 2, 3]
    assert list(figure.data[0].y) == history.train_loss
    assert list(figure.data[0].x) == history.examples
    assert list(figure.data[1].y) == pytest.approx([1 - a for a in history.val_accuracy])


def test_live_curves_hold_several_runs(blobs):
    live = LiveCurves(["none", "batch"], metrics=("val_loss",))
    kwargs = dict(steps=20, batch_size=16, eval_every=10, progress=False)
    first = train(lambda: MLP(6, (8,), 2, norm="none"), *blobs, callback=live.callback("none"), **kwargs)
    assert list(live.figure.data[0].y) == first.val_loss and not live.figure.data[1].y
    second = train(lambda: MLP(6, (8,), 2, norm="batch"), *blobs, callback=live.callback("batch"), **kwargs)
    assert list(live.figure.data[1].y) == second.val_loss
    assert list(live.figure.data[0].y) == first.val_loss  # the first run stays drawn
    assert live.figure.data[1].line.color == style.METHOD_COLORS["batch"]


def test_live_curves_need_a_known_label():
    live = LiveCurves(["none", "batch"])
    with pytest.raises(ValueError, match="expected a label"):
        live(history(4, [1.0], [0.5]))
    with pytest.raises(ValueError, match=r"among \['none', 'batch'\], got 'layer'"):
        live.callback("layer")
