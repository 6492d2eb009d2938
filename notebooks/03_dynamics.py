# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 3. Hidden-state dynamics of recurrent networks
#
# *Ba, Kiros and Hinton (2016), section 3.1, eq. (4), and the supplement's eqs. (17)-(22).*
#
# A recurrent network applies the same weights at every time step. Its summed inputs
# $a^t = W_{hh} h^{t-1} + W_{xh} x^t$ therefore depend on everything the net has seen, and the paper
# points out that their scale can grow or shrink from step to step, which "can lead to exploding or
# vanishing gradients". Layer normalization recomputes the statistics at every step, over the $H$ hidden
# units of each case (eq. 4):
#
# $$h^t = f\left[\frac{g}{\sigma^t} \odot \left(a^t - \mu^t\right) + b\right], \qquad
#   \mu^t = \frac{1}{H}\sum_{i=1}^{H} a_i^t, \qquad
#   \sigma^t = \sqrt{\frac{1}{H}\sum_{i=1}^{H}\left(a_i^t - \mu^t\right)^2}$$
#
# so that, in the paper's words, it "is very effective at stabilizing the hidden state dynamics".
# Batch normalization, by contrast, needs statistics **for every time step separately** (recurrent batch
# norm, Cooijmans et al., 2016). This notebook runs the same random recurrent net three ways, with the
# same weights and inputs: no normalization, layer norm (`lnviz.LSTMCell(..., norm="layer")`, the
# supplement's LN-LSTM) and recurrent batch norm (`norm="batch"`, gains starting at 0.1).

# %% slideshow={"slide_type": "skip"}
import torch

from lnviz import dynamics
from lnviz.exercises import check_ln_rnn_step, check_recurrent_batch_norm
from lnviz.figures import dynamics_animation
from lnviz.panels import DynamicsPanel, StepStatisticsPanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3.1 What the nonlinearities receive, step by step
#
# A vanilla tanh RNN (64 units, 32 sequences) with recurrent weights of spectral radius 1.5 and small
# inputs (scale 0.1), starting from $h^0 = 0$. Each panel is the distribution, over units and cases,
# of what the tanh receives at time step $t$.
#
# **Predict.** At $t = 0$ the hidden state is zero and only the small input drives the net. What happens
# to the spread of the plain RNN's summed inputs over the next steps, with weights that amplify by 1.5?
# And with layer norm?
#
# Press **Play** (this animation needs no kernel: it plays in an exported HTML file too).

# %% slideshow={"slide_type": "subslide"}
runs = dynamics.simulate_all(kind="rnn", spectral_radius=1.5, input_scale=0.1, length=60)
dynamics_animation(runs)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Without normalization the distribution starts narrow (std about 0.13 at $t = 0$) and spreads out
#   over the first ten steps as the recurrence amplifies it, until tanh's saturation stops the growth.
#   Its scale is set by the weights and the inputs, and it takes time to settle.
# - With layer norm it has standard deviation 1 at every step, from the first one: $\mu^t$ and
#   $\sigma^t$ are recomputed at each step for each case.
# - Recurrent batch norm also holds it fixed, at its gain 0.1, using the statistics of each step's
#   mini-batch.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write one step of the layer-normalized RNN, eq. (4), with $f = \tanh$: `x` holds the
# inputs $x^t$ (cases, inputs), `h` the previous hidden state $h^{t-1}$ (cases, $H$); `weight_ih` is
# $W_{xh}$ ($H$, inputs) and `weight_hh` is $W_{hh}$ ($H$, $H$), as torch stores them (so $W_{xh} x^t$ is
# `x @ weight_ih.T`); `gain` and `bias` have shape ($H$,). Take $\sigma^t$ as
# $\sqrt{\text{variance} + \epsilon}$. Replace `raise NotImplementedError` and run the check.


# %%
def ln_rnn_step(x, h, weight_ih, weight_hh, gain, bias, eps):
    """Eq. (4): the new hidden state h^t, of shape (cases, H)."""
    raise NotImplementedError  # your code here


# %%
check_ln_rnn_step(ln_rnn_step)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `ln_rnn_step_solution`, so running it leaves your function as it is.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def ln_rnn_step_solution(x, h, weight_ih, weight_hh, gain, bias, eps):
    ### BEGIN SOLUTION
    a = x @ weight_ih.T + h @ weight_hh.T  # the summed inputs a^t, normalized once, as a sum
    mu = a.mean(dim=-1, keepdim=True)  # over the H hidden units of each case, at this step
    sigma = torch.sqrt(((a - mu) ** 2).mean(dim=-1, keepdim=True) + eps)
    return torch.tanh(gain / sigma * (a - mu) + bias)
    ### END SOLUTION


check_ln_rnn_step(ln_rnn_step_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3.2 Move the weights and the inputs
#
# Now the paper's model, the LSTM, with 64 units. Four curves over time, averaged over 32 cases:
# the spread of the summed inputs $a^t$ (before any normalization), the hidden-state norm, the spread of
# what the gates receive, and $\lVert \partial L / \partial h_t \rVert$ for a loss at the last step: how
# much of the gradient makes it back to step $t$ (1 at the last step; a log scale). A gap in a gradient
# curve means the gradient there is exactly 0: it fell below the smallest number float32 can hold (about
# $10^{-45}$), and a log axis has no place for 0; the figure says so beside the gap.
#
# **Predict.** Which curves move when you change the spectral radius of $W_{hh}$ or the input scale
# by a factor of 100? What happens to the gradient of the plain LSTM 100 steps back?
#
# The sliders update when released (each update runs three nets forward and backward). Try the vanilla
# RNN too.

# %% slideshow={"slide_type": "subslide"}
panel = DynamicsPanel()
panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice** (these numbers are checked by lnviz's tests).
# - **Forward, layer norm fixes the scale.** Over the sliders' whole range, the LN-LSTM's hidden norm
#   stays near 2.8 and what its gates receive keeps a spread near $\sqrt 2$ (two layer-normalized terms,
#   $\mathrm{LN}(W_h h) + \mathrm{LN}(W_x x)$, are added). Without normalization both follow the input
#   scale: the hidden norm ranges from about 0.5 to 3.2 and the gates' input spread from 0.1 to 10.
# - **Backward, the plain LSTM's gradient vanishes**: at spectral radius 1 and input scale 1 nothing
#   measurable is left 100 steps back. The LN-LSTM's gradient never falls below about 0.65 of its value
#   at the last step. It is not perfectly flat either: in this untrained net it *grows* slowly going back
#   (1 to 2 percent per step), so over 300 steps it reaches 20 to several hundred.
# - The vanilla RNN without normalization shows both failures: with spectral radius 2 and input scale
#   0.1 the gradient explodes going back; at 0.5 it vanishes.
# - Recurrent batch norm, in training mode, also keeps the forward statistics fixed: what its gates
#   receive has a spread near 0.17 everywhere, set by its gains, which start at 0.1. Its cost comes at
#   test time, next.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3.3 Recurrent batch norm keeps statistics for every step
#
# Recurrent batch norm estimates a mean and variance **for each time step** (Cooijmans et al., 2016).
# Here a batch-normalized RNN reads MNIST digits row by row (28 steps, 28 pixels each): the top and
# bottom rows are mostly blank, so the statistics really do change from step to step. Its running
# statistics are estimated on training sequences of the first $T_{\text{train}}$ rows only; then whole
# test digits (28 rows) run in eval mode, and from step $T_{\text{train}}$ on they must borrow the last
# step's statistics.
#
# **Predict.** Train on the first 14 rows. What goes wrong on rows 14 to 27 of a test digit? What if you
# train on 4 rows? On all 28?

# %% slideshow={"slide_type": "subslide"}
statistics = StepStatisticsPanel()
statistics

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - The per-step statistics (blue dots) follow the digits: small for the blank top rows, large in the
#   middle. They are a property of the data at each step, not one number.
# - Past the dotted line the test sequence is normalized with statistics of another row; the mismatch
#   (right) grows as the digit's rows stop resembling the last training row. With 4 training rows it is
#   large almost everywhere; with all 28 it stays near 0.
# - Layer norm has no such problem: it keeps no statistics at all, so a test sequence of any length is
#   normalized exactly as in training (notebook 1, section 1.3).

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write recurrent batch norm in training mode: `a` holds the summed inputs of a whole
# mini-batch of sequences, of shape (time steps, cases, hidden units); `gain` and `bias` have shape
# (hidden units,). At every time step, normalize with that step's own mini-batch statistics, eq. (2):
# one mean and one variance per step and unit, over the cases, and $\sqrt{\text{variance} + \epsilon}$.
# Replace `raise NotImplementedError` and run the check.


# %%
def recurrent_batch_norm(a, gain, bias, eps):
    """Batch norm with statistics per time step: y of a's shape (time, cases, hidden)."""
    raise NotImplementedError  # your code here


# %%
check_recurrent_batch_norm(recurrent_batch_norm)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `recurrent_batch_norm_solution`, so running it leaves your function as it is.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def recurrent_batch_norm_solution(a, gain, bias, eps):
    ### BEGIN SOLUTION
    mu = a.mean(dim=1, keepdim=True)  # over the cases (dim=1), separately for each step and unit
    var = ((a - mu) ** 2).mean(dim=1, keepdim=True)  # divided by the batch size, as in eq. (2)
    return gain * (a - mu) / torch.sqrt(var + eps) + bias
    ### END SOLUTION


check_recurrent_batch_norm(recurrent_batch_norm_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - The scale of a plain recurrent net's summed inputs is set by its weights and inputs and can drift
#   over time; gradients through many steps vanish (LSTM) or explode (vanilla RNN with large weights).
# - Layer norm recomputes $\mu^t, \sigma^t$ at every step for every case (eq. 4): the forward dynamics
#   have the same scale whatever the weights and inputs, and the LN-LSTM's gradient does not vanish.
#   That steadies the forward pass; it does not by itself steady the gradient through time (exercise 1).
# - Recurrent batch norm needs separate statistics for each step, and a test sequence longer than the
#   training ones has none for its later steps.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. In 3.2, set the cell to the vanilla RNN and find a spectral radius where the plain net's gradient
#    neither explodes nor vanishes over 100 steps. How does that depend on the input scale? Now watch the
#    LN RNN: layer norm fixes the scale of its forward hidden state, not the gradient through time. At
#    spectral radius 1 and input scale 1 its gradient falls below $10^{-20}$ within 90 steps back and is
#    exactly 0 at the first of 100 steps; at spectral radius 0.5, input scale 0.01 and length 300 it
#    grows past $10^{10}$, while what its tanh receives keeps a spread of 1 in both. Why? (Hint: going
#    back one step, eq. (4) multiplies the gradient by $W_{hh}$, by $g / \sigma^t$ and by tanh's slope.
#    What sets $\sigma^t$ when the input is large, and when it is small?)
# 2. `dynamics.simulate(kind="lstm", norm="layer", length=300)` returns a `Dynamics` record. Estimate
#    the per-step growth factor of `grad_norm` and compare it with the plain LSTM's decay factor.
# 3. Why does recurrent batch norm start its gains at 0.1 rather than 1? (Make a cell with
#    `dynamics.make_cell("rnn", "batch", 1.5, max_steps=60)`, set `cell.bn.weight` to 1 under
#    `torch.no_grad()`, run `lnviz.Recurrent(cell)(x, record=True)` on `x = torch.randn(32, 60, 16)` and
#    compare the `saturation` of the trace it returns third with that of a cell whose gains stay at 0.1.)
