"""Checker for the student's Table 1 (section 5.1): which transformations leave which normalization unchanged.

The right answer is `lnviz.invariance.table()`, measured rather than typed in. For every wrong cell the
feedback names the setting of lesson 2's InvariancePanel that shows the right answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from lnviz import invariance
from lnviz.exercises._core import Feedback

__all__ = ["TABLE1_METHODS", "check_table1"]

#: The rows of the paper's Table 1 the student fills in; an "rms" row is checked too when given.
TABLE1_METHODS: tuple[str, ...] = ("batch", "weight", "layer")

_NAME = "Table 1, invariance under weights and data transformations"
_HINT = (
    "Eq. (5): every method computes h_i = g_i / sigma_i * (a_i - mu_i) + b_i with a_i = w_i^T x. A method is "
    "invariant to a transformation when a_i - mu_i and sigma_i change by the same factor, so that h_i does not "
    "move. Ask where each method takes mu and sigma from: the batch (eq. (2)), the weights ||w_i|| (weight "
    "norm) or the hidden units of one case (eq. (3))."
)


def _wrong_cell(method: str, transformation: str, said: bool, right: bool) -> str:
    """One wrong cell, and how to see it in lesson 2's InvariancePanel: its two dropdowns, labelled as there."""
    from lnviz.style import METHOD_NAMES  # imports plotly: only when there is a cell to point at

    name, shown = METHOD_NAMES[method], transformation.replace("_", " ")
    return (
        f"- {name} under {shown}: you said {_word(said)}, it is {_word(right)}. See it in lesson 2's "
        f'InvariancePanel: set method to "{name}" and transformation to "{shown}", then move the magnitude slider.'
    )


def _word(invariant: bool) -> str:
    return "invariant" if invariant else "not invariant"


def check_table1(answer: object) -> Feedback:
    """Check a student's Table 1: `{method: {transformation: bool}}`, True meaning invariant.

    methods: "batch", "weight", "layer" (and optionally "rms"), as in `lnviz.invariance.METHODS`;
    transformations: the names of `lnviz.invariance.TRANSFORMATIONS`. The message names each wrong cell
    and the panel setting that shows it.
    """

    def feedback(passed: bool, message: str, hint: str = _HINT, done: bool = True) -> Feedback:
        return Feedback(passed, None, message, "" if passed else hint, _NAME, done)

    if answer is None or answer is Ellipsis:
        return feedback(False, "Fill in the table: replace the ... with your dictionary of True and False.", done=False)
    if not isinstance(answer, Mapping):
        expected = "a dict {method: {transformation: True or False}}"
        return feedback(False, f"Expected {expected}, got {type(answer).__name__}.")
    unknown = [m for m in answer if m not in invariance.METHODS]
    if unknown:
        return feedback(False, f"Unknown method(s) {unknown}; the methods are {list(invariance.METHODS)}.")
    missing = [m for m in TABLE1_METHODS if m not in answer]
    if missing:
        rows = list(TABLE1_METHODS)
        return feedback(False, f"Your table has no row for {missing}; fill in a row for each of {rows}.")
    blanks = [(m, t) for m, row in answer.items() if isinstance(row, Mapping) for t, v in row.items() if v is Ellipsis]
    if blanks and len(blanks) == sum(len(row) for row in answer.values() if isinstance(row, Mapping)):
        return feedback(False, "Fill in the table: replace every ... with True (invariant) or False.", done=False)
    for method, row in answer.items():
        if not isinstance(row, Mapping):
            return feedback(False, f'The row "{method}" should be a dict {{transformation: True or False}}.')
        unknown = [t for t in row if t not in invariance.TRANSFORMATIONS]
        absent = [t for t in invariance.TRANSFORMATIONS if t not in row]
        if unknown or absent:
            problems = ([f"unknown transformation(s) {unknown}"] if unknown else []) + (
                [f"no entry for {absent}"] if absent else []
            )
            return feedback(
                False,
                f'The row "{method}" has {" and ".join(problems)}; the transformations are '
                f"{list(invariance.TRANSFORMATIONS)}.",
            )
        not_bool = [t for t, v in row.items() if not isinstance(v, bool)]
        if not_bool:
            return feedback(
                False,
                f'In the row "{method}", {not_bool} should be True (invariant) or False, not '
                f"{[row[t] for t in not_bool]}.",
            )

    truth = invariance.table()
    wrong = [(m, t) for m, row in answer.items() for t, v in row.items() if v != truth[m][t]]
    cells = sum(len(row) for row in answer.values())
    if not wrong:
        return feedback(True, f"All {cells} cells are right.")
    lines = [f"{len(wrong)} of {cells} cells {'is' if len(wrong) == 1 else 'are'} wrong:"]
    lines += [_wrong_cell(m, t, answer[m][t], truth[m][t]) for m, t in wrong]
    return feedback(False, "\n".join(lines))
