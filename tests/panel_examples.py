"""Panels to test and benchmark: every Panel subclass in the package, found by walking lnviz.panels'
modules (a new lesson's panel is tested whether or not it is re-exported), and training panels
holding tiny finished runs so that their controls have something to act on."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import lnviz.panels
from lnviz.panels import BatchSizePanel, ConvTrainingPanel, Panel, RNNTrainingPanel


def all_panels() -> list[type[Panel]]:
    """Every concrete Panel subclass defined in a module of `lnviz.panels`, by name."""
    found = set()
    for info in pkgutil.iter_modules(lnviz.panels.__path__, "lnviz.panels."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Panel) and cls is not Panel and not inspect.isabstract(cls):
                found.add(cls)
    return sorted(found, key=lambda c: c.__name__)


def rnn_training_example() -> RNNTrainingPanel:
    """Two tiny finished runs (a second or two of training)."""
    panel = RNNTrainingPanel(
        val_size=64,
        task="sequential_mnist",
        pixels_per_step=112,
        models=("LSTM", "LN-LSTM"),
        hidden_size=16,
        batch_size=16,
        steps=20,
    )
    panel.run()
    return panel


def batch_size_example() -> BatchSizePanel:
    """Tiny finished runs at batch sizes 64 and 16."""
    panel = BatchSizePanel(large_batch=64, small_batch=16, examples=640, width=64)
    panel.run()
    return panel


def conv_training_example() -> ConvTrainingPanel:
    """Four tiny finished runs."""
    panel = ConvTrainingPanel(val_size=64, steps=10, batch_size=16)
    panel.run()
    return panel


EXAMPLES = {
    RNNTrainingPanel: rnn_training_example,
    BatchSizePanel: batch_size_example,
    ConvTrainingPanel: conv_training_example,
}


def make(cls: type[Panel]) -> Panel:
    """A panel with something to show: training panels start empty, so they get tiny finished runs."""
    return EXAMPLES[cls]() if cls in EXAMPLES else cls()
