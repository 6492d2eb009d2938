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
# # 8. After 2016: RMS norm, pre-LN Transformers, and where eps goes
#
# *Zhang and Sennrich (2019), "Root Mean Square Layer Normalization"; Xiong et al. (2020), "On Layer
# Normalization in the Transformer Architecture"; and the code that implements Ba, Kiros and Hinton's
# eq. (3) in torch, Keras and the authors' own Lua.*
#
# Layer norm outlived the recurrent networks it was written for: every Transformer normalizes each
# token over its $H$ features, exactly as eq. (3) normalizes a case over its hidden units. Three things
# changed on the way, and this notebook takes them one at a time:
#
# 1. **RMS norm** drops the mean: cheaper, and one invariance of Table 1 poorer.
# 2. **Where the norm sits** in a Transformer layer decides how large the gradients are at
#    initialization, and whether training needs a learning-rate warm-up.
# 3. **Where $\epsilon$ sits** differs from framework to framework, which matters for a case whose
#    summed inputs barely vary.

# %% slideshow={"slide_type": "skip"}
import torch

from lnviz import after2016, invariance
from lnviz.exercises import check_rms_norm
from lnviz.figures import table_figure
from lnviz.panels import EpsConventionPanel, NormPositionPanel, RecenteringPanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8.1 RMS norm: layer norm without the mean
#
# Layer norm (eq. 3 and 4) subtracts the mean $\mu$ of the $H$ summed inputs and divides by their
# standard deviation $\sigma$. Zhang and Sennrich (2019, eq. 4) keep only the division, by the root mean
# square:
#
# $$\bar a_i = \frac{a_i}{\operatorname{RMS}(a)}\, g_i, \qquad
#   \operatorname{RMS}(a) = \sqrt{\frac{1}{H}\sum_{i=1}^{H} a_i^2} = \sqrt{\mu^2 + \sigma^2}.$$
#
# Their bet: the re-scaling is what helps training, the re-centering is not worth its cost.
#
# **Predict.** The pattern below has mean 0, so without a shift both norms give the same output. The
# panel starts with the same number $c = 1$ added to every $a_i$ (the shift): which output moves, and
# which does not? (Set the shift to 0 to compare.) What happens when you multiply every $a_i$ by the same
# factor (the scale)? What does RMS norm output when the shift is much larger than the row's own spread?

# %% slideshow={"slide_type": "subslide"}
recentering = RecenteringPanel()
recentering

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - The scale moves neither output: both divide by a statistic that scales with $a$.
# - The shift never moves layer norm's output: $\mu$ absorbs it. RMS norm's output moves at once,
#   because $\operatorname{RMS}(a) = \sqrt{\mu^2 + \sigma^2}$ grows with the shift while the pattern's
#   spread $\sigma$ does not.
# - With a large shift RMS norm's output flattens towards a constant $\pm 1$ on every unit: the
#   pattern the layer should pass on is crushed into a small ripple of size $\sigma / |\mu|$.
#
# This is the row of Table 1 that RMS norm gets. Re-centering the weight matrix, $W \to W + \mathbf{1}
# \gamma^\top$, adds the same $\gamma^\top x$ to every summed input of a case: it is exactly the shift
# above, which layer norm removes and RMS norm cannot. The other cells match layer norm's, measured
# as in notebook 2:

# %% slideshow={"slide_type": "subslide"}
measured = invariance.deviations()
table = invariance.table()
rows = ("layer", "rms")
table_figure({m: table[m] for m in rows}, {m: measured[m] for m in rows})

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write RMS norm, Zhang and Sennrich's eq. (4), for a mini-batch `x` of shape (cases,
# hidden units) and a gain of shape (hidden units,) (RMS norm has no bias): divide each case by the root
# mean square of its own summed inputs, with $\epsilon$ added under the square root as torch's
# `F.rms_norm` adds it, $\sqrt{\frac{1}{H}\sum_i a_i^2 + \epsilon}$, then multiply by the gain. Replace
# `raise NotImplementedError` and run the check: it recognizes layer norm's re-centering among its
# mistakes.


# %%
def rms_norm(x, gain, eps):
    """Zhang and Sennrich's eq. (4): each case divided by the RMS of its hidden units, times the gain."""
    raise NotImplementedError  # your code here


# %%
check_rms_norm(rms_norm)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `rms_norm_solution`, so running it leaves your function as it is.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def rms_norm_solution(x, gain, eps):
    ### BEGIN SOLUTION
    mean_square = (x**2).mean(dim=-1, keepdim=True)  # over the H hidden units of each case; no mu subtracted
    return gain * x / torch.sqrt(mean_square + eps)
    ### END SOLUTION


check_rms_norm(rms_norm_solution)

# %% [markdown] slideshow={"slide_type": "subslide"}
# What does dropping the mean buy? Zhang and Sennrich report running times 7 % to 64 % shorter
# than with layer norm, across their models and frameworks. Below, one forward and backward pass of each
# on a batch of 128 cases of 256 units, raced against each other, in two pairs implemented alike:
# torch's `F.rms_norm` against `F.layer_norm`, and the equations written out as elementary tensor
# operations (`lnviz.nn.functional`). A ratio below 1 means RMS norm is faster.
#
# Timings depend on the machine, its load and the torch build, so your numbers will differ; the
# thorough measurement over several sizes is `benchmarks/bench_rmsnorm.py`.

# %% slideshow={"slide_type": "fragment"}
speed = after2016.speed_ratios(n_cases=128, hidden=256, rounds=100)
for pair, ratio in speed.items():
    print(f"RMS norm / layer norm, forward + backward, {pair:>11}: {ratio:.2f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.** Written out the same way, RMS norm does less arithmetic: one reduction fewer, no
# subtraction, no bias to differentiate. The written-out ratio says what that saves on your machine
# (about a quarter of the time on the one lnviz was developed on). Between torch's own functions the
# answer depends on the build: where layer norm runs as one fused kernel and RMS norm is assembled from
# several operations, as in the CPU build of torch 2.13 lnviz was developed with, the "cheaper" norm is
# the slower one (2 to 5 times there). The saving is real, but an implementation can dwarf it.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8.2 Post-LN or pre-LN: where the norm sits in a Transformer layer
#
# A Transformer layer has two sublayers, self-attention and a feed-forward net $F$, each with a
# residual connection. Vaswani et al. (2017) normalized after each residual sum (**post-LN**); many
# later models normalize each sublayer's input instead (**pre-LN**), with one more norm at the end:
#
# $$\text{post-LN:}\quad x_{l+1} = \operatorname{LN}\big(x_l + F(x_l)\big), \qquad
#   \text{pre-LN:}\quad x_{l+1} = x_l + F\big(\operatorname{LN}(x_l)\big).$$
#
# Xiong et al. (2020, Theorem 1) show that at initialization the gradient of the last layer's
# feed-forward weights is bounded by a term of order $d\sqrt{\ln d}$ for post-LN ($d$ the width
# `d_model`), whatever the depth $L$, but of order $d\sqrt{\ln d / L}$ for pre-LN. Large gradients
# near the output, they argue, are why post-LN needs a learning-rate warm-up; their pre-LN
# Transformers train without one.
#
# Below, a tiny decoder-only Transformer (`lnviz.nn.transformer.TinyTransformer`, Xavier-initialized as
# is usual for Transformers) reads 32 sequences of 16 random tokens and predicts the next token. Each
# bar is the gradient norm of one layer's feed-forward weights $W_1, W_2$ at initialization: post-LN on
# the left, pre-LN on the right, on one scale that starts at zero.
#
# **Predict.** In a post-LN stack of 12 layers, does the first layer or the last get the larger
# gradient? In a pre-LN stack? As you add layers, what happens to the last layer's gradient in each?

# %% slideshow={"slide_type": "subslide"}
positions = NormPositionPanel()
positions

# %% [markdown] slideshow={"slide_type": "subslide"}
# One random model is one draw. Here is the last-to-first-layer ratio for five initializations of a
# 12-layer model of width 32:

# %% slideshow={"slide_type": "fragment"}
for position, growths in after2016.growth_by_seed(12, 32).items():
    print(f"{position}-LN, gradient norm of layer 12 / layer 1:", "  ".join(f"{g:.2f}" for g in growths))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Post-LN's gradients grow towards the output; pre-LN's do not (here they even fall gently towards
#   the output, to about half at 12 layers). On the way back, a post-LN gradient passes through a layer
#   norm after every sublayer, and each divides it by the std of the sum it normalized, which $F$ has
#   made larger than 1. In pre-LN the residual path from the output down to every layer carries no norm.
# - With more layers the gap opens: post-LN's last layer keeps its large gradient (here it even grows)
#   while pre-LN's shrinks, as Theorem 1 says. At 12 layers of width 32, post-LN's last layer gets
#   about two to six times pre-LN's, depending on the draw; at 2 layers, hardly more.
# - In a model this small the profile is noisy, most with few layers or at width 16: move the seed.
#   Post-LN's last-to-first ratio can then dip below 1, but it stays above pre-LN's; the exact shape
#   changes from draw to draw.
# - RMS norm in place of layer norm moves the bars a little but does not change the picture: what
#   matters is where the norm sits.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8.3 Where eps goes
#
# Eq. (3) divides by $\sigma$, which is 0 for a case whose summed inputs are all equal. Every
# implementation guards the division with a small $\epsilon$, but not in the same place or of the
# same size:
#
# | convention | divides $a_i - \mu$ by | $\epsilon$ |
# |---|---|---|
# | torch (`nn.LayerNorm`, `F.layer_norm`) | $\sqrt{\sigma^2 + \epsilon}$ | $10^{-5}$ |
# | Keras (`LayerNormalization`) | $\sqrt{\sigma^2 + \epsilon}$ | $10^{-3}$ |
# | the authors' Lua code (`ryankiros/layer-norm`) | $\sigma + \epsilon$ | $10^{-5}$ |
# | the paper's eq. (3) | $\sigma$ | none |
#
# For a case with summed inputs of variance $\sigma^2$, the output's std is
# $\sigma/\sqrt{\sigma^2 + \epsilon}$ inside the root and $\sigma / (\sigma + \epsilon)$ outside it,
# instead of 1.
#
# **Predict.** A case whose summed inputs have variance $10^{-6}$ (std $10^{-3}$): what std does each
# convention give its normalized output? Which convention gives up first as the variance shrinks?

# %% slideshow={"slide_type": "subslide"}
eps_panel = EpsConventionPanel()
eps_panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Each convention with $\epsilon$ normalizes as promised until the variance comes near its
#   $\epsilon$, then stops: the output shrinks with the input. Keras gives up first (variance around
#   $10^{-3}$), torch around $10^{-5}$.
# - The Lua convention holds on much longer: $\epsilon$ outside the root competes with $\sigma$, not
#   with $\sigma^2$, so it gives up only when $\sigma$ itself nears $10^{-5}$, a variance near
#   $10^{-10}$ (its output std is 0.91 at the slider's $10^{-8}$).
# - Without $\epsilon$ every row comes out with std 1, however small its variance: rounding noise
#   is blown up to full size. And a row with no variance at all gives $0/0$:

# %% slideshow={"slide_type": "fragment"}
zero_row, flat_row = torch.zeros(1, 8), torch.full((1, 8), 0.1)
for name, convention in after2016.CONVENTIONS.items():
    zero, flat = after2016.normalize(zero_row, name)[0, 0], after2016.normalize(flat_row, name)[0, 0]
    print(f"{convention.label:<42} all zeros → {zero:.2g}    all 0.1 → {flat:.2g}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# A row of zeros (a padding position, say) gives NaN without $\epsilon$, which then spreads through
# everything computed from it. A row of eight copies of 0.1 should give 0 too. But in float32 the
# computed mean can miss 0.1 in the last bit (it does with the torch build lnviz was tested with), and
# then that rounding error, about $10^{-8}$, is all the "variance" there is. Without $\epsilon$ it is
# normalized to $\pm 1$ (or, had the mean come out exact, to NaN); the Lua convention shrinks it far
# less than torch or Keras do. A model trained in one convention and run in another computes something
# else on such rows: porting weights means porting $\epsilon$ and where it goes.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - RMS norm divides by $\sqrt{\mu^2 + \sigma^2}$ and subtracts nothing: it keeps layer norm's
#   re-scaling invariances and loses the invariance to re-centering the weight matrix. It does less
#   arithmetic; whether it runs faster depends on the kernels at hand.
# - Post-LN normalizes the residual stream after every sublayer; at initialization its gradients grow
#   towards the output and stay large there at any depth (Xiong et al., Theorem 1). Pre-LN leaves the
#   residual path free of norms; its gradients are roughly even across layers (falling gently towards
#   the output) and shrink as layers are added, which, they argue, is why it trains without a warm-up.
# - $\epsilon$ inside the root (torch $10^{-5}$, Keras $10^{-3}$) or outside it (the authors' Lua,
#   $10^{-5}$) decides at what variance a case stops being normalized; without it, a constant case
#   gives NaN and a nearly constant one has its rounding noise blown up.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. Show that $\operatorname{RMS}(a)^2 = \mu^2 + \sigma^2$. For which rows is RMS norm's output close to
#    layer norm's? Check with `after2016.recentering(shift, scale)` and its `rms_change`.
# 2. Build `lnviz.nn.transformer.TinyTransformer(12, 32, 4, 128, 32, norm_position="pre")` and measure the
#    std of the residual stream $x_l$ after each block at initialization (call the blocks one by one on
#    `model.embedding(tokens)` with `lnviz.nn.transformer.causal_mask`). How does it grow with $l$, and what
#    does that do to the final norm's gradient?
# 3. For which variance is torch's output std exactly $1/2$? The Lua convention's? What $\epsilon$ inside
#    the root would make torch agree with the Lua code on a row of std $s$?
