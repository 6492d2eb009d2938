"""What every checker shares: the feedback box, the catalogue of mistakes and the diagnosis.

A checker calls the student's function on a few fixed probes, and computes on the same probes the right
answer and the output of every catalogued mistake. The student's output is then named by the first
candidate it matches: the right answer (passed), one of the mistakes (its code), two mistakes made
together where an exercise lists such pairs, or none (the largest difference is shown). The probes are
chosen so that no two candidates agree on all of them; the tests check that.
"""

from __future__ import annotations

import copy
import html
import sysconfig
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = ["Exercise", "Feedback", "Mistake", "Probe", "check", "copy_argument"]

#: The student's output matches a candidate when every element is within ATOL + RTOL * |candidate|.
#: The probes run in float64, where a right answer is exact to ~1e-15; a catalogued mistake differs
#: by more than 1e-2 somewhere on the probes.
RTOL, ATOL = 1e-6, 1e-8

#: Verdict words: the box says them in words, so that colour is never the only signal.
PASSED, NOT_YET, NOT_DONE = "Passed", "Not yet", "Not done yet"

#: (border, background) of the box for each verdict: Okabe-Ito bluish green, vermillion and blue
#: borders on light tints; the text is near-black on every tint (contrast ratio above 15:1).
_COLOURS = {
    PASSED: ("#009E73", "#E5F5EF"),
    NOT_YET: ("#D55E00", "#FCEEE4"),
    NOT_DONE: ("#0072B2", "#E6F0F8"),
}
_SYMBOLS = {PASSED: "\u2714", NOT_YET: "\u2716", NOT_DONE: "\u2026"}
_TEXT = "#1A1A1A"


@dataclass(frozen=True)
class Feedback:
    """The verdict on one exercise.

    passed: the function computes the right answer on every probe.
    mistake: the code of the catalogued mistake the output matches, else None (also when it matches two
        mistakes made together, which the message names).
    message: what is wrong (or right), in a few sentences.
    hint: where to look, pointing at the paper's equation; empty when passed.
    exercise: the exercise's name, e.g. "layer norm, eq. (3)".
    done: False when the function still raises NotImplementedError (the stub).
    """

    passed: bool
    mistake: str | None
    message: str
    hint: str = ""
    exercise: str = ""
    done: bool = True

    @property
    def verdict(self) -> str:
        """ "Passed", "Not yet" or "Not done yet"."""
        if self.passed:
            return PASSED
        return NOT_YET if self.done else NOT_DONE

    def __str__(self) -> str:
        title = f"{self.verdict}: {self.exercise}" if self.exercise else self.verdict
        lines = [title, self.message]
        if self.mistake is not None:
            lines.append(f"(mistake: {self.mistake})")
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdict = self.verdict
        border, background = _COLOURS[verdict]
        title = html.escape(f"{verdict}: {self.exercise}" if self.exercise else verdict)
        parts = [
            f'<div role="status" style="border: 2px solid {border}; '
            f"border-left: 8px solid {border}; background: {background}; color: {_TEXT}; padding: 0.6em 1em; "
            f'margin: 0.4em 0; border-radius: 4px; font-size: 1.05em; line-height: 1.45;">',
            f'<div style="font-weight: bold; font-size: 1.1em;"><span aria-hidden="true">{_SYMBOLS[verdict]}</span> '
            f"{title}</div>",
            f'<div style="white-space: pre-wrap; margin-top: 0.3em;">{html.escape(self.message)}</div>',
        ]
        if self.mistake is not None:
            parts.append(f'<div style="margin-top: 0.3em;">Mistake: <code>{html.escape(self.mistake)}</code></div>')
        if self.hint:
            parts.append(
                f'<div style="white-space: pre-wrap; margin-top: 0.3em;"><b>Hint:</b> {html.escape(self.hint)}</div>'
            )
        parts.append("</div>")
        return "\n".join(parts)


Outputs = tuple[Tensor, ...]


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake. Several `Mistake`s may share a code: ways of making the same mistake.

    what: what this implementation does wrong, in a sentence addressed to the student.
    hint: where to look, with the paper's equation.
    compute: takes the exercise's arguments and returns the outputs this mistake gives, as a tuple.
    """

    code: str
    what: str
    hint: str
    compute: Callable[..., Outputs]


@dataclass(frozen=True)
class Probe:
    """Arguments for one call, and a few words on what the probe holds (shown in messages)."""

    description: str
    args: tuple


def copy_argument(arg: object) -> object:
    """A copy the student's function may change without changing the checker's own inputs."""
    if isinstance(arg, Tensor):
        return arg.detach().clone()
    if isinstance(arg, nn.Module):
        return copy.deepcopy(arg)
    return arg


@dataclass(frozen=True)
class Exercise:
    """An exercise: its name, the names of the function's outputs, the right answer and the mistakes.

    reference: takes the probe's arguments and returns the right outputs as a tuple.
    probes: builds the probes, the same on every call (seeded).
    hint: the hint for a wrong answer outside the catalogue.
    combinations: (first, second, compute) for two mistakes made together, tried after every single one.
    call: how the checker calls the function, e.g. "fn(x, gain, bias, eps)", told to a student whose
        function takes other arguments.
    hand_over: makes the student's copy of one argument (default `copy_argument`), so that the
        function can change its inputs without changing the checker's.
    """

    name: str
    outputs: tuple[str, ...]
    reference: Callable[..., Outputs]
    mistakes: tuple[Mistake, ...]
    probes: Callable[[], Sequence[Probe]]
    hint: str
    combinations: tuple[tuple[Mistake, Mistake, Callable[..., Outputs]], ...] = ()
    call: str = ""
    hand_over: Callable[[object], object] = copy_argument


#: lnviz and Python's standard library: their frames in a traceback are not the student's code.
_NOT_THE_STUDENTS = (Path(__file__).resolve().parents[1], Path(sysconfig.get_paths()["stdlib"]).resolve())


def _library_frame(filename: str) -> bool:
    """A traceback frame from torch, another installed package, the standard library or lnviz."""
    path = Path(filename).resolve()
    return "site-packages" in filename or any(path.is_relative_to(root) for root in _NOT_THE_STUDENTS)


def _where(exc: BaseException) -> str:
    """' (in f, line 7: `y = ...`)' for the last frame of the student's code in the traceback, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _library_frame(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    line = f": `{frame.line.strip()}`" if frame.line else ""
    return f" (in {frame.name}, line {frame.lineno}{line})"


def _as_outputs(result: object, names: tuple[str, ...]) -> Outputs | str:
    """The function's result as a tuple of tensors, or a sentence saying what it returned instead."""
    if len(names) == 1:
        if isinstance(result, Tensor):
            return (result,)
        return f"Your function returned {type(result).__name__}; expected a tensor {names[0]}."
    if isinstance(result, (tuple, list)) and len(result) == len(names) and all(isinstance(t, Tensor) for t in result):
        return tuple(result)
    expected = "(" + ", ".join(names) + ")"
    got = f"{type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list)) else None
    return f"Your function returned {got or type(result).__name__}; expected a tuple of tensors {expected}."


def _close(got: Outputs, expected: Outputs) -> bool:
    return all(
        g.shape == e.shape and torch.allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True) for g, e in zip(got, expected)
    )


def _wrong_form(got: Outputs, expected: Outputs, names: tuple[str, ...], probe: Probe) -> str | None:
    """A sentence naming a wrong shape or dtype of an output, or None."""
    for name, g, e in zip(names, got, expected):
        if g.shape != e.shape:
            return (
                f"{name} has the wrong shape: {tuple(g.shape)}, expected {tuple(e.shape)} "
                f"(on the probe with {probe.description})."
            )
        if g.dtype != e.dtype:
            return (
                f"{name} has the wrong dtype: {g.dtype}, expected {e.dtype}, the input's dtype "
                f"(on the probe with {probe.description})."
            )
    return None


def _largest_difference(
    results: list[Outputs], expected: list[Outputs], names: tuple[str, ...], probes: Sequence[Probe]
) -> str:
    """Where the student's outputs are furthest from the right ones, with both values."""
    worst = (-1.0, 0, 0, 0)
    for p, (got, right) in enumerate(zip(results, expected)):
        for k, (g, e) in enumerate(zip(got, right)):
            diff = (g - e).abs().nan_to_num(nan=float("inf")).flatten()
            index = int(diff.argmax())
            if diff[index].item() > worst[0]:
                worst = (diff[index].item(), p, k, index)
    size, p, k, index = worst
    got, right = results[p][k], expected[p][k]
    position = tuple(int(i) for i in torch.unravel_index(torch.tensor(index), got.shape)) if got.dim() else ()
    at = f"{names[k]}[{', '.join(map(str, position))}]" if position else names[k]
    return (
        f"The largest difference, {size:.3g}, is at {at} on the probe with {probes[p].description}: "
        f"yours is {got.flatten()[index].item():.6g}, the right value {right.flatten()[index].item():.6g}."
    )


def check(exercise: Exercise, fn: object) -> Feedback:
    """Call `fn` on the exercise's probes and name what it computes: the right answer, a catalogued
    mistake, or neither. Never raises for anything `fn` does."""

    def feedback(passed: bool, mistake: str | None, message: str, hint: str = "", done: bool = True) -> Feedback:
        return Feedback(passed, mistake, message, hint, exercise.name, done)

    if not callable(fn):
        return feedback(False, None, f"Expected a function, got {type(fn).__name__}.", exercise.hint)
    probes = exercise.probes()
    results, expected = [], []
    for probe in probes:
        with torch.no_grad():
            right = exercise.reference(*probe.args)
        try:
            result = fn(*(exercise.hand_over(a) for a in probe.args))
        except NotImplementedError:
            return feedback(
                False,
                None,
                "Your function still raises NotImplementedError: replace the `raise NotImplementedError` "
                "with your code, run the cell, then run this check again.",
                exercise.hint,
                done=False,
            )
        except Exception as exc:  # the student's error is reported in the box, never raised into the notebook
            where = _where(exc)
            message = f"Your function raised {type(exc).__name__}: {exc}{where} on the probe with {probe.description}."
            if isinstance(exc, TypeError) and not where and exercise.call:
                # raised by the call itself: the function takes other arguments than the checker passes
                message += f" The checker calls it as {exercise.call}."
            return feedback(False, None, message, exercise.hint)
        got = _as_outputs(result, exercise.outputs)
        if isinstance(got, str):
            return feedback(False, None, got, exercise.hint)
        got = tuple(t.detach() for t in got)
        wrong = _wrong_form(got, right, exercise.outputs, probe)
        if wrong is not None:
            return feedback(False, None, wrong, exercise.hint)
        results.append(got)
        expected.append(right)

    if all(_close(g, e) for g, e in zip(results, expected)):
        return feedback(True, None, f"Your function gives the right answer on all {len(probes)} probes.")

    def matches(compute: Callable[..., Outputs]) -> bool:
        with torch.no_grad():
            return all(_close(got, compute(*probe.args)) for got, probe in zip(results, probes))

    for mistake in exercise.mistakes:
        if matches(mistake.compute):
            return feedback(False, mistake.code, mistake.what, mistake.hint)
    for first, second, compute in exercise.combinations:
        if matches(compute):
            hint = first.hint if first.hint == second.hint else f"{first.hint}\n{second.hint}"
            return feedback(
                False,
                None,
                f"Two mistakes together ({first.code} and {second.code}):\n- {first.what}\n- {second.what}",
                hint,
            )
    right = [
        name
        for k, name in enumerate(exercise.outputs)
        if all(_close(got[k : k + 1], want[k : k + 1]) for got, want in zip(results, expected))
    ]
    # with several outputs, the ones already right narrow down where to look
    already = f"Your {' and '.join(right)} {'is' if len(right) == 1 else 'are'} right. " if right else ""
    return feedback(
        False,
        None,
        already
        + "Your output matches neither the right answer nor any mistake we know of. "
        + _largest_difference(results, expected, exercise.outputs, probes),
        exercise.hint,
    )
