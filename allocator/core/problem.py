"""Step 4a: the numeric problem, stripped of files and names.

:class:`ProblemData` holds everything a backend needs, in units of the
instance's post unit u (so every variable is an integer): the cells (leaf,
specialty), their boxes, the constraint groups (totals and bound rows) and the
separable convex cost. Nothing here reads a file or prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

import numpy as np

from allocator.apportion import FIRST_DIVISOR, signpost_sums
from allocator.core.arrays import InstanceArrays, instance_arrays
from allocator.core.need import NeedBreakdown, cell_limits, need_breakdown, target_array
from allocator.errors import InputError
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
    objective: Literal["absolute", "squared", "apportionment", "biproportional"]
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
    #: The instance as coded columns, with every bound row (including rows folded into cell
    #: boxes or dropped as never binding, for reporting); see :meth:`members_of`.
    arrays: InstanceArrays | None = field(default=None, repr=False, compare=False)
    #: Each cell's upper limit from its bounds and stability, before its specialty's total caps it.
    cap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: The model's stability limit in posts (None: no limit).
    max_change: float | None = None
    #: The classical method of ``objective == "apportionment"``.
    method: str | None = None
    #: Modified Sainte-Laguë's first divisor (1, 3, 5 scale), when that is the method.
    first_divisor: Fraction | None = None
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
        elif self.objective == "biproportional":
            from allocator.core.matrix import log_cost  # matrix imports this module

            cost = log_cost(self.method or "webster", np.asarray(n, dtype=np.int64), t / self.unit)
        elif self.objective == "apportionment":
            cost = apportionment_cost(self.method or "", np.asarray(n, dtype=np.int64), t, self.unit,
                                      self.first_divisor)
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

    def members_of(self, key: tuple[str, str | None]) -> np.ndarray:
        """The cells under the bound row on (area, specialty or None), sorted."""
        assert self.arrays is not None, "a problem built by build_problem knows its bound rows"
        return self.arrays.members(self.arrays.row_index[key])

    def total_of(self, specialty_index: int) -> Group:
        """The total group of one specialty."""
        return self.groups[specialty_index]


def apportionment_cost(method: str, n: np.ndarray, target: np.ndarray, unit: float,
                       first_divisor: Fraction | None = None) -> np.ndarray:
    """The separable convex cost whose greedy minimisation is ``method``, for n units against ``target`` posts.

    A divisor method gives the next unit to the largest w / s(n); as a cost
    that is S(n) / w with w = target / unit, whose marginal cost s(n) / w the
    greedy takes smallest first. Hamilton is (x - t)^2 (its marginal cost
    picks the largest remainder). Cells with a zero target cost 0 (they are
    checked to hold no units). S(n) comes in closed form (``signpost_sums``), so
    neither time nor memory grows with the total.
    """
    if method == "hamilton":
        return (n * unit - target) ** 2
    sums = signpost_sums(method, n, first_divisor or FIRST_DIVISOR)
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
    Everything is computed on coded columns (:mod:`allocator.core.arrays`).
    """
    needs = need_breakdown(instance, model)
    target = target_array(instance, model, needs)
    arrays = instance_arrays(instance)
    leaves, specialties = arrays.leaf_ids, arrays.specialty_ids
    unit = float(instance.unit)
    total_units = _total_units(instance, specialties, unit)
    cell_leaf, cell_specialty = arrays.cell_leaf, arrays.cell_specialty
    low, high = cell_limits(instance)
    underserved = np.array([instance.area_by_id[leaf].underserved for leaf in leaves], dtype=bool)
    penalty = np.where(underserved[cell_leaf], float(model.underserved_weight), 1.0)
    previous = arrays.previous

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
    if model.objective == "apportionment" and model.method != "hamilton":
        starved = np.flatnonzero((target <= 0) & (hi > 0))
        if len(starved):
            leaf, specialty = leaves[int(cell_leaf[starved[0]])], specialties[int(cell_specialty[starved[0]])]
            raise InputError(f"leaf area '{leaf}' has no need for '{specialty}' (target 0), and the "
                             f"{model.method} method divides by the target",
                             where=instance.area_by_id[leaf].where("population"),
                             fix="give the area a population, or close the cell with a bound 'max: 0'")
    return ProblemData(
        leaves=leaves, specialties=specialties, unit=unit, objective=model.objective, method=model.method,
        first_divisor=model.first_divisor_exact,
        target=target, previous=previous, penalty=penalty,
        stability_weight=float(model.stability.weight), lo=lo, hi=hi,
        groups=_groups(arrays, unit, total_units),
        cell_leaf=cell_leaf, cell_specialty=cell_specialty, needs=needs, arrays=arrays, cap=cap,
        max_change=max_change,
    )


def _total_units(instance: Instance, specialties: list[str], unit: float) -> np.ndarray:
    totals = {s.id: int(round(s.total / unit)) for s in instance.specialties}
    return np.array([totals[s] for s in specialties], dtype=np.int64)


def group_limits(arrays: InstanceArrays, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Every bound row's limits in units: (lo, hi), lo 0 and hi -1 where the row gives none."""
    bounds = arrays.bounds
    g_lo = np.where(np.isnan(bounds.min), 0, np.ceil(np.nan_to_num(bounds.min) / unit - _EPS)).astype(np.int64)
    g_hi = np.where(np.isnan(bounds.max), -1, np.floor(np.nan_to_num(bounds.max) / unit + _EPS)).astype(np.int64)
    return g_lo, g_hi


def _groups(arrays: InstanceArrays, unit: float, total_units: np.ndarray) -> list[Group]:
    """The totals, then every bound row that is not a cell box, in (area, specialty) order."""
    specialties, areas = arrays.specialty_ids, arrays.area_ids
    # A stable sort by specialty keeps each specialty's cells in cell order.
    by_specialty = np.argsort(arrays.cell_specialty, kind="stable")
    runs = np.searchsorted(arrays.cell_specialty[by_specialty], np.arange(len(specialties) + 1))
    groups = [Group(f"total[{specialty}]", "total", by_specialty[runs[si]:runs[si + 1]], int(total_units[si]),
                    int(total_units[si]), None, specialty) for si, specialty in enumerate(specialties)]
    bounds = arrays.bounds
    g_lo, g_hi = group_limits(arrays, unit)
    # A row on one cell is its box, not a group. Rows that cannot bind are dropped by presolve.
    rows = np.flatnonzero(~bounds.is_cell)
    for members, area_code, si, lo, hi in zip(arrays.members_of_rows(rows),
                                                 bounds.area[rows].tolist(), bounds.specialty[rows].tolist(),
                                                 g_lo[rows].tolist(), g_hi[rows].tolist()):
        area = areas[area_code]
        specialty = specialties[si] if si >= 0 else None
        groups.append(Group(f"bound[{area}|{specialty or '*'}]", "bound", members, lo, hi if hi >= 0 else None,
                            area, specialty))
    return groups


def with_totals(problem: ProblemData, instance: Instance, model: Model) -> ProblemData:
    """``problem`` rebuilt for ``instance``, a variant that differs from its own only in specialty totals.

    Only what a total touches is recomputed (targets, the total caps on the
    cells, the groups); the result equals ``build_problem(instance, model)``
    (tested), at a fraction of the cost.
    """
    total_units = _total_units(instance, problem.specialties, problem.unit)
    hi = np.minimum(problem.cap, total_units[problem.cell_specialty])
    assert problem.arrays is not None, "with_totals needs a problem built by build_problem"
    # Only the totals (the first group of each specialty) change; the bound rows' groups are shared.
    n = len(problem.specialties)
    groups = [replace(group, lo=int(units), hi=int(units)) for group, units in zip(problem.groups[:n], total_units)]
    groups += problem.groups[n:]
    return replace(problem, target=target_array(instance, model, problem.needs), hi=hi, groups=groups,
                   derived=dict(problem.derived))
