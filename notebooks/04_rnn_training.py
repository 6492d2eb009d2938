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
# # 4. Training recurrent networks with layer normalization
#
# *Ba, Kiros and Hinton (2016), "Layer Normalization", section 3.1 and the supplement; the recurrent
# experiments of section 6 (Figures 1-5).*
#
# Notebook 3 showed what layer normalization does to the hidden state of a recurrent net at one moment.
# This notebook asks the question the paper's experiments answer: **does it make a recurrent net train
# faster?** In an RNN the summed inputs of step $t$ are $a^t = W_{hh} h^{t-1} + W_{xh} x^t$, and layer
# normalization rescales them with statistics computed over the $H$ hidden units of that one step (eq. 4):
#
# $$h^t = f\left[\frac{g}{\sigma^t} \odot \left(a^t - \mu^t\right) + b\right], \qquad
#   \mu^t = \frac{1}{H}\sum_{i=1}^{H} a_i^t, \qquad
#   \sigma^t = \sqrt{\frac{1}{H}\sum_{i=1}^{H}\left(a_i^t - \mu^t\right)^2}.$$
#
# The LN-LSTM of the supplement (eqs. 17-22) normalizes $W_h h^{t-1}$ and $W_x x^t$ separately, each over
# all four gates, and the cell state on its way out: $h^t = \sigma(o^t) \odot \tanh(\mathrm{LN}(c^t))$.
# Nothing depends on the mini-batch and the statistics are fresh at every step, whatever the length of
# the sequence. Recurrent batch normalization (Cooijmans et al., 2016), the BN-LSTM here, has to keep
# separate batch statistics for every time step instead.
#
# **The tasks.**
# - *The adding problem* (Hochreiter and Schmidhuber, 1997): a sequence of random numbers, two of them
#   marked; the target is their sum. Answering 1 every time gives a mean squared error of $1/6$: a model
#   must find the two marked numbers and carry them across the sequence to do better.
# - *Sequential MNIST*: a digit is read a few pixels per step (28 pixels: one row per step, 28 steps;
#   fewer pixels per step make longer sequences) and classified from the last hidden state. A digit's
#   top rows are blank, so from a zero initial state the summed inputs of eq. (4) are exactly constant
#   ($\sigma^t = 0$), where layer norm's derivative is $g/\sqrt{\epsilon}$, about 300 per step, and the
#   gradient overflows within a few rows: the models here start from a learned initial state, with a
#   little noise on it in training (as Cooijmans et al. do for batch norm, which meets the same zero
#   variance over the mini-batch).
#
# **How we read the result.** "Faster" means fewer training steps to reach the same training loss. The
# panel draws a target loss and measures, for every model, how many steps it needed to get there. Every
# model of a run sees the same mini-batches in the same order (one seed), so the only difference is the
# architecture.

# %% slideshow={"slide_type": "skip"}
import torch

from lnviz import tasks
from lnviz.exercises import check_ln_lstm_step
from lnviz.panels import RNNTrainingPanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4.1 LSTM against LN-LSTM on the adding problem
#
# Both models start on the plateau of the constant guess, $\mathrm{MSE} \approx 1/6$: to leave it they
# must discover which two numbers count. The target line is drawn at half that error.
#
# **Predict.** Both models see the same 6,400 sequences of 30 steps in the same order, with the same
# learning rate. Which one gets below the target line first? Does the other get there at all in 100 steps?
#
# The cell below builds the panel and trains the default setting (a few seconds per model); the curves
# grow as the models train. The upper row of controls only changes what is drawn; the lower row says
# what the **Run** button trains next.

# %% slideshow={"slide_type": "subslide"}
panel = RNNTrainingPanel()
panel

# %% slideshow={"slide_type": "fragment"}
panel.run()
target = tasks.ADDING_CONSTANT_MSE / 2
for name in ("LSTM", "LN-LSTM"):
    history = panel.histories[name]
    steps = history.reach(target)
    print(
        f"{name}: training MSE below {target:.3f} after {'no' if steps is None else steps} of {history.step[-1]} "
        f"steps; final validation MSE {history.val_loss[-1]:.3f}"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - The plain LSTM sits on the plateau, its training MSE near $1/6$, for the whole run: it has not yet found
#   the marked numbers. The LN-LSTM usually leaves the plateau within the run. (`python -m lnviz.reproduce`
#   measures this over three seeds, each model at its best learning rate.)
# - Switch the x-axis to **seconds**. A layer-normalized step does more work (two normalizations of the
#   gates and one of the cell state per time step), so the race in seconds is closer than the race in
#   steps. The paper counts updates; your laptop counts seconds.
# - The middle plot shows the validation loss, the validation error (a prediction within 0.04 of the sum
#   counts as correct) or the gradient norm before clipping (these runs clip at 1).
# - One seed is one draw: change the seed in the lower row and press **Run**.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write one step of the LN-LSTM, the supplement's eqs. (17)-(22), as the models above take
# it. `x` holds the inputs $x^t$ (cases, inputs), `h` and `c` the previous hidden and cell states
# $h^{t-1}, c^{t-1}$ (cases, $H$); `cell` is an `lnviz.LSTMCell(..., norm="layer")` whose tensors you use:
# `cell.weight_ih` ($4H$, inputs) and `cell.weight_hh` ($4H$, $H$), as torch stores them (so $W_x x^t$ is
# `x @ cell.weight_ih.T`), the biases `cell.bias_ih` and `cell.bias_hh` ($4H$,), and three layer norms,
# `cell.ln_ih`, `cell.ln_hh` (over $4H$ units) and `cell.ln_c` (over $H$), which you may call as
# functions. The four gates come in the order $i, f, g, o$ (`gates.chunk(4, dim=-1)`). Return
# `(h_new, c_new)`. Calling the cell itself, `cell(x, (h, c))`, is the answer, so the check refuses it.
# Replace `raise NotImplementedError` and run the check.


# %%
def ln_lstm_step(x, h, c, cell):
    """Eqs. (17)-(22): the new hidden and cell states (h_new, c_new), each of shape (cases, H)."""
    raise NotImplementedError  # your code here


# %%
check_ln_lstm_step(ln_lstm_step)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `ln_lstm_step_solution`, so running it leaves your function as it is.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def ln_lstm_step_solution(x, h, c, cell):
    ### BEGIN SOLUTION
    # W_h h and W_x x normalized separately, each over all 4H gate units at once, then the biases
    gates = cell.ln_hh(h @ cell.weight_hh.T) + cell.ln_ih(x @ cell.weight_ih.T) + cell.bias_ih + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(cell.ln_c(c_new))  # c normalized on its way out to h only
    return h_new, c_new  # the raw c_new is carried to the next step
    ### END SOLUTION


check_ln_lstm_step(ln_lstm_step_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4.2 Sequential MNIST, and batch-normalized LSTMs
#
# Choose **sequential MNIST** in the lower row (28 pixels per step: one image row per step), add
# **BN-LSTM** to the models (hold Ctrl or Shift to select several) and press **Run**. After a run on MNIST
# the target moves to the first model's final training loss, exactly: the LSTM's own bar ends where its
# loss first got that low (its last record, or earlier), and the others' bars say how many steps they
# needed to get where the LSTM ended.
#
# **Predict.** Which normalization helps more on row-by-row MNIST? What changes when the digit is read
# 14 or 7 pixels per step (56 or 112 steps), so that information must be carried over more steps?

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - At 28 steps the gap between LSTM and LN-LSTM is small and a different seed can reverse it; longer
#   sequences make it larger. This is what the reproduce table measures at two lengths.
# - A BN-LSTM step costs the most in seconds: it keeps statistics for every time step, and its eval mode
#   uses running averages per time step, which a sequence longer than any seen in training would not have.
# - Raise the learning rate to $10^{-2}$ or more: which model still trains? Normalized summed inputs make
#   the gates' inputs independent of the scale of the weights (notebook 2), so a large step in the
#   weights does not blow up the summed inputs.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Layer normalization computes fresh statistics for every case at every time step (eq. 4); nothing is
#   shared across the mini-batch or across time, so it applies unchanged to sequences of any length.
# - Measured as steps to reach a target training loss, the LN-LSTM usually gets there sooner than the
#   LSTM; on the adding problem it leaves the constant guess's plateau while the LSTM is still on it. The
#   paper's Figures 1-5 show faster training on much larger tasks.
# - In seconds the gain is smaller, because each normalized step costs more; recurrent batch norm costs
#   the most and needs a mini-batch and per-step statistics.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. Train the plain RNN pair (RNN and LN-RNN) on the adding problem. Does either leave the plateau? Why
#    might a tanh RNN need the normalization more than an LSTM, whose cell state can carry a number
#    unchanged?
# 2. Find the largest learning rate at which the LSTM still leaves the plateau in 300 steps. Does the
#    LN-LSTM go further?
# 3. Double the adding problem's length to 60 steps. How many steps does each model need now to get below
#    the target? (Tip: 32 hidden units make the runs faster.)
