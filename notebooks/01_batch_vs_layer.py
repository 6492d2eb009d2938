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
# # 1. Batch normalization versus layer normalization
#
# *Ba, Kiros and Hinton (2016), "Layer Normalization", sections 2 and 3.*
#
# A layer of a network computes **summed inputs** $a_i = w_i^\top x$ for its hidden units
# $i = 1 \dots H$ (eq. 1). Both methods in this notebook rescale those summed inputs to zero mean and
# unit variance, and then give each unit back a learned gain $g_i$ and bias $b_i$. They differ in
# **which numbers the mean and the standard deviation are computed over**.
#
# **Batch normalization** (eq. 2) estimates them for each hidden unit over the $B$ cases of a mini-batch:
#
# $$\mu_i = \frac{1}{B}\sum_{n=1}^{B} a_i^{(n)}, \qquad
#   \sigma_i = \sqrt{\frac{1}{B}\sum_{n=1}^{B}\left(a_i^{(n)} - \mu_i\right)^2}$$
#
# **Layer normalization** (eq. 3) computes them for each case over the $H$ hidden units of the layer:
#
# $$\mu = \frac{1}{H}\sum_{i=1}^{H} a_i, \qquad
#   \sigma = \sqrt{\frac{1}{H}\sum_{i=1}^{H}\left(a_i - \mu\right)^2}$$
#
# and both output $h_i = \frac{g_i}{\sigma}\,(a_i - \mu) + b_i$ (written for LN; BN has $\mu_i, \sigma_i$).
# That one change of axis is the whole idea of the paper. This notebook shows what follows from it.

# %% slideshow={"slide_type": "skip"}
import torch
from IPython.display import display

import lnviz
from lnviz import batch_vs_layer as bvl
from lnviz.exercises import check_batch_norm, check_layer_norm
from lnviz.panels import BatchDependencePanel, GainBiasPanel, PoolingPanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1.1 Which entries share a mean and a standard deviation?
#
# Picture the summed inputs of one mini-batch as an array: one row per case $n$, one column per hidden
# unit $i$. Each unit has its own typical level and spread (the colour), as in a real layer.
#
# **Predict.** Pick the entry in row 2, column 5. Under batch norm, which other entries enter the mean
# that is subtracted from it? Under layer norm? Which of the two can be computed for a single case on
# its own?
#
# Now switch between the two methods and move the case and the unit.

# %% slideshow={"slide_type": "subslide"}
pooling = PoolingPanel()
pooling

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Batch norm pools a **column**: the same hidden unit across the cases of the mini-batch (eq. 2).
#   Its statistics exist only because there is a mini-batch.
# - Layer norm pools a **row**: all the hidden units of one case (eq. 3). Every case carries everything
#   it needs to be normalized, so a mini-batch of one is fine, and so is a recurrent net whose every
#   time step needs its own statistics (notebook 3).
# - The title gives the pooled mean and standard deviation: a column has the unit's own level and spread,
#   a row mixes the levels of all the units.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write the two normalizations yourself, for a mini-batch `x` of shape (cases, hidden units)
# and a gain and a bias of shape (hidden units,). Each function returns $\frac{g}{\sigma}(x - \mu) + b$
# with $\sigma = \sqrt{\text{variance} + \epsilon}$ (the $\epsilon$ that torch adds inside the square
# root); the only difference is the axis of $\mu$ and $\sigma$. Replace `raise NotImplementedError` and
# run the cell after it: the box says "Passed", or names the mistake it recognizes and points at the equation.


# %%
def layer_norm(x, gain, bias, eps):
    """Eq. (3): mu and sigma of each case, over its hidden units."""
    raise NotImplementedError  # your code here


def batch_norm(x, gain, bias, eps):
    """Eq. (2), training mode: mu and sigma of each hidden unit, over the cases of the mini-batch."""
    raise NotImplementedError  # your code here


# %%
display(check_layer_norm(layer_norm))
check_batch_norm(batch_norm)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `layer_norm_solution` and `batch_norm_solution`, so running it leaves your functions as they are.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def layer_norm_solution(x, gain, bias, eps):
    ### BEGIN SOLUTION
    mu = x.mean(dim=-1, keepdim=True)  # eq. (3): over the H hidden units of each case
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)  # divided by H, not H - 1
    return gain * (x - mu) / torch.sqrt(var + eps) + bias
    ### END SOLUTION


def batch_norm_solution(x, gain, bias, eps):
    ### BEGIN SOLUTION
    mu = x.mean(dim=0, keepdim=True)  # eq. (2): over the B cases of the mini-batch
    var = ((x - mu) ** 2).mean(dim=0, keepdim=True)
    return gain * (x - mu) / torch.sqrt(var + eps) + bias
    ### END SOLUTION


display(check_layer_norm(layer_norm_solution))
check_batch_norm(batch_norm_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1.2 Batch norm's output for one case depends on the rest of its mini-batch
#
# In training mode, batch norm uses the mini-batch's $\mu_i, \sigma_i$. So the output for a fixed case
# changes with the company it keeps. Below, one fixed case is dropped into 100 random mini-batches
# drawn from a population of 2,000; each blue dot is its normalized output for one of them.
# In eval mode batch norm uses population statistics instead (black diamonds); layer norm uses the case's
# own statistics in both modes (green circles).
#
# **Predict.** What happens to the cloud of blue dots as the batch size $B$ shrinks? What must batch
# norm output at $B = 2$ (hint: two numbers, normalized)? At $B = 1$?

# %% slideshow={"slide_type": "subslide"}
dependence = BatchDependencePanel()
dependence

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - The blue spread grows as $B$ shrinks: the mini-batch statistics are noisy estimates, and the noise
#   goes straight into the output. The right-hand plot draws the spread and the **train/eval gap**
#   (how far the training output is from what the network will compute at test time) for every $B$.
# - At $B = 2$ each unit's output is $\pm 1$ (up to the tiny $\epsilon$): two numbers, normalized, are always $-1$ and $+1$.
# - At $B = 1$ every output is $0$ (that is, $\beta$): the case is its own mean. All information is gone.
#   That is why torch refuses to run batch norm in training mode on one case (below).
# - Layer norm's output does not move, whatever $B$, in training and in eval mode.

# %% slideshow={"slide_type": "fragment"}
one_case = torch.randn(1, 8)
try:
    torch.nn.BatchNorm1d(8).train()(one_case)
except ValueError as error:
    print("torch.nn.BatchNorm1d, training mode, one case:", error)
print("lnviz.LayerNorm, one case:", lnviz.LayerNorm(8)(one_case).detach().numpy().round(2))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1.3 The same computation at training and at test time
#
# The paper (section 3): layer normalization "performs exactly the same computation at training and
# test times". Batch norm switches from mini-batch statistics to running averages. Check it on a batch of
# four cases: put each layer in training mode, then in eval mode, and compare.

# %% slideshow={"slide_type": "fragment"}
gap = bvl.train_eval_gap()  # four cases x ~ N(3, 2^2), 8 units, through lnviz.BatchNorm and lnviz.LayerNorm
print(f"largest |train - eval| output difference: batch norm {gap.bn_gap:.3f}, layer norm {gap.ln_gap:.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# After one training step the batch norm's running averages have moved only 10 % (momentum 0.1) of
# the way from their initial 0 and 1 towards the data's mean 3 and variance 4, so its eval output is
# far from its training output. Layer norm has nothing to average: the gap is exactly 0.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1.4 Gain and bias
#
# After normalizing, layer norm multiplies by a gain $g_i$ and adds a bias $b_i$ (section 3; initialized
# to 1 and 0). Here one case with 16 hidden units: its summed inputs on the left, its output on the right,
# with every $g_i = g$ and every $b_i = b$.
#
# **Predict.** If you scale or shift the input (the first two sliders), what happens to the output? What
# do $g$ and $b$ do? What does a negative gain do?

# %% slideshow={"slide_type": "subslide"}
gain_bias = GainBiasPanel()
gain_bias

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Scaling and shifting the whole case leaves the output where it was, to within the tiny $\epsilon$
#   (the bars move by less than a thousandth of $|g|$): layer norm removes the case's level and spread
#   (section 5.1 makes this precise; notebook 2).
# - The output always has mean $b$ and standard deviation $|g|$ across the units: the normalization
#   throws the scale away and the gain gives the network a learnable one back. A negative gain mirrors
#   the pattern.
# - With $g = 0$ the output is the constant $b$: the layer can switch a unit's input off.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - BN: statistics per hidden unit over the mini-batch (eq. 2); LN: per case over the hidden units (eq. 3).
# - BN's training output for a case depends on its mini-batch; the dependence grows as the batch shrinks
#   and is total at $B = 1$. Its training and test computations differ.
# - LN normalizes each case on its own: independent of the batch size, identical in training and test.
# - Gain and bias restore a learnable scale and level after the normalization.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. In the second panel, how does the spread depend on $B$? Read off the values at $B = 8$ and
#    $B = 32$ and compare their ratio with $\sqrt{32/8}$.
# 2. Call `lnviz.functional.layer_norm(x, (8,), eps=0.0)` on a row of eight equal numbers. What happens,
#    and why does torch add `eps = 1e-5` inside the square root?
# 3. Batch norm can be made batch-independent at test time only. Why is that not enough for a
#    recurrent network (hint: notebook 3)?
