"""Step 4b: the exact piecewise-linear formulation of the convex cost.

Each cell's cost f_c is convex in n_c, and is only ever evaluated at integers.
Between consecutive integers we replace f_c by its chord; at every integer the
value is exactly f_c(n). Runs of equal slope are merged into one segment, so
the absolute objective needs a handful of segments per cell.

With n_c = lo_c + sum_k s_ck, 0 <= s_ck <= len_k and slopes non-decreasing in
k, the LP fills the cheap segments first, so the relaxation's cost at integer
n_c is exactly f_c(n_c). The constraint groups (specialty totals, and bound
rows on a laminar area tree per specialty or summed over specialties) form two
laminar families, so the matrix is totally unimodular and the LP relaxation
has an integral optimum: CBC proves optimality at the root node.

To keep the model small, each cell is solved within a window around its
target. If a cell ends on an edge of its window that is not its real bound,
the window grows and the model is solved again; when no such cell remains,
the windowed optimum is optimal for the whole problem (the problem is convex,
so an optimum at which the extra window bounds are slack is a global optimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.core.problem import ProblemData

_SLOPE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Segments:
    """Piecewise-linear pieces of every cell's cost over a window.

    Attributes
    ----------
    cell
        The cell of each segment (segments of one cell are consecutive, cheapest first).
    length
        Units each segment spans.
    slope
        Cost per unit along the segment.
    start_cost
        Cost of each cell at its window's lower end.
    """

    cell: np.ndarray
    length: np.ndarray
    slope: np.ndarray
    start_cost: np.ndarray

    def runs(self) -> list[tuple[int, int, int]]:
        """(cell, first segment, one past the last segment) for every cell that has segments."""
        if len(self.cell) == 0:
            return []
        starts = np.r_[0, np.flatnonzero(np.diff(self.cell)) + 1]
        ends = np.r_[starts[1:], len(self.cell)]
        return list(zip(self.cell[starts].tolist(), starts.tolist(), ends.tolist()))


def initial_window(problem: ProblemData, width: int = 2, whole_box: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A window of ``width`` units either side of each cell's rounded target, inside its box.

    A cell whose whole box spans at most ``whole_box`` units gets the whole box at once. For
    min-cost flow a few more arcs cost less than a second round (grid-capped: one round instead of
    two); CP-SAT slows down with the extra segments, so the other backends keep the narrow window.
    """
    centre = np.clip(np.rint(problem.target / problem.unit).astype(np.int64), problem.lo, problem.hi)
    narrow = problem.hi - problem.lo <= whole_box
    return (np.where(narrow, problem.lo, np.maximum(problem.lo, centre - width)),
            np.where(narrow, problem.hi, np.minimum(problem.hi, centre + width)))


def build_segments(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray) -> Segments:
    """Compute the merged segments of every cell over ``[wlo, whi]``."""
    spans = np.maximum(whi - wlo, 0)
    cells = np.repeat(np.arange(problem.n_cells), spans)
    offsets = np.arange(len(cells)) - np.repeat(np.cumsum(spans) - spans, spans)
    points = wlo[cells] + offsets
    slopes = problem.cell_cost(points + 1, cells) - problem.cell_cost(points, cells)
    start_cost = problem.cell_cost(wlo)
    if len(cells) == 0:
        empty = np.zeros(0)
        return Segments(cells.astype(np.int64), empty.astype(np.int64), empty, start_cost)
    same_cell = np.r_[False, cells[1:] == cells[:-1]]
    scale = np.maximum(1.0, np.abs(slopes))
    if np.any(same_cell[1:] & (slopes[1:] < slopes[:-1] - 1e-9 * scale[1:])):
        raise AssertionError("cell cost is not convex; the formulation would be inexact")
    equal_slope = np.r_[False, np.abs(slopes[1:] - slopes[:-1]) <= _SLOPE_TOLERANCE * scale[1:]]
    starts = np.flatnonzero(~(same_cell & equal_slope))
    lengths = np.diff(np.r_[starts, len(cells)])
    return Segments(cells[starts], lengths.astype(np.int64), slopes[starts], start_cost)


def edge_cells(problem: ProblemData, n: np.ndarray, wlo: np.ndarray, whi: np.ndarray) -> np.ndarray:
    """Cells sitting on a window edge that is not their real bound (the window must grow)."""
    return np.flatnonzero(((n <= wlo) & (wlo > problem.lo)) | ((n >= whi) & (whi < problem.hi)))


def grow_window(problem: ProblemData, wlo: np.ndarray, whi: np.ndarray,
                cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Double the window of ``cells`` (all cells when None), inside their boxes."""
    wlo, whi = wlo.copy(), whi.copy()
    idx = slice(None) if cells is None else cells
    width = np.maximum(whi[idx] - wlo[idx], 2)
    wlo[idx] = np.maximum(problem.lo[idx], wlo[idx] - width)
    whi[idx] = np.minimum(problem.hi[idx], whi[idx] + width)
    return wlo, whi


def integer_slopes(segments: Segments, units_in_play: int) -> tuple[np.ndarray, float]:
    """Scale slopes to integers for solvers that need integer costs (CP-SAT, min-cost flow).

    The scale is the largest power of two that keeps the whole objective below
    2**52 in absolute value. Each slope is rounded to the nearest multiple of
    1/scale, so the integer optimum is optimal for the true costs up to
    ``units_in_play / (2 * scale)``; every plan's objective is then recomputed
    from the true costs, and the agreement tests compare it with CBC's.

    Returns
    -------
    slopes, scale
    """
    if len(segments.slope) == 0:
        return np.zeros(0, dtype=np.int64), 1.0
    largest = float(np.max(np.abs(segments.slope))) or 1.0
    budget = 2.0**52 / (largest * max(units_in_play, 1))
    scale = 2.0 ** np.floor(np.log2(budget))
    return np.rint(segments.slope * scale).astype(np.int64), float(scale)
