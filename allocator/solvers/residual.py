"""The residual network of an optimal flow: exact sensitivity answers without re-solving.

An optimal plan of a flow-structured problem (``structure(problem) != "none"``)
is an optimal flow on the tree network of :mod:`allocator.solvers.flow`. Its
residual network answers three kinds of question exactly:

- **One rule moved by one unit.** Moving a bound row's limit by one unit
  changes the optimum by the cost of the cheapest cycle that uses (or avoids)
  one unit of that row's arc: a shortest path between the arc's two ends.
- **Tied optima.** A cell can take one unit more (or fewer) at the same cost
  exactly when a cycle of cost zero runs through its arc; by convexity, some
  optimal plan differs from this one in a cell exactly then.
- **A change of costs or supplies** (a specialty's total moved, which also
  scales its targets): cells whose next unit became cheaper than the node
  potentials allow are moved, and the imbalance this leaves is sent along
  successive shortest augmenting paths, so the flow is optimal again.

Node potentials keep every reduced cost non-negative, so every search is a
Dijkstra (scipy's compiled one). The network here differs from the solver's in
one way: a cell's arc is limited only by its own bound row and stability, not
by the caps its ancestors imply (those are the groups' arcs), so that moving a
group's limit is a change of one arc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from ortools.graph.python import max_flow

from allocator.core.problem import ProblemData
from allocator.solvers.flow import family_parents, innermost_groups

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

def _sparse() -> ModuleType:
    """scipy.sparse with its csgraph, imported on first use.

    Importing SciPy takes about 0.3 s of CPU, which every command and every spawned worker that
    imports this module (through the sensitivity report) would pay even when it asks no question.
    """
    import scipy.sparse.csgraph

    return scipy.sparse


#: A reduced cost within this share of the largest marginal cost counts as zero (ties, violations).
TOLERANCE = 1e-9
_BIG = np.iinfo(np.int64).max // 4
#: Bellman-Ford rounds :meth:`Residual.reoptimize` tries before moving cells one by one.
SETTLE_ROUNDS = 64


def own_limits(problem: ProblemData) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's (lo, hi) in units from its own bound row and stability only (hi ``_BIG`` where none)."""
    assert problem.arrays is not None, "own_limits needs a problem built by build_problem"
    arrays, unit = problem.arrays, problem.unit
    bounds = arrays.bounds
    hi = np.full(problem.n_cells, _BIG, dtype=np.int64)
    own = np.flatnonzero(bounds.is_cell & ~np.isnan(bounds.max) & (bounds.end > bounds.start))
    caps = np.floor(bounds.max[own] / unit + 1e-9).astype(np.int64)
    np.minimum.at(hi, arrays.by_specialty[bounds.start[own]], caps)
    if problem.max_change is not None:
        known = ~np.isnan(problem.previous)
        stable = np.floor((np.nan_to_num(problem.previous) + problem.max_change) / unit + 1e-9)
        hi = np.where(known, np.minimum(hi, stable.astype(np.int64)), hi)
    return problem.lo.astype(np.int64), hi


@dataclass
class Shape:
    """The fixed shape of the network: nodes, the groups' arcs and the cells' arcs.

    Node ``g`` is group ``g`` (totals first, one per specialty); node
    ``sink`` takes every post. A per-specialty group hangs under its parent
    group (arc parent -> group); a shared group passes its posts up to its
    parent, the outermost ones to the sink (arc group -> parent). Cell ``c`` is
    an arc ``a[c] -> b[c]``; a cell whose two ends it shares with another cell
    goes through a node of its own (``a -> via -> b``) so that no two arcs are
    parallel.
    """

    n_nodes: int
    sink: int
    tree_group: np.ndarray
    tree_tail: np.ndarray
    tree_head: np.ndarray
    tree_lo: np.ndarray
    tree_hi: np.ndarray
    a: np.ndarray
    b: np.ndarray
    via: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    group_arc: dict[str, int]


def network_shape(problem: ProblemData) -> Shape:
    """The network of ``problem`` (see :class:`Shape`); the problem must have a flow structure."""
    groups = problem.groups
    parents_a, parents_b = family_parents(problem)
    assert parents_a is not None and parents_b is not None, "only flow-structured problems have this network"
    per_specialty = [i for i, g in enumerate(groups) if g.specialty is not None]
    shared = [i for i, g in enumerate(groups) if g.specialty is None]
    sink = len(groups)
    a, b = innermost_groups(problem, per_specialty, shared)
    tree: list[tuple[int, int, int, int, int]] = []
    for k, g in enumerate(per_specialty):
        if parents_a[k] != -1:
            tree.append((g, per_specialty[parents_a[k]], g, groups[g].lo, _hi(groups[g].hi)))
    for k, g in enumerate(shared):
        tree.append((g, g, sink if parents_b[k] == -1 else shared[parents_b[k]], groups[g].lo, _hi(groups[g].hi)))
    columns = np.array(tree, dtype=np.int64).reshape(-1, 5)
    lo, hi = own_limits(problem)
    # Cells sharing both ends get a node each; the rest are direct arcs.
    pair = a * (sink + 1) + b
    order = np.argsort(pair, kind="stable")
    repeated = np.zeros(problem.n_cells, dtype=bool)
    same = pair[order][1:] == pair[order][:-1]
    repeated[order[1:][same]] = True
    repeated[order[:-1][same]] = True
    via = np.full(problem.n_cells, -1, dtype=np.int64)
    via[repeated] = sink + 1 + np.arange(int(repeated.sum()))
    return Shape(sink + 1 + int(repeated.sum()), sink, columns[:, 0], columns[:, 1], columns[:, 2], columns[:, 3],
                 columns[:, 4], a, b, via, lo, hi,
                 {groups[int(g)].name: k for k, g in enumerate(columns[:, 0].tolist())})


def _hi(value: int | None) -> int:
    return _BIG if value is None else value


class Residual:
    """An optimal flow, its residual network and node potentials; answers by shortest paths.

    Parameters
    ----------
    problem
        The whole problem (not presolved), with a flow structure.
    units
        An optimal plan of it, in units per cell.
    supplies
        Units entering at each total's node (default: the totals' limits).
    """

    def __init__(self, problem: ProblemData, units: np.ndarray, shape: Shape | None = None) -> None:
        self.problem = problem
        self.shape = shape if shape is not None else network_shape(problem)
        self.units = units.astype(np.int64).copy()
        s = self.shape
        #: Each cell's limits in this network (a copy: a question may move them).
        self.lo, self.hi = s.lo.copy(), s.hi.copy()
        # Which groups hold each cell, as a sparse matrix: every group's sum in one product.
        sizes = [len(g.cells) for g in problem.groups]
        members = np.concatenate([g.cells for g in problem.groups]).astype(np.int64)
        self._membership = _sparse().csr_matrix((np.ones(len(members)), members, np.r_[0, np.cumsum(sizes)]),
                                      shape=(len(problem.groups), problem.n_cells))
        #: Units through each group's arc: the group's sum whenever every node is balanced.
        self.flow = self.group_sums()
        # Entries of the sparse graph, fixed once: for every arc a forward and a backward entry; cells through
        # a node of their own add two links (via <-> b) that cost nothing and never fill.
        direct = s.via < 0
        cells = np.arange(problem.n_cells)
        fwd_tail = s.a
        fwd_head = np.where(direct, s.b, s.via)
        link = cells[~direct]
        tails = [fwd_tail, fwd_head, s.tree_tail, s.tree_head, s.via[link], s.b[link]]
        heads = [fwd_head, fwd_tail, s.tree_head, s.tree_tail, s.b[link], s.via[link]]
        self._tail = np.concatenate(tails)
        self._head = np.concatenate(heads)
        order = np.lexsort((self._head, self._tail))
        self._position = np.empty(len(order), dtype=np.int64)
        self._position[order] = np.arange(len(order))
        self._tail_sorted, self._head_sorted = self._tail[order], self._head[order]
        self._order = order
        self._indptr = np.searchsorted(self._tail_sorted, np.arange(s.n_nodes + 1)).astype(np.int32)
        n, t = problem.n_cells, len(s.tree_tail)
        #: Entry ranges: cell forward, cell backward, tree forward, tree backward, links.
        self.cell_fwd, self.cell_bwd = np.arange(n), n + np.arange(n)
        self.tree_fwd, self.tree_bwd = 2 * n + np.arange(t), 2 * n + t + np.arange(t)
        self._links = np.arange(2 * n + 2 * t, len(self._tail))
        up = self._marginals()[0]
        scale = float(np.max(np.abs(up[np.isfinite(up)]), initial=1.0))
        self.tolerance = TOLERANCE * max(1.0, scale)
        self.potential = np.zeros(s.n_nodes)
        self._settle_potentials()

    def rebase(self, problem: ProblemData, units: np.ndarray) -> None:
        """Take ``units`` as the flow of ``problem`` (same cells, limits and groups; other costs).

        The tolerance follows the new costs; the potentials are kept as a
        starting point for :meth:`settle`.
        """
        self.problem = problem
        self.units = units.astype(np.int64).copy()
        self.flow = self.group_sums()
        up = self._marginals()[0]
        self.tolerance = TOLERANCE * max(1.0, float(np.max(np.abs(up[np.isfinite(up)]), initial=1.0)))

    # --- costs and the residual ---------------------------------------------------------------

    def _marginals(self, cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(up, down): the cost of each cell's next unit and of its last one (inf where its box forbids)."""
        p = self.problem
        idx = np.arange(p.n_cells) if cells is None else cells
        n = self.units[idx]
        here = p.cell_cost(n, idx)
        up = np.where(n < self.hi[idx], p.cell_cost(n + 1, idx) - here, np.inf)
        down = np.where(n > self.lo[idx], here - p.cell_cost(np.maximum(n - 1, 0), idx), np.inf)
        return up, down

    def group_sums(self) -> np.ndarray:
        """The current posts (units) of each group that has an arc, from the cells."""
        sums = np.rint(self._membership @ self.units.astype(float)).astype(np.int64)
        return sums[self.shape.tree_group]

    def costs(self) -> np.ndarray:
        """The cost of every entry, inf where the entry has no room (not in the residual network)."""
        s = self.shape
        up, down = self._marginals()
        flow = self.flow
        tree_room = np.zeros(len(s.tree_tail))
        return np.concatenate([up, np.where(np.isfinite(down), -down, np.inf),
                               np.where(flow < s.tree_hi, tree_room, np.inf),
                               np.where(flow > s.tree_lo, tree_room, np.inf), np.zeros(len(self._links))])

    def reduced(self, costs: np.ndarray | None = None) -> np.ndarray:
        """Reduced costs c + pi[tail] - pi[head] of every entry (inf: not residual)."""
        costs = self.costs() if costs is None else costs
        with np.errstate(invalid="ignore"):
            return costs + self.potential[self._tail] - self.potential[self._head]

    def _settle_potentials(self) -> None:
        """Potentials with every reduced cost >= -tolerance: Bellman-Ford from a virtual source, vectorised.

        Terminates because the flow is optimal (no negative cycle beyond the tolerance).
        """
        if not self.settle(self.shape.n_nodes + 1):
            raise AssertionError("the flow is not optimal: its residual network has a negative cycle")

    def settle(self, rounds: int) -> bool:
        """Move the potentials until every reduced cost is >= -tolerance, in at most ``rounds`` rounds.

        Bellman-Ford from the current potentials (a virtual source at each
        node), vectorised; from the potentials of a nearby optimum it takes a
        few dozen rounds. False when it has not settled (the flow may not be
        optimal); the potentials are then left as they were.
        """
        settled, d, _ = _bellman_ford(self._tail, self._head, self.costs(), self.potential, self.tolerance, rounds)
        if settled:
            self.potential = d
        return settled

    def unique_by(self, per_cell: float, rounds: int) -> bool:
        """Whether every cycle that changes the plan costs more than ``per_cell`` per cell it changes.

        Every cycle crosses from the specialties' side of the network to the
        shared side only through a cell's forward entry and back only through
        a backward one, so it changes 2k cells through k forward entries. With
        each forward entry made 2 x ``per_cell`` cheaper, Bellman-Ford (from
        settled potentials, so from near-optimal distances) settles exactly
        when no such cycle is negative: then each cycle costs at least
        ``per_cell`` x its cells (less a tolerance of 1/64 of ``per_cell`` per
        entry). A cell whose cost is flat where it stands fails (its own two
        entries make such a cycle), a safe answer. False too when
        ``rounds`` do not suffice; a negative cycle is found early (see
        :func:`_bellman_ford`).
        """
        weights = self.reduced()
        weights[self.cell_fwd] -= 2.0 * per_cell
        settled, _, _ = _bellman_ford(self._tail, self._head, weights, np.zeros(self.shape.n_nodes),
                                      per_cell / 64.0, rounds)
        return settled

    def negative_cycle(self, rounds: int) -> tuple[float, int] | None:
        """(cost, entries) of a negative cycle of the residual network, by Bellman-Ford; None if none was found.

        Distances start from the potentials; each node keeps the entry that
        last lowered it. When they settle, they become the potentials (as
        :meth:`settle`). After ``rounds`` rounds without settling, a node far
        enough up those entries lies on a cycle of them, if any (pointer
        doubling); its cost is summed from the entries' true costs, so a cycle
        returned is really there and really negative, whatever the tolerance.
        """
        settled, d, cycle = _bellman_ford(self._tail, self._head, self.costs(), self.potential, self.tolerance,
                                          rounds)
        if settled:
            self.potential = d
        return cycle

    def _graph(self, weights: np.ndarray) -> csr_matrix:
        data = np.maximum(weights, 0.0)[self._order]
        return _sparse().csr_matrix((data, self._head_sorted.astype(np.int32), self._indptr),
                          shape=(self.shape.n_nodes, self.shape.n_nodes))

    # --- shortest paths ---------------------------------------------------------------------------

    def distances(self, sources: list[int], excluded: list[int] | None = None, limit: float = np.inf,
                  weights: np.ndarray | None = None) -> np.ndarray:
        """True path costs from each source to every node (inf: unreachable), without the ``excluded`` entries."""
        weights = self.reduced() if weights is None else weights.copy()
        if excluded:
            weights[excluded] = np.inf
        graph = self._graph(weights)
        found = _sparse().csgraph.dijkstra(graph, directed=True, indices=sources, limit=limit)
        found = np.atleast_2d(found)
        src = np.asarray(sources)
        return found - self.potential[src][:, None] + self.potential[None, :]

    # --- one rule moved by one unit --------------------------------------------------------------

    def arc_move(self, arc: int, direction: int, weights: np.ndarray, only_gain: bool = False) -> float | None:
        """The least extra cost of one more (+1) or one less (-1) unit through group arc ``arc``; None: impossible.

        One more unit goes tail -> head on the arc and must come back head ->
        tail through the rest of the network; one less is the other way round.
        With ``only_gain`` only a negative answer matters: the search stops at
        the distance that could still give one (0.0 is returned otherwise).
        """
        s = self.shape
        u, v = int(s.tree_tail[arc]), int(s.tree_head[arc])
        start, end = (v, u) if direction > 0 else (u, v)
        limit = np.inf
        if only_gain:
            # The cycle costs its entry's reduced cost plus a non-negative reduced distance.
            entry = self.potential[u] - self.potential[v] if direction > 0 else self.potential[v] - self.potential[u]
            if entry >= 0:
                return 0.0
            limit = -entry
        excluded = [int(self.tree_fwd[arc]), int(self.tree_bwd[arc])]
        d = self.distances([start], excluded, weights=weights, limit=limit)[0, end]
        if not np.isfinite(d):
            return 0.0 if only_gain else None
        return min(0.0, float(d)) if only_gain else float(d)

    def cell_move(self, cell: int, direction: int, weights: np.ndarray, limit: float = np.inf,
                  within_limits: bool = True, only_gain: bool = False) -> float | None:
        """The least extra cost of a plan with cell ``cell`` one unit higher (+1) or lower (-1); None: impossible.

        With ``within_limits`` False the cell's own limits are ignored for this one unit (the row that
        sets them is the one being moved). ``limit`` (in reduced cost) stops the search early when only
        a negative answer matters.
        """
        s, n = self.shape, int(self.units[cell])
        if within_limits and ((direction > 0 and n >= self.hi[cell]) or (direction < 0 and n <= self.lo[cell])):
            return None
        if n + direction < 0:
            return None
        index = np.array([cell])
        first = float(self.problem.cell_cost(np.array([n + direction]), index)[0]
                      - self.problem.cell_cost(np.array([n]), index)[0])
        near = int(s.a[cell])
        far = int(s.b[cell]) if s.via[cell] < 0 else int(s.via[cell])
        start, end = (far, near) if direction > 0 else (near, far)
        excluded = [int(self.cell_fwd[cell]), int(self.cell_bwd[cell])]
        if only_gain:
            entry = first + (self.potential[near] - self.potential[far] if direction > 0 else
                             self.potential[far] - self.potential[near])
            if entry >= 0:
                return 0.0
            limit = -entry
        graph = self._graph(_without(weights, excluded))
        found = _sparse().csgraph.dijkstra(graph, directed=True, indices=start, limit=limit)
        d = float(found[end]) - self.potential[start] + self.potential[end]
        if not math.isfinite(d):
            return 0.0 if only_gain else None
        return min(0.0, first + d) if only_gain else first + d

    # --- tied optima -------------------------------------------------------------------------------

    def tied_cells(self, weights: np.ndarray, exact: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Cells that can take one unit more / one unit fewer at exactly the same cost (two boolean arrays).

        A zero-cost cycle uses only entries of zero reduced cost, so it lies in
        one strong component of that subgraph. A cell whose two directions both
        cost zero (a flat stretch of its cost) would close a cycle with itself;
        for those the component is checked again without the cell (``exact``),
        or the cell is taken as tied (not ``exact``, a safe answer when only
        "unique or not" matters).
        """
        s, n_cells = self.shape, self.problem.n_cells
        zero = weights <= self.tolerance
        labels = self._components(zero)
        near = s.a
        far = np.where(s.via < 0, s.b, s.via)
        joined = labels[near] == labels[far]
        fwd_zero, bwd_zero = zero[self.cell_fwd], zero[self.cell_bwd]
        up = fwd_zero & joined
        down = bwd_zero & joined
        flat = np.flatnonzero(fwd_zero & bwd_zero & joined)
        if exact and len(flat):
            for c in flat.tolist():
                without = zero.copy()
                without[[int(self.cell_fwd[c]), int(self.cell_bwd[c])]] = False
                # Only the entries of the component matter; search from the far end back to the near end.
                graph = self._graph(np.where(without, 0.0, np.inf))
                dijkstra = _sparse().csgraph.dijkstra
                reach_back = dijkstra(graph, directed=True, indices=int(far[c]), limit=0.5)[int(near[c])] < 1
                reach_on = dijkstra(graph, directed=True, indices=int(near[c]), limit=0.5)[int(far[c])] < 1
                up[c], down[c] = reach_back, reach_on
        return up[:n_cells], down[:n_cells]

    def _components(self, zero: np.ndarray) -> np.ndarray:
        keep = zero[self._order]
        graph = _sparse().csr_matrix((np.ones(int(keep.sum())), self._head_sorted[keep].astype(np.int32),
                            np.searchsorted(np.flatnonzero(keep), self._indptr).astype(np.int32)),
                           shape=(self.shape.n_nodes, self.shape.n_nodes))
        return _sparse().csgraph.connected_components(graph, directed=True, connection="strong")[1]

    # --- re-optimising after a change of costs or supplies ----------------------------------------

    def reoptimize(self, problem: ProblemData, supply: dict[int, int] | None = None,
                   hi: np.ndarray | None = None, changed: np.ndarray | None = None) -> bool:
        """Make the flow optimal for ``problem`` (new costs), extra ``supply`` per node and new cell caps ``hi``.

        ``supply`` adds units entering at a node (a total's node); the sink
        takes the same number more. ``changed`` lists the only cells whose
        costs or limits differ (default: all). Returns False when no plan
        exists (the state is then undefined).
        """
        self.problem = problem
        if hi is not None:
            self.hi = hi.copy()
        s = self.shape
        excess = np.zeros(s.n_nodes, dtype=np.int64)
        for node, units in (supply or {}).items():
            excess[node] += units
            excess[s.sink] -= units
        # Cells out of their (new) box first, then cells whose next unit beats the potentials.
        reach = 0.0
        low, high = self.units < self.lo, self.units > self.hi
        for cells, step in ((np.flatnonzero(low), 1), (np.flatnonzero(high), -1)):
            moved = self.lo[cells] - self.units[cells] if step > 0 else self.units[cells] - self.hi[cells]
            self._move(cells, step * moved, excess)
        if not low.any() and not high.any():
            # A small change of costs seldom makes the flow lose optimality: then potentials that fit the new
            # costs exist, Bellman-Ford from the old ones finds them in a few rounds, no cell needs moving, and
            # only the new supply is routed (one or two searches instead of one per cell moved).
            self.settle(SETTLE_ROUNDS)
        cells = np.arange(problem.n_cells) if changed is None else changed
        far = np.where(s.via < 0, s.b, s.via)[cells]
        while True:
            up, down = self._marginals(cells)
            pa = self.potential[s.a[cells]]
            pb = self.potential[far]
            with np.errstate(invalid="ignore"):
                # No optimum puts more in a cell than its caps with the ancestors' and the total's (problem.hi):
                # a cell whose cost is flat (a zero target under a divisor method) stops there.
                cheaper_up = cells[np.isfinite(up) & (up + pa - pb < -self.tolerance)
                                   & (self.units[cells] < problem.hi[cells])]
                cheaper_down = cells[np.isfinite(down) & (-down + pb - pa < -self.tolerance)]
            if not len(cheaper_up) and not len(cheaper_down):
                break
            with np.errstate(invalid="ignore"):
                gain = max(float(np.max(-np.where(np.isfinite(up), up + pa - pb, 0.0), initial=0.0)),
                           float(np.max(-np.where(np.isfinite(down), -down + pb - pa, 0.0), initial=0.0)))
            reach = max(reach, gain)
            self._move(cheaper_up, np.ones(len(cheaper_up), dtype=np.int64), excess)
            self._move(cheaper_down, -np.ones(len(cheaper_down), dtype=np.int64), excess)
        # With no cell moved, the new supply has no nearby way back: search everywhere at once.
        return self._augment(excess, 2 * reach + self.tolerance if reach > 0 else np.inf)

    def _move(self, cells: np.ndarray, delta: np.ndarray, excess: np.ndarray) -> None:
        s = self.shape
        self.units[cells] += delta
        np.add.at(excess, s.a[cells], -delta)
        np.add.at(excess, s.b[cells], delta)

    def _augment(self, excess: np.ndarray, near: float = np.inf) -> bool:
        """Successive shortest paths from nodes with excess to nodes with a deficit, one unit per path.

        A unit moved because it was cheaper than the potentials can go back the way it came at a
        reduced cost below twice the largest gain (``near``), so each search first looks that far
        (a small part of the network) and only then everywhere; either way it finds a nearest deficit.
        """
        costs = self.costs()
        while (excess > 0).any():
            sources = np.flatnonzero(excess > 0)
            weights = self.reduced(costs)
            graph = self._graph(weights)
            deficits = np.zeros(0, dtype=np.int64)
            for limit in (near, np.inf) if np.isfinite(near) else (np.inf,):
                dist = _sparse().csgraph.dijkstra(graph, directed=True, indices=sources, min_only=True, limit=limit)
                deficits = np.flatnonzero((excess < 0) & np.isfinite(dist))
                if len(deficits):
                    break
            if not len(deficits):
                return False
            # Potentials move by the distances (capped at the farthest deficit reached): every shortest path to
            # a reached deficit then costs zero, and a maximum flow over the zero-cost entries sends as much as
            # those paths can carry at once (one unit per cell entry: the next unit of a cell costs more).
            reach = float(np.max(dist[deficits]))
            self.potential = self.potential + np.minimum(np.where(np.isfinite(dist), dist, reach), reach)
            weights = self.reduced(costs)
            zero = np.flatnonzero(weights <= self.tolerance)
            room = self._room(zero)
            flow = max_flow.SimpleMaxFlow()
            source, sink = self.shape.n_nodes, self.shape.n_nodes + 1
            flow.add_arcs_with_capacity(self._tail[zero], self._head[zero], room)
            givers, takers = np.flatnonzero(excess > 0), np.flatnonzero(excess < 0)
            flow.add_arcs_with_capacity(np.full(len(givers), source), givers, excess[givers])
            flow.add_arcs_with_capacity(takers, np.full(len(takers), sink), -excess[takers])
            if flow.solve(source, sink) != flow.OPTIMAL or flow.optimal_flow() == 0:
                raise AssertionError("no zero-cost path to the nearest deficit; report this")
            sent = flow.flows(np.arange(len(zero) + len(givers) + len(takers)))
            excess[givers] -= sent[len(zero):len(zero) + len(givers)]
            excess[takers] += sent[len(zero) + len(givers):]
            used = zero[sent[:len(zero)] > 0]
            amount = sent[:len(zero)][sent[:len(zero)] > 0]
            n, t = self.problem.n_cells, len(self.shape.tree_tail)
            cells_changed, arcs_changed = [], []
            ranges = ((0, n, 1, "cell"), (n, 2 * n, -1, "cell"), (2 * n, 2 * n + t, 1, "tree"),
                      (2 * n + t, 2 * n + 2 * t, -1, "tree"))
            for lo_entry, hi_entry, sign, target in ranges:
                pick = (used >= lo_entry) & (used < hi_entry)
                index = used[pick] - lo_entry
                if target == "cell":
                    np.add.at(self.units, index, sign * amount[pick])
                    cells_changed.append(index)
                else:
                    np.add.at(self.flow, index, sign * amount[pick])
                    arcs_changed.append(index)
            self._refresh(costs, np.concatenate(cells_changed), np.concatenate(arcs_changed))
        return True

    def _room(self, entries: np.ndarray) -> np.ndarray:
        """How many units each entry can carry at its current cost (one for a cell: its next unit costs more)."""
        s, n, t = self.shape, self.problem.n_cells, len(self.shape.tree_tail)
        room = np.full(len(entries), _BIG, dtype=np.int64)
        room[entries < 2 * n] = 1
        fwd = (entries >= 2 * n) & (entries < 2 * n + t)
        bwd = (entries >= 2 * n + t) & (entries < 2 * n + 2 * t)
        room[fwd] = np.minimum(s.tree_hi[entries[fwd] - 2 * n], _BIG) - self.flow[entries[fwd] - 2 * n]
        room[bwd] = self.flow[entries[bwd] - 2 * n - t] - s.tree_lo[entries[bwd] - 2 * n - t]
        return np.minimum(room, 1 << 40)

    def _refresh(self, costs: np.ndarray, cells: np.ndarray, arcs: np.ndarray) -> None:
        """Update the cached entry costs of the cells and group arcs a path changed."""
        s, n, t = self.shape, self.problem.n_cells, len(self.shape.tree_tail)
        if len(cells):
            up, down = self._marginals(cells)
            costs[self.cell_fwd[cells]] = up
            costs[self.cell_bwd[cells]] = np.where(np.isfinite(down), -down, np.inf)
        if len(arcs):
            flow = self.flow[arcs]
            costs[2 * n + arcs] = np.where(flow < s.tree_hi[arcs], 0.0, np.inf)
            costs[2 * n + t + arcs] = np.where(flow > s.tree_lo[arcs], 0.0, np.inf)

    def objective(self) -> float:
        """The objective of the current plan (exact sum)."""
        return self.problem.total_cost(self.units)


def _bellman_ford(tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, start: np.ndarray, tolerance: float,
                  rounds: int) -> tuple[bool, np.ndarray, tuple[float, int] | None]:
    """Bellman-Ford over the finite entries from distances ``start``, vectorised.

    Returns (settled, distances, cycle): settled when no entry lowers a node
    by more than ``tolerance``. Each node keeps the entry that last lowered
    it; every 16 rounds the chains of those entries are searched for a
    negative cycle (:func:`_cycle_of`), which stops the search early and is
    returned as (its true cost, its entries).
    """
    live = np.flatnonzero(np.isfinite(costs))
    tail, head, cost = tails[live], heads[live], costs[live]
    n = len(start)
    d = start.copy()
    last = np.full(n, -1, dtype=np.int64)
    for done in range(1, rounds + 1):
        candidate = d[tail] + cost
        better = np.flatnonzero(candidate < d[head] - tolerance)
        if not len(better):
            return True, d, None
        np.minimum.at(d, head[better], candidate[better])
        won = better[candidate[better] == d[head[better]]]
        last[head[won]] = won
        if done % 16 == 0 or done == rounds:
            found = _cycle_of(last, tail, cost, n, tolerance)
            if found is not None:
                return False, d, found
    return False, d, None


def _cycle_of(last: np.ndarray, tail: np.ndarray, cost: np.ndarray, n: int,
              tolerance: float) -> tuple[float, int] | None:
    """A cycle among the entries that last lowered each node costing below -``tolerance``: (cost, entries), or None."""
    parent = np.where(last >= 0, tail[np.maximum(last, 0)], np.arange(n))
    jump = parent.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):  # 2n steps up: on a cycle, if the chain has one
        jump = jump[jump]
    walked: set[int] = set()
    for start in np.unique(jump[last[jump] >= 0]).tolist():
        if start in walked:  # on a cycle already summed
            continue
        total, node, seen = 0.0, start, 0
        while True:
            walked.add(node)
            total += float(cost[last[node]])
            seen += 1
            node = int(parent[node])
            if node == start or last[node] < 0 or seen > n:
                break
        if node == start and total < -tolerance:
            return total, seen
    return None


def _without(weights: np.ndarray, excluded: list[int]) -> np.ndarray:
    copy = weights.copy()
    copy[excluded] = np.inf
    return copy


def copy_of(residual: Residual) -> Residual:
    """An independent copy of ``residual``'s state (flow, potentials, limits); the network's shape is shared."""
    other = Residual.__new__(Residual)
    other.__dict__.update(residual.__dict__)
    for name in ("units", "flow", "potential", "lo", "hi"):
        setattr(other, name, getattr(residual, name).copy())
    return other
