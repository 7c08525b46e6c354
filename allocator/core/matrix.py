"""``objective: biproportional``: an instance's area x specialty matrix by the biproportional divisor method.

Rows are the areas whose posts over all specialties a bound fixes (min = max),
typically the training regions; columns are the specialties, with their totals;
the weight of a cell is its leaf's need (exact; the target is need scaled per
specialty, a factor the column multiplier absorbs), 0 where the cell is closed. Every leaf cell under a row is rounded on its own with its
row's divisor and its specialty's multiplier, within its box (cell bounds and
stability limits). Exact tie-and-transfer (:mod:`allocator.apportion.biproportional`)
computes it. Other bound rows are refused: the method has no place for them.

The plan minimises sum over cells of F(n) = sum_{k<n} ln(s(k) / w), w = target / unit
(Gaffke and Pukelsheim 2008: the biproportional divisor method minimises this
separable convex cost subject to the row and column sums), which is the objective
the plan reports and ``verify`` recomputes. Under Adams and Huntington-Hill
s(0) = 0; every cell with weight holds a seat there, and ln s(0) is taken as 0.
Nothing here reads a file or prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from allocator.apportion.biproportional import BIPROPORTIONAL_METHODS, Cell, tie_and_transfer
from allocator.core.problem import ProblemData
from allocator.errors import InputError, Location


@dataclass(frozen=True)
class MatrixPlan:
    """Units per cell, and the multipliers that produce them, for the plan's metadata."""

    units: np.ndarray
    details: dict[str, Any]


def log_cost(method: str, n: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """F(n) = sum_{k<n} ln(s(k) / w) per cell (0 where w = 0), with ln s(0) = 0 when s(0) = 0."""
    n = np.asarray(n, dtype=np.int64)
    lgamma = np.vectorize(math.lgamma, otypes=[float])
    x = n.astype(float)
    if method == "jefferson":
        logs = lgamma(x + 1)
    elif method == "webster":
        logs = lgamma(x + 0.5) - math.lgamma(0.5)
    elif method == "adams":
        logs = np.where(n > 0, lgamma(np.maximum(x, 1)), 0.0)
    elif method == "huntington-hill":
        logs = np.where(n > 0, (lgamma(np.maximum(x, 1)) + lgamma(x + 1)) / 2, 0.0)
    else:
        raise ValueError(f"{method} is no biproportional method")
    positive = weight > 0
    return np.where(positive, logs - x * np.log(np.where(positive, weight, 1.0)), 0.0)


def matrix_plan(problem: ProblemData, locate: Callable[[str, str | None], Location | None] | None = None
                ) -> MatrixPlan:
    """The biproportional plan of ``problem`` (built with ``objective: biproportional``).

    ``locate(area, specialty)`` gives the file and row of a bound row, for the messages.

    Raises
    ------
    InputError
        When no bound fixes an area's total, when fixed areas overlap or leave a
        cell that can take posts uncovered, or when another bound row would have to bind.
    InfeasibleError
        When the totals cannot be met.
    """
    def where(area: str, specialty: str | None) -> Location | None:
        return locate(area, specialty) if locate is not None else None

    method = problem.method or "webster"
    assert method in BIPROPORTIONAL_METHODS, "the schema admits only these"
    rows: list[tuple[str, int, np.ndarray]] = []
    for group in problem.groups:
        if group.kind != "bound":
            continue
        if group.specialty is None and group.hi is not None and group.lo == group.hi:
            rows.append((group.area or "", group.lo, group.cells))
        elif group.lo > 0 or group.hi is not None:
            raise InputError(f"objective 'biproportional' takes only bounds that fix an area's posts over all "
                             f"specialties (min = max) and bounds on single cells; the bound on area "
                             f"'{group.area}'{'' if group.specialty is None else f', specialty {group.specialty!r}'}"
                             " is neither", where=where(group.area or "", group.specialty),
                             fix="drop that bound, or make it min = max over all specialties")
    if not rows:
        raise InputError("objective 'biproportional' needs row totals: bounds that fix the posts of an area over "
                         "all specialties (min = max), e.g. one per training region",
                         fix="add such bounds, or choose another objective")
    rows.sort(key=lambda row: row[0])
    row_of = np.full(problem.n_cells, -1, dtype=np.int64)
    open_cells = problem.hi > 0
    for index, (area, _, cells) in enumerate(rows):
        clash = cells[row_of[cells] >= 0]
        if len(clash):
            other = rows[int(row_of[clash[0]])][0]
            raise InputError(f"the fixed totals of areas '{other}' and '{area}' overlap (one lies under the other)",
                             where=where(area, None), fix="fix the totals of disjoint areas only, e.g. the "
                                                          "training regions")
        row_of[cells] = index
    uncovered = np.flatnonzero(open_cells & (row_of < 0))
    if len(uncovered):
        c = int(uncovered[0])
        leaf = problem.leaves[int(problem.cell_leaf[c])]
        raise InputError(f"leaf area '{leaf}' lies under no area with a fixed total, so it has no row",
                         fix="fix the total of an area above it (min = max over all specialties), or close it")
    order = sorted(range(len(problem.specialties)), key=lambda s: problem.specialties[s])
    column_at = {s: j for j, s in enumerate(order)}
    power = 2 if method == "huntington-hill" else 1
    totals = [problem.total_of(s).lo for s in order]
    # The weight is the leaf's need itself, not the target: within a specialty the target is need times one
    # float factor, which the column multiplier absorbs exactly, while the float division would blur the
    # exact proportions (and hide real ties, e.g. between leaves whose needs are in the same ratio).
    need = [Fraction(problem.needs[leaf].need) for leaf in problem.leaves]
    cells: list[Cell] = []
    index: list[int] = []
    for c in np.flatnonzero(row_of >= 0).tolist():
        total = totals[column_at[int(problem.cell_specialty[c])]]
        high = int(problem.hi[c])
        value = need[int(problem.cell_leaf[c])] ** power if open_cells[c] and problem.target[c] > 0 \
            else Fraction(0)
        cells.append(Cell(int(row_of[c]), column_at[int(problem.cell_specialty[c])], value, int(problem.lo[c]),
                          None if high >= total else high))
        index.append(c)
    solution = tie_and_transfer(cells, [row[1] for row in rows], totals, method, [row[0] for row in rows],
                                [problem.specialties[s] for s in order])
    units = np.zeros(problem.n_cells, dtype=np.int64)
    units[np.array(index, dtype=np.int64)] = solution.seats
    root = math.sqrt if power == 2 else float
    details = {
        "method": method,
        "rule": "posts of a leaf cell (in units) = round(need / row_divisor x specialty_multiplier) by the "
                "method's signposts, within the cell's bounds (need: the leaf's need under the model)",
        "row_divisors": {row[0]: 1 / root(a) if a else None for row, a in zip(rows, solution.row_multipliers)},
        "specialty_multipliers": {problem.specialties[s]: root(b) for s, b in zip(order, solution.column_multipliers)},
        "ties": [[{key: value for key, value in cell.items() if key != "cell"} | {
            "leaf": problem.leaves[int(problem.cell_leaf[index[cell["cell"]]])]} for cell in group]
            for group in solution.ties],
        "tie_and_transfer": {"updates": solution.updates, "transfers": solution.transfers},
    }
    return MatrixPlan(units, details)
