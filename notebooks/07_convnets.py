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
# # 7. Convolutional networks: batch, layer and group normalization
#
# *Ba, Kiros and Hinton (2016), section 6.7 and eqs. (1)-(4); group normalization: Wu and He (2018).*
#
# The paper's experiments are on recurrent and fully connected nets. Of convolutional nets it says only
# this (section 6.7): "layer normalization offers a speedup over the baseline model without normalization,
# but batch normalization outperforms the other methods", and it gives a reason. With fully connected
# layers, "all the hidden units in a layer tend to make similar contributions", so re-centering and
# re-scaling them together works. In a convolutional net, "the large number of the hidden units whose
# receptive fields lie near the boundary of the image are rarely turned on and thus have very different
# statistics from the rest of the hidden units within the same layer."
#
# A convolutional layer's summed inputs $a = W * x$ (eq. 1, the convolution without a bias) form an
# array of shape $N \times C \times H \times W$: cases, channels, rows, columns. A hidden unit is one
# position of one channel. Each method computes its mean and standard deviation over a different block:
#
# | method | the statistics of entry $(n, c, h, w)$ pool | numbers | in torch |
# |---|---|---|---|
# | batch norm (eq. 2) | channel $c$ of **every case**, every position | $N H W$ | `BatchNorm2d(C)` |
# | layer norm (eq. 3) | case $n$, **every channel**, every position | $C H W$ | `LayerNorm((C, H, W))` |
# | group norm | case $n$, the channels of $c$'s **group**, every position | $\frac{C}{G} H W$ | `GroupNorm(G, C)` |
#
# For layer norm, eq. (3) reads $\mu_n = \frac{1}{CHW}\sum_{c,h,w} a_{nchw}$ and
# $\sigma_n = \sqrt{\frac{1}{CHW}\sum_{c,h,w}(a_{nchw} - \mu_n)^2}$, and eq. (4) gives every unit its
# own gain and bias. Group norm with one group is layer norm (with a gain per channel); with one channel
# per group it is instance norm.
#
# The net of this notebook: conv $3\times3$ (1 to 8 channels) $\to$ norm $\to$ ReLU $\to$ max-pool
# $\to$ conv $3\times3$ (8 to 16) $\to$ norm $\to$ ReLU $\to$ max-pool $\to$ linear, on $28 \times 28$
# MNIST digits, with zero padding so that the maps keep their size.

# %% slideshow={"slide_type": "skip"}
from lnviz import convnets
from lnviz.panels import BorderPanel, ConvTrainingPanel, PooledEntriesPanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7.1 Which entries does each method pool?
#
# Below: the first layer's summed inputs for a mini-batch of four test digits (a freshly initialized
# net), one small map per digit (down) and channel (across). The outlined maps are the entries that share
# their mean and standard deviation with the marked entry; the others are dimmed.
#
# **Predict.** The marked entry is near the top-left corner of channel 2, where the $3 \times 3$ filter
# sees only the blank margin of the digit: its summed input is exactly 0. Under each method, which entries
# set the mean and standard deviation it is normalized with? Move the digit slider: under which methods
# do those statistics change from digit to digit?

# %% slideshow={"slide_type": "subslide"}
pooled = PooledEntriesPanel()
digits = convnets.conv_data()
print(f"Digits: {digits.source}; the four below are among its {len(digits.y_test):,} test digits.")
pooled

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Batch norm outlines one channel in every digit; layer norm one digit in every channel; group norm a
#   group of channels of one digit. Set the groups to 1 and group norm outlines what layer norm does;
#   set them to 8 and it outlines a single map (instance norm).
# - Under batch norm the statistics, and so what the blank entry becomes, are the same for all four digits
#   of the mini-batch. Under layer norm and group norm they are the digit's own: layer norm's $\sigma_n$
#   differs by more than a factor of 1.5 between these four digits, so the summed inputs of a thin digit
#   are magnified more than those of a bold one.
# - Every method pools over all positions, so the blank border is inside every one of these statistics.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7.2 Train the four nets
#
# The same net with no normalization, batch norm, layer norm and group norm (4 groups), trained with
# Adam from the same random state on the same mini-batches, 60 steps of 32 digits each: a few seconds
# per net. The left plot has a target loss: after the run it is set to the unnormalized net's final
# training loss, and a circle marks where each net first gets down to it. The title says how many steps
# each net needed, and what share that is of the unnormalized net's steps.
#
# **Predict.** The paper found that layer norm speeds up training over no normalization, and that batch
# norm does better still. Which of the three normalized nets reaches the target first here?

# %% slideshow={"slide_type": "subslide"}
training = ConvTrainingPanel()
training

# %%
training.run()
histories = training.histories
target = training.controls["target"].value  # the unnormalized net's final training loss
print(f"no normalization: final training loss {target:.3f} after {histories['none'].step[-1]} steps")
for method in ("batch", "layer", "group"):
    h = histories[method]
    print(
        f"{method:>5} norm: reaches it at step {h.reach(target)}, final training loss "
        f"{h.train_loss[-1]:.3f}, validation error {1 - h.val_accuracy[-1]:.1%}"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice** (lnviz's tests check these for the default run).
# - Every normalized net gets down to the unnormalized net's final loss in at most three quarters of its
#   steps: layer norm "offers a speedup over the baseline model without normalization", as the paper says.
# - Batch, layer and group norm end close together: their final training losses differ by less than half
#   of their common distance from the unnormalized net's. **So this run gives no sign of batch norm
#   outperforming the other methods.** It is one seed and 60 steps (1,920 digits seen) of a two-layer
#   net; the paper's nets were larger and trained longer. Use the training settings and **Run** to train
#   longer and with other seeds.
# - Move the target loss: is the order of the nets the same at every level of loss? Switch the x-axis to
#   seconds to compare them in time on this machine rather than in steps.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7.3 Units near the border
#
# Now the paper's explanation, measured on the first layer of the nets just trained, over 300 test
# digits. A unit is *turned on* for a digit when its summed input is positive, $a > 0$ (a ReLU with the
# paper's initial bias 0 would pass it). Top left: how often each position is turned on. Top right: each
# digit's $\sigma_n$, what layer norm divides it by (eq. 3), against the share of its units that are
# turned on. Bottom: for each distance to the edge, the standard deviation of the summed inputs of the
# units at that distance, within one digit (averaged over digits), against layer norm's $\sigma_n$ and
# batch norm's $\sigma$ of each channel (eq. 2).
#
# **Predict.** Which units are rarely turned on? How does the spread of their summed inputs compare with
# the $\sigma_n$ that layer norm divides them by, and how does that of the units in the centre compare?

# %% slideshow={"slide_type": "subslide"}
border = BorderPanel({method: h.model for method, h in histories.items()})
border

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice** (checked by lnviz's tests, for the four trained nets and for an untrained one).
# - About half of the positions (from 40% to 65%) are turned on for fewer than 1 digit in 10, and all of
#   them lie within 6 pixels of the edge: MNIST digits sit in the middle of a blank frame, so a filter
#   near the border sees nothing but zeros and zero padding. These are the paper's units whose receptive
#   fields "lie near the boundary of the image".
# - Their statistics are very different from the rest: at the edge the summed inputs barely vary (a
#   standard deviation under 5% of layer norm's $\sigma_n$), while units in the middle vary more than 1.5
#   times as much as $\sigma_n$. One $\mu_n, \sigma_n$ for the whole layer fits neither group: after layer
#   norm (before its gain and bias) the units in the middle spread out with a standard deviation above 1.5,
#   while those at the edge stay almost constant.
# - $\sigma_n$ itself changes from digit to digit, by a factor of more than 2, and follows the share of
#   the digit's units that are turned on (a correlation above 0.7): a bold digit is divided by a larger
#   number than a thin one. Batch norm's $\sigma$ of a channel also includes the border, but it is one
#   number for every digit.
# - Switch between the nets: the picture hardly changes. It is set by the data and the zero padding, and
#   it is already there before training.
# - What this does *not* show is that the border units are what slows layer norm down: in 7.2, at this
#   scale, layer norm kept up with batch norm.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - In a convolutional layer each method pools a block of the $N \times C \times H \times W$ array: batch
#   norm one channel over the mini-batch and all positions (eq. 2), layer norm one case over all channels
#   and positions (eq. 3), group norm one case over a group of channels and all positions.
# - On MNIST about half of the first layer's units, those near the border, are rarely turned on and
#   barely vary, while the units in the middle vary more than layer norm's $\sigma_n$: the units of a layer
#   do not have similar statistics, which is the paper's reason for layer norm's trouble with ConvNets.
# - In short runs of a small net all three normalizations train faster than no normalization, and end
#   close together; the advantage of batch norm that the paper reports does not show in this run.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. In the training settings, set group norm's groups to 1 and press **Run**. Group norm then pools what
#    layer norm pools, but has a gain per channel instead of one per unit. Do the two curves coincide?
# 2. Train for 500 steps, then with seeds 1, 2 and 3. Does batch norm pull ahead of layer norm with more
#    training? Is the order of the three normalized nets the same for every seed?
# 3. `convnets.border_statistics(convnets.ConvNet(), images)` gives the statistics of an untrained net on
#    `images = convnets.conv_data().x_test[:500]`. Shift the digits 4 pixels to the right with
#    `torch.roll(images, shifts=4, dims=3)` (after `import torch`) and compute them again. Which statistics move with the digits,
#    and which stay with the border of the image?
