"""Checkers for the notebooks' "your turn" exercises.

Each `check_*` calls a student's function on fixed probes and returns a `Feedback`: passed or not, the
code of the catalogued mistake the answer matches (e.g. "eps_outside_sqrt"), what is wrong and a hint
that points at the paper's equation. In a notebook it shows as a box with the verdict in words
("Passed", "Not yet", "Not done yet"); `print(feedback)` gives the same as text. A checker never
raises for anything the student's function does: a stub that raises NotImplementedError is "not done
yet", any other error is reported with the line of the student's code where it happened.

In a lesson:

    def layer_norm(x, gain, bias, eps):   # x: (batch, hidden); gain, bias: (hidden,)
        raise NotImplementedError         # your code here

    check_layer_norm(layer_norm)          # the last line of the cell shows the box

The checkers: `check_layer_norm`, `check_batch_norm`, `check_rms_norm` and
`check_recurrent_batch_norm` (the normalizations from their equations), `check_ln_rnn_step` and
`check_ln_lstm_step` (eq. (4) and the supplement's eqs. (17)-(22)), `check_weight_norm` and
`check_weight_norm_grad` (weight norm and its gradient, orthogonal to w, section 5.2) and
`check_table1` (the student's Table 1).
"""

from lnviz.exercises._core import Exercise, Feedback, Mistake, Probe
from lnviz.exercises.invariance import check_table1
from lnviz.exercises.normalization import check_batch_norm, check_layer_norm, check_rms_norm
from lnviz.exercises.recurrent import check_ln_lstm_step, check_ln_rnn_step, check_recurrent_batch_norm
from lnviz.exercises.weight_norm import check_weight_norm, check_weight_norm_grad

__all__ = [
    "Exercise",
    "Feedback",
    "Mistake",
    "Probe",
    "check_batch_norm",
    "check_layer_norm",
    "check_ln_lstm_step",
    "check_ln_rnn_step",
    "check_recurrent_batch_norm",
    "check_rms_norm",
    "check_table1",
    "check_weight_norm",
    "check_weight_norm_grad",
]
