"""Notebooks 4 and 5: the training figures show the right numbers, and the panels' Run path trains
the models and updates the figure in place."""

from __future__ import annotations

import functools
import math

import plotly.graph_objects as go
import pytest
import torch
from panel_examples import batch_size_example, rnn_training_example

from lnviz import rnn_training, runs, style, tasks
from lnviz.figures import (
    batch_size_figure,
    batch_size_update,
    model_marker,
    model_style,
    read_at,
    target_loss_figure,
    target_loss_update,
)
from lnviz.nn import functional
from lnviz.nn.models import SequenceClassifier
from lnviz.panels import BatchSizePanel, RNNTrainingPanel
from lnviz.train import History

# tiny models: one thread is faster, and much faster on a busy machine (fixture in conftest.py)
pytestmark = pytest.mark.usefixtures("one_thread")


def history(
    losses: list[float], batch_size: int = 4, accuracy: list[float] | None = None, interrupted: bool = False
) -> History:
    steps = [10 * (i + 1) for i in range(len(losses))]
    return History(
        batch_size=batch_size,
        loss="cross_entropy",
        step=steps,
        examples=[s * batch_size for s in steps],
        train_loss=list(losses),
        val_loss=[2 * v for v in losses],
        val_accuracy=accuracy or [0.5] * len(losses),
        wall_time=[0.1 * s for s in steps],
        grad_norm=[1.0] * len(losses),
        interrupted=interrupted,
    )


# ----------------------------------------------------------------------------------------------------
# Notebook 4's figure
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def race() -> dict[str, History | None]:
    return {"LSTM": history([2.0, 1.5, 1.0]), "LN-LSTM": history([1.5, 0.9, 0.6]), "BN-LSTM": None}


def test_target_figure_marks_where_each_model_reaches_the_target(race):
    fig = target_loss_figure(race, target=1.0, metric="val_loss", x="step")
    assert len(fig.data) == 3 * 3 + 2
    lstm_loss, lstm_hit, lstm_metric, ln_loss, ln_hit, _, bn_loss, *_ = fig.data
    assert list(lstm_loss.y) == [2.0, 1.5, 1.0] and list(lstm_metric.y) == [4.0, 3.0, 2.0]
    assert list(lstm_hit.x) == [30] and list(ln_hit.x) == [20] and list(ln_hit.y) == [1.0]
    assert bn_loss.visible is False  # an empty slot draws nothing, not even a legend entry
    target_line, bars = fig.data[-2], fig.data[-1]
    assert list(target_line.y) == [1.0, 1.0] and list(target_line.x) == [0, 30]
    assert list(bars.y) == ["LSTM", "LN-LSTM"] and list(bars.x) == [30, 20]
    assert "LSTM 30 steps, LN-LSTM 20 steps" in fig.layout.title.text


def test_a_model_that_never_reaches_the_target_gets_a_faint_full_length_bar(race):
    bars = target_loss_figure(race, target=0.9, x="wall_time").data[-1]
    assert list(bars.x) == [3.0, 2.0]  # the LSTM's whole run, the LN-LSTM's reach, in seconds
    assert list(bars.marker.opacity) == [0.25, 1.0]
    assert bars.text[0] == "not reached" and bars.text[1] == "2.0 s"
    assert "LSTM not reached in 3.0 s, LN-LSTM 2.0 s" in target_loss_figure(race, 0.9, x="wall_time").layout.title.text


def test_target_update_switches_metric_and_axis_titles(race):
    update = target_loss_update(race, 1.0, metric="val_error", x="wall_time")
    assert update.traces[2]["y"] == [0.5, 0.5, 0.5]  # 1 - accuracy
    assert update.traces[0]["x"] == pytest.approx([1.0, 2.0, 3.0])
    assert update.layout["xaxis"]["title"] == "seconds of training"
    assert update.layout["yaxis2"] == {"title": "validation error", "tickformat": ".0%"}
    fig = target_loss_figure(race, 1.0, metric="val_error", x="wall_time")
    assert [list(t.y) if t.y is not None else [] for t in fig.data] == [list(t.get("y", [])) for t in update.traces]


def test_interrupted_runs_say_so(race):
    race["LSTM"] = history([2.0, 1.5], interrupted=True)
    assert "interrupted" in target_loss_figure(race, 1.0).data[0].name


def test_diverged_runs_say_where_in_words_and_keep_their_finite_curve(race):
    race["LN-LSTM"] = History(**{**history([1.5, 0.9]).to_dict(), "diverged_at": 27})
    race["BN-LSTM"] = History(batch_size=4, loss="cross_entropy", diverged_at=3)  # before its first record
    fig = target_loss_figure(race, target=1.0)
    ln_loss, ln_hit, _, bn_loss = fig.data[3:7]
    assert list(ln_loss.y) == [1.5, 0.9] and "diverged" in ln_loss.name
    assert list(ln_hit.x) == []  # a diverged run reaches no target, even one it passed on the way
    assert bn_loss.visible is True and list(bn_loss.y) == []
    bars = fig.data[-1]
    assert list(bars.y) == ["LSTM", "LN-LSTM", "BN-LSTM"]
    assert list(bars.text) == ["30 steps", "diverged at step 27", "diverged at step 3"]
    assert list(bars.marker.opacity) == [1.0, 0.25, 0.25]
    title = fig.layout.title.text
    assert "LN-LSTM at step 27, BN-LSTM at step 3" in title and "lower the learning rate" in title
    assert "diverged" not in target_loss_figure({"LSTM": race["LSTM"]}, 1.0).layout.title.text


def _contrast(text: str, bar: str, opacity: float) -> float:
    """WCAG contrast ratio of `text` ("black" or "white") on a bar of `bar` ("#rrggbb") at `opacity` on white."""

    def luminance(rgb):
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    shown = luminance([opacity * int(bar[i : i + 2], 16) / 255 + 1 - opacity for i in (1, 3, 5)])
    written = {"black": 0.0, "white": 1.0}[text]
    return (max(shown, written) + 0.05) / (min(shown, written) + 0.05)


def test_bar_texts_are_readable_on_faint_and_full_bars(race):
    """A faint bar ("not reached", "diverged") of a dark colour is pale: white text on it was unreadable."""
    race["BN-LSTM"] = history([2.0, 1.9, 1.8])  # batch norm's blue, faint: it never reaches 1.0
    bars = target_loss_figure(race, target=1.0).data[-1]
    assert list(bars.marker.opacity) == [1.0, 1.0, 0.25] and bars.text[2] == "not reached"
    for color, opacity, text in zip(bars.marker.color, bars.marker.opacity, bars.insidetextfont.color):
        assert _contrast(text, color, opacity) >= 4.5, (color, opacity, text)  # WCAG AA for normal text
    assert bars.insidetextfont.color[2] == "black"
    assert bars.outsidetextfont.color == "black"  # outside a bar: on the white background


def test_the_divergence_lines_fit_a_projectors_figure():
    """The figure is about 590 px wide beside the file browser: TITLE_CHARS characters a line."""
    from lnviz.figures.rnn_training import TITLE_CHARS

    gone = {name: History(**{**history([1.5, 0.9]).to_dict(), "diverged_at": 1234}) for name in rnn_training.MODELS}
    title = target_loss_figure(gone, target=1.0).layout.title.text
    lines = title.split("<br>")
    warning = lines[next(i for i, line in enumerate(lines) if line.startswith("diverged: ")) :]
    assert len(warning) >= 3 and all(len(line) <= TITLE_CHARS for line in warning), warning
    assert all(f"{name} at step 1234" in " ".join(warning) for name in rnn_training.MODELS)
    assert "lower the learning rate" in warning[-1]


def test_model_style_takes_the_colour_of_the_normalization():
    assert model_style("LN-LSTM") == dict(color=style.METHOD_COLORS["layer"], dash="solid")
    assert model_style("LSTM")["color"] == style.METHOD_COLORS["none"]
    assert model_style("BN-RNN") == dict(color=style.METHOD_COLORS["batch"], dash="dash")


def test_model_marker_takes_the_symbol_of_the_normalization():
    # LSTM and LN-LSTM share a dash: their symbols tell them apart without colour
    assert model_marker("LSTM")["symbol"] == style.METHOD_SYMBOLS["none"]
    assert model_marker("LN-LSTM")["symbol"] == style.METHOD_SYMBOLS["layer"]
    assert model_marker("BN-RNN")["color"] == style.METHOD_COLORS["batch"]


# ----------------------------------------------------------------------------------------------------
# Notebook 5's figure
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def figure6() -> dict[tuple[str, int], History | None]:
    return {
        ("none", 16): history([1.0, 0.8], 16, [0.8, 0.85]),
        ("batch", 16): history([0.9, 0.7], 16, [0.85, 0.9]),
        ("layer", 16): history([0.9, 0.6], 16, [0.86, 0.92]),
        ("none", 1): history([1.2, 1.0], 1, [0.7, 0.75]),
        ("batch", 1): None,
        ("layer", 1): history([1.1, 0.7], 1, [0.8, 0.9]),
    }


def test_batch_size_figure_reads_every_model_at_the_same_point(figure6):
    fig = batch_size_figure(figure6, (16, 1), fraction=1.0, metric="val_error")
    # per batch size: three curves and the read-out line; then two bar traces and the legend's two keys
    assert len(fig.data) == 2 * (3 + 1) + 2 + 2
    assert list(fig.data[0].y) == pytest.approx([0.2, 0.15]) and list(fig.data[0].x) == [160, 320]
    assert list(fig.data[5].y or ()) == []  # batch norm on one case: nothing trained
    bars16, bars1 = fig.data[8], fig.data[9]
    assert list(bars16.y) == pytest.approx([0.15, 0.1, 0.08])
    assert list(bars1.y) == pytest.approx([0.25, None, 0.1])  # no bar where nothing could train
    assert [b.name for b in (bars16, bars1)] == ["batch 16", "batch 1"]
    assert "batch 1: no normalization 25.0%, batch norm n/a (needs 2+ cases), layer norm 10.0%" in (
        fig.layout.title.text
    )
    lines = fig.data[3], fig.data[7]
    assert [list(line.x) for line in lines] == [[320, 320], [20, 20]]
    assert list(lines[0].y) == pytest.approx([0.0, 0.2])  # from 0 to the highest curve of its subplot


def test_batch_size_figure_writes_n_a_where_batch_norm_cannot_train(figure6):
    fig = batch_size_figure(figure6, (16, 1))
    marks = [a for a in fig.layout.annotations if a.text == "n/a"]
    shown = [a for a in marks if a.visible]
    assert len(marks) == 2 * 3 and len(shown) == 1  # a mark per slot, shown at batch norm's at batch size 1
    # batch norm is the second group (category 1), batch size 1 its second bar: right of the group's centre
    assert 1.0 < shown[0].x < 1.5 and shown[0].xref == "x3" and shown[0].y == 0
    # batch norm trains at both sizes: no mark
    figure6[("batch", 1)] = figure6[("batch", 16)]
    assert not any(a.visible for a in batch_size_figure(figure6, (16, 4)).layout.annotations if a.text == "n/a")


def test_batch_size_figure_legend_says_which_bars_are_which_batch_size(figure6):
    fig = batch_size_figure(figure6, (16, 1))
    keys = [t for t in fig.data if t.type == "bar" and t.showlegend is not False]
    assert [k.name for k in keys] == ["bars: batch 16", "bars: batch 1"]
    bars = [t for t in fig.data if t.type == "bar" and t.showlegend is False]
    # each key is hatched like its batch size's bars, and sits in their offset group (no slot of its own)
    assert [k.marker.pattern.shape for k in keys] == [b.marker.pattern.shape for b in bars]
    assert len({k.marker.pattern.shape for k in keys}) == 2
    assert [k.offsetgroup for k in keys] == [b.offsetgroup for b in bars]


def test_batch_size_figure_before_any_run_says_so():
    empty = {(norm, batch): None for batch in (128, 4) for norm in ("none", "batch", "layer")}
    fig = batch_size_figure(empty, (128, 4))
    assert "batch 128: not trained yet<br>batch 4: not trained yet" in fig.layout.title.text
    assert not any(a.visible for a in fig.layout.annotations if a.text == "n/a")


def test_batch_size_update_reads_earlier_and_in_other_units(figure6):
    update = batch_size_update(figure6, (16, 1), fraction=0.3, metric="val_loss", x="step")
    assert update.traces[8]["y"] == pytest.approx([2.0, 1.8, 1.8])  # the first record of each
    assert update.traces[0]["x"] == [10, 20]
    assert [update.traces[i]["x"] for i in (3, 7)] == [[10, 10], [10, 10]]
    assert update.layout["yaxis"]["tickformat"] == ""


def test_read_at_takes_the_nearest_record():
    h = history([4.0, 3.0, 2.0, 1.0])
    assert read_at(h, 0.5, "train_loss", x="step") == (20.0, 3.0)
    assert read_at(h, 0.7, "train_loss", x="examples") == (120.0, 2.0)  # 112 examples: nearest is 120
    assert read_at(h, 1.0, "val_error", x="step") == (40.0, 0.5)


# ----------------------------------------------------------------------------------------------------
# The panels: Run trains, the figure follows in place, settings alone draw nothing
# ----------------------------------------------------------------------------------------------------


def snapshot(panel) -> list:
    return [t.to_plotly_json() for t in panel.figure.data]


def test_rnn_panel_run_updates_its_figure_in_place():
    panel = RNNTrainingPanel(
        val_size=32,
        task="sequential_mnist",
        pixels_per_step=112,
        models=("LSTM", "LN-LSTM"),
        hidden_size=16,
        batch_size=8,
        steps=20,
    )
    figure = panel.figure
    assert all(h is None for h in panel.histories.values()) and not panel.figure.data[0].visible
    seen = []
    original = panel._redraw
    panel._redraw = lambda: (original(), seen.append(len(panel.figure.data[0].y or ())))
    panel.run()
    assert panel.figure is figure
    lstm, ln = panel.histories["LSTM"], panel.histories["LN-LSTM"]
    assert len(lstm) == 10 and len(ln) == 10  # a record every 20 // RECORDS = 2 steps
    assert list(figure.data[0].y) == lstm.train_loss and list(figure.data[3].y) == ln.train_loss
    assert seen[1:11] == list(range(1, 11)), "the LSTM's curve grows record by record while it trains"
    # after an MNIST run the target is exactly the first model's final loss: no snapping to a slider's step
    target = panel.controls["target"]
    assert target.value == lstm.train_loss[-1]
    # the slider's readout, the title and the marker say the same number
    assert target.options[target.index] == (target.label, target.value) and target.label == f"{target.value:.3g}"
    assert f"time to reach training loss {target.label}:" in figure.layout.title.text
    assert list(figure.data[-2].y) == [target.value] * 2
    assert panel.progress.value == panel.progress.max == 40
    assert not panel.run_button.disabled and panel.run_button.description == "Run"
    assert torch.get_num_threads() == 1  # restored to what the fixture set


def test_a_learning_rate_far_too_high_stops_the_model_that_diverges_says_so_and_trains_the_others():
    # Adam moves every weight by about lr per step: at 1e12 the LN-LSTM's layer norms overflow within
    # two steps, while the plain RNN's tanh saturates and its (huge) loss stays finite.
    panel = RNNTrainingPanel(
        val_size=32,
        task="sequential_mnist",
        pixels_per_step=112,
        models=("LN-LSTM", "RNN"),
        hidden_size=16,
        batch_size=8,
        steps=20,
    )
    panel.settings["lr"].max = 12  # the slider's range is 1e-4 to 1e-1: widened for the test
    panel.settings["lr"].value = 1e12
    panel.run()
    ln, rnn = panel.histories["LN-LSTM"], panel.histories["RNN"]
    assert ln.diverged and ln.diverged_at < 20 and len(ln) < 10
    assert not rnn.diverged and rnn.step[-1] == 20, "the model after the diverged one still trains"
    words = f"LN-LSTM at step {ln.diverged_at}"
    assert words in panel.figure.layout.title.text and "lower the learning rate" in panel.figure.layout.title.text
    assert words in panel.status.value
    numbers = [v for t in snapshot(panel) for key in ("x", "y") for v in (t.get(key) or ()) if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)
    assert panel.progress.value == panel.progress.max == 40


@pytest.mark.parametrize("pixels_per_step", [14, 7, 4])
def test_the_ln_rnn_trains_on_sequential_mnist_at_the_panel_defaults_where_a_zero_state_made_it_nan(pixels_per_step):
    """Notebook 4's worst cases: the LN-RNN on sequential MNIST at 14, 7 and 4 pixels per step. From a
    zero state the blank top rows give a constant summed input (eq. (4)) and the loss is NaN within
    three steps; the models' default initial state trains on."""
    d = RNNTrainingPanel.DEFAULTS
    task = rnn_training.rnn_task("sequential_mnist", pixels_per_step)
    steps = 10
    zero_state = functools.partial(
        SequenceClassifier, "rnn", "layer", task.input_size, d["hidden_size"], 10, initial_state="zeros", state_noise=0
    )
    settings = dict(steps=steps, batch_size=d["batch_size"], lr=d["lr"], seed=d["seed"], val_size=32, progress=False)
    old = runs.run(zero_state, task, clip_grad_norm=1.0, eval_every=steps, **settings)
    assert old.diverged_at is not None and old.diverged_at <= steps
    new = rnn_training.train_model(
        "LN-RNN", task, d["hidden_size"], steps, d["batch_size"], d["lr"], d["seed"], records=steps, val_size=32
    )
    assert not new.diverged and len(new) == steps
    assert all(math.isfinite(v) for v in new.train_loss + new.grad_norm + new.val_loss)


def test_the_bn_lstm_trains_on_sequential_mnist_at_4_pixels_per_step_at_the_panel_defaults():
    """From a zero state the BN-LSTM's batch variance is 0 on the blank top rows (every case is the same),
    and its loss was NaN at step 9 of this run; the noise on the default initial state makes the cases differ."""
    d = RNNTrainingPanel.DEFAULTS
    task = rnn_training.rnn_task("sequential_mnist", 4)
    steps = 10
    history = rnn_training.train_model(
        "BN-LSTM", task, d["hidden_size"], steps, d["batch_size"], d["lr"], d["seed"], records=2, val_size=32
    )
    assert not history.diverged and len(history) == 2
    assert all(math.isfinite(v) for v in history.train_loss + history.grad_norm + history.val_loss)
    assert max(history.grad_norm) < 1e3


def test_notebook_4_2_the_first_model_reaches_its_own_final_loss_at_its_last_record():
    """Section 4.2: the bars say how many steps the others need to get where the LSTM ended. With the
    target snapped to the slider's step (0.833 for a final loss of 0.9245) the LSTM "never reached" it.
    At these settings its training loss falls at every record, so it first gets there at its last one."""
    panel = RNNTrainingPanel(
        val_size=32,
        task="sequential_mnist",
        pixels_per_step=112,
        models=("LSTM", "LN-LSTM"),
        hidden_size=16,
        batch_size=32,
        lr=1e-2,
        steps=40,
    )
    panel.run()
    lstm, target, figure = panel.histories["LSTM"], panel.controls["target"], panel.figure
    assert min(lstm.train_loss) == lstm.train_loss[-1] < lstm.train_loss[-2]
    assert target.value == lstm.train_loss[-1]
    assert lstm.reach(target.value) == lstm.step[-1] == 40
    hit = figure.data[1]  # the LSTM's marker where it reaches the target
    assert list(hit.x) == [40] and list(hit.y) == [target.value]
    assert figure.data[-1].y[0] == "LSTM" and figure.data[-1].text[0] == "40 steps"
    title = figure.layout.title.text
    assert f"time to reach training loss {target.label}:" in title and "LSTM 40 steps" in title
    assert "not reached" not in figure.data[-1].text[0]


def test_a_target_the_rnn_panel_sets_is_kept_and_offered_once():
    panel = RNNTrainingPanel(val_size=32, task="sequential_mnist", pixels_per_step=112, hidden_size=16, steps=20)
    target = panel.controls["target"]
    labels = [label for label, _ in target.options]
    assert len(set(labels)) == len(labels) == len(RNNTrainingPanel.TARGETS)  # one label per offered value
    panel._fit_target(0.9245)
    assert target.value == 0.9245 and target.label in ("0.924", "0.925")
    assert len(target.options) == len(labels) + 1
    panel._fit_target(tasks.ADDING_CONSTANT_MSE / 2)  # reads as an offered value: it takes that one's place
    assert target.value == tasks.ADDING_CONSTANT_MSE / 2 and [label for label, _ in target.options] == labels
    panel._fit_target(50.0)  # beyond the offered range: its end
    assert target.value == max(v for _, v in target.options) == RNNTrainingPanel.TARGETS[-1]


def test_every_model_shows_and_no_description_is_cut_off():
    """The browser cuts a description longer than STYLE's 150 px off ("adding: sequence le..."): about 18
    characters of its 13 px font fit. A shortened description keeps its full wording in a tooltip."""
    panel = RNNTrainingPanel(val_size=32, steps=20)
    assert panel.settings["models"].rows == len(rnn_training.MODELS) == len(panel.settings["models"].options)
    for name, widget in {**panel.controls, **panel.settings}.items():
        assert len(widget.description) <= 18, (name, widget.description)
    assert panel.settings["length"].description == "sequence length"
    assert panel.settings["length"].tooltip == "adding problem: sequence length"
    assert panel.settings["pixels_per_step"].tooltip == "sequential MNIST: pixels per step"
    assert "Adam" in panel.settings["lr"].tooltip


def test_settings_draw_nothing_until_run():
    panel = rnn_training_example()
    before = snapshot(panel)
    panel.settings["lr"].value = 0.05
    panel.settings["steps"].value = 500
    panel.settings["task"].value = "adding"
    assert snapshot(panel) == before
    assert panel.settings["length"].disabled is False and panel.settings["pixels_per_step"].disabled is True


def test_the_notebook_4_default_shows_ln_lstm_leaving_the_plateau_first():
    """Notebook 4, section 4.1: at the default setting (seed 0) the LN-LSTM gets below half the constant
    guess's MSE within the run, and the LSTM does not."""
    panel = RNNTrainingPanel(val_size=100)
    panel.run()
    target = tasks.ADDING_CONSTANT_MSE / 2
    assert panel.controls["target"].value == target  # exactly, as the printout of section 4.1 says
    assert panel.histories["LN-LSTM"].reach(target) is not None
    assert panel.histories["LSTM"].reach(target) is None


def test_batch_size_panel_runs_every_norm_at_both_sizes_on_the_same_examples():
    panel = BatchSizePanel(large_batch=32, small_batch=1, examples=320, width=16)
    figure = panel.figure
    panel.run()
    assert panel.figure is figure
    assert panel.histories[("batch", 1)] is None  # batch norm cannot train on one case
    trained = {k: h for k, h in panel.histories.items() if h is not None}
    assert len(trained) == 5
    assert all(h.examples == [32 * i for i in range(1, 11)] for h in trained.values())
    assert [h.step[-1] for h in trained.values()] == [10, 10, 10, 320, 320]
    assert figure.layout.annotations[1].text == "batch size 1"
    shown = [a.x for a in figure.layout.annotations if a.text == "n/a" and a.visible]
    assert len(shown) == 1 and 1.0 < shown[0] < 1.5  # batch norm's slot at batch size 1
    assert "batch norm n/a" in figure.layout.title.text
    assert panel.progress.value == panel.progress.max == 5 * 320


def test_panels_refuse_unknown_settings():
    with pytest.raises(ValueError, match="expected settings among"):
        RNNTrainingPanel(epochs=3)
    with pytest.raises(ValueError, match="expected settings among"):
        BatchSizePanel(batch=3)


def test_example_panels_have_finite_curves_that_the_controls_move():
    for panel in (rnn_training_example(), batch_size_example()):
        data = snapshot(panel)
        numbers = [v for t in data for key in ("x", "y") for v in (t.get(key) or ()) if isinstance(v, float)]
        assert numbers and all(math.isfinite(v) for v in numbers)
        name = "target" if "target" in panel.controls else "fraction"
        control = panel.controls[name]
        control.value = control.min if name == "fraction" else control.options[0][1]  # the lowest target
        assert snapshot(panel) != data
        assert isinstance(panel.figure, go.FigureWidget)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_norms_trouble_at_a_batch_of_four_is_not_one_seeds_luck(seed):
    """What section 5.1 of notebook 5 shows for its default run also holds on a tiny setting
    (784-32-32-10, 1,280 examples) for other seeds: at batch size 4 batch norm's test error is well
    above layer norm's and well above its own at batch size 64; layer norm's changes far less."""
    task = tasks.common_order(tasks.make_task("mnist", n_train=2000, n_test=500), (64, 4))
    error = {}
    for norm in ("batch", "layer"):
        for batch, lr in ((64, 3e-3), (4, 3e-4)):
            steps, every = runs.schedule(1_280, batch, 4)
            h = runs.run(
                runs.mlp_model(task, norm, (32, 32)),
                task,
                steps=steps,
                batch_size=batch,
                lr=lr,
                seed=seed,
                eval_every=every,
                val_size=None,
                progress=False,
            )
            error[norm, batch] = 1 - h.val_accuracy[-1]
    assert error["batch", 4] > error["layer", 4] + 0.05
    assert error["batch", 4] - error["batch", 64] > abs(error["layer", 4] - error["layer", 64]) + 0.05


# ----------------------------------------------------------------------------------------------------
# Notebook 5's "what to notice", checked on the runs the lesson makes
# ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lesson_5():
    """{small batch size: the panel's histories} for the runs notebook 5 makes: section 5.1 at the
    panel's defaults (`DEFAULTS`, given explicitly: continuous integration's LNVIZ_QUICK would shorten
    them), then section 5.2's small batch of 2 and of 1, each with Run pressed again. And the panel."""
    panel = BatchSizePanel(**BatchSizePanel.DEFAULTS)
    found = {}
    for small in (panel.DEFAULTS["small_batch"], 2, 1):
        panel.settings["small_batch"].value = small
        panel.run()
        found[small] = dict(panel.histories)
    return found, panel


def test_lesson_5_runs_at_the_batch_sizes_the_notebook_names(lesson_5):
    found, panel = lesson_5
    assert BatchSizePanel.DEFAULTS["large_batch"] == 128 and BatchSizePanel.DEFAULTS["small_batch"] == 4
    assert panel.batch_sizes == (128, 1)


def _errors(histories) -> dict[tuple[str, int], float]:
    return {key: 1 - h.val_accuracy[-1] for key, h in histories.items() if h is not None}


def test_notebook_5_claim_batch_norm_loses_its_lead_at_batch_size_4(lesson_5):
    """5.1: at batch size 128 batch norm has the lowest test error; at batch size 4 its error rises,
    above layer norm's and within a point of the unnormalized net's, and layer norm's moves far less."""
    e = _errors(lesson_5[0][4])
    assert e["batch", 128] < min(e["layer", 128], e["none", 128])
    assert e["batch", 4] > e["layer", 4]
    assert abs(e["batch", 4] - e["none", 4]) < 0.01
    assert e["batch", 4] - e["batch", 128] > 2 * abs(e["layer", 4] - e["layer", 128])


def test_notebook_5_claim_batch_norms_training_loss_at_batch_4_is_the_highest(lesson_5):
    """5.1, metric "training loss": batch norm at batch size 4 ends with the highest training loss of
    the six runs."""
    final = {key: h.train_loss[-1] for key, h in lesson_5[0][4].items()}
    assert max(final, key=final.get) == ("batch", 4)


def test_notebook_5_claim_batch_norm_at_batch_4_is_least_sure_of_the_right_answers(lesson_5):
    """5.1, metric "validation loss": at batch size 4 batch norm has the highest test NLL of the three."""
    nll = {norm: lesson_5[0][4][norm, 4].val_loss[-1] for norm in BatchSizePanel.NORMS}
    assert max(nll, key=nll.get) == "batch"


def test_notebook_5_claim_batch_4_took_32_times_the_steps_and_more_seconds(lesson_5):
    histories = lesson_5[0][4]
    for norm in BatchSizePanel.NORMS:
        small, large = histories[norm, 4], histories[norm, 128]
        assert small.examples[-1] == large.examples[-1]
        assert small.step[-1] == 32 * large.step[-1]
        assert small.wall_time[-1] > large.wall_time[-1]


def test_notebook_5_claim_batch_norm_at_batch_2_errs_more_than_twice_as_often_as_layer_norm(lesson_5):
    e = _errors(lesson_5[0][2])
    assert e["batch", 2] > 2 * e["layer", 2]
    assert e["batch", 2] > _errors(lesson_5[0][4])["batch", 4]


def test_batch_norm_maps_a_batch_of_two_to_minus_one_and_plus_one():
    """5.2's reason: normalizing two numbers by their own mean and (biased) std gives -1 and +1."""
    a = torch.randn(2, 50, dtype=torch.float64)
    out = functional.batch_norm(a, None, None, training=True, eps=0.0)  # the paper's eq. (2), no eps
    assert torch.allclose(out.abs(), torch.ones_like(out))
    assert torch.allclose(out[0], -out[1])


def test_notebook_5_claim_at_batch_1_batch_norm_is_n_a_and_layer_norm_trains_as_at_128(lesson_5):
    """5.2: at batch size 1 batch norm has no run, and the read-out writes "n/a" at its slot; layer
    norm's test error ends within two points of its error at batch size 128."""
    histories, panel = lesson_5[0][1], lesson_5[1]
    assert histories["batch", 1] is None
    shown = [a for a in panel.figure.layout.annotations if a.text == "n/a" and a.visible]
    assert len(shown) == 1
    e = _errors(histories)
    assert abs(e["layer", 1] - e["layer", 128]) < 0.02
