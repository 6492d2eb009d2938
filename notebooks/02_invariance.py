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
# # 2. Invariances: the paper's Table 1, live
#
# *Ba, Kiros and Hinton (2016), section 5.1 and Table 1.*
#
# Batch, weight and layer normalization all compute a normalized summed input
#
# $$h_i = f\!\left(\frac{g_i}{\sigma_i}\,(a_i - \mu_i) + b_i\right), \qquad a_i = w_i^\top x \qquad (5)$$
#
# and differ only in $\mu_i$ and $\sigma_i$: over the mini-batch for batch norm, over the hidden units
# for layer norm, and $\mu_i = 0$, $\sigma_i = \lVert w_i \rVert$ for weight normalization. So they
# forget different things. Table 1 of the paper lists, for six transformations of the weights or the
# data, whether the normalized output $h$ stays the same:
#
# | transformation | what changes |
# |---|---|
# | weight matrix re-scaling | $W \to \delta W$ |
# | weight matrix re-centering | $W \to W + \mathbf{1}\gamma^\top$ (every row moves the same way) |
# | weight vector re-scaling | $w_i \to \delta_i w_i$ (each unit's incoming weights by its own factor) |
# | dataset re-scaling | $x \to \delta x$ for every case |
# | dataset re-centering | $x \to x + \gamma$ for every case |
# | single training case re-scaling | $x^{(n)} \to \delta_n x^{(n)}$ (each case by its own factor) |
#
# Here nothing is typed in: lnviz draws a random layer and data set, applies a random transformation
# of each kind, and **measures** how far $h$ moves (in float64, with no $\epsilon$, as in the equations).

# %% slideshow={"slide_type": "skip"}
from lnviz import invariance
from lnviz.exercises import check_table1
from lnviz.figures import table_figure
from lnviz.panels import InvariancePanel

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2.1 Predict first
#
# Before you touch anything, fill in the table for yourself. Two hints:
# - Re-centering the weight matrix adds the same number $\gamma^\top x$ to every summed input of a case.
#   Whose $\mu$ absorbs that?
# - Re-scaling one case multiplies all of that case's summed inputs by $\delta_n$. Whose $\sigma$
#   absorbs that?

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2.2 Move it
#
# Pick a method and a transformation and move the magnitude (0 is no transformation; for re-scalings the
# factor is $e^{\text{magnitude}}$, for re-centerings the shift is magnitude times a random vector).
# Left: every entry of $h$ after the transformation against before; on the diagonal means unchanged.
# Right: the relative deviation $\lVert h' - h\rVert / \lVert h \rVert$ against the magnitude for all
# four methods, on a log scale, so that "unchanged" shows as rounding error near $10^{-16}$. Where curves
# lie on top of each other, the legend says so, e.g. "RMS norm (≈ layer norm here)".

# %% slideshow={"slide_type": "subslide"}
panel = InvariancePanel()
panel

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - With layer norm, re-centering the weight matrix keeps every point on the diagonal, at any magnitude:
#   the shift $\gamma^\top x$ is the same for all units of a case, and the case's mean $\mu$ removes it.
#   Batch norm cannot remove it, because $\gamma^\top x$ differs from case to case.
# - Re-scaling one unit's weights ("weight vector re-scaling") is harmless to batch and weight
#   normalization, which normalize each unit on its own, but it changes layer norm's output: that
#   unit now weighs more in the case's $\mu$ and $\sigma$.
# - Invariant curves sit at $10^{-16}$ whatever the magnitude; the others rise with it. There is
#   nothing in between: invariance is exact, not approximate.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Your turn.** Write down your Table 1 before 2.3 shows the measured one: replace every `...` below
# with `True` (the method's output $h$ stays the same under the transformation) or `False`. Use your
# predictions from 2.1 and what the panel showed; for a cell you are unsure of, set the panel to that
# method and transformation. The check names every wrong cell and the panel setting that shows it.

# %% slideshow={"slide_type": "skip"}
table1 = {
    "batch": {
        "weight_matrix_rescaling": ...,
        "weight_matrix_recentering": ...,
        "weight_vector_rescaling": ...,
        "dataset_rescaling": ...,
        "dataset_recentering": ...,
        "case_rescaling": ...,
    },
    "weight": {
        "weight_matrix_rescaling": ...,
        "weight_matrix_recentering": ...,
        "weight_vector_rescaling": ...,
        "dataset_rescaling": ...,
        "dataset_recentering": ...,
        "case_rescaling": ...,
    },
    "layer": {
        "weight_matrix_rescaling": ...,
        "weight_matrix_recentering": ...,
        "weight_vector_rescaling": ...,
        "dataset_rescaling": ...,
        "dataset_recentering": ...,
        "case_rescaling": ...,
    },
}

# %%
check_table1(table1)

# %% [markdown] slideshow={"slide_type": "skip"} tags=["solution"]
# **A solution**, collapsed: click the three dots below to open it, after you have tried. It is named
# `table1_solution`, so running it leaves your table as it is.

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
### BEGIN SOLUTION
table1_solution = {
    # mu_i, sigma_i over the mini-batch, per unit: a unit's scale and level over the data are forgotten
    "batch": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,  # gamma^T x differs from case to case
        "weight_vector_rescaling": True,
        "dataset_rescaling": True,
        "dataset_recentering": True,
        "case_rescaling": False,  # one case's factor moves the batch's statistics unevenly
    },
    # mu_i = 0, sigma_i = ||w_i||: only the length of each weight vector is forgotten
    "weight": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": False,
        "weight_vector_rescaling": True,
        "dataset_rescaling": False,
        "dataset_recentering": False,
        "case_rescaling": False,
    },
    # mu, sigma of each case over its H units: the case's own scale and level are forgotten
    "layer": {
        "weight_matrix_rescaling": True,
        "weight_matrix_recentering": True,  # the same gamma^T x for every unit of a case
        "weight_vector_rescaling": False,  # that unit weighs more in the case's mu and sigma
        "dataset_rescaling": True,
        "dataset_recentering": False,  # x + gamma adds W gamma, different for each unit
        "case_rescaling": True,
    },
}
### END SOLUTION
check_table1(table1_solution)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2.3 The whole table, measured
#
# `invariance.table()` decides every cell by the largest deviation over three random layers at magnitude 1.
# Each lnviz row is shown above the paper's; a cell where they disagreed would be orange. RMS norm
# (Zhang and Sennrich, 2019: $\mu = 0$, $\sigma = \sqrt{\frac{1}{H}\sum_i a_i^2}$) gets a row the
# paper could not have.

# %% slideshow={"slide_type": "subslide"}
measured = invariance.deviations()
table = invariance.table()
agree, cells = invariance.agreement(table)
print(f"lnviz agrees with the paper's Table 1 in {agree} of {cells} cells")
table_figure(table, measured)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What to notice.**
# - Layer norm is invariant to re-scaling and re-centering the weight matrix and to re-scaling a single
#   case, but not to re-scaling a single weight vector or re-centering the dataset.
# - RMS norm keeps layer norm's re-scaling invariances and loses the re-centering one: it never
#   subtracts a mean. Its authors found re-centering mattered little in practice (notebook 8).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Every method divides out some scale and (except weight and RMS norm) subtracts some mean; the axis
#   it does this along decides what it forgets.
# - LN forgets the scale and level of each case and of the whole weight matrix; BN forgets the scale and
#   level of each unit over the data; WN forgets only the length of each weight vector.
# - Invariances hold exactly with $\epsilon = 0$; they are measured here, not asserted.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
# 1. Derive by hand why batch norm is invariant to re-centering the dataset but layer norm is not.
# 2. torch's layer norm puts $\epsilon = 10^{-5}$ inside the square root. Take a case whose summed
#    inputs are tiny (say of size $10^{-3}$). Is `lnviz.LayerNorm(8)` still invariant to re-scaling it by
#    $\delta = 10$? Try it and explain with $\sigma^2$ versus $\epsilon$.
# 3. Which of the six transformations can a learned gain $g_i$ and bias $b_i$ undo anyway?
