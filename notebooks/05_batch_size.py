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
# # 5. Small mini-batches: batch normalization against layer normalization
#
# *Ba, Kiros and Hinton (2016), "Layer Normalization", section 6 and Figure 6.*
#
# Batch normalization estimates each unit's mean and standard deviation from the $B$ cases of a
# mini-batch (eq. 2). With $B = 128$ the estimates are good; with $B = 4$ they are four numbers' worth of
# noise, and at test time the network switches to running averages that no mini-batch ever produced.
# Layer normalization estimates them from the $H$ hidden units of one case (eq. 3): the batch size does
# not enter at all. The paper's Figure 6 puts this to the test with a permutation-invariant MNIST network
# (784-1000-1000-10, normalization on both hidden layers, none on the softmax layer) trained at batch
# size 128 and at batch size 4, and concludes that layer normalization "is robust to the batch sizes".
#
# **Here, smaller.** The network is 784-128-128-10 by default (784-1000-1000-10 is one of the choices),
# it trains on the 8,000 training digits shipped with lnviz (the full 60,000 if `lnviz.data.mnist` has
# them cached) and sees 2,560 examples per run, a third of an epoch, so that a run takes seconds here.
# The paper trains for many epochs. The figure shows the test set's error and negative log-likelihood
# ("validation" in the controls), as Figure 6 does.
#
# **A fair comparison.** Every run sees the same number of examples, the same ones in the same order
# (the training set is cut to a multiple of both batch sizes, and one seed draws the order), and every
# run is recorded at the same numbers of examples. Each batch size has its own learning rate: a step
# averages the gradients of $B$ cases, so a step at batch 4 is noisier and must be smaller.
# `python -m lnviz.reproduce` picks each learning rate from a small sweep instead.

# %% slideshow={"slide_type": "skip"}
import torch

from lnviz.exercises import check_batch_norm
from lnviz.panels import BatchSizePanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5.1 Batch size 128 against batch size 4
#
# **Predict.** Going from batch size 128 to batch size 4 (same examples, so 32 times as many steps), what
# happens to the test error of the network without normalization, with batch norm, and with layer norm?
# Which one gets worse?
#
# The cell below trains the six runs (three normalizations at two batch sizes; about 10 seconds); the
# curves grow as they train. The upper row of controls changes only what is drawn: the bars on the right
# read every run at the same point of training, marked by the dotted lines.

# %% slideshow={"slide_type": "subslide"}
panel = BatchSizePanel()
panel

# %% slideshow={"slide_type": "fragment"}
panel.run()
for batch in panel.batch_sizes:
    errors = ", ".join(
        f"{norm} {1 - panel.histories[norm, batch].val_accuracy[-1]:.1%}"
        for norm in panel.NORMS
        if panel.histories[norm, batch] is not None
    )
    print(f"batch size {batch:>3}: test error {errors}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice** (lnviz's tests check these for the default run).
# - At batch size 128 batch norm has the lowest test error of the three. At batch size 4 it loses that
#   lead: its error rises, above layer norm's and to within a point of the unnormalized network's, while
#   layer norm's error moves far less between the two batch sizes.
# - Switch the metric to **training loss**: batch norm's training loss at batch size 4 ends the highest
#   of all six runs. Every case is normalized with statistics that three other, random cases mostly
#   decide.
# - Switch the metric to **validation loss** (the negative log-likelihood of Figure 6): batch norm at
#   batch size 4 is also the least sure of the right answers.
# - Switch the x-axis to **steps** and to **seconds**: batch size 4 took 32 times as many steps for the
#   same examples, and more seconds. Small batches are not free; the point is that sometimes they are
#   all there is (a long sequence, a big model, one case at a time online).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5.2 Down to one case
#
# **Predict.** Set the small batch to 2 and press **Run**. What must batch norm output for each unit
# when it normalizes two numbers (notebook 1)? And at batch size 1?

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice** (checked by lnviz's tests, as above).
# - At batch size 2 batch norm maps every unit to $-1$ or $+1$ during training, and its test error
#   shows it: more than twice layer norm's.
# - At batch size 1 batch norm cannot train at all: a single number has no variance (the read-out says
#   "n/a" where its bar would stand). Layer normalization trains on one case at a time as it does on 128:
#   its test error ends within two points of its error at batch size 128.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write batch norm in training mode, eq. (2), as every run above computes it: for a
# mini-batch `x` of shape (cases, hidden units) and a gain and a bias of shape (hidden units,), return
# $\frac{g}{\sigma}(x - \mu) + b$ with each unit's $\mu$ and $\sigma = \sqrt{\text{variance} + \epsilon}$
# taken over the cases of the mini-batch. Replace `raise NotImplementedError` and run the check. Once it
# passes, call it on a mini-batch of two cases and on one, e.g.
# `batch_norm(torch.randn(1, 4), torch.ones(4), torch.full((4,), 0.5), 1e-5)`: what comes out, and
# what is left of the case's own values?


# %%
def batch_norm(x, gain, bias, eps):
    """Eq. (2), training mode: mu and sigma of each hidden unit, over the cases of the mini-batch."""
    raise NotImplementedError  # your code here


# %%
check_batch_norm(batch_norm)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `batch_norm_solution`, so running it leaves your function as it is.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def batch_norm_solution(x, gain, bias, eps):
    ### BEGIN SOLUTION
    mu = x.mean(dim=0, keepdim=True)  # eq. (2): over the B cases of the mini-batch
    var = ((x - mu) ** 2).mean(dim=0, keepdim=True)  # divided by B; at B = 1, x - mu and var are 0
    return gain * (x - mu) / torch.sqrt(var + eps) + bias  # at B = 1: the bias, whatever x was
    ### END SOLUTION


check_batch_norm(batch_norm_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Batch norm's statistics come from the mini-batch, so their quality depends on the batch size; at
#   small batch sizes training is noisy and the running averages used at test time do not match what the
#   network saw in training. Its test error rises as the batch shrinks.
# - Layer norm's statistics come from one case's hidden units (eq. 3): the same computation at every
#   batch size, in training and at test time. Figure 6 in miniature: robust to the batch size.
# - Compare batch sizes at equal examples seen, and tune the learning rate for each batch size.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. Raise the examples seen to 20,480 (about four minutes). Does batch norm at batch size 4 catch up
#    with its batch-size-128 self, or does the gap stay?
# 2. At batch size 4, try batch norm's learning rate one step lower and one higher. Is the gap to layer
#    norm a matter of the learning rate?
# 3. Choose the 784-1000-1000-10 network of the paper. What changes, and what does a step cost now?
