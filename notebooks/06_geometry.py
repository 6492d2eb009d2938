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
# # 6. The geometry of learning: normalized weights slow down as they grow
#
# *Ba, Kiros and Hinton (2016), section 5.2, "Geometry of parameter space during learning", and Table 1.*
#
# Notebook 2 measured that layer norm's output does not change when the whole weight matrix is scaled,
# $W \to cW$ (Table 1, weight matrix re-scaling): $\mu$ and $\sigma$ of eq. (3) both scale by $c$ and
# the normalized summed inputs $(a_i - \mu)/\sigma$ of eq. (4) stay put. So any loss computed from the
# layer's output has $L(cW) = L(W)$ for every $c > 0$. Section 5.2 of the paper asks what this does to
# *learning*, through the Fisher information of a normalized model. Its conclusion about the weights:
#
# > "During learning, it is harder to change the orientation of the weight vector with large norm. The
# > normalization methods, therefore, have an implicit "early stopping" effect on the weight vectors and
# > help to stabilize learning towards convergence."
#
# The plain-gradient version of the argument takes two lines. Differentiate $L(cW) = L(W)$:
#
# - in $c$, at $c = 1$: $\langle \nabla L(W), W \rangle = 0$. **The gradient is orthogonal to $W$.**
# - in $W$: $c\, \nabla L(cW) = \nabla L(W)$. **The gradient shrinks as $1/\lVert W \rVert$.**
#
# A gradient step $W' = W - \eta \nabla L$ is therefore a step at right angles to $W$. By Pythagoras it
# can only lengthen $W$, $\lVert W' \rVert^2 = \lVert W \rVert^2 + \eta^2 \lVert \nabla L \rVert^2$, and
# it turns $W$ by the angle with $\tan \Delta\theta = \eta \lVert \nabla L \rVert / \lVert W \rVert$,
# which falls as $\eta / \lVert W \rVert^2$: the direction of $W$, the only thing the output depends
# on, learns with an **effective learning rate** $\eta / \lVert W \rVert^2$.
#
# Throughout, a layer $h = \operatorname{LN}(Wx)$ with $H = 8$ units and 8 inputs learns, by mean
# squared error, noisy targets made by a teacher of the same form. Everything is float64 with no
# $\epsilon$, as in the paper's equations, so the invariance is exact.

# %% slideshow={"slide_type": "skip"}
from IPython.display import display

from lnviz import geometry
from lnviz.exercises import check_weight_norm, check_weight_norm_grad
from lnviz.panels import GainLearningPanel, NormGrowthPanel, WeightPlanePanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6.1 The picture: the loss over a plane of weight matrices
#
# A weight matrix has 64 entries; to draw the loss, restrict $W$ to a plane through the origin,
# $W = w_1 A + w_2 B$, where $A$ is the teacher's direction and $B$ a random direction at right angles to
# it, both of norm 1. Then $\lVert W \rVert = \lVert w \rVert$, and the gradient in $w$ is the
# gradient in $W$ seen in the plane. Darker is higher loss. The black arrow is $w$, the red-orange one
# the step $-\eta \nabla L$; the dotted gray path continues with 20 more steps of gradient descent. On
# the right, along $w$'s ray, the gradient norm and the angle one step turns $w$ by.
#
# **Predict.** Keep the angle and double $\lVert w \rVert$. What happens to the loss? To the length of
# the gradient? To the angle one step turns $w$ by: half, a quarter, the same?

# %% slideshow={"slide_type": "subslide"}
plane_panel = WeightPlanePanel()
plane_panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - The loss is constant along every ray from the origin: its level lines are rays. Only the angle of
#   $w$ matters; the lowest loss lies along the teacher's direction, the highest opposite it.
# - The step is always at right angles to $w$ (the title prints $w \cdot \nabla L$, zero up to rounding),
#   so it always leaves the dotted circle outwards: gradient descent never shortens $w$.
# - Double $\lVert w \rVert$ and the gradient halves (the green line has slope $-1$ on the log-log
#   axes). The angle a step turns $w$ by falls four times (slope $-2$), once it is small.
# - Put $w$ near the origin with a large learning rate ($\lVert w \rVert = 0.25$, 90°, learning rate 1):
#   the first step throws $w$ far out (the plot's axes widen to follow it), past $\lVert w \rVert = 7$ and
#   to within 2° of the teacher's direction; after it each step turns $w$ by less than a fifth of a degree.
#   The gradient was large because $w$ was short; the step it takes makes $w$ long.
#
# The same numbers along one ray, 90° from the teacher, with learning rate 0.3. The last column is
# the paper's Riemannian metric (section 5.2.1) in the direction at right angles to $w$: how much the
# layer's output moves per unit step that way (the Fisher information for outputs with unit Gaussian
# noise, up to a constant factor).

# %%
for norm in (0.5, 1.0, 2.0, 4.0):
    w = geometry.point(norm, 90.0)
    step = geometry.gradient_step(plane_panel.plane, w, lr=0.3)
    print(
        f"‖w‖ = {norm:3.1f}: loss {step.loss:.4f}, ‖∇L‖ {step.gradient.norm():.3f}, "
        f"w·∇L {step.inner:+.0e}, one step turns w by {step.angle_change:5.2f}°, "
        f"metric {geometry.tangent_metric(plane_panel.plane, w):.4f}"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# The paper says it in the language of the Fisher metric: the block of the metric along a unit's
# weights carries a factor $1/\sigma_i^2$, and $\sigma_i$ grows with the weights, so the same step in
# parameter space moves the model less and less. Measured: doubling $\lVert w \rVert$ halves the
# gradient and quarters the metric, and the angle a step turns $w$ by falls from 7.8° to 2.0° between
# $\lVert w \rVert = 2$ and 4.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Weight normalization (Salimans and Kingma 2016, the third row of Table 1) builds the
# same invariance in by hand, one unit at a time: unit $i$'s incoming weights are
# $w_i = g_i\, v_i / \lVert v_i \rVert$, so scaling $v_i$ changes nothing, and by the two lines above
# the gradient in $v_i$ is orthogonal to $v_i$ (and to $w_i$) and shrinks as $1 / \lVert v_i \rVert$.
# `v` has shape (units, inputs), one row $v_i$ per unit, and `g` shape (units,).
# 1. `weight_norm(v, g)` returns $w$, of the shape of `v`.
# 2. `weight_norm_grad(v, g, grad_w)` gets the loss's gradient $\nabla_w L$ (`grad_w`, the shape of `v`)
#    and returns `(grad_g, grad_v)` by the chain rule through $w_i = g_i v_i / \lVert v_i \rVert$,
#    without autograd. Hint: only the part of `grad_w[i]` at right angles to $v_i$ reaches `grad_v[i]`.
#
# Replace each `raise NotImplementedError` and run the check.


# %% slideshow={"slide_type": "subslide"}
def weight_norm(v, g):
    """w_i = g_i v_i / ||v_i||, one norm per row of v: (units, inputs)."""
    raise NotImplementedError  # your code here


def weight_norm_grad(v, g, grad_w):
    """(grad_g, grad_v): the gradients of the loss in g (units,) and v (units, inputs), from grad_w."""
    raise NotImplementedError  # your code here


# %%
display(check_weight_norm(weight_norm))
check_weight_norm_grad(weight_norm_grad)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It defines
# `weight_norm_solution` and `weight_norm_grad_solution`, so running it leaves your functions as they are.


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
def weight_norm_solution(v, g):
    ### BEGIN SOLUTION
    return g[:, None] * v / v.norm(dim=1, keepdim=True)  # row i: unit i's incoming weights
    ### END SOLUTION


def weight_norm_grad_solution(v, g, grad_w):
    ### BEGIN SOLUTION
    norm = v.norm(dim=1, keepdim=True)  # ||v_i||, one per row
    direction = v / norm  # v_i / ||v_i||, the direction of w_i too
    grad_g = (grad_w * direction).sum(dim=1)  # dL/dg_i = grad_w_i . v_i / ||v_i||
    grad_v = g[:, None] / norm * (grad_w - grad_g[:, None] * direction)  # grad_w without its part along w
    return grad_g, grad_v
    ### END SOLUTION


display(check_weight_norm(weight_norm_solution))
check_weight_norm_grad(weight_norm_grad_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6.2 Training: $\lVert W \rVert$ only grows, and the direction slows down
#
# Now the whole $W$, all 64 entries, trained by plain stochastic gradient descent on mini-batches of 16
# cases, starting at right angles to the teacher. With weight decay $\lambda$, each step also shrinks
# $W$ by the factor $1 - \eta\lambda$. The dotted black line is Pythagoras' prediction of $\lVert W
# \rVert$ from the gradients alone; the dashed one, where weight decay balances the growth (below).
#
# **Predict.** With learning rate 1, from $\lVert W_0 \rVert = 1$: will $\lVert W \rVert$ grow, shrink,
# or wander? How will the angle each step turns $W$ by change over training? What will weight decay
# change? And what happens with learning rate 10, where a layer without normalization would blow up?

# %% slideshow={"slide_type": "subslide"}
growth_panel = NormGrowthPanel()
growth_panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Without weight decay $\lVert W \rVert$ grows at every step, exactly as Pythagoras predicts, and
#   fastest at first, while $W$ points the wrong way and the gradient is large: with learning rate 1,
#   from 1 to about 2.6 in the first step, and to about 4 after 200. The effective learning rate
#   $\eta / \lVert W \rVert^2$ falls at every step, and with it the angle per step: about 70° for the
#   first step, about 2.5° at the end. That is the implicit "early stopping".
# - Not all of that fall is the growth: near the minimum the gradients get smaller too. After the first
#   step, the effective learning rate falls about 2.5-fold over the run and the angle per step about
#   3.5-fold. The growth alone is what a larger $\lVert W_0 \rVert$ does: it slows the whole run down,
#   exactly as a smaller learning rate would (measured below).
# - Weight decay holds $\lVert W \rVert$ back (here it ends near 2.4, against 4 without), and the angle
#   per step stops shrinking: it settles near the dashed line, about 8° per step for learning rate 1
#   and $\lambda = 0.01$. The loss ends higher (about 0.27 against 0.25): larger steps are noisier.
# - A learning rate of 10 does not blow up. It blows up $\lVert W \rVert$, once (below).
#
# Why the dashed line: a step $W' = (1 - \eta\lambda) W - \eta \nabla L$ keeps $\lVert W' \rVert =
# \lVert W \rVert$ when $\eta^2 \lVert \nabla L \rVert^2 = (1 - (1 - \eta\lambda)^2) \lVert W \rVert^2$,
# and then turns $W$ by $\tan \Delta\theta = \sqrt{2\eta\lambda - \eta^2\lambda^2} / (1 - \eta\lambda)$,
# about $\sqrt{2\eta\lambda}$ radians, whatever the loss. With weight decay, the learning rate and
# $\lambda$ set how fast the direction moves in the end; $\lVert W_0 \rVert$ is forgotten.
#
# Only $\eta / \lVert W_0 \rVert^2$ matters at all: scale $W_0$ by 10 and the learning rate by 100 (and
# $\lambda$ by 1/100, so that $\eta\lambda$ stays the same), and the run is the same run, every norm 10
# times larger:

# %%
small = geometry.grow(growth_panel.task, lr=1.0, init_norm=1.0, weight_decay=(0.0, 0.01))
large = geometry.grow(growth_panel.task, lr=100.0, init_norm=10.0, weight_decay=(0.0, 1e-4))
for a, b in zip(small, large):
    print(
        f"lr x weight decay = {a.lr * a.weight_decay:g}: largest difference in loss "
        f"{(a.losses - b.losses).abs().max():.0e}, "
        f"in angle per step {(a.angle_changes - b.angle_changes).abs().max():.0e} deg, "
        f"norms {(b.norms / a.norms).min():.6f} to {(b.norms / a.norms).max():.6f} times larger"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# And the learning rate you set is not the one the direction feels. Three learning rates from
# $\lVert W_0 \rVert = 1$, no weight decay:

# %%
for run in geometry.grow(growth_panel.task, lr=(0.3, 1.0, 10.0), init_norm=1.0):
    print(
        f"lr {run.lr:4}: ‖W‖ after the first step {run.norms[1]:5.1f}, effective learning rate at the end "
        f"{run.effective_lr[-1]:.4f}, loss after 200 steps {run.losses[-1]:.3f}"
    )

# %% [markdown]
# Learning rate 10 throws $\lVert W \rVert$ past 20 in its first step, and from then on the direction
# learns with an effective learning rate several times smaller than the others'. It does not diverge,
# and it ends as low as they do (here even a little lower: smaller effective steps are also less noisy
# ones). Learning rates 0.3 and 1 end with almost the same effective learning rate, because the larger
# one grew $W$ more. Other seeds (`seed=` of `geometry.grow`) tell the same story. A normalized layer
# partly tunes its own learning rate, through $\lVert W \rVert$, and without weight decay the tuning
# only goes down.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6.3 Learning the gain: only the prediction error counts
#
# Normalization takes the magnitude away from the weights and gives it to the gain $g_i$ of eq. (4).
# Section 5.2.2 compares learning that gain with learning the magnitude of an unnormalized unit's
# weights, and concludes that "the Riemannian metric along the magnitude of the incoming weights for the
# standard GLM is scaled by the norm of its input, whereas learning the gain parameters for the batch
# normalized and layer normalized models depends only on the magnitude of the prediction error".
#
# Two layers of $H = 8$ units learn only their magnitudes, with the directions $u_i$ ($\lVert u_i \rVert
# = 1$) fixed:
# - **no normalization**: $\hat y_i = g_i\, u_i^\top x$, the weights are $w_i = g_i u_i$, so $g_i$ is the
#   length of the weight vector;
# - **layer norm**: $\hat y_i = g_i\, (a_i - \mu)/\sigma$ with $a_i = u_i^\top x$ (eq. 3 and 4, bias 0).
#
# In both, $\partial L / \partial g_i$ is the prediction error $\hat y_i - y_i$ times what $g_i$
# multiplies, averaged over the cases. Without normalization that is $u_i^\top x$, which grows with the
# inputs; with layer norm it is the normalized input, whose mean square over the units of each case is
# exactly 1, whatever the inputs' scale. The targets come from a plain teacher at the inputs' natural
# scale; the models see $c\,x$, the same inputs in other units. Each model starts with its gains at
# half their best values, so that its prediction error at the start is the same at every $c$.
#
# **Predict.** At $c = 1$ both learn at the same pace with learning rate 1. Multiply the inputs by 10:
# what happens to each model's gain gradient, and to its learning? Divide them by 10?

# %% slideshow={"slide_type": "subslide"}
gain_panel = GainLearningPanel()
gain_panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Left: the layer-norm gain's gradient is a flat line, the same at every input scale: it depends on
#   the prediction error alone. The unnormalized unit's grows in proportion to $c$.
# - Right: with learning rate 1, layer norm learns its gains identically at every input scale, to
#   within $10^{-5}$ of the best values in 60 steps. The unnormalized unit diverges at $c = 10$ and
#   crawls at $c = 0.1$ (after 60 steps more than four fifths of the way is still to go).
# - The unnormalized unit can be rescued, but only by a learning rate tuned to the input scale: its
#   loss curves in $g$ are $c^2$ times steeper, so it needs $\eta / c^2$. With layer norm no tuning is
#   needed. This is what the paper means by "more robust to the scaling of the input".
# - An honest caveat: this teacher is a plain layer, which layer norm cannot fit exactly (it removes
#   each case's mean and spread, which the targets keep); its best loss is 0.36 against the plain
#   unit's 0. The figure compares how each model reaches its own best gains, not which fits better.
#
# The rescue, measured: the unnormalized unit at $c = 10$ with learning rate $1/100$ follows exactly
# the path it takes at $c = 1$ with learning rate 1.

# %%
reference = geometry.learn_gain(gain_panel.task, "none", scale=1.0, lr=1.0)
for scale in (0.1, 10.0):
    rescued = geometry.learn_gain(gain_panel.task, "none", scale=scale, lr=1.0 / scale**2)
    print(
        f"c = {scale:4}: lr {1 / scale**2:g}, largest difference in the distance to the best gains "
        f"{(rescued.distances - reference.distances).abs().max():.0e}"
    )
for model in geometry.GAIN_MODELS:
    print(f"{model:>5}: best loss {geometry.learn_gain(gain_panel.task, model, 1.0, 1.0).losses[-1]:.2f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Layer norm makes the loss independent of the scale of the weight matrix (Table 1). So the gradient
#   is orthogonal to $W$ and shrinks as $1/\lVert W \rVert$: every plain gradient step lengthens $W$,
#   by Pythagoras, and turns it by an angle that falls as $\eta / \lVert W \rVert^2$.
# - During training $\lVert W \rVert$ grows, fastest while the gradients are large, and the effective
#   learning rate of the direction falls with it: the paper's implicit "early stopping". Too large a
#   learning rate does not diverge; it makes $W$ long, and the direction then moves in smaller steps.
#   Only $\eta / \lVert W_0 \rVert^2$ matters.
# - Weight decay balances the growth: $\lVert W \rVert$ settles, and each step then turns $W$ by about
#   $\sqrt{2\eta\lambda}$ radians, whatever the loss.
# - The gain's gradient is the prediction error times the normalized input, which has unit size
#   whatever the input's scale; the gradient of an unnormalized unit's weight magnitude grows with the
#   input, and its learning rate must shrink as $1/c^2$ to keep up.
#
# ## Exercises
# 1. Batch norm is invariant to re-scaling each unit's weight vector $w_i$ on its own (Table 1). What
#    does that say about each row of its gradient? Check it on a random layer with
#    `lnviz.nn.functional.batch_norm(a, None, None, training=True, eps=0.0)` and `torch.autograd.grad`.
# 2. Derive the dashed line of 6.2 from $\lVert W' \rVert = \lVert W \rVert$, then find the norm at which
#    $\lVert W \rVert$ settles, in terms of $\eta$, $\lambda$ and the scale-free gradient
#    $\lVert W \rVert \lVert \nabla L \rVert$. Compare with `run.norms` and `run.grad_norms` of a run
#    from `geometry.grow(..., weight_decay=(0.01,))`.
# 3. The unnormalized gain's loss is quadratic in each $g_i$, with curvature
#    $2 c^2 \overline{(u_i^\top x)^2} / H$. Gradient descent on it diverges once the learning rate times
#    the largest curvature exceeds 2. From `geometry.gain_features(gain_panel.task, "none", 1.0)`, find
#    the input scale at which learning rate 1 starts to diverge, and check it in the panel.
