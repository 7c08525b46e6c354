"""Step 6a: the plan, the result of a solve, with the bounds that bind.

A plan is held as columns (:class:`PlanTable`): integer codes for the leaf and
the specialty of each row, numbers as numpy arrays, and the strings of each
leaf, specialty and set of binding labels once. Rows (:class:`PlanRow`) are
made only when someone iterates over them.

Tie rule (documented in docs/mathematics.md): every backend builds its model
from cells in sorted order (leaf id, then specialty id), and the greedy path
gives each next unit to the cheapest marginal cost, ties going to the cell
that comes first in that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, overload

import numpy as np

from allocator.core.arrays import dense_unique
from allocator.core.problem import ProblemData
from allocator.io.schemas import Instance, Model

_TIGHT = 1e-9


class PlanRow(NamedTuple):
    """The posts of one leaf area in one specialty, and why."""

    area: str
    area_name: str
    region: str
    specialty: str
    posts: float
    target: float
    previous: float | None
    min: float | None
    max: float | None
    binding: tuple[str, ...]
    underserved: bool
    need_index: float

    @property
    def change(self) -> float | None:
        """Posts minus last year's, when last year is known."""
        return None if self.previous is None else self.posts - self.previous


def objects(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a one-dimensional object array (tuples stay elements, not rows)."""
    array = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        array[k] = value
    return array


@dataclass(frozen=True)
class PlanTable:
    """A plan's rows as columns.

    Attributes
    ----------
    leaf, specialty
        Codes of each row's leaf (into ``leaf_ids``) and specialty (into ``specialty_ids``).
    posts, target
        Posts and target of each row.
    previous, min, max
        Last year's posts and the row's own bounds, NaN where not given.
    binding
        Code of each row's binding labels (into ``binding_sets``; 0 is no label).
    leaf_ids, leaf_names, leaf_regions, leaf_underserved, leaf_need_index
        Per leaf: id, name to show, top-level area id, designation and need index.
    """

    leaf: np.ndarray
    specialty: np.ndarray
    posts: np.ndarray
    target: np.ndarray
    previous: np.ndarray
    min: np.ndarray
    max: np.ndarray
    binding: np.ndarray
    leaf_ids: list[str]
    leaf_names: list[str]
    leaf_regions: list[str]
    leaf_underserved: np.ndarray
    leaf_need_index: np.ndarray
    specialty_ids: list[str]
    binding_sets: list[tuple[str, ...]] = field(default_factory=lambda: [()])

    def __len__(self) -> int:
        return len(self.leaf)

    def change(self) -> np.ndarray:
        """Posts minus last year's, NaN where last year is not known."""
        return self.posts - self.previous

    def text(self, codes: np.ndarray, names: Sequence[Any]) -> list[Any]:
        """The value of ``names`` for every row's code (strings made once per distinct value)."""
        return objects(names)[codes].tolist() if len(codes) else []

    def row(self, k: int) -> PlanRow:
        """Row ``k`` as a :class:`PlanRow`."""
        leaf = int(self.leaf[k])

        def maybe(value: float) -> float | None:
            return None if np.isnan(value) else float(value)
        return PlanRow(self.leaf_ids[leaf], self.leaf_names[leaf], self.leaf_regions[leaf],
                       self.specialty_ids[int(self.specialty[k])], float(self.posts[k]), float(self.target[k]),
                       maybe(self.previous[k]), maybe(self.min[k]), maybe(self.max[k]),
                       self.binding_sets[int(self.binding[k])], bool(self.leaf_underserved[leaf]),
                       float(self.leaf_need_index[leaf]))

    def rows(self) -> list[PlanRow]:
        """Every row as a :class:`PlanRow`, in order."""
        def optional(values: np.ndarray) -> list[float | None]:
            return [None if value != value else value for value in values.tolist()]
        leaf = self.leaf
        return list(map(PlanRow, self.text(leaf, self.leaf_ids), self.text(leaf, self.leaf_names),
                        self.text(leaf, self.leaf_regions), self.text(self.specialty, self.specialty_ids),
                        self.posts.tolist(), self.target.tolist(), optional(self.previous), optional(self.min),
                        optional(self.max), self.text(self.binding, self.binding_sets),
                        self.leaf_underserved[leaf].tolist(), self.leaf_need_index[leaf].tolist()))

    @classmethod
    def from_rows(cls, rows: Sequence[PlanRow]) -> PlanTable:
        """The columns of rows given one by one (plans built by hand, e.g. in tests)."""
        leaf_ids = list(dict.fromkeys(row.area for row in rows))
        leaf_code = {leaf: k for k, leaf in enumerate(leaf_ids)}
        first = {row.area: row for row in reversed(rows)}
        specialty_ids = list(dict.fromkeys(row.specialty for row in rows))
        specialty_code = {s: k for k, s in enumerate(specialty_ids)}
        binding_sets = list(dict.fromkeys([(), *(tuple(row.binding) for row in rows)]))
        binding_code = {labels: k for k, labels in enumerate(binding_sets)}

        def floats(values: Any) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in values], dtype=float)
        return cls(leaf=np.array([leaf_code[row.area] for row in rows], dtype=np.int64),
                   specialty=np.array([specialty_code[row.specialty] for row in rows], dtype=np.int64),
                   posts=floats(row.posts for row in rows), target=floats(row.target for row in rows),
                   previous=floats(row.previous for row in rows), min=floats(row.min for row in rows),
                   max=floats(row.max for row in rows),
                   binding=np.array([binding_code[tuple(row.binding)] for row in rows], dtype=np.int64),
                   leaf_ids=leaf_ids, leaf_names=[first[leaf].area_name for leaf in leaf_ids],
                   leaf_regions=[first[leaf].region for leaf in leaf_ids],
                   leaf_underserved=np.array([first[leaf].underserved for leaf in leaf_ids], dtype=bool),
                   leaf_need_index=floats(first[leaf].need_index for leaf in leaf_ids),
                   specialty_ids=specialty_ids, binding_sets=binding_sets)


class TableRows(Sequence[PlanRow]):
    """A plan table seen as a sequence of rows; rows are made only when asked for."""

    def __init__(self, table: PlanTable) -> None:
        self.table = table
        self._rows: list[PlanRow] | None = None

    def __len__(self) -> int:
        return len(self.table)

    @overload
    def __getitem__(self, index: int) -> PlanRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[PlanRow]: ...

    def __getitem__(self, index: int | slice) -> PlanRow | list[PlanRow]:
        if self._rows is not None:
            return self._rows[index]
        if isinstance(index, slice):
            return [self.table.row(k) for k in range(*index.indices(len(self)))]
        return self.table.row(range(len(self))[index])

    def __iter__(self) -> Iterator[PlanRow]:
        if self._rows is None:
            self._rows = self.table.rows()
        return iter(self._rows)


@dataclass
class Plan:
    """An allocation plan: one row per leaf area and specialty, plus run metadata.

    ``rows`` may be any sequence of :class:`PlanRow`; a solved plan's is a
    :class:`TableRows` view of its :attr:`table`.
    """

    instance: str
    model: str
    unit: float
    objective: float
    rows: Sequence[PlanRow]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> PlanTable:
        """The rows as columns (made once from hand-built rows)."""
        if isinstance(self.rows, TableRows):
            return self.rows.table
        cached = self.__dict__.get("_table")
        if cached is None or cached[0] is not self.rows:
            cached = (self.rows, PlanTable.from_rows(self.rows))
            self.__dict__["_table"] = cached
        return cached[1]

    def posts(self) -> dict[tuple[str, str], float]:
        """Posts keyed by (leaf area, specialty)."""
        table = self.table
        return dict(zip(zip(table.text(table.leaf, table.leaf_ids), table.text(table.specialty, table.specialty_ids)),
                        table.posts.tolist()))


def top_region(instance: Instance, leaf: str) -> str:
    """The top-level area (a training region, in Denmark) above ``leaf``."""
    return instance.ancestors(leaf)[-1]


def binding_labels(problem: ProblemData, units: np.ndarray,
                   max_change: float | None) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """For every cell of ``problem``, the bounds that hold with equality at ``units``.

    Labels: ``min``/``max`` for the cell's own bound, ``max (all specialties)``
    for a leaf bound summed over specialties, ``max <area>`` for a bound on an
    ancestor, ``fixed`` where min = max, and ``max_change`` for stability.
    Labels are ordered from the leaf upwards, a specialty's own bound before
    the one summed over specialties. Found for every bound row at once.

    Returns
    -------
    codes, sets
        Each cell's code into ``sets``, the distinct tuples of labels (``sets[0]`` is ``()``).
    """
    arrays = problem.arrays
    assert arrays is not None, "a problem built by build_problem knows its bound rows"
    bounds = arrays.bounds
    posts = units.astype(float) * problem.unit
    under = arrays.row_sums(posts)
    at_min = ~np.isnan(bounds.min) & (np.abs(under - np.nan_to_num(bounds.min)) <= _TIGHT)
    at_max = ~np.isnan(bounds.max) & (np.abs(under - np.nan_to_num(bounds.max)) <= _TIGHT)
    tight = np.flatnonzero(at_min | at_max)
    kind = np.where(at_min[tight] & at_max[tight], 0, np.where(at_min[tight], 1, 2))
    area = bounds.area[tight]
    summed = bounds.specialty[tight] < 0
    is_leaf = np.zeros(len(arrays.area_ids), dtype=bool)
    is_leaf[arrays.leaf_area] = True
    # One label per distinct (kind, area, summed): the strings are made once each.
    label_key = (kind * len(arrays.area_ids) + area) * 2 + summed
    distinct, label_of_row = dense_unique(label_key, 3 * len(arrays.area_ids) * 2)
    names = ("fixed", "min", "max")
    texts = []
    for key in distinct.tolist():
        shared, rest = key % 2, key // 2
        code, k = rest % len(arrays.area_ids), rest // len(arrays.area_ids)
        texts.append(f"{names[k]}{'' if is_leaf[code] else f' {arrays.area_ids[code]}'}"
                     f"{' (all specialties)' if shared else ''}")
    rows, cells = arrays.expand(tight)
    position = np.searchsorted(tight, rows)
    depth = -(arrays.area_depth[bounds.area[rows]] + 1)
    shared = (bounds.specialty[rows] < 0).astype(np.int64)
    label = label_of_row[position]
    if max_change is not None:
        moved = np.flatnonzero(np.abs(np.abs(posts - problem.previous) - max_change) <= _TIGHT)
        texts.append("max_change")
        cells = np.concatenate([cells, moved])
        depth = np.concatenate([depth, np.ones(len(moved), dtype=np.int64)])
        shared = np.concatenate([shared, np.ones(len(moved), dtype=np.int64)])
        label = np.concatenate([label, np.full(len(moved), len(texts) - 1)])
    # Within a cell: deeper areas first, a specialty's own bound before a summed one, then by text.
    text_rank = np.argsort(np.argsort(np.array(texts, dtype=object), kind="stable"))
    order = np.lexsort((text_rank[label] if len(label) else label, shared, depth, cells))
    cells, label = cells[order], label[order]
    codes = np.zeros(problem.n_cells, dtype=np.int64)
    sets: list[tuple[str, ...]] = [()]
    if not len(cells):
        return codes, sets
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    counts = np.diff(np.r_[starts, len(cells)])
    single = counts == 1
    # Cells with one label share that label's set; the few with several get theirs one by one.
    sets += [(text,) for text in texts]
    codes[cells[starts[single]]] = label[starts[single]] + 1
    if (~single).any():
        # Cells with several labels: one row of label codes each (padded with -1), one tuple per distinct row.
        starts_multi, counts_multi = starts[~single], counts[~single]
        width = int(counts_multi.max())
        grid = np.full((len(starts_multi), width), -1, dtype=np.int64)
        for column in range(width):
            has = counts_multi > column
            grid[has, column] = label[starts_multi[has] + column]
        combos, which = np.unique(grid, axis=0, return_inverse=True)
        codes[cells[starts_multi]] = len(sets) + which.ravel()
        sets += [tuple(texts[k] for k in combo if k >= 0) for combo in combos.tolist()]
    return codes, sets


def build_plan(instance: Instance, model: Model, problem: ProblemData, units: np.ndarray,
               metadata: dict[str, Any] | None = None) -> Plan:
    """Turn a backend's units per cell into a plan, rows in (area, specialty) order."""
    arrays = problem.arrays
    assert arrays is not None, "a problem built by build_problem knows its instance"
    leaves = problem.leaves
    binding, binding_sets = binding_labels(problem, units, model.stability.max_change)
    bounds = arrays.bounds
    own = np.flatnonzero(bounds.is_cell & (bounds.end > bounds.start))
    own_cell = arrays.by_specialty[bounds.start[own]]
    low = np.full(problem.n_cells, np.nan)
    high = np.full(problem.n_cells, np.nan)
    low[own_cell], high[own_cell] = bounds.min[own], bounds.max[own]
    areas = instance.area_by_id
    table = PlanTable(
        leaf=problem.cell_leaf, specialty=problem.cell_specialty, posts=units.astype(float) * problem.unit,
        target=problem.target, previous=problem.previous, min=low, max=high, binding=binding,
        leaf_ids=leaves, leaf_names=[areas[leaf].label for leaf in leaves],
        leaf_regions=[arrays.area_ids[code] for code in arrays.leaf_top.tolist()],
        leaf_underserved=np.array([areas[leaf].underserved for leaf in leaves], dtype=bool),
        leaf_need_index=np.array([problem.needs[leaf].index for leaf in leaves], dtype=float),
        specialty_ids=problem.specialties, binding_sets=binding_sets)
    return Plan(instance=instance.name, model=model.name, unit=problem.unit,
                objective=problem.total_cost(units), rows=TableRows(table), metadata=dict(metadata or {}))
