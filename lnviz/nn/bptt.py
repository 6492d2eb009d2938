"""The fast path of the LSTM and LN-LSTM over a whole sequence: the supplement's eqs. (17)-(22), with
backpropagation through time written out by hand.

The readable reference is the cell's own step, `lnviz.nn.cells.LSTMCell.step`: one time step of
eqs. (17)-(22), differentiated by autograd. This module computes the same numbers (norm "none" or
"layer"; `tests/test_bptt.py` checks it against that step in float64 and with
`torch.autograd.gradcheck`), and `lnviz.nn.recurrent.Recurrent` runs it for those LSTMs when it
records no trace. Read the step first; what differs here is only how the work is arranged:
  - the forward pass keeps only what the backward pass reads (h, c, the gate activations, tanh of the
    normalized cell state, the layer norms' statistics), not a graph of every intermediate;
  - the backward pass applies the chain rule to eqs. (17)-(22) one step at a time from the last,
    since dh_t, dc_t -> dh_{t-1}, dc_{t-1} is a chain;
  - sigma' = sigma (1 - sigma) and tanh' = 1 - tanh^2 come from the saved activations;
  - the gradient of W_hh, sum over t of dA_t^T h_{t-1}, is one matrix product over all steps when
    there is no layer norm between them (see `_LSTMSequence.backward`);
  - tanh(x) = 2 sigmoid(2x) - 1, so one sigmoid call covers all four gate blocks;
  - buffers are allocated once and written again at every step, so they stay in the cache.
It never writes into a tensor it did not allocate: its arguments (parameters among them) and the
gradients autograd hands the backward pass are only read.

Shapes: T time steps, B cases, H hidden units, 4H gate units in torch's order i, f, g, o.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["lstm_sequence"]


def lstm_sequence(
    gi: Tensor,
    h0: Tensor,
    c0: Tensor,
    weight_hh: Tensor,
    ln_hh: tuple[Tensor, float] | None = None,
    ln_c: tuple[Tensor, Tensor, float] | None = None,
) -> tuple[Tensor, Tensor]:
    """Run the LSTM recursion over a sequence.

    gi: (T, B, 4H), the input side of the gates with every bias already added, as
        `LSTMCell.input_projection` returns it;
    h0, c0: (B, H), the initial state; weight_hh: (4H, H);
    ln_hh: (gain (4H,), eps) of the layer norm over h W_hh^T, or None for no normalization;
    ln_c: (gain (H,), bias (H,), eps) of the layer norm over c, or None.
    Both norms or neither. Returns (h for every step: (T, B, H), the last cell state c_T: (B, H)).
    Differentiable once, in all tensor arguments.
    """
    if (ln_hh is None) != (ln_c is None):
        raise ValueError("lstm_sequence expected both layer norms (ln_hh and ln_c) or neither")
    if ln_hh is None:
        return _LSTMSequence.apply(gi, h0, c0, weight_hh, None, None, None, 0.0, 0.0)
    (gain_hh, eps_hh), (gain_c, bias_c, eps_c) = ln_hh, ln_c
    return _LSTMSequence.apply(gi, h0, c0, weight_hh, gain_hh, gain_c, bias_c, eps_hh, eps_c)


_layer_norm_backward = torch.ops.aten.native_layer_norm_backward.default


def _blocks(gates: Tensor) -> list[tuple[Tensor, ...]]:
    """(T, B, 4H) -> the per-step views of its four gate blocks, i, f, g, o: 4 tuples of T (B, H)."""
    return [block.unbind(0) for block in gates.chunk(4, -1)]


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        gi: Tensor,
        h0: Tensor,
        c0: Tensor,
        weight_hh: Tensor,
        gain_hh: Tensor | None,
        gain_c: Tensor | None,
        bias_c: Tensor | None,
        eps_hh: float,
        eps_c: float,
    ) -> tuple[Tensor, Tensor]:
        layer = gain_hh is not None
        steps, batch, units = gi.shape
        H = units // 4
        # What the backward pass reads, one slot per step: h and c before each step (slot 0 is the
        # initial state), the gate activations i, f, g, o, and tanh of the (normalized) cell state.
        hs = gi.new_empty(steps + 1, batch, H)
        cs = gi.new_empty(steps + 1, batch, H)
        gates = gi.new_empty(steps, batch, units)
        tanh_c = gi.new_empty(steps, batch, H)
        hs[0], cs[0] = h0, c0
        # layer norm: its inputs and statistics, for its backward pass
        hw = gi.new_empty(steps, batch, units) if layer else None
        stats_hh, stats_c = [], []
        # tanh(x) = 2 sigmoid(2x) - 1, so that one sigmoid call gives all four gates: the g block's
        # pre-activation is doubled (`twice_g`, folded into W_hh or the layer norm's gain, and gi's
        # g block added twice), and tanh(LN(c_t)) is a sigmoid of LN(c_t) with gain and bias doubled.
        twice_g = gi.new_ones(4, H)
        twice_g[2] = 2
        twice_g = twice_g.flatten()
        minus_one = gi.new_tensor(-1.0)
        # W_hh^T row-major, so that h W^T reads it row by row, and always a copy: the scaling below
        # writes into it, and `.contiguous()` would return the parameter itself whenever its
        # transpose is already contiguous (hidden size 1, or a column-major W_hh).
        weight_t = weight_hh.t().clone(memory_format=torch.contiguous_format)
        if layer:
            gain_hh2, gain_c2, bias_c2 = gain_hh * twice_g, 2 * gain_c, 2 * bias_c
        else:
            weight_t.mul_(twice_g)
        # Per-step views, taken once (a trailing _ marks a tuple of T views): each indexing is a call.
        gi_, h_, c_, act_, tanh_ = (x.unbind(0) for x in (gi, hs, cs, gates, tanh_c))
        i_, f_, g_, o_ = _blocks(gates)
        gi_g_ = gi[..., 2 * H : 3 * H].unbind(0)
        hw_ = hw.unbind(0) if layer else None
        # One buffer for the pre-activations, written again at every step: it stays in the cache,
        # where a new tensor per step would not.
        pre = gi.new_empty(batch, units)
        pre_g = pre[:, 2 * H : 3 * H]
        for t in range(steps):
            if layer:
                torch.mm(h_[t], weight_t, out=hw_[t])
                # eqs. (17)-(20): LN(W_h h) with the gain only; its bias and b are in gi
                normalized, mean, rstd = torch.native_layer_norm(hw_[t], (units,), gain_hh2, None, eps_hh)
                stats_hh.append((mean, rstd))
                torch.add(gi_[t], normalized, out=pre)
            else:
                torch.addmm(gi_[t], h_[t], weight_t, out=pre)  # W_x x + W_h h + b
            pre_g.add_(gi_g_[t])  # the g block held gi_g + 2 (h W^T)_g: now 2 a_g
            torch.sigmoid(pre, out=act_[t])  # i, f, o; and sigmoid(2 a_g) in the g block
            g = torch.add(minus_one, g_[t], alpha=2, out=g_[t])  # tanh(a_g) = 2 sigmoid(2 a_g) - 1
            i, f, o = i_[t], f_[t], o_[t]
            c = torch.mul(f, c_[t], out=c_[t + 1]).addcmul_(i, g)  # eq. (21): c_t = f * c_{t-1} + i * g
            if layer:
                # eq. (22): 2 LN(c_t), and tanh(LN(c_t)) = 2 sigmoid(2 LN(c_t)) - 1
                z2, mean, rstd = torch.native_layer_norm(c, (H,), gain_c2, bias_c2, eps_c)
                stats_c.append((mean, rstd))
                torch.add(minus_one, torch.sigmoid(z2, out=tanh_[t]), alpha=2, out=tanh_[t])
            else:
                torch.tanh(c, out=tanh_[t])
            torch.mul(o, tanh_[t], out=h_[t + 1])  # eq. (22): h_t = o * tanh(LN(c_t))
        ctx.save_for_backward(hs, cs, gates, tanh_c, weight_hh, hw, gain_hh, gain_c, bias_c)
        ctx.stats = (stats_hh, stats_c)
        # the per-step views, for the backward pass to reuse
        ctx.views = (c_, act_, tanh_, i_, f_, g_, o_)
        # views of the saved buffers: autograd refuses a backward pass after they were written into
        return hs[1:], cs[steps]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_outputs: Tensor | None, grad_c_last: Tensor | None):
        hs, cs, gates, tanh_c, weight_hh, hw, gain_hh, gain_c, bias_c = ctx.saved_tensors
        stats_hh, stats_c = ctx.stats
        layer = gain_hh is not None
        steps, batch, units = gates.shape
        H = units // 4
        if grad_outputs is None:
            grad_outputs = hs.new_zeros(steps, batch, H)
        # dLoss/dc_t and dLoss/dh_t, and scratch: buffers written again at every step (see forward)
        dc = cs.new_zeros(batch, H) if grad_c_last is None else grad_c_last.clone()
        dz_buf, tmp, dh_buf = (cs.new_empty(batch, H) for _ in range(3))
        slope = gates.new_empty(batch, units)
        slope_g = slope[:, 2 * H : 3 * H]
        d_gates = torch.empty_like(gates)  # dLoss/da_t, the gates' pre-activations (= dLoss/dgi_t)
        # dLoss/dW_hh = sum_t dA_t^T h_{t-1}, with dA_t = dLoss/d(h_{t-1} W_hh^T). Without layer norm
        # dA_t is the gate gradient, which is already one tensor over all steps: one product at the
        # end. With it, dA_t comes out of the layer norm's backward pass one step at a time, and is
        # added in at once, while it is still in the cache.
        d_weight_t = weight_hh.new_zeros(H, units) if layer else None  # its transpose, sum_t h_{t-1}^T dA_t
        d_gains_hh, d_gains_c, d_biases_c = [], [], []  # the layer norms', one per step
        one = gates.new_ones(())
        # Per-step views, taken once, and the work done step by step while each step's tensors are
        # in the cache, rather than one elementwise operation over all steps streaming them from memory.
        c_, act_, tanh_, i_, f_, g_, o_ = ctx.views
        go_, da_ = grad_outputs.unbind(0), d_gates.unbind(0)
        di_, df_, dg_, do_ = _blocks(d_gates)
        hw_ = hw.unbind(0) if layer else None
        hT_ = hs.transpose(1, 2).unbind(0)  # h_{t-1}^T: (H, B) views, for dW_hh^T
        dh = go_[steps - 1]  # dLoss/dh_t: through the output h_t and, but for the last, step t + 1
        for t in reversed(range(steps)):
            act, tanh_z, i, f, g, o = act_[t], tanh_[t], i_[t], f_[t], g_[t], o_[t]
            # eq. (22): h_t = o * tanh(z), z = LN(c_t); dz = dh o (1 - tanh(z)^2), as u - (u tanh z) tanh z
            dz = torch.mul(dh, o, out=dz_buf)
            dz.addcmul_(torch.mul(dz, tanh_z, out=tmp), tanh_z, value=-1)
            if layer:
                mean, rstd = stats_c[t]
                dz, d_gain, d_bias = _layer_norm_backward(
                    dz, c_[t + 1], [H], mean, rstd, gain_c, bias_c, [True, True, True]
                )
                d_gains_c.append(d_gain)
                d_biases_c.append(d_bias)
            dc.add_(dz)
            # eq. (21): c_t = f * c_{t-1} + i * g, and h_t = o * tanh(z)
            torch.mul(dc, g, out=di_[t])
            torch.mul(dc, c_[t], out=df_[t])
            torch.mul(dc, i, out=dg_[t])
            torch.mul(dh, tanh_z, out=do_[t])
            # through the nonlinearities: sigmoid' = s (1 - s) for i, f, o; tanh' = 1 - g^2 for g
            torch.addcmul(act, act, act, value=-1, out=slope)
            torch.addcmul(one, g, g, value=-1, out=slope_g)
            da = da_[t].mul_(slope)
            dc.mul_(f)  # to c_{t-1}
            if layer:
                # eqs. (17)-(20): a_t = gi_t + LN(h_{t-1} W_hh^T)
                mean, rstd = stats_hh[t]
                da, d_gain, _ = _layer_norm_backward(
                    da, hw_[t], [units], mean, rstd, gain_hh, None, [True, True, False]
                )
                d_gains_hh.append(d_gain)
                d_weight_t.addmm_(hT_[t], da)
            # to h_{t-1}, where the output's gradient joins it
            if t > 0:
                dh = torch.addmm(go_[t - 1], da, weight_hh, out=dh_buf)
            else:
                dh = torch.mm(da, weight_hh, out=dh_buf)
        if layer:
            d_weight = d_weight_t.t()
            d_gain_hh, d_gain_c, d_bias_c = (torch.stack(d).sum(0) for d in (d_gains_hh, d_gains_c, d_biases_c))
        else:  # dLoss/dW_hh = sum_t dA_t^T h_{t-1}: one matrix product over all steps and cases
            d_weight = d_gates.flatten(0, 1).t().mm(hs[:-1].flatten(0, 1))
            d_gain_hh = d_gain_c = d_bias_c = None
        return d_gates, dh, dc, d_weight, d_gain_hh, d_gain_c, d_bias_c, None, None
