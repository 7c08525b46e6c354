"""The biproportional divisor method (Balinski and Demange), computed exactly by tie-and-transfer.

A matrix of weights w_ij (rows: e.g. districts or training regions; columns:
parties or specialties) is shared out so that every row i gets its total r_i,
every column j its total c_j, and every cell

    x_ij = round(w_ij * a_i * b_j)

under the method's rounding rule (signposts s(k), see :mod:`methods`), for one
row multiplier a_i = 1 / (row divisor) per row and one column multiplier b_j per
column. Everything is an exact fraction. Huntington-Hill's signposts are square
roots, so for it every quotient, multiplier and signpost is kept squared (the
order is the same); the JSON shows their square roots.

Tie-and-transfer (Pukelsheim, Proportional Representation, 2nd ed. 2017;
Balinski and Demange 1989) keeps the row sums right throughout and moves the
column sums towards their totals:

1. with the current b, apportion every row on its own (bounded divisor method)
   and take a row multiplier a_i that reproduces it;
2. label the over-served columns; from a labeled column j label every row i
   whose cell (i, j) sits on its lower signpost (it could give a seat up), and
   from a labeled row label every column whose cell sits on its upper signpost
   (it could take one). Reaching an under-served column gives a path along
   which one seat is transferred: the row sums stay, the error drops by 2;
3. with no such path, multiply b_j of the labeled columns by the largest lam < 1
   and divide a_i of the labeled rows by it, which leaves the labeled block
   unchanged, lowers the quotients of the labeled columns elsewhere and raises
   those of the labeled rows elsewhere, until a new cell reaches a signpost. The
   labeled set then grows.

Termination: step 3 adds at least one row or column to the labeled set, so at
most R + C scalings separate two transfers, and each transfer lowers the total
column error sum |colsum_j - c_j| by 2, so at most (R + C) * error_0 / 2 + error_0 / 2
rounds run. When step 3 finds no cell that could reach a signpost, the labeled
columns cannot lose a seat at any multipliers: the totals are infeasible, and
the error names those columns and rows (exit 3).

Ties: when the solution is not unique, some cells lie on a cycle of cells that
could gain and lose a seat in turn; those cells are reported. Rows and columns
are processed in ascending order of their ids, so the result never depends on
the order of the input.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from allocator.apportion.methods import Apportionment, apportion, method_named, signpost
from allocator.errors import InfeasibleError, InputError

#: The methods the biproportional command accepts (BAZI's usual four).
BIPROPORTIONAL_METHODS = ("webster", "jefferson", "adams", "huntington-hill")
#: The most seats tie-and-transfer takes: it starts by handing out each row's seats one by one, so time
#: grows with the total (about 10 s per million seats here); far above any parliament or training plan.
MAX_SEATS = 10**6


@dataclass(frozen=True)
class BiproportionalResult:
    """A biproportional apportionment with everything needed to check it by hand.

    Attributes
    ----------
    method
        Canonical method name.
    rows, columns
        Ids in the order given.
    weights
        weights[i][j], exact.
    row_totals, column_totals
        The totals met.
    seats
        seats[i][j].
    row_multipliers, column_multipliers
        a_i and b_j, exact (Huntington-Hill: their squares). The largest column (by total, then id)
        has b = 1.
    minimum
        minimum[i][j]: the winner-take-one floors (0 elsewhere).
    ties
        Groups of cells that could trade seats with each other at these multipliers.
    excluded_columns
        Columns left out by a threshold, with the reason.
    notes
        Remarks (e.g. a row where winner-take-one was not applied because of a tie for strongest).
    updates, transfers
        How many scalings and seat transfers tie-and-transfer made.
    """

    method: str
    rows: list[str]
    columns: list[str]
    weights: list[list[Fraction]]
    row_totals: list[int]
    column_totals: list[int]
    seats: list[list[int]]
    row_multipliers: list[Fraction]
    column_multipliers: list[Fraction]
    minimum: list[list[int]]
    ties: list[list[dict[str, Any]]] = field(default_factory=list)
    excluded_columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    updates: int = 0
    transfers: int = 0

    @property
    def squared(self) -> bool:
        """True for Huntington-Hill, whose multipliers are kept squared."""
        return self.method == "huntington-hill"

    def quotient(self, i: int, j: int) -> float:
        """w_ij * a_i * b_j, the unrounded seats of a cell."""
        value = self.weights[i][j] * self._root(self.row_multipliers[i]) * self._root(self.column_multipliers[j]) \
            if self.squared else self.weights[i][j] * self.row_multipliers[i] * self.column_multipliers[j]
        return float(value)

    def _root(self, value: Fraction) -> float:
        return math.sqrt(value)

    def row_divisor(self, i: int) -> float:
        """1 / a_i."""
        a = self.row_multipliers[i]
        return (1 / math.sqrt(a) if self.squared else float(1 / a)) if a else math.inf

    def column_multiplier(self, j: int) -> float:
        """b_j."""
        b = self.column_multipliers[j]
        return math.sqrt(b) if self.squared else float(b)

    def as_json(self) -> dict[str, Any]:
        """The document written to biproportional.json (see docs/apportionment.md)."""
        exact = "squared" if self.squared else "exact"
        return {
            "method": self.method,
            "rule": "seats[i][j] = round(weight[i][j] / row_divisor[i] * column_multiplier[j]) by the method's "
                    "signposts; a quotient exactly on a signpost may round either way (a tie)",
            "rows": [{"row": row, "total": total, "divisor": self.row_divisor(i),
                      f"multiplier_{exact}": str(self.row_multipliers[i])}
                     for i, (row, total) in enumerate(zip(self.rows, self.row_totals))],
            "columns": [{"column": column, "total": total, "multiplier": self.column_multiplier(j),
                         f"multiplier_{exact}": str(self.column_multipliers[j])}
                        for j, (column, total) in enumerate(zip(self.columns, self.column_totals))],
            "excluded_columns": [{"column": c, "reason": r} for c, r in self.excluded_columns.items()],
            "winner_take_one": [{"row": self.rows[i], "column": self.columns[j]}
                                for i in range(len(self.rows)) for j in range(len(self.columns))
                                if self.minimum[i][j]],
            "ties": self.ties,
            "notes": self.notes,
            "tie_and_transfer": {"updates": self.updates, "transfers": self.transfers},
        }


def _claim_of(value: Fraction, seats: int, method: str) -> tuple[int, Fraction]:
    """The claim of a cell of (powered) quotient weight ``value`` on its next seat; (1, v) is infinite."""
    post = signpost(method, seats)
    return (1, value) if post == 0 else (0, value / post)


def biproportional(rows: Sequence[str], columns: Sequence[str], weights: Sequence[Sequence[Fraction | int]],
                   row_totals: Sequence[int], column_totals: Sequence[int], method: str = "webster", *,
                   winner_take_one: bool = False, excluded_columns: dict[str, str] | None = None
                   ) -> BiproportionalResult:
    """The biproportional apportionment of ``weights`` to the row and column totals, by tie-and-transfer.

    Parameters
    ----------
    rows, columns
        Distinct ids.
    weights
        weights[i][j] >= 0.
    row_totals, column_totals
        Whole seats; both add up to the same number.
    method
        webster (default), jefferson (= dhondt), adams or huntington-hill.
    winner_take_one
        The column with the largest weight in each row gets at least one seat there; columns tied
        for the largest weight each get one if the row has enough seats, else none does (as in
        proporz and BAZI's practice, a note says so).
    excluded_columns
        Columns already excluded by a threshold (weights kept, seats 0; their total must be 0).

    Raises
    ------
    InputError
        For an unknown method or negative weights.
    InfeasibleError
        When the totals disagree or cannot be met (naming the rows and columns).
    """
    method = method_named(method)
    if method not in BIPROPORTIONAL_METHODS:
        raise InputError(f"the biproportional method cannot be '{method}'",
                         fix="use one of " + ", ".join(BIPROPORTIONAL_METHODS))
    n_rows, n_cols = len(rows), len(columns)
    excluded = dict(excluded_columns or {})
    exact = [[Fraction(w) for w in row] for row in weights]
    if any(w < 0 for row in exact for w in row):
        raise InputError("a weight is negative", fix="give every cell a weight of 0 or more")
    if sum(row_totals) != sum(column_totals):
        raise InfeasibleError(f"the row totals add up to {sum(row_totals)} but the column totals to "
                              f"{sum(column_totals)}", conflicts=["row totals", "column totals"])
    # Work on ids in ascending order, so the input order cannot matter; map back at the end.
    row_order = sorted(range(n_rows), key=lambda i: rows[i])
    col_order = sorted(range(n_cols), key=lambda j: columns[j])
    power = 2 if method == "huntington-hill" else 1
    live = [[exact[i][j] if columns[j] not in excluded else Fraction(0) for j in col_order] for i in row_order]
    values = [[w ** power for w in row] for row in live]
    r = [row_totals[i] for i in row_order]
    c = [column_totals[j] for j in col_order]
    names_r = [rows[i] for i in row_order]
    names_c = [columns[j] for j in col_order]
    for j in range(n_cols):
        if c[j] > 0 and not any(values[i][j] for i in range(n_rows)):
            raise InfeasibleError(f"column '{names_c[j]}' has a total of {c[j]} but no weight in any row",
                                  conflicts=[f"column {names_c[j]}"])
    for i in range(n_rows):
        if r[i] > 0 and not any(values[i]):
            raise InfeasibleError(f"row '{names_r[i]}' has a total of {r[i]} but no weight in any column",
                                  conflicts=[f"row {names_r[i]}"])
    lower = [[0] * n_cols for _ in range(n_rows)]
    notes: list[str] = []
    if winner_take_one:
        for i in range(n_rows):
            top = max(live[i], default=Fraction(0))
            strongest = [j for j in range(n_cols) if live[i][j] == top and top > 0]
            if strongest and len(strongest) <= r[i]:
                for j in strongest:  # columns tied for the most weight each get the floor, while seats allow
                    lower[i][j] = 1
            elif strongest:
                notes.append(f"row '{names_r[i]}': columns {', '.join(names_c[j] for j in strongest)} tie for the "
                             f"most weight and the row has {r[i]} seat(s), so winner-take-one is not applied there")
    cells = [Cell(i, j, values[i][j], lower[i][j], None) for i in range(n_rows) for j in range(n_cols)]
    solution = tie_and_transfer(cells, r, c, method, names_r, names_c)
    # Back to the input order.
    row_at = {i: k for k, i in enumerate(row_order)}
    col_at = {j: k for k, j in enumerate(col_order)}
    seats = [[solution.seats[row_at[i] * n_cols + col_at[j]] for j in range(n_cols)] for i in range(n_rows)]
    minimum = [[lower[row_at[i]][col_at[j]] for j in range(n_cols)] for i in range(n_rows)]
    return BiproportionalResult(method, list(rows), list(columns), exact, list(row_totals), list(column_totals),
                                seats, [solution.row_multipliers[row_at[i]] for i in range(n_rows)],
                                [solution.column_multipliers[col_at[j]] for j in range(n_cols)], minimum,
                                [[{key: value for key, value in cell.items() if key != "cell"} for cell in group]
                                 for group in solution.ties], excluded, notes, solution.updates, solution.transfers)


@dataclass(frozen=True)
class Cell:
    """One cell of a biproportional problem: its row, its column, its (powered) weight and its floor and cap.

    Several cells may share a row and a column (e.g. the leaves of one training
    region in one specialty): each is rounded on its own with the same multipliers.
    """

    row: int
    column: int
    value: Fraction
    lower: int = 0
    upper: int | None = None


@dataclass
class Solution:
    """What :func:`tie_and_transfer` returns: seats per cell, multipliers (normalised and centred), ties, steps."""

    seats: list[int]
    row_multipliers: list[Fraction]
    column_multipliers: list[Fraction]
    ties: list[list[dict[str, Any]]]
    updates: int
    transfers: int


def tie_and_transfer(cells: Sequence[Cell], row_totals: Sequence[int], column_totals: Sequence[int], method: str,
                     row_names: Sequence[str], column_names: Sequence[str]) -> Solution:
    """Seats for every cell with every row and column total met, x = clip(round(v a_row b_col), lower, upper).

    ``value`` is the weight, squared for Huntington-Hill. Rows and columns are
    taken in the order given (callers sort them by id). See the module docstring
    for the algorithm and why it stops.

    Raises
    ------
    InputError
        When the totals exceed :data:`MAX_SEATS`.
    InfeasibleError
        When the totals cannot be met, naming the rows or columns.
    """
    if sum(row_totals) > MAX_SEATS:
        raise InputError(f"{sum(row_totals):,} seats is above the limit of {MAX_SEATS:,} for the biproportional "
                         "method (it hands out each row's seats one by one)",
                         fix="share out fewer seats, e.g. in larger units")
    state = _State(method, list(cells), list(row_totals), list(column_totals), list(row_names), list(column_names))
    state.solve()
    ties = state.ties()
    # Normalise: the column with the largest total (then the first) gets multiplier 1.
    n_cols = len(column_totals)
    anchor = min(range(n_cols), key=lambda j: (-column_totals[j], j)) if n_cols else None
    if anchor is not None and state.b[anchor] > 0:
        scale = state.b[anchor]
        state.b = [b / scale for b in state.b]
        state.a = [a * scale for a in state.a]
    for _ in range(2):
        state.centre()
    return Solution(state.x, state.a, state.b, ties, state.updates, state.transfers)


class _State:
    """Tie-and-transfer on a list of cells (see the module docstring)."""

    def __init__(self, method: str, cells: list[Cell], r: list[int], c: list[int], names_r: list[str],
                 names_c: list[str]):
        self.method, self.cells, self.r, self.c = method, cells, r, c
        self.names_r, self.names_c = names_r, names_c
        self.n_rows, self.n_cols = len(r), len(c)
        self.in_row: list[list[int]] = [[] for _ in r]
        self.in_column: list[list[int]] = [[] for _ in c]
        for k, cell in enumerate(cells):
            self.in_row[cell.row].append(k)
            self.in_column[cell.column].append(k)
        col_weight = [sum(cells[k].value for k in self.in_column[j]) for j in range(self.n_cols)]
        # Start near the answer: b_j = c_j / (column weight), so the first row apportionments are close.
        self.b = [Fraction(max(c[j], 1)) / col_weight[j] if col_weight[j] else Fraction(1)
                  for j in range(self.n_cols)]
        self.a = [Fraction(1)] * self.n_rows
        self.x = [0] * len(cells)
        self.quotients = [Fraction(0)] * len(cells)
        # A float copy of each quotient: most comparisons are settled by it, and the exact fraction decides
        # only when the two sides are within 1e-9 of each other.
        self.approx = [0.0] * len(cells)
        self.positive = [cell.value > 0 for cell in cells]
        self._float_posts: dict[int, float] = {}
        self.updates = 0
        self.transfers = 0

    def q(self, k: int) -> Fraction:
        """The cell's quotient v a b, kept up to date in ``self.quotients`` while tie-and-transfer runs."""
        return self.quotients[k]

    def _refresh(self, members: Sequence[int]) -> None:
        for k in members:
            cell = self.cells[k]
            self.quotients[k] = cell.value * self.a[cell.row] * self.b[cell.column]
            self.approx[k] = float(self.quotients[k])

    def _post(self, n: int) -> float:
        """float(s(n)), remembered."""
        value = self._float_posts.get(n)
        if value is None:
            value = self._float_posts[n] = float(signpost(self.method, n))
        return value

    def _on(self, k: int, n: int) -> bool:
        """True when cell k's quotient is exactly the signpost s(n)."""
        if abs(self.approx[k] - self._post(n)) > 1e-9 * max(self.approx[k], 1e-300):
            return False
        return self.quotients[k] == signpost(self.method, n)

    def can_gain(self, k: int) -> bool:
        cell, x = self.cells[k], self.x[k]
        return self.positive[k] and (cell.upper is None or x < cell.upper) and self._on(k, x)

    def can_lose(self, k: int) -> bool:
        cell, x = self.cells[k], self.x[k]
        return self.positive[k] and x > cell.lower and x > 0 and self._on(k, x - 1)

    def solve(self) -> None:
        for i in range(self.n_rows):
            self._apportion_row(i)
        while True:
            error = [sum(self.x[k] for k in self.in_column[j]) - self.c[j] for j in range(self.n_cols)]
            if not any(error):
                return
            self._round(error)

    def _apportion_row(self, i: int) -> None:
        """Row i by the bounded divisor method at the current b, and a row multiplier that reproduces it."""
        members = self.in_row[i]
        for k in members:
            cell = self.cells[k]
            self.x[k] = cell.lower if cell.value > 0 else 0
        free = self.r[i] - sum(self.x[k] for k in members)

        def room(k: int) -> bool:
            cell = self.cells[k]
            return cell.value > 0 and (cell.upper is None or self.x[k] < cell.upper)

        def entry(k: int) -> tuple[int, Fraction, int]:
            value = self.cells[k].value * self.b[self.cells[k].column]
            post = signpost(self.method, self.x[k])
            return (-1, -value, k) if post == 0 else (0, -(value / post), k)

        heap = [entry(k) for k in members if room(k)]
        heapq.heapify(heap)
        last: tuple[int, Fraction] | None = None
        for _ in range(max(free, 0)):
            if not heap:
                break
            infinite, value, k = heapq.heappop(heap)
            last = (-infinite, -value)
            self.x[k] += 1
            if room(k):
                heapq.heappush(heap, entry(k))
        following = (-heap[0][0], -heap[0][1]) if heap else None
        if free < 0 or sum(self.x[k] for k in members) != self.r[i] or (following is not None and following[0]):
            raise InfeasibleError(f"row '{self.names_r[i]}' cannot take its total of {self.r[i]}: its floors "
                                  "(winner-take-one, or the one seat every cell with weight needs under "
                                  f"{self.method}) or its caps do not fit", conflicts=[f"row {self.names_r[i]}"])
        # a * value must lie between the signposts around each cell: a >= 1 / (last claim served),
        # a <= 1 / (largest claim left). The lower end keeps a simple fraction.
        if last is not None and last[0] == 0:
            self.a[i] = 1 / last[1]
        elif following is not None:
            self.a[i] = 1 / following[1]
        else:
            self.a[i] = Fraction(1)
        self._refresh(members)

    def _round(self, error: list[int]) -> None:
        """Label from the over-served columns; transfer along a path, or scale until a new cell ties."""
        while True:
            col_parent: dict[int, int | None] = {j: None for j in range(self.n_cols) if error[j] > 0}
            row_parent: dict[int, int] = {}  # row -> the cell through which it was labeled (it can lose)
            queue = list(col_parent)
            target = None
            while queue and target is None:
                j = queue.pop(0)
                for k in self.in_column[j]:
                    i = self.cells[k].row
                    if i in row_parent or not self.can_lose(k):
                        continue
                    row_parent[i] = k
                    for g in self.in_row[i]:
                        column = self.cells[g].column
                        if column in col_parent or not self.can_gain(g):
                            continue
                        col_parent[column] = g
                        if error[column] < 0:
                            target = column
                            break
                        queue.append(column)
                    if target is not None:
                        break
            if target is not None:
                column: int | None = target
                while column is not None and col_parent[column] is not None:
                    gain = col_parent[column]
                    assert gain is not None
                    lose = row_parent[self.cells[gain].row]
                    self.x[gain] += 1
                    self.x[lose] -= 1
                    column = self.cells[lose].column
                self.transfers += 1
                return
            self._scale(set(col_parent), set(row_parent), error)

    def _scale(self, cols: set[int], rows: set[int], error: list[int]) -> None:
        # Only the cells between a labeled and an unlabeled line move: those of the labeled columns in
        # unlabeled rows (their quotients fall) and those of the labeled rows in unlabeled columns (rise).
        falling = [k for j in cols for k in self.in_column[j] if self.cells[k].row not in rows]
        rising = [k for i in rows for k in self.in_row[i] if self.cells[k].column not in cols]
        # The first cell to reach a signpost has the largest bound lam (S(x-1)/q falling, q/S(x) rising).
        # Floats find the candidates; exact fractions compare the few within 1e-9 of the float maximum.
        candidates: list[tuple[float, int, bool]] = []
        for k in falling:
            cell, x = self.cells[k], self.x[k]
            if self.positive[k] and x > cell.lower and x > 0:
                candidates.append((self._post(x - 1) / self.approx[k], k, True))
        for k in rising:
            cell, x = self.cells[k], self.x[k]
            if self.positive[k] and (cell.upper is None or x < cell.upper) and self._post(x) > 0:
                candidates.append((self.approx[k] / self._post(x), k, False))
        lam: Fraction | None = None
        top = max((bound for bound, _, _ in candidates), default=0.0)
        for bound, k, is_falling in candidates:
            if bound < top * (1 - 1e-9) or bound <= 0:
                continue
            x = self.x[k]
            exact = signpost(self.method, x - 1) / self.q(k) if is_falling else self.q(k) / signpost(self.method, x)
            if exact > 0 and (lam is None or exact > lam):
                lam = exact
        if lam is None:
            short = [j for j in range(self.n_cols) if error[j] < 0]
            raise InfeasibleError(
                f"the column totals cannot be met: column(s) {', '.join(self.names_c[j] for j in short)} cannot "
                f"reach their total(s) ({', '.join(str(self.c[j]) for j in short)}) at any divisors, because the "
                f"seats over in column(s) {', '.join(self.names_c[j] for j in sorted(cols))} sit in row(s) "
                f"{', '.join(self.names_r[i] for i in sorted(rows)) or '(none)'}, which cannot pass them on "
                "(no weight there, or a floor or cap)",
                conflicts=[f"column {self.names_c[j]}" for j in short + sorted(cols)])
        assert lam < 1, "the labeled cells outside the block are strictly inside their signposts"
        for j in cols:
            self.b[j] *= lam
        for i in rows:
            self.a[i] /= lam
        for k in falling:
            self.quotients[k] *= lam
            self.approx[k] = float(self.quotients[k])
        for k in rising:
            self.quotients[k] /= lam
            self.approx[k] = float(self.quotients[k])
        self.updates += 1

    def centre(self) -> None:
        """Move each row divisor, then each column multiplier, to the simplest number strictly inside its range.

        Tie-and-transfer leaves some quotients exactly on a signpost; any multiplier
        inside the range gives the same seats, and one away from the signposts lets a
        reader check each cell's rounding by hand without meeting a spurious tie.
        A range that is a single point (a real tie) is left as it is.
        """
        for i in range(self.n_rows):
            low, high = self._range(self.in_row[i], lambda cell: cell.value * self.b[cell.column])
            if low is not None and high is not None and low < high:
                # The simplest divisor 1/a in (1/high, 1/low): whole numbers when the range allows.
                self.a[i] = 1 / _simplest_between(1 / high, 1 / low) if low > 0 else 1 / _simplest_between(
                    1 / high, 1 / high + 1)
        for j in range(self.n_cols):
            low, high = self._range(self.in_column[j], lambda cell: cell.value * self.a[cell.row])
            if low is not None and high is not None and low < high:
                self.b[j] = _simplest_between(low, high)
        self._refresh(range(len(self.cells)))
        for k, cell in enumerate(self.cells):
            if cell.value:
                q, x = self.q(k), self.x[k]
                assert (x == cell.upper or q <= signpost(self.method, x)) and (
                    x == cell.lower or signpost(self.method, x - 1) <= q), "centring kept every cell"

    def _range(self, members: list[int], scaled: Any) -> tuple[Fraction | None, Fraction | None]:
        """The multipliers m with S(x - 1) <= m v above a cell's floor, and m v <= S(x) below its cap."""
        low: Fraction | None = None
        high: Fraction | None = None
        for k in members:
            cell, x = self.cells[k], self.x[k]
            v = scaled(cell)
            if not v:
                continue
            if x > cell.lower and x > 0:
                bound = signpost(self.method, x - 1) / v
                low = bound if low is None or bound > low else low
            top = signpost(self.method, x)
            if top > 0 and (cell.upper is None or x < cell.upper):
                bound = top / v
                high = bound if high is None or bound < high else high
        return low, high

    def ties(self) -> list[list[dict[str, Any]]]:
        """Cells on a cycle of could-gain (row -> column) and could-lose (column -> row) edges: real ties."""
        nodes = [("r", i) for i in range(self.n_rows)] + [("c", j) for j in range(self.n_cols)]
        edges: dict[tuple[str, int], list[tuple[str, int]]] = {node: [] for node in nodes}
        gain = [self.can_gain(k) for k in range(len(self.cells))]
        lose = [self.can_lose(k) for k in range(len(self.cells))]
        for k, cell in enumerate(self.cells):
            if gain[k]:
                edges[("r", cell.row)].append(("c", cell.column))
            if lose[k]:
                edges[("c", cell.column)].append(("r", cell.row))
        component = _components(nodes, edges)
        groups: dict[int, list[dict[str, Any]]] = {}
        for k, cell in enumerate(self.cells):
            if (gain[k] or lose[k]) and component[("r", cell.row)] == component[("c", cell.column)]:
                groups.setdefault(component[("r", cell.row)], []).append(
                    {"row": self.names_r[cell.row], "column": self.names_c[cell.column], "cell": k,
                     "seats": self.x[k], "could": "gain" if gain[k] else "lose"})
        return [cells for _, cells in sorted(groups.items()) if len(cells) > 1]


def _simplest_between(low: Fraction, high: Fraction) -> Fraction:
    """The fraction with the smallest denominator strictly between 0 <= low < high (continued fractions)."""
    whole = low.numerator // low.denominator
    if whole + 1 < high:
        return Fraction(whole + 1)
    if low == whole:
        # (whole, high) with high <= whole + 1: whole + 1/n for the smallest n with 1/n < high - whole.
        return whole + 1 / Fraction(math.floor(1 / (high - whole)) + 1)
    return whole + 1 / _simplest_between(1 / (high - whole), 1 / (low - whole))


def _components(nodes: list[tuple[str, int]], edges: dict[tuple[str, int], list[tuple[str, int]]]
                ) -> dict[tuple[str, int], int]:
    """Strongly connected components (Tarjan, iterative), numbered in order of discovery."""
    index: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    on_stack: set[tuple[str, int]] = set()
    stack: list[tuple[str, int]] = []
    out: dict[tuple[str, int], int] = {}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for k in range(position, len(edges[node])):
                nxt = edges[node][k]
                if nxt not in index:
                    work.append((node, k + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                number = len(set(out.values()))
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    out[member] = number
                    if member == node:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def upper_apportionment(names: Sequence[str], weights: Sequence[Fraction], total: int, method: str
                        ) -> Apportionment:
    """Totals for rows or columns apportioned from their weight sums by the same method (the upper apportionment).

    Ties are those of :func:`apportion` (area id, ascending), reported on the result.
    """
    return apportion(list(names), list(weights), total, method)


def column_thresholds(columns: Sequence[str], weights: Sequence[Sequence[Fraction]], threshold: Fraction | None,
                      row_threshold: Fraction | None) -> dict[str, str]:
    """Columns that reach neither threshold, with the reason.

    A column stays when its weight is at least ``threshold`` of the whole matrix's
    weight, or at least ``row_threshold`` of some row's weight (Zürich's 5% in one
    district); with both, passing either is enough. None: that threshold is not used.
    """
    for name, value in (("--threshold", threshold), ("--row-threshold", row_threshold)):
        if value is not None and not 0 <= value < 1:
            raise InputError(f"{name} {value} is not a share in [0, 1)", fix=f"write e.g. {name} 0.05")
    if threshold is None and row_threshold is None:
        return {}
    total = sum((w for row in weights for w in row), Fraction(0))
    row_sums = [sum(row, Fraction(0)) for row in weights]
    out: dict[str, str] = {}
    for j, column in enumerate(columns):
        column_sum = sum((row[j] for row in weights), Fraction(0))
        passes = threshold is not None and total > 0 and column_sum >= threshold * total
        passes = passes or row_threshold is not None and any(
            row_sums[i] > 0 and weights[i][j] >= row_threshold * row_sums[i] for i in range(len(weights)))
        if not passes:
            reasons = []
            if threshold is not None:
                reasons.append(f"{float(100 * column_sum / total) if total else 0:.3g}% of the total weight, below "
                               f"{float(100 * threshold):g}%")
            if row_threshold is not None:
                best = max((weights[i][j] / row_sums[i] for i in range(len(weights)) if row_sums[i] > 0),
                           default=Fraction(0))
                reasons.append(f"at most {float(100 * best):.3g}% of any row's weight, below "
                               f"{float(100 * row_threshold):g}%")
            out[column] = "; ".join(reasons)
    return out


def matrix_totals(rows: Sequence[str], columns: Sequence[str], weights: Sequence[Sequence[Fraction]],
                  row_totals: list[int] | None, column_totals: list[int] | None, total: int | None, method: str,
                  excluded: dict[str, str], per_seat: bool) -> tuple[list[int], list[int], dict[str, Any]]:
    """The row and column totals: as given, or apportioned from the weights' sums (the upper apportionment).

    Rows come first (from ``total``, when not given); columns are then apportioned
    among the columns that pass the thresholds, from their weight sums, or with
    ``per_seat`` from the sums of weight / row total (voters). Returns the totals
    and a description of what was apportioned, with any tie that decided a seat.

    Raises
    ------
    InputError
        When totals are missing and there is no ``total``, when ``per_seat`` has
        nothing to act on, or when an excluded column has a total.
    """
    upper: dict[str, Any] = {}
    if (row_totals is None or column_totals is None) and total is None:
        raise InputError("the row or column totals are missing",
                         fix="give --row-totals and --column-totals files, or --total N to apportion the missing "
                             "ones from the weights")
    if per_seat and (row_totals is None or column_totals is not None):
        raise InputError("--per-seat divides by the row totals, which are not given" if row_totals is None else
                         "--per-seat changes only the upper apportionment of the columns, and their totals are given",
                         fix="give --row-totals and apportion the columns with --total, or drop --per-seat")
    if row_totals is None:
        apportioned = upper_apportionment(rows, [sum(row, Fraction(0)) for row in weights], total or 0, method)
        row_totals = apportioned.posts
        upper["rows"] = "apportioned from the row weight sums"
        upper["row_ties"] = [tie.describe() for tie in apportioned.ties if tie.decides_total]
    if column_totals is not None:
        for name, value in zip(columns, column_totals):
            if name in excluded and value:
                raise InputError(f"column '{name}' has a total of {value} but the threshold excludes it "
                                 f"({excluded[name]})", fix="set its total to 0, or lower the threshold")
        return row_totals, column_totals, upper
    sums = per_seat_sums(weights, row_totals) if per_seat else \
        [sum((row[j] for row in weights), Fraction(0)) for j in range(len(columns))]
    kept = [j for j, name in enumerate(columns) if name not in excluded]
    apportioned = upper_apportionment([columns[j] for j in kept], [sums[j] for j in kept],
                                      total if total is not None else sum(row_totals), method)
    column_totals = [0] * len(columns)
    for j, value in zip(kept, apportioned.posts):
        column_totals[j] = value
    upper["columns"] = ("apportioned from the column sums of weight / row total (--per-seat)" if per_seat else
                        "apportioned from the column weight sums") + " of the columns that pass the threshold"
    upper["column_ties"] = [tie.describe() for tie in apportioned.ties if tie.decides_total]
    return row_totals, column_totals, upper


def per_seat_sums(weights: Sequence[Sequence[Fraction]], row_totals: Sequence[int]) -> list[Fraction]:
    """Column sums of weight / row total: with list votes (a voter casts one vote per seat of the district)
    these are the voters (Wählerzahlen, unrounded) behind each column, which Zürich and Zug apportion upstairs.

    A row of total 0 takes no seat, so its weights count for nothing.
    """
    n_cols = len(weights[0]) if weights else 0
    return [sum((row[j] / size for row, size in zip(weights, row_totals) if size), Fraction(0))
            for j in range(n_cols)]
