"""Step 5: the interface every solver backend implements.

A backend turns a :class:`~allocator.core.problem.ProblemData` into integer units
per cell and says how sure it is. Capabilities are declared, as linopy does,
so that callers and tests can ask what a backend offers.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from allocator.core.formulation import edge_cells, grow_window, initial_window
from allocator.core.problem import ProblemData

Status = Literal["optimal", "infeasible", "time_limit", "error"]


class Capability(enum.Flag):
    """What a backend can do."""

    #: Proves optimality of the integer program (not a heuristic).
    EXACT = enum.auto()
    #: Returns LP duals of the relaxation.
    DUALS = enum.auto()
    #: Accepts a starting solution.
    WARM_START = enum.auto()
    #: Honours a time limit, and says when it stopped at it.
    TIME_LIMIT = enum.auto()


@dataclass
class BackendResult:
    """What a backend returns.

    Attributes
    ----------
    status
        ``optimal`` only when optimality is proven.
    units
        Units per cell (None unless optimal).
    solver
        Name and version of the underlying solver.
    detail
        A human-readable note (why it stopped, windows used …).
    """

    status: Status
    units: np.ndarray | None
    solver: str
    detail: str = ""
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    rounds: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Backend:
    """Base class of a solver backend."""

    name: str = ""
    capabilities: Capability = Capability(0)

    def available(self) -> bool:
        """Whether the solver can be used on this machine."""
        return True

    def solve(self, problem: ProblemData, time_limit: float | None = None) -> BackendResult:
        """Solve ``problem`` to proven optimality, or say why not."""
        raise NotImplementedError


#: One windowed solve: (problem, window lo, window hi, seconds left) -> (status, units, build s, solve s).
WindowSolver = Callable[[ProblemData, np.ndarray, np.ndarray, float | None],
                        tuple[Status, np.ndarray | None, float, float]]


def solve_in_windows(problem: ProblemData, solve_window: WindowSolver, solver: str,
                     time_limit: float | None, whole_box: int = 0,
                     start: tuple[np.ndarray, np.ndarray] | None = None) -> BackendResult:
    """Run ``solve_window`` on growing windows until the optimum is provably global.

    See :mod:`allocator.core.formulation` for why an optimum with no cell on an
    artificial window edge is optimal for the whole problem. ``start`` is the
    first window (default: around the rounded targets); the proof holds for any.
    """
    started = time.perf_counter()
    wlo, whi = initial_window(problem, whole_box=whole_box) if start is None else start
    build = solve_time = 0.0
    rounds = 0
    while True:
        rounds += 1
        left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))
        if left is not None and left <= 0:
            return BackendResult("time_limit", None, solver, "time limit reached while growing windows",
                                 build, solve_time, rounds)
        status, units, b, s = solve_window(problem, wlo, whi, left)
        build += b
        solve_time += s
        full = bool(np.all(wlo == problem.lo) and np.all(whi == problem.hi))
        if status == "infeasible":
            if full:
                return BackendResult("infeasible", None, solver, "", build, solve_time, rounds)
            wlo, whi = grow_window(problem, wlo, whi)
            continue
        if status != "optimal" or units is None:
            return BackendResult(status, None, solver, "", build, solve_time, rounds)
        stuck = edge_cells(problem, units, wlo, whi)
        if len(stuck) == 0:
            return BackendResult("optimal", units, solver, f"proven optimal after {rounds} window round(s)",
                                 build, solve_time, rounds, {"window": (wlo, whi)})
        wlo, whi = grow_window(problem, wlo, whi, stuck)
