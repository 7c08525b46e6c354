"""Errors the user can act on, with the exit code each one maps to.

Every error here carries a message written for the person who edits the input
files: which file, which row, which field, and what to change. The CLI prints
the message on one line and exits with :attr:`AllocatorError.exit_code`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4


#: Characters a terminal acts on rather than shows: C0 and C1 controls, DEL, and the bidirectional
#: overrides and isolates that can make a name display as another (Trojan Source).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``), for terminals.

    Names come from other people's files; an escape sequence in one must not
    retitle, recolour or rewrite the user's terminal, nor hide in a message.
    """
    if not _UNPRINTABLE.search(text):
        return text
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class AllocatorError(Exception):
    """Base class: an error with a user-facing message and an exit code."""

    exit_code: int = 1


class Location(NamedTuple):
    """Where in the user's files a problem sits.

    A named tuple, because every row of a 100,000-row table carries one.

    Parameters
    ----------
    file
        The file the value came from (the instance/model file or a CSV/XLSX table).
    row
        A human description of the row, e.g. ``"line 7"`` or ``"areas row 3"``.
    field
        The column or key name.
    """

    file: Path | str | None = None
    row: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.row:
            parts.append(self.row)
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


class RowsOrigin(NamedTuple):
    """Where the rows of one table came from: a file and a label per row, shared by all its rows."""

    file: Path | str | None
    labels: Sequence[str]

    def at(self, index: int, field: str | None = None) -> Location:
        """The location of row ``index``, optionally narrowed to ``field``."""
        return Location(self.file, self.labels[index], field)


class InputError(AllocatorError):
    """A file is missing, malformed or inconsistent (exit code 2)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problem: str, *, where: Location | None = None, fix: str | None = None):
        self.problem = problem
        self.where = where
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where and str(self.where) else self.problem
        if self.fix:
            text = f"{text}. Fix: {self.fix}"
        # One line, whatever a parser put in its own message.
        return " ".join(text.split()) if "\n" in text or "\r" in text else text


class OutputError(InputError):
    """The output folder cannot be written: read-only, full, or not a folder (exit code 2)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP: the run stops as for Ctrl-C (exit code 4, no half-written output).

    Parameters
    ----------
    signal_name
        ``SIGTERM``, ``SIGHUP``, or None for Ctrl-C.
    """

    def __init__(self, signal_name: str | None = None) -> None:
        super().__init__(signal_name or "SIGINT")
        self.signal_name = signal_name
        #: Set when the signal arrived while the files were being moved in, and was let in after.
        self.files_written = False


#: One entry per open :func:`interruptions_held`: the interruption that arrived in it, if one did.
_HELD: list[Interrupted | None] = []


def interrupt(signal_name: str | None) -> None:
    """Stop the run for a signal (the handlers of ``allocator.__main__`` call this): raise :class:`Interrupted`,
    or keep it for the end of the innermost :func:`interruptions_held`.

    Parameters
    ----------
    signal_name
        ``SIGTERM``, ``SIGHUP``, or None for Ctrl-C.
    """
    if not _HELD:
        raise Interrupted(signal_name)
    if _HELD[-1] is None:
        _HELD[-1] = Interrupted(signal_name)


@contextlib.contextmanager
def interruptions_held() -> Iterator[None]:
    """Within: a signal does not stop the run; the first one that arrived is raised on leaving.

    Blocking the signals (``pthread_sigmask``) holds them back from the calling thread only: the kernel
    hands a signal sent to the process to another thread (numpy's, polars'), and Python still runs the
    handler in the main thread at once (tests/test_interruptions.py).
    """
    _HELD.append(None)
    try:
        yield
    finally:
        stop = _HELD.pop()
    if stop is not None:
        raise stop


class InfeasibleError(AllocatorError):
    """No plan satisfies every constraint (exit code 3).

    Parameters
    ----------
    message
        The plain-words explanation.
    conflicts
        Names of the constraint groups that conflict, when known.
    diagnosis
        The full :class:`allocator.solvers.diagnose.Diagnosis` (conflicting rules and
        the smallest relaxation), for writing diagnosis.json and diagnosis.md.
    """

    exit_code = EXIT_INFEASIBLE

    def __init__(self, message: str, conflicts: list[str] | None = None, diagnosis: Any = None):
        self.conflicts = conflicts or []
        self.diagnosis = diagnosis
        super().__init__(message)


class SolverError(AllocatorError):
    """The solver failed, or stopped before proving optimality (exit code 4)."""

    exit_code = EXIT_SOLVER


class TimeLimitError(SolverError):
    """The solver reached the time limit without a plan proven within the accepted gap (exit code 4)."""


class VerificationError(AllocatorError):
    """A plan broke a rule of the instance or model; nothing is written.

    This signals a defect in a backend, never in the user's data, so it maps
    to the solver-failure exit code.
    """

    exit_code = EXIT_SOLVER

    def __init__(self, violations: list[str]):
        self.violations = violations
        shown = "; ".join(violations[:5])
        more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
        super().__init__(f"the plan failed verification: {shown}{more}")
