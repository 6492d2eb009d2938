"""A live figure of training curves that a training run updates, as `lnviz.train.train`'s callback.

`LiveCurves` holds a FigureWidget built once by `training_curves_figure` and applies
`training_curves_update` in place each time it is called. Both builders live in
`lnviz.figures.training` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from lnviz.figures.core import apply
from lnviz.figures.training import METRICS, X_AXES, training_curves_figure, training_curves_update
from lnviz.train import History

__all__ = ["METRICS", "X_AXES", "LiveCurves", "training_curves_figure", "training_curves_update"]


class LiveCurves:
    """A FigureWidget of training curves that a run updates in place, as `train`'s callback.

    One run: `live = LiveCurves("layer")`, display `live.figure`, then
    `train(..., callback=live)`. Several runs in one figure: `live = LiveCurves(["none", "layer"])`
    and `train(..., callback=live.callback("none"))`, and so on. Runs not yet trained draw as empty.
    The figure is built once; each call replaces only its traces' data, inside one batch update.
    """

    def __init__(self, labels: str | Sequence[str], x: str = "examples",
                 metrics: Sequence[str] = ("train_loss", "val_error")) -> None:
        labels = [labels] if isinstance(labels, str) else list(labels)
        self.x = x
        self.metrics = tuple(metrics)
        # A placeholder history per label: the figure gets all its traces now and only data later.
        self.histories: dict[str, History] = {label: History(batch_size=0, loss="") for label in labels}
        self.figure = go.FigureWidget(training_curves_figure(self.histories, x, self.metrics))

    def __call__(self, history: History, label: str | None = None) -> None:
        """Draw `history` as the run `label` (may be omitted when the figure has a single run)."""
        if label is None:
            if len(self.histories) != 1:
                raise ValueError(
                    f"LiveCurves with runs {list(self.histories)} expected a label; "
                    "pass callback=live.callback(label) to train"
                )
            label = next(iter(self.histories))
        if label not in self.histories:
            raise ValueError(f"LiveCurves expected a label among {list(self.histories)}, got {label!r}")
        self.histories[label] = history
        apply(self.figure, training_curves_update(self.histories, self.x, self.metrics))

    def callback(self, label: str) -> Callable[[History], None]:
        """A callback for `train` that draws its run as `label`."""
        if label not in self.histories:
            raise ValueError(f"LiveCurves expected a label among {list(self.histories)}, got {label!r}")
        return lambda history: self(history, label)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.figure)
