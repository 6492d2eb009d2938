"""Run a recurrent cell over a sequence, and optionally record what happens at every time step.

`Recurrent(cell)(x)` returns the hidden states of all steps and the final state, like `torch.nn.LSTM`
with one layer. `Recurrent(cell)(x, record=True)` also returns a `Trace`: per time step and case,
the mean and standard deviation of the summed inputs before and after normalization, the norm of
the hidden state and the fraction of saturated gate units; after a backward pass, `grad_norms()`
gives ||dLoss/dh_t||, which shows gradients vanishing or exploding back through time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from lnviz.nn.cells import CellInternals, RecurrentCell, State

__all__ = ["Recurrent", "Trace"]


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare by
class Trace:
    """What a recorded run computed, for plots. T = time steps, B = cases, U = G*H gate units.

    summed: (T, B, U), the summed inputs x_t W_ih^T + h_{t-1} W_hh^T before normalization.
    normalized: (T, B, U), what the gate nonlinearities receive: normalized, with gains and biases
        (see `lnviz.nn.cells.CellInternals`; with norm="none" it is summed + biases).
    saturation: (T, B), the fraction of the U gate units that are saturated: sigmoid outputs below
        0.05 or above 0.95, tanh outputs with |.| > 0.95 (`lnviz.nn.cells.saturated_fraction`).
    hidden: the T hidden states h_t, each (B, H), still in the autograd graph, with `retain_grad`.
    All but `hidden` are detached. Standard deviations are over units and use 1/U, as eq. (3).
    """

    summed: Tensor
    normalized: Tensor
    saturation: Tensor
    hidden: tuple[Tensor, ...]

    @property
    def summed_mean(self) -> Tensor:
        """(T, B): the mean over units of the summed inputs, per step and case (the paper's mu^t)."""
        return self.summed.mean(-1)

    @property
    def summed_std(self) -> Tensor:
        """(T, B): the standard deviation over units of the summed inputs (the paper's sigma^t)."""
        return self.summed.std(-1, correction=0)

    @property
    def normalized_mean(self) -> Tensor:
        """(T, B): the mean over units after normalization."""
        return self.normalized.mean(-1)

    @property
    def normalized_std(self) -> Tensor:
        """(T, B): the standard deviation over units after normalization."""
        return self.normalized.std(-1, correction=0)

    @property
    def hidden_norm(self) -> Tensor:
        """(T, B): the Euclidean norm of h_t per case."""
        return torch.stack([h.detach() for h in self.hidden]).norm(dim=-1)

    def grad_norms(self) -> Tensor:
        """(T, B): ||dLoss/dh_t|| per case, after `loss.backward()` through the run's outputs.

        dLoss/dh_t is the total derivative: through the output at t and through all later steps.
        A hidden state the loss does not depend on counts as zero gradient.
        """
        grads = [h.grad for h in self.hidden]
        if all(g is None for g in grads):
            raise RuntimeError(
                "Trace.grad_norms() needs the gradients of the hidden states: run the model with "
                "record=True and parameters or input that require grad, then call loss.backward()"
            )
        return torch.stack([torch.zeros_like(h) if g is None else g for h, g in zip(self.hidden, grads)]).norm(dim=-1)

    def numpy(self) -> dict[str, np.ndarray]:
        """The per-step statistics as numpy arrays of shape (T, B), for figure builders."""
        stats = {
            "summed_mean": self.summed_mean,
            "summed_std": self.summed_std,
            "normalized_mean": self.normalized_mean,
            "normalized_std": self.normalized_std,
            "hidden_norm": self.hidden_norm,
            "saturation": self.saturation,
        }
        return {name: value.cpu().numpy() for name, value in stats.items()}


class Recurrent(nn.Module):
    """A cell run over a sequence: x (batch, time, input_size) -> outputs (batch, time, H), state.

    `cell` is an `lnviz.nn.cells` cell (RNNCell, LSTMCell, GRUCell with any norm); with batch_first=False
    x and the outputs are (time, batch, ...). The time index passed to the cell starts at 0, so a
    batch-normalized cell uses its step-t statistics at step t.
    """

    def __init__(self, cell: RecurrentCell, batch_first: bool = True) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise ValueError(
                f"Recurrent expected an lnviz.nn.cells cell (RNNCell, LSTMCell or GRUCell), got {type(cell).__name__}"
            )
        self.cell = cell
        self.batch_first = batch_first

    def forward(
        self, x: Tensor, state: State | None = None, record: bool = False
    ) -> tuple[Tensor, State] | tuple[Tensor, State, Trace]:
        """x: (batch, time, input_size) (or (time, batch, input_size) if not batch_first);
        state: the cell's initial state, h (batch, H) or the LSTM's (h, c), in x's dtype and on its
        device (anything else is a ValueError, never a silent cast); None for zeros.

        Returns (outputs, final state), outputs: (batch, time, H) (time first if not batch_first),
        and with `record=True` also a `Trace` of every step. For an LSTM without batch norm and
        record=False, the pass runs `lnviz.nn.bptt` and is differentiable once (no double backward).
        """
        if x.dim() != 3:
            order = "(batch, time, input_size)" if self.batch_first else "(time, batch, input_size)"
            raise ValueError(f"Recurrent expected input of shape {order}, got input of shape {tuple(x.shape)}")
        xs = x.transpose(0, 1) if self.batch_first else x
        if xs.shape[0] == 0:
            raise ValueError(f"Recurrent expected at least one time step, got input of shape {tuple(x.shape)}")
        state = self.cell.check_input(xs, state, 0, time_dim=True)
        if record:
            hidden, state, trace = self._run_recorded(xs, state)
            outputs = torch.stack(hidden)
        else:
            # The input side does not depend on h: one call for all steps leaves only the
            # recurrent part in the cell's loop.
            outputs, state = self.cell.sequence(self.cell.input_projection(xs, step=0), state)
            trace = None
        if self.batch_first:
            outputs = outputs.transpose(0, 1)
        return (outputs, state) if trace is None else (outputs, state, trace)

    def _run_recorded(self, xs: Tensor, state: State) -> tuple[list[Tensor], State, Trace]:
        cell = self.cell
        hidden: list[Tensor] = []
        internals: list[CellInternals] = []
        for t, x_t in enumerate(xs.unbind(0)):
            state, inside = cell(x_t, state, step=t, return_internals=True)
            h = cell.output(state)
            if h.requires_grad:
                h.retain_grad()
            hidden.append(h)
            internals.append(inside)
        trace = Trace(
            summed=torch.stack([i.summed for i in internals]).detach(),
            normalized=torch.stack([i.normalized for i in internals]).detach(),
            saturation=torch.stack([i.saturation for i in internals]).detach(),
            hidden=tuple(hidden),
        )
        return hidden, state, trace

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"
