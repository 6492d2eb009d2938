"""What the training panels share (lessons 4, 5 and 7): models trained live, behind a Run button.

A training panel has two kinds of controls. `panel.controls` change what the figure shows of the
runs it holds (a target loss, a metric, the x-axis) and redraw it at once, as in every panel.
`panel.settings` say what the next run trains (task, learning rate, sizes, steps); they draw
nothing until the Run button (or `panel.run()`) trains the models, and the curves then grow in
place as training goes, with a progress bar beside the Run button.
"""

from __future__ import annotations

import abc
import os

import ipywidgets as widgets

from lnviz.panels.base import STYLE, Panel, slider
from lnviz.scheduler import threads

__all__ = ["METRIC_OPTIONS", "X_OPTIONS", "TrainingPanel", "choice", "toggles"]

METRIC_OPTIONS = [("validation error", "val_error"), ("validation loss", "val_loss")]
X_OPTIONS = {"step": ("steps", "step"), "examples": ("examples", "examples"), "wall_time": ("seconds", "wall_time")}


def choice(description: str, values: tuple[int, ...], value: int, label=str) -> widgets.Dropdown:
    """A dropdown of numbers that also offers `value` when it is not among `values` (a test's tiny size)."""
    options = [(label(v), v) for v in sorted({*values, value}, reverse=values[0] > values[-1])]
    return widgets.Dropdown(options=options, value=value, description=description, style=STYLE)


def toggles(description: str, options: list[tuple[str, object]], value: object) -> widgets.ToggleButtons:
    """Buttons for a few named choices, one pressed."""
    return widgets.ToggleButtons(options=options, value=value, description=description, style=STYLE)


class TrainingPanel(Panel, metaclass=abc.ABCMeta):
    """What the training panels share: settings, a Run button, a progress bar, live updates.

    Abstract (`inspect.isabstract`): a subclass implements `compute` (as every panel) and `_train`,
    which trains with the current settings and redraws as it goes.
    """

    #: Initial settings, and the ones continuous integration trains with instead (LNVIZ_QUICK set):
    #: shorter runs that exercise the same code.
    DEFAULTS: dict[str, object] = {}
    QUICK: dict[str, object] = {}
    #: For a panel with a target loss (`_target_control`): the losses it offers, ascending, and how it
    #: writes one; its figure's title must write the target the same way.
    TARGETS: tuple[float, ...] = ()
    TARGET_FORMAT = ".3f"

    settings: dict[str, widgets.ValueWidget]
    run_button: widgets.Button
    progress: widgets.IntProgress
    status: widgets.HTML

    def _defaults(self, given: dict[str, object]) -> dict[str, object]:
        """The initial settings: `DEFAULTS`, then `QUICK` under LNVIZ_QUICK, then what the caller gave."""
        unknown = set(given) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} expected settings among {sorted(self.DEFAULTS)}, got {sorted(unknown)}"
            )
        return {**self.DEFAULTS, **(self.QUICK if os.environ.get("LNVIZ_QUICK") else {}), **given}

    def _assemble_training(
        self, figure, controls: dict[str, widgets.ValueWidget], settings: dict[str, widgets.Widget]
    ) -> None:
        self.settings = settings
        self.run_button = widgets.Button(
            description="Run", button_style="primary", icon="play", tooltip="train the models with these settings"
        )
        self.run_button.on_click(lambda _: self.run())
        # A progress widget of our own rather than tqdm's: output captured from a button's callback
        # needs an Output widget, and nbclient (store_widget_state=False) fails on those.
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="240px"))
        self.status = widgets.HTML()
        train_row = widgets.HBox(list(settings.values()), layout=widgets.Layout(flex_flow="row wrap"))
        note = widgets.VBox(
            [
                widgets.HTML("<b>Training settings</b> (used when you press Run)"),
                train_row,
                widgets.HBox([self.run_button, self.progress, self.status]),
            ]
        )
        self._assemble(figure, controls, note)
        self._drawn = self.compute()  # what the figure builder has drawn

    def run(self) -> None:
        """Train the models the settings ask for; the figure follows each run as it goes."""
        self.run_button.disabled = True
        self.run_button.description = "Running..."
        self.progress.value = 0
        try:
            with threads(1):
                self._train()
        finally:
            self.run_button.disabled = False
            self.run_button.description = "Run"

    def _target_control(self, value: float, **kwargs) -> widgets.SelectionSlider:
        """A slider over `TARGETS`, at `value` (one of them).

        A selection of values, not a FloatLogSlider: the browser snaps a float slider's value to its step
        and sends the snapped value back, so a target set to a model's final loss (0.9245) would turn
        into the step's 0.833 while the title said otherwise. A selection keeps the exact value the code
        gives it (`_fit_target` adds it to the options)."""
        return slider(
            widgets.SelectionSlider, "target loss", options=self._target_options(self.TARGETS), value=value, **kwargs
        )

    def _target_options(self, values) -> list[tuple[str, float]]:
        return [(format(v, self.TARGET_FORMAT), v) for v in sorted(values)]

    def _fit_target(self, loss: float) -> None:
        """Put the target at exactly `loss` (within the offered range). `loss` joins the offered values,
        in place of one that would read the same."""
        loss = min(max(loss, self.TARGETS[0]), self.TARGETS[-1])
        label = format(loss, self.TARGET_FORMAT)
        target = self.controls["target"]
        others = [v for v in self.TARGETS if format(v, self.TARGET_FORMAT) != label]
        target.options = self._target_options(others + [loss])
        target.value = loss

    @abc.abstractmethod
    def _train(self) -> None:
        """Train with the current settings, redrawing the figure at every record."""

    def _on_change(self, change: dict) -> None:
        # Only what changed (Panel._redraw): these figures have many axes and curves, and a control
        # changes a few of them (a slider: some bars, a line and the title), a training record only
        # the growing curve.
        self._revive_if_deaf()
        self._redraw()
