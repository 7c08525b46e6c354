"""Step 6b: the independent verifier.

:func:`verify` checks a plan against the instance and the model directly: it
shares no code with the formulation, presolve or the backends (it borrows only
the target formula of :mod:`allocator.core.need`, and, for a Huntington-Hill or
Dean cell above 65,536 units, the closed-form signpost sums of :mod:`allocator.apportion`). It recomputes the sums
under every area, every bound, stability, the unit, the targets and the
objective from BRIEF.md's cost formula, column by column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import repeat

import numpy as np

from allocator.apportion import FIRST_DIVISOR, signpost_sums
from allocator.core.need import target_array
from allocator.errors import VerificationError
from allocator.io.schemas import Instance, Model, columns_of
from allocator.results.plan import Plan, PlanTable

_ABS = 1e-9
_REL = 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _ABS + _REL * max(abs(a), abs(b))


def _divisor_cost(method: str, x: np.ndarray, t: np.ndarray, unit: float,
                  first_divisor: Fraction | None = None) -> np.ndarray:
    """sum_{k < n} s(k) / w for n = x / unit units and weight w = t / unit (docs/mathematics.md)."""
    n = np.rint(x / unit).astype(np.int64)
    if method == "jefferson":
        total = n * (n + 1) / 2.0
    elif method == "webster":
        total = n * n / 2.0
    elif method == "sainte-lague-modified":
        # s(0) = f/2 instead of 1/2: every n >= 1 loses 1/2 - f/2 against Webster.
        total = np.where(n > 0, n * n / 2.0 - (0.5 - float(first_divisor or FIRST_DIVISOR) / 2), 0.0)
    elif method == "adams":
        total = n * (n - 1) / 2.0
    elif int(n.max(initial=0)) <= 1 << 16:
        k = np.arange(int(n.max(initial=0)), dtype=float)
        steps = np.sqrt(k * (k + 1)) if method == "huntington-hill" else k * (k + 1) / (k + 0.5)
        total = np.r_[0.0, np.cumsum(steps)][n]
    else:  # a table as long as the largest cell would not fit in memory: the closed form
        total = signpost_sums(method, n)
    w = t / unit
    return np.where(w > 0, total / np.where(w > 0, w, 1.0), 0.0)


def _log_cost(method: str, x: np.ndarray, t: np.ndarray, unit: float) -> np.ndarray:
    """sum_{k < n} ln(s(k) / w) for n = x / unit units, w = t / unit; ln s(0) read as 0 where s(0) = 0."""
    n = np.rint(x / unit).astype(np.int64).tolist()
    w = (t / unit).tolist()
    out = []
    for units, weight in zip(n, w):
        if weight <= 0:
            out.append(0.0)
            continue
        if method == "jefferson":
            logs = math.lgamma(units + 1)
        elif method == "webster":
            logs = math.lgamma(units + 0.5) - math.lgamma(0.5)
        elif method == "adams":
            logs = math.lgamma(units) if units > 0 else 0.0
        else:  # huntington-hill: sum of ln sqrt(k (k + 1)) for 1 <= k < n
            logs = (math.lgamma(units) + math.lgamma(units + 1)) / 2 if units > 0 else 0.0
        out.append(logs - units * math.log(weight))
    return np.array(out, dtype=float)


def cost_of(x: np.ndarray, t: np.ndarray, p: np.ndarray, prev: np.ndarray, objective: str,
            stability_weight: float, method: str | None = None, unit: float = 1.0,
            first_divisor: Fraction | None = None) -> np.ndarray:
    """BRIEF.md's cost of x posts against target t, cell by cell, written out as in the docs.

    ``p`` is the shortfall weight (the under-served weight or 1); ``prev`` is
    last year's posts, NaN where unknown (no stability cost). ``method`` and
    ``unit`` are used by the apportionment objective only.
    """
    short = np.maximum(0.0, t - x)
    over = np.maximum(0.0, x - t)
    if objective == "absolute":
        cost = p * short + over
    elif objective == "apportionment":
        cost = (x - t) ** 2 if method == "hamilton" else _divisor_cost(method or "", x, t, unit, first_divisor)
    elif objective == "biproportional":
        cost = _log_cost(method or "webster", x, t, unit)
    else:
        cost = (p * short * short + over * over) / np.where(t > 0, t, 1.0)
    return cost + np.where(np.isnan(prev), 0.0, stability_weight * np.abs(x - np.nan_to_num(prev)))


def _expected_keys(instance: Instance, n_specs: int) -> np.ndarray:
    """The cells a plan must have, as sorted keys area * n_specs + specialty (codes in instance order).

    Found from the parent links alone: every leaf and specialty, or the leaves under each offer.
    """
    area_code = {area.id: k for k, area in enumerate(instance.areas)}
    specialty_code = {s.id: k for k, s in enumerate(instance.specialties)}
    kids: dict[str, list[str]] = {area.id: [] for area in instance.areas}
    for area in instance.areas:
        if area.parent is not None:
            kids[area.parent].append(area.id)
    if not instance.offers:
        leaves = np.array([area_code[a] for a, children in kids.items() if not children], dtype=np.int64)
        return np.sort((leaves[:, None] * n_specs + np.arange(n_specs)).ravel())
    leaves_below: dict[str, list[int]] = {}

    def below(area_id: str) -> list[int]:
        if area_id not in leaves_below:
            leaves_below[area_id] = [leaf for kid in kids[area_id] for leaf in below(kid)] or [area_code[area_id]]
        return leaves_below[area_id]

    keys = [leaf * n_specs + specialty_code[offer.specialty] for offer in instance.offers for leaf in below(offer.area)]
    return np.unique(np.array(keys, dtype=np.int64))


def _shape_problems(instance: Instance, names: list[tuple[str, str]], keys: np.ndarray, posts: np.ndarray,
                    n_specs: int, expected: np.ndarray) -> list[str]:
    """Rows that are not cells, appear twice, or are missing (``expected``: the cells' keys); posts off the unit."""
    problems: list[str] = []
    unit = float(instance.unit)
    size = max(len(instance.areas) * n_specs, 1)
    is_expected = np.zeros(size, dtype=bool)
    is_expected[expected] = True
    foreign = (keys < 0) | ~is_expected[np.maximum(keys, 0)]
    for k in sorted(np.flatnonzero(foreign).tolist(), key=names.__getitem__)[:10]:
        problems.append(f"row {names[k]} is not a cell (leaf area and specialty) of the instance")
    counts = np.bincount(keys[keys >= 0], minlength=size)
    twice = np.flatnonzero(counts > 1)
    if len(twice):
        first = {int(key): k for k, key in reversed(list(enumerate(keys.tolist())))}
        for k in sorted((first[int(key)] for key in twice), key=names.__getitem__)[:10]:
            problems.append(f"row {names[k]} appears twice")
    missing = expected[counts[expected] == 0]
    if len(missing):
        area_ids = [area.id for area in instance.areas]
        specialty_ids = [s.id for s in instance.specialties]
        example = min((area_ids[int(key) // n_specs], specialty_ids[int(key) % n_specs]) for key in missing)
        problems.append(f"{len(missing)} cells are missing, e.g. {example}")
    bad = ~np.isfinite(posts) | (posts < -_ABS)
    for k in np.flatnonzero(bad)[:10]:
        problems.append(f"{names[k]}: posts {posts[k]} is negative or not finite")
    off_unit = ~bad & (np.abs(posts / unit - np.round(posts / unit)) > 1e-9)
    for k in np.flatnonzero(off_unit)[:10]:
        problems.append(f"{names[k]}: posts {posts[k]} is not a multiple of the unit {unit:g}")
    return problems


@dataclass(frozen=True)
class Breach:
    """One yearly rule a plan breaks, as figures, so that a memo can word it in its own language.

    Attributes
    ----------
    kind
        ``total`` (a specialty's posts against its total), ``min`` or ``max`` (an area's posts against a
        bound), or ``max_change`` (a cell's change against last year over the model's max_change).
    area
        The area (None for ``total``).
    specialty
        The specialty (None for a bound on all specialties together).
    value
        The plan's figure: the posts summed (``total``, ``min``, ``max``) or the change (``max_change``).
    limit
        The rule's figure: the total, the bound or max_change.
    """

    kind: str
    area: str | None
    specialty: str | None
    value: float
    limit: float

    @property
    def text(self) -> str:
        """The one-line English message the verifier gives (the words of ``check_plan``)."""
        if self.kind == "total":
            return f"specialty {self.specialty}: posts add up to {self.value:g}, not the total {self.limit:g}"
        if self.kind in ("min", "max"):
            side = "under its min" if self.kind == "min" else "over its max"
            return (f"area {self.area} ({self.specialty or 'all specialties'}): {self.value:g} posts, "
                    f"{side} {self.limit:g}")
        return (f"{(self.area, self.specialty)}: changes by {self.value:g} against last year, "
                f"over max_change {self.limit:g}")


class _Names:
    """(area, specialty) of row k of a plan, made only for the rows a message names."""

    def __init__(self, table: PlanTable) -> None:
        self.table = table

    def __getitem__(self, k: int) -> tuple[str, str]:
        return (self.table.leaf_ids[int(self.table.leaf[k])], self.table.specialty_ids[int(self.table.specialty[k])])


def check_plan(instance: Instance, model: Model, plan: Plan) -> list[str]:
    """Every way in which ``plan`` breaks the rules; empty when it is valid.

    Works on whole columns (numpy), so that a plan of a million cells is
    checked in well under a second; sums are exact because posts are
    multiples of 0.5. The plan's ids are coded afresh here, in the order the
    instance lists its areas and specialties, not as the formulation codes them.
    """
    return [problem if isinstance(problem, str) else problem.text for problem in _check(instance, model, plan)]


def rule_breaches(instance: Instance, model: Model, plan: Plan) -> list[Breach]:
    """The rules of :func:`check_plan` that ``plan`` breaks (totals, bounds, max_change), as figures.

    Empty when the plan's shape is wrong (check_plan then stops at the shape), or when it keeps these rules.
    """
    return [problem for problem in _check(instance, model, plan) if isinstance(problem, Breach)]


def _check(instance: Instance, model: Model, plan: Plan) -> list[str | Breach]:
    # check_plan's work; a broken total, bound or max_change is a Breach (worded by its ``text``).
    table = plan.table
    names = _Names(table)
    area_code = {area.id: k for k, area in enumerate(instance.areas)}
    specialty_code = {s.id: k for k, s in enumerate(instance.specialties)}
    n_specs = len(specialty_code)
    row_area = np.array([area_code.get(leaf, -1) for leaf in table.leaf_ids], dtype=np.int64)[table.leaf] \
        if len(table) else np.zeros(0, dtype=np.int64)
    spec = np.array([specialty_code.get(s, -1) for s in table.specialty_ids], dtype=np.int64)[table.specialty] \
        if len(table) else np.zeros(0, dtype=np.int64)
    keys = np.where((row_area >= 0) & (spec >= 0), row_area * n_specs + spec, -1)
    posts = np.asarray(table.posts, dtype=float)
    expected = _expected_keys(instance, n_specs)
    shape = _shape_problems(instance, names, keys, posts, n_specs, expected)  # type: ignore[arg-type]
    if shape:
        return list(shape)
    problems: list[str | Breach] = []

    totals = np.bincount(spec, weights=posts, minlength=n_specs)
    for specialty in instance.specialties:
        total = float(totals[specialty_code[specialty.id]])
        if not _close(total, specialty.total):
            problems.append(Breach("total", None, specialty.id, total, float(specialty.total)))

    # Sum every cell into each of its ancestors, walking the parent links level by level.
    n_areas = len(area_code)
    parent_code = np.array([area_code[a.parent] if a.parent is not None else -1 for a in instance.areas] + [-1])
    sum_all = np.zeros(n_areas)
    sum_spec = np.zeros(n_areas * n_specs)
    current, current_spec, current_posts = row_area, spec, posts
    while len(current):
        sum_all += np.bincount(current, weights=current_posts, minlength=n_areas)
        sum_spec += np.bincount(current * n_specs + current_spec, weights=current_posts, minlength=n_areas * n_specs)
        current = parent_code[current]
        alive = current >= 0
        current, current_spec, current_posts = current[alive], current_spec[alive], current_posts[alive]
    if instance.bounds:
        b_area, b_spec, b_min, b_max = columns_of(instance.bounds, ("area", "specialty", "min", "max"))
        a = np.fromiter(map(area_code.__getitem__, b_area), dtype=np.int64, count=len(b_area))
        sp = np.fromiter(map(specialty_code.get, b_spec, repeat(-1)), dtype=np.int64, count=len(b_spec))
        under = np.where(sp < 0, sum_all[a], sum_spec[a * n_specs + np.maximum(sp, 0)])
        low = np.array(b_min, dtype=float)  # None becomes NaN
        high = np.array(b_max, dtype=float)
        for k in np.flatnonzero(under < low - _ABS)[:10]:
            problems.append(Breach("min", b_area[k], b_spec[k] or None, float(under[k]), float(low[k])))
        for k in np.flatnonzero(under > high + _ABS)[:10]:
            problems.append(Breach("max", b_area[k], b_spec[k] or None, float(under[k]), float(high[k])))

    order = np.argsort(keys)
    previous = np.full(len(keys), np.nan)
    if instance.previous:
        p_area, p_spec, p_posts = columns_of(instance.previous, ("area", "specialty", "posts"))
        p_keys = (np.fromiter(map(area_code.__getitem__, p_area), dtype=np.int64, count=len(p_area)) * n_specs
                  + np.fromiter(map(specialty_code.__getitem__, p_spec), dtype=np.int64, count=len(p_spec)))
        found = np.searchsorted(keys[order], p_keys)
        hit = (found < len(keys)) & (keys[order][np.minimum(found, len(keys) - 1)] == p_keys)
        previous[order[found[hit]]] = np.asarray(p_posts, dtype=float)[hit]
    given_previous = np.asarray(table.previous, dtype=float)
    differs = ~((previous == given_previous) | (np.isnan(previous) & np.isnan(given_previous)))
    for k in np.flatnonzero(differs)[:10]:
        shown = None if np.isnan(given_previous[k]) else float(given_previous[k])
        problems.append(f"{names[k]}: previous {shown} differs from the instance")
    max_change = model.stability.max_change
    if max_change is not None:
        change = posts - previous
        for k in np.flatnonzero(np.abs(change) > max_change + _ABS)[:10]:
            problems.append(Breach("max_change", *names[k], float(change[k]), float(max_change)))

    # Recomputed targets come in the order of the cells sorted by (leaf id, specialty id): put the
    # expected keys in that order (ranking the ids here), and look each plan row up in it.
    area_rank = np.argsort(np.argsort(np.array([area.id for area in instance.areas], dtype=object), kind="stable"))
    specialty_rank = np.argsort(np.argsort(np.array([s.id for s in instance.specialties], dtype=object),
                                           kind="stable"))
    in_target_order = expected[np.lexsort((specialty_rank[expected % n_specs], area_rank[expected // n_specs]))]
    by_key = np.argsort(in_target_order)
    expected_target = target_array(instance, model)[by_key][np.searchsorted(in_target_order[by_key], keys)]
    given_target = np.asarray(table.target, dtype=float)
    off = np.abs(given_target - expected_target) > _ABS + _REL * np.maximum(np.abs(given_target),
                                                                            np.abs(expected_target))
    for k in np.flatnonzero(off)[:10]:
        problems.append(f"{names[k]}: target {given_target[k]} differs from the recomputed {expected_target[k]}")
    underserved = np.array([area.underserved for area in instance.areas] + [False])
    weight = np.where(underserved[row_area], model.underserved_weight, 1.0)
    costs = cost_of(posts, expected_target, weight, previous, model.objective, model.stability.weight, model.method,
                    float(instance.unit), model.first_divisor_exact)
    objective = math.fsum(costs.tolist())
    if not (abs(objective - plan.objective) <= 1e-7 + 1e-9 * abs(objective)):
        problems.append(f"objective {plan.objective!r} differs from the recomputed {objective!r}")
    return problems


def verify(instance: Instance, model: Model, plan: Plan) -> None:
    """Raise :class:`~allocator.errors.VerificationError` unless ``plan`` is valid."""
    problems = check_plan(instance, model, plan)
    if problems:
        raise VerificationError(problems)
