"""Step 4a: the numeric problem, stripped of files and names.

:class:`ProblemData` holds everything a backend needs, in units of the
instance's post unit u (so every variable is an integer): the cells (leaf,
specialty), their boxes, the constraint groups (totals and bound rows) and the
separable convex cost. Nothing here reads a file or prints.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from allocator.apportion import signposts
from allocator.errors import InputError
from allocator.core.need import NeedBreakdown, cell_arrays, need_breakdown, target_array
from allocator.io.schemas import Instance, Model

_EPS = 1e-9


@dataclass(frozen=True)
class Group:
    """A linear constraint lo <= sum of n over ``cells`` <= hi, in units.

    Attributes
    ----------
    name
        A stable machine name, e.g. ``total[almen]`` or ``bound[Nord|*]``.
    kind
        ``"total"`` for a specialty's fixed total, ``"bound"`` for a bound row.
    cells
        Indices into the problem's cells, sorted.
    lo, hi
        Limits in units; ``hi`` is None when there is no maximum.
    area, specialty
        What the group constrains (specialty None: summed over specialties).
    """

    name: str
    kind: Literal["total", "bound"]
    cells: np.ndarray
    lo: int
    hi: int | None
    area: str | None = None
    specialty: str | None = None


@dataclass
class ProblemData:
    """The exact integer program of one instance under one model.

    Variables are n_c, the posts of cell c in units: x_c = unit * n_c.
    """

    leaves: list[str]
    specialties: list[str]
    unit: float
    objective: Literal["absolute", "squared", "apportionment"]
    target: np.ndarray
    previous: np.ndarray
    penalty: np.ndarray
    stability_weight: float
    lo: np.ndarray
    hi: np.ndarray
    groups: list[Group]
    cell_leaf: np.ndarray
    cell_specialty: np.ndarray
    needs: dict[str, NeedBreakdown] = field(default_factory=dict)
    #: The cells under every bound row of the instance, keyed by (area, specialty or None),
    #: including rows folded into cell boxes or dropped as never binding (for reporting).
    bound_cells: dict[tuple[str, str | None], np.ndarray] = field(default_factory=dict)
    #: Each cell's upper limit from its bounds and stability, before its specialty's total caps it.
    cap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: The model's stability limit in posts (None: no limit).
    max_change: float | None = None
    #: The classical method of ``objective == "apportionment"``.
    method: str | None = None
    #: Facts derived once from the groups (e.g. their nesting), for backends to share.
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_cells(self) -> int:
        """Number of cells: (leaf, specialty) pairs of the plan."""
        return len(self.target)

    def cell_cost(self, n: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """The cost of putting ``n`` units in each cell (vectorised, exact in float64).

        Parameters
        ----------
        n
            Units per cell, aligned with ``cells`` (all cells when None).
        cells
            Which cells ``n`` refers to.
        """
        idx = slice(None) if cells is None else cells
        x = np.asarray(n, dtype=float) * self.unit
        t = self.target[idx]
        p = self.penalty[idx]
        short = np.maximum(0.0, t - x)
        over = np.maximum(0.0, x - t)
        if self.objective == "absolute":
            cost = p * short + over
        elif self.objective == "apportionment":
            cost = apportionment_cost(self.method or "", np.asarray(n, dtype=np.int64), t, self.unit)
        else:
            # A zero target only occurs with zero need; divide by 1 there so the cost stays defined.
            cost = (p * short**2 + over**2) / np.where(t > 0, t, 1.0)
        if self.stability_weight:
            prev = self.previous[idx]
            change = np.where(np.isnan(prev), 0.0, np.abs(x - np.nan_to_num(prev)))
            cost = cost + self.stability_weight * change
        return cost

    def total_cost(self, n: np.ndarray) -> float:
        """The objective of a full solution, summed exactly (math.fsum)."""
        return math.fsum(self.cell_cost(n).tolist())

    def total_of(self, specialty_index: int) -> Group:
        """The total group of one specialty."""
        return self.groups[specialty_index]


@functools.lru_cache(maxsize=16)
def _signpost_sums(method: str, size: int) -> np.ndarray:
    """S(0..size-1) with S(n) = s(0) + ... + s(n-1), the cumulative signposts of a divisor method."""
    return np.concatenate([[0.0], np.cumsum(signposts(method, size - 1))])


def apportionment_cost(method: str, n: np.ndarray, target: np.ndarray, unit: float) -> np.ndarray:
    """The separable convex cost whose greedy minimisation is ``method``, for n units against ``target`` posts.

    A divisor method gives the next unit to the largest w / s(n); as a cost
    that is S(n) / w with w = target / unit, whose marginal cost s(n) / w the
    greedy takes smallest first. Hamilton is (x - t)^2 (its marginal cost
    picks the largest remainder). Cells with a zero target cost 0 (they are
    checked to hold no units).
    """
    if method == "hamilton":
        return (n * unit - target) ** 2
    size = 1 << max(int(n.max(initial=0)) + 2, 64).bit_length()
    sums = _signpost_sums(method, size)[n]
    weight = target / unit
    return np.where(weight > 0, sums / np.where(weight > 0, weight, 1.0), 0.0)


def _ceil_units(values: np.ndarray, unit: float) -> np.ndarray:
    return np.ceil(values / unit - _EPS)


def _floor_units(values: np.ndarray, unit: float) -> np.ndarray:
    return np.floor(values / unit + _EPS)


def build_problem(instance: Instance, model: Model) -> ProblemData:
    """Translate an instance and a model into the numeric problem.

    Bound rows on a single cell become its box; every other bound row is a
    group. Maxima on ancestors also cap each cell's box (an implied bound that
    keeps the windows of the solvers small). Stability limits narrow the boxes.
    """
    needs = need_breakdown(instance, model)
    target = target_array(instance, model, needs)
    leaves = instance.leaves
    specialties = instance.specialty_ids
    spec_index = {s: i for i, s in enumerate(specialties)}
    leaf_index = {leaf: i for i, leaf in enumerate(leaves)}
    cells = instance.cells
    n_cells = len(cells)
    unit = float(instance.unit)
    totals = {s.id: int(round(s.total / unit)) for s in instance.specialties}
    total_units = np.array([totals[s] for s in specialties], dtype=np.int64)

    arrays = cell_arrays(instance)
    cell_leaf, cell_specialty, low, high = arrays.leaf, arrays.specialty, arrays.low, arrays.high
    underserved = np.array([instance.area_by_id[leaf].underserved for leaf in leaves], dtype=bool)
    penalty = np.where(underserved[cell_leaf], float(model.underserved_weight), 1.0)
    cell_index = {cell: c for c, cell in enumerate(cells)}
    previous = np.full(n_cells, np.nan)
    for key, posts in instance.previous_posts.items():
        c = cell_index.get(key)
        if c is not None:
            previous[c] = posts

    lo_f = _ceil_units(low, unit)
    cap_f = _floor_units(high, unit)  # inf where no bound caps the cell
    max_change = model.stability.max_change
    if max_change is not None:
        known = ~np.isnan(previous)
        lo_f = np.where(known, np.maximum(lo_f, _ceil_units(np.nan_to_num(previous) - max_change, unit)), lo_f)
        cap_f = np.where(known, np.minimum(cap_f, _floor_units(np.nan_to_num(previous) + max_change, unit)), cap_f)
    lo = np.maximum(lo_f, 0).astype(np.int64)
    # The specialty's total caps every cell too; an infinite cap leaves just the total.
    cap = np.minimum(cap_f, np.iinfo(np.int64).max // 4).astype(np.int64)
    hi = np.minimum(cap, total_units[cell_specialty])
    # Cells are sorted leaf-major, so each leaf's cells form one run [start, end).
    starts = np.searchsorted(cell_leaf, np.arange(len(leaves)), side="left").tolist()
    ends = np.searchsorted(cell_leaf, np.arange(len(leaves)), side="right").tolist()
    cells_under: dict[str, np.ndarray] = {}

    def under(area_id: str) -> np.ndarray:
        if area_id not in cells_under:
            if area_id in leaf_index:
                i = leaf_index[area_id]
                cells_under[area_id] = np.arange(starts[i], ends[i], dtype=np.int64)
            else:
                parts = [under(kid) for kid in instance.children[area_id]]
                cells_under[area_id] = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return cells_under[area_id]

    split_by_specialty: dict[str, dict[int, np.ndarray]] = {}

    def under_for(area_id: str, si: int) -> np.ndarray:
        # One stable sort per area serves all of its per-specialty bound rows.
        if area_id not in split_by_specialty:
            members = under(area_id)
            order = np.argsort(cell_specialty[members], kind="stable")
            codes = cell_specialty[members][order]
            cuts = np.flatnonzero(np.diff(codes)) + 1
            split_by_specialty[area_id] = {int(part_codes[0]): members[part]
                                           for part, part_codes in zip(np.split(order, cuts), np.split(codes, cuts))
                                           if len(part)}
        return split_by_specialty[area_id].get(si, np.zeros(0, dtype=np.int64))

    bound_cells: dict[tuple[str, str | None], np.ndarray] = {}
    for key in sorted(instance.bound_at, key=lambda k: (k[0], k[1] or "")):
        area, specialty = key
        bound_cells[key] = under(area) if specialty is None else under_for(area, spec_index[specialty])
    if model.objective == "apportionment" and model.method != "hamilton":
        starved = np.flatnonzero((target <= 0) & (hi > 0))
        if len(starved):
            leaf, specialty = cells[int(starved[0])]
            raise InputError(f"leaf area '{leaf}' has no need for '{specialty}' (target 0), and the "
                             f"{model.method} method divides by the target",
                             where=instance.area_by_id[leaf].where("population"),
                             fix="give the area a population, or close the cell with a bound 'max: 0'")
    return ProblemData(
        leaves=leaves, specialties=specialties, unit=unit, objective=model.objective, method=model.method,
        target=target, previous=previous, penalty=penalty,
        stability_weight=float(model.stability.weight), lo=lo, hi=hi,
        groups=_groups(instance, specialties, cell_specialty, total_units, bound_cells, hi, set(leaf_index)),
        cell_leaf=cell_leaf, cell_specialty=cell_specialty, needs=needs, bound_cells=bound_cells, cap=cap,
        max_change=max_change,
    )


def _groups(instance: Instance, specialties: list[str], cell_specialty: np.ndarray, total_units: np.ndarray,
            bound_cells: dict[tuple[str, str | None], np.ndarray], hi: np.ndarray, leaf_ids: set[str]) -> list[Group]:
    """The totals, then every bound row that is not a cell box and can bind, in (area, specialty) order."""
    unit = float(instance.unit)
    groups: list[Group] = []
    for si, specialty in enumerate(specialties):
        members = np.flatnonzero(cell_specialty == si)
        groups.append(Group(f"total[{specialty}]", "total", members, int(total_units[si]), int(total_units[si]),
                            None, specialty))
    for key, members in bound_cells.items():
        area, specialty = key
        if area in leaf_ids and specialty is not None:
            continue  # already in the cell's box (see cell_boxes)
        bound = instance.bound_at[key]
        g_lo = math.ceil(bound.min / unit - _EPS) if bound.min is not None else 0
        g_hi = math.floor(bound.max / unit + _EPS) if bound.max is not None else None
        if g_lo == 0 and g_hi is not None and g_hi >= int(hi[members].sum()):
            continue  # can never bind
        if g_lo == 0 and g_hi is None:
            continue
        groups.append(Group(f"bound[{area}|{specialty or '*'}]", "bound", members, g_lo, g_hi, area, specialty))
    return groups


def with_totals(problem: ProblemData, instance: Instance, model: Model) -> ProblemData:
    """``problem`` rebuilt for ``instance``, a variant that differs from its own only in specialty totals.

    Only what a total touches is recomputed (targets, the total caps on the
    cells, the groups); the result equals ``build_problem(instance, model)``
    (tested), at a fraction of the cost.
    """
    total_units = np.array([int(round(s.total / problem.unit)) for s in
                            sorted(instance.specialties, key=lambda s: s.id)], dtype=np.int64)
    hi = np.minimum(problem.cap, total_units[problem.cell_specialty])
    groups = _groups(instance, problem.specialties, problem.cell_specialty, total_units, problem.bound_cells, hi,
                     set(problem.leaves))
    return replace(problem, target=target_array(instance, model, problem.needs), hi=hi, groups=groups,
                   derived=dict(problem.derived))
