"""Exact optima of problems that differ from a solved one in their costs only.

A Monte Carlo draw (noisy needs) or a moved weight changes targets,
penalties or the stability weight; the cells, their boxes and the groups stay.
So presolve and the tree of the flow network are made once, and each variant
is one min-cost flow whose first window is the known optimum ± :data:`WIDTH`
units (the optimum of a small change of costs lies near it; the windows grow
as usual where it does not, so the answer is proven optimal either way).

**Which optimum.** The plan ``allocator solve`` writes is the one the
canonical fast path returns (:func:`allocator.results.solve.canonical_optimum`),
which matters only where several plans cost the same. So a variant's plan is
accepted only where it is the one optimum by more than min-cost flow's
rounding: with node potentials settled on its residual network
(:mod:`allocator.solvers.residual`), every cycle that changes the plan must
cost more than :func:`rounding_error` per cell it changes
(:meth:`~allocator.solvers.residual.Residual.unique_by`). Then any plan Y
that differs costs more even in the solver's integer costs (split Y - X into
such cycles: by convexity the true cost grows by at least their costs, and
rounding moves it by less than the error per cell changed), so every exact
method, whatever its windows or its scaling, returns this plan. Where the
check fails (a tie or a near tie, potentials that do not settle),
:meth:`CostVariants.solve` returns None and the caller re-solves from scratch,
the reference.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from allocator.core.presolve import presolve
from allocator.core.problem import ProblemData
from allocator.core.formulation import initial_window
from allocator.solvers.flow import WHOLE_BOX, flow_window, solve_flow_from, structure, tree_network
from allocator.solvers.residual import Residual, copy_of

#: The first window: the known optimum plus or minus this many units.
WIDTH = 1
#: The windows over which :func:`rounding_error` takes the largest slope and the units in play.
SPAN = 16
#: Bellman-Ford rounds allowed to settle the potentials from the known optimum's (a few dozen are usual)
#: for the optimum of the first window (which may not be optimal), and for a proven optimum.
FIRST_ROUNDS = 200
ROUNDS = 1000


class CostVariants:
    """Exact optima of cost variants of ``problem``, warm-started from its optimum ``units``.

    Parameters
    ----------
    problem
        The whole problem (not presolved), built by ``build_problem``.
    units
        Its canonical optimum, in units per cell.
    residual
        The residual network of that optimum, if made already.
    """

    def __init__(self, problem: ProblemData, units: np.ndarray, residual: Residual | None = None) -> None:
        self.problem = problem
        self.units = units.astype(np.int64)
        self.presolved = presolve(problem)
        small = self.presolved.problem
        #: Whether variants can be solved here at all (a flow structure, not a greedy or a general one).
        # The flow backend must be what solve runs on the presolved problem (not greedy, not an LP).
        self.usable = small is not None and small.n_cells > 0 and problem.arrays is not None and \
            structure(small) == "flow" and not (small.lo > small.hi).any()
        self.tree = tree_network(small) if self.usable and small is not None else None
        self.usable = self.usable and self.tree is not None
        self._residual = residual
        #: How each variant asked of :meth:`solve` was answered: ``warm`` or ``tied`` (left to the caller).
        self.answers: dict[str, int] = {"warm": 0, "tied": 0}
        self._base_unique: bool | None = None

    @property
    def base_unique(self) -> bool:
        """Whether the known optimum is its problem's one optimum (by :meth:`unique`'s check).

        When it is not, ties of its structure (specialties with equal totals
        and eligible leaves have equal targets, and so do their noisy draws)
        usually survive a change of costs, and a warm start is seldom accepted.
        """
        if self._base_unique is None:
            self._base_unique = bool(self.usable and self.unique(self.problem, self.units))
        return self._base_unique

    @property
    def residual(self) -> Residual:
        """The residual network of the known optimum (made on first use)."""
        if self._residual is None:
            self._residual = Residual(self.problem, self.units)
        return self._residual

    def variant(self, target: np.ndarray | None = None, penalty: np.ndarray | None = None,
                stability_weight: float | None = None) -> ProblemData:
        """The problem with some of its costs replaced (everything else shared)."""
        p = self.problem
        return replace(p, target=p.target if target is None else target,
                       penalty=p.penalty if penalty is None else penalty,
                       stability_weight=p.stability_weight if stability_weight is None else stability_weight,
                       derived=p.derived)

    def solve(self, variant: ProblemData) -> np.ndarray | None:
        """The canonical optimum of ``variant`` (a result of :meth:`variant`) in units; None: re-solve it.

        None when the optimum is tied or nearly tied (see the module
        docstring), or when the problem has no flow structure.
        """
        if not self.usable:
            return None
        assert self.tree is not None
        small = self._small(variant)
        known = self.units[self.presolved.free]
        shift = np.sign(small.target - self.presolved.problem.target).astype(np.int64)
        start = (np.maximum(small.lo, known - WIDTH - (shift < 0)), np.minimum(small.hi, known + WIDTH + (shift > 0)))
        # One window first: if its optimum is optimal for the whole problem, the potentials settle on the
        # whole residual network (no negative cycle), and no second round is needed to prove it.
        status, found, _, _ = flow_window(self.tree, small, start[0], start[1], None)
        if status == "optimal" and found is not None:
            units = self.presolved.restore(found)
            verdict = self.unique(variant, units)
            if verdict is not None:
                return self._answer(units if verdict else None)
        result = solve_flow_from(small, self.tree, start)
        if result.status != "optimal" or result.units is None:
            return None
        units = self.presolved.restore(result.units)
        return self._answer(units if self.unique(variant, units, ROUNDS) else None)

    def canonical(self, variant: ProblemData) -> np.ndarray | None:
        """The plan ``solve`` writes for ``variant``, by the very computation of ``solve_exact`` (None: no plan).

        Presolve and the network's tree depend on the boxes and groups only, so
        they are the base's; the flow then runs from the same first window as
        the flow backend's (around the targets), so OR-Tools sees the same
        networks and returns the same plan, ties included.
        """
        if not self.usable:
            return None
        small = self._small(variant)
        assert self.tree is not None
        result = solve_flow_from(small, self.tree, initial_window(small, whole_box=WHOLE_BOX))
        return None if result.status != "optimal" or result.units is None else self.presolved.restore(result.units)

    def _small(self, variant: ProblemData) -> ProblemData:
        """``variant`` after the base's presolve (its costs on the free cells)."""
        small = self.presolved.problem
        assert small is not None
        free = self.presolved.free
        return replace(small, target=variant.target[free], penalty=variant.penalty[free],
                       stability_weight=variant.stability_weight)

    def keeps(self, variant: ProblemData) -> bool | None:
        """Is the known optimum ``variant``'s plan too? True, False, or None: it takes a solve to tell.

        True when it is ``variant``'s one optimum (by the check of
        :meth:`solve`); False when a cycle of its residual network lowers the
        cost by more than rounding could hide (every exact method then finds
        another plan).
        """
        if not self.usable:
            return None
        state = copy_of(self.residual)
        state.rebase(variant, self.units)
        found = state.negative_cycle(FIRST_ROUNDS)
        error = rounding_error(variant, self.units)
        if found is None:
            return True if state.unique_by(error, ROUNDS) else None
        cost, entries = found
        return False if cost < -2.0 * error * entries else None

    def _answer(self, units: np.ndarray | None) -> np.ndarray | None:
        self.answers["tied" if units is None else "warm"] += 1
        return units

    def unique(self, variant: ProblemData, units: np.ndarray, rounds: int = FIRST_ROUNDS) -> bool | None:
        """Whether ``units`` is the only optimum of ``variant``, by :data:`MARGIN` (see the module docstring).

        None when the potentials did not settle within ``rounds`` (``units`` may not be optimal).
        """
        state = copy_of(self.residual)
        state.rebase(variant, units)
        if not state.settle(rounds):
            return None
        return state.unique_by(rounding_error(variant, units), ROUNDS)


def rounding_error(problem: ProblemData, units: np.ndarray) -> float:
    """An estimate, with a factor 4 to spare, of how far min-cost flow's integer costs move one cell's cost.

    :func:`~allocator.core.formulation.integer_slopes` rounds each slope to a
    multiple of 1/scale, scale > 2**51 / (largest slope x units in play), so
    each unit is off by less than largest x units / 2**52. Both are taken over
    windows of ± :data:`SPAN` units around the plan (the solver's windows are
    a few units around the targets, grown only where the plan needs it).
    """
    low = np.maximum(problem.lo, units - SPAN)
    high = np.minimum(problem.hi, units + SPAN)
    ends = [problem.cell_cost(low + 1) - problem.cell_cost(low), problem.cell_cost(high) - problem.cell_cost(
        np.maximum(high - 1, 0))]
    largest = float(max(np.max(np.abs(end), initial=1.0) for end in ends))
    in_play = float(np.sum(high - low)) + float(sum(g.lo for g in problem.groups if g.kind == "total"))
    return 4.0 * largest * in_play / 2.0**52
