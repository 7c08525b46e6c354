"""The exact fast path: greedy marginal allocation, or min-cost flow on the area tree.

- **Greedy** when the only constraint groups are the specialty totals (every
  bound is a box on one cell): each specialty is independent, the cost is
  separable and convex, so taking the cheapest unit increments, in order, up
  to the total is optimal. Ties go to the cell that comes first (leaf id,
  then specialty id), then to the lower unit.
- **Min-cost flow** when the groups of each specialty (the total and the
  bound rows on areas) form a laminar family and the groups summed over
  specialties form another. Flow leaves each specialty's total, runs down its
  tree of per-specialty bounds to the cells, and up the tree of shared bounds
  to a sink. Each cell's convex cost becomes parallel arcs, one per segment,
  with integer-scaled costs (:func:`allocator.core.formulation.integer_slopes`);
  a bound's minimum becomes a lower bound on its arc, removed by shifting
  supplies.
- Otherwise the backend declines and ``auto`` falls back to an LP backend.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.init.python import init

from allocator.core.formulation import build_segments, integer_slopes
from allocator.core.problem import Group, ProblemData
from allocator.solvers.base import (
    Backend,
    BackendResult,
    Capability,
    Status,
    solve_in_windows,
)


#: Cells whose box spans at most this many units start with the whole box as their window.
WHOLE_BOX = 16


def nesting_order(groups: list[Group]) -> list[int]:
    """Outermost first: larger groups first; for equal cell sets the total, then by name."""
    return sorted(range(len(groups)), key=lambda g: (-len(groups[g].cells), groups[g].kind != "total",
                                                     groups[g].name))


def laminar_parents(groups: list[Group]) -> list[int] | None:
    """The parent (index into ``groups``, -1 for none) of each group, or None if not laminar.

    Taking the groups outermost first, a group's parent is the group taken
    last before it that holds its cells; the family is laminar exactly when
    that is the same group for every one of its cells. Computed on all
    (group, cell) memberships at once: a per-group loop took 0.06 s on
    10,000 groups.
    """
    order = nesting_order(groups)
    sizes = np.fromiter((len(groups[g].cells) for g in order), dtype=np.int64, count=len(order))
    parents = [-1] * len(groups)
    if not sizes.any():
        return parents
    rank = np.repeat(np.arange(len(order)), sizes)
    cell = np.concatenate([np.asarray(groups[g].cells, dtype=np.int64) for g in order])
    # Memberships by cell, each cell's in the order taken (a stable sort keeps the rank order).
    by_cell = np.argsort(cell, kind="stable")
    same_cell = cell[by_cell][1:] == cell[by_cell][:-1]
    before = np.full(len(cell), -1, dtype=np.int64)
    before[by_cell[1:]] = np.where(same_cell, rank[by_cell][:-1], -1)
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    lowest, highest = np.minimum.reduceat(before, starts), np.maximum.reduceat(before, starts)
    if (lowest != highest).any():
        return None
    for taken, parent_rank in zip(np.flatnonzero(sizes > 0).tolist(), lowest.tolist()):
        parents[order[taken]] = order[parent_rank] if parent_rank >= 0 else -1
    return parents


def family_parents(problem: ProblemData) -> tuple[list[int] | None, list[int] | None]:
    """:func:`laminar_parents` of the per-specialty groups and of the shared groups (computed once)."""
    cached = problem.derived.get("family_parents")
    if cached is None:
        per_specialty = [g for g in problem.groups if g.specialty is not None]
        shared = [g for g in problem.groups if g.specialty is None]
        cached = (laminar_parents(per_specialty), laminar_parents(shared))
        problem.derived["family_parents"] = cached
    return cached  # type: ignore[return-value]


def structure(problem: ProblemData) -> str:
    """``greedy``, ``flow`` or ``none``: which exact fast path the problem allows."""
    if all(group.kind == "total" for group in problem.groups):
        return "greedy"
    parents_a, parents_b = family_parents(problem)
    return "none" if parents_a is None or parents_b is None else "flow"


class FlowBackend(Backend):
    """Greedy or OR-Tools min-cost flow, whichever the structure allows."""

    name = "flow"
    capabilities = Capability.EXACT

    def accepts(self, problem: ProblemData) -> bool:
        """Whether the problem has the structure of one of the fast paths."""
        return structure(problem) != "none"

    def solve(self, problem: ProblemData, time_limit: float | None = None) -> BackendResult:
        kind = structure(problem)
        if kind == "none":
            return BackendResult("error", None, "flow", "the bounds are not nested on the area tree")
        if kind == "greedy":
            result = solve_in_windows(problem, _greedy_window, "greedy marginal allocation", time_limit,
                                      whole_box=WHOLE_BOX)
        else:
            window = functools.partial(_flow_window, _tree_network(problem))
            result = solve_in_windows(problem, window,
                                      f"min-cost flow, OR-Tools {init.OrToolsVersion.version_string()}", time_limit,
                                      whole_box=WHOLE_BOX)
        result.extra["path"] = kind
        return result


def solve_flow_from(problem: ProblemData, tree: _TreeNetwork, start: tuple[np.ndarray, np.ndarray],
                    time_limit: float | None = None) -> BackendResult:
    """Min-cost flow on ``problem`` (a flow structure) from the first window ``start``, with its tree made once.

    The windows grow as in :meth:`FlowBackend.solve`, so the result is proven
    optimal whatever the first window; ``tree`` is ``tree_network(problem)``.
    """
    return solve_in_windows(problem, functools.partial(_flow_window, tree),
                            f"min-cost flow, OR-Tools {init.OrToolsVersion.version_string()}", time_limit, start=start)


def _greedy_window(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                   time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
    started = time.perf_counter()
    spans = np.maximum(whi - wlo, 0)
    cells = np.repeat(np.arange(problem.n_cells), spans)
    position = np.arange(len(cells)) - np.repeat(np.cumsum(spans) - spans, spans)
    points = wlo[cells] + position
    slopes = problem.cell_cost(points + 1, cells) - problem.cell_cost(points, cells)
    built = time.perf_counter()
    units = wlo.astype(np.int64).copy()
    specialty_of_unit = problem.cell_specialty[cells]
    for si, group in enumerate(problem.groups):
        need = group.lo - int(wlo[group.cells].sum())
        mine = np.flatnonzero(specialty_of_unit == si)
        if need < 0 or need > len(mine):
            return "infeasible", None, built - started, time.perf_counter() - built
        if need == 0:
            continue
        order = np.lexsort((position[mine], cells[mine], slopes[mine]))
        chosen = mine[order[:need]]
        units += np.bincount(cells[chosen], minlength=problem.n_cells)
    return "optimal", units, built - started, time.perf_counter() - built


@dataclass
class _TreeNetwork:
    """The window-independent part of the flow network: nodes, tree arcs and their supply shifts.

    Nodes are the constraint groups (by index) and a sink. Per-specialty groups
    hang under their parent group (a total at the top); shared groups carry
    flow up to their parent, and the outermost ones to the sink.
    """

    sink: int
    big: int
    supplies: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    capacities: np.ndarray
    a_parent_of_cell: np.ndarray
    b_parent_of_cell: np.ndarray


def innermost_groups(problem: ProblemData, per_specialty: list[int],
                     shared: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's innermost per-specialty group (-1: none) and innermost shared group (the sink: none).

    The innermost group of a cell is the last one to cover it in nesting order; the sink is
    ``len(problem.groups)``.
    """
    groups = problem.groups
    a_parent_of_cell = np.full(problem.n_cells, -1, dtype=np.int64)
    b_parent_of_cell = np.full(problem.n_cells, len(groups), dtype=np.int64)
    for k in nesting_order([groups[i] for i in per_specialty]):
        a_parent_of_cell[groups[per_specialty[k]].cells] = per_specialty[k]
    for k in nesting_order([groups[i] for i in shared]):
        b_parent_of_cell[groups[shared[k]].cells] = shared[k]
    return a_parent_of_cell, b_parent_of_cell


def tree_network(problem: ProblemData) -> _TreeNetwork | None:
    """The window-independent part of ``problem``'s flow network (None: a group's own limits are empty)."""
    return _tree_network(problem)


def _tree_network(problem: ProblemData) -> _TreeNetwork | None:
    """Build the tree part of the network once; None when a group's own limits are empty."""
    groups = problem.groups
    per_specialty = [i for i, g in enumerate(groups) if g.specialty is not None]
    shared = [i for i, g in enumerate(groups) if g.specialty is None]
    parents_a, parents_b = family_parents(problem)
    assert parents_a is not None and parents_b is not None
    sink = len(groups)
    big = int(sum(g.lo for g in groups if g.kind == "total"))
    supplies = np.zeros(len(groups) + 1, dtype=np.int64)
    tails: list[int] = []
    heads: list[int] = []
    capacities: list[int] = []
    a_parent_of_cell, b_parent_of_cell = innermost_groups(problem, per_specialty, shared)

    def arc(tail: int, head: int, lo: int, hi: int | None) -> bool:
        upper = big if hi is None else hi
        if lo > upper:
            return False
        supplies[tail] -= lo
        supplies[head] += lo
        tails.append(tail)
        heads.append(head)
        capacities.append(upper - lo)
        return True

    for k, g in enumerate(per_specialty):
        group = groups[g]
        parent = parents_a[k]
        if parent == -1:
            # structure() guarantees every per-specialty group sits under its total
            assert group.kind == "total"
            supplies[g] += group.lo
        elif not arc(per_specialty[parent], g, group.lo, group.hi):
            return None
    for k, g in enumerate(shared):
        group = groups[g]
        parent = sink if parents_b[k] == -1 else shared[parents_b[k]]
        if not arc(g, parent, group.lo, group.hi):
            return None
    supplies[sink] -= big
    return _TreeNetwork(sink, big, supplies, np.array(tails, dtype=np.int64), np.array(heads, dtype=np.int64),
                        np.array(capacities, dtype=np.int64), a_parent_of_cell, b_parent_of_cell)


@dataclass
class FlowNetwork:
    """One window's min-cost-flow network, ready to solve; segment arcs start at ``first_segment_arc``."""

    flow: min_cost_flow.SimpleMinCostFlow
    first_segment_arc: int
    segment_cell: np.ndarray


def flow_network(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                 tree: _TreeNetwork | None = None) -> FlowNetwork | None:
    """The network of the window [wlo, whi]; None when a group's own limits are empty.

    Public so that benchmarks can time a bare OR-Tools solve of exactly this network.
    """
    tree = tree if tree is not None else _tree_network(problem)
    if tree is None:
        return None
    segments = build_segments(problem, wlo, whi)
    slopes, _ = integer_slopes(segments, int(segments.length.sum()) + tree.big)
    supplies = tree.supplies.copy()
    np.subtract.at(supplies, tree.a_parent_of_cell, wlo)
    np.add.at(supplies, tree.b_parent_of_cell, wlo)
    flow = min_cost_flow.SimpleMinCostFlow()
    if len(tree.tails):
        flow.add_arcs_with_capacity_and_unit_cost(tree.tails, tree.heads, tree.capacities,
                                                  np.zeros(len(tree.tails), dtype=np.int64))
    first_segment_arc = len(tree.tails)
    if len(segments.cell):
        flow.add_arcs_with_capacity_and_unit_cost(tree.a_parent_of_cell[segments.cell],
                                                  tree.b_parent_of_cell[segments.cell], segments.length, slopes)
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    return FlowNetwork(flow, first_segment_arc, segments.cell)


def flow_window(tree: _TreeNetwork | None, problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
    """One min-cost flow on the window [wlo, whi]: (status, units, build seconds, solve seconds).

    Optimal within the window only; :func:`solve_flow_from` grows the windows until that is global.
    """
    return _flow_window(tree, problem, wlo, whi, time_limit)


def _flow_window(tree: _TreeNetwork | None, problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                 time_limit: float | None) -> tuple[Status, np.ndarray | None, float, float]:
    started = time.perf_counter()
    network = flow_network(problem, wlo, whi, tree) if tree is not None else None
    if network is None:
        return "infeasible", None, 0.0, 0.0
    flow = network.flow
    built = time.perf_counter()
    status = flow.solve()
    solved = time.perf_counter()
    if status == flow.INFEASIBLE:
        return "infeasible", None, built - started, solved - built
    if status != flow.OPTIMAL:
        return "error", None, built - started, solved - built
    first = network.first_segment_arc
    flows = flow.flows(np.arange(first, first + len(network.segment_cell)))
    units = wlo.astype(np.int64) + np.bincount(network.segment_cell, weights=flows,
                                               minlength=problem.n_cells).astype(np.int64)
    return "optimal", units, built - started, solved - built
