"""The per-leaf (Dantzig-Wolfe) bound of the multi-year MILP (issue 14); a measurement, not shipped.

Usage::

    python -m benchmarks.horizon_dw --seed 0 --cutoff 7654.449 [--max-grid 1000000] [--fix-plan plan.npy [--window W]]

For one generated instance (SYNTHETIC, :func:`benchmarks.horizon.horizon_instance`, one specialty) it
prints the LP relaxation of the shipped formulation, then the LP bound of an extended formulation in
which each leaf chooses one whole trajectory n[l, 0..P-1] (a convex combination of them in the LP:
the per-leaf convex hull, a Dantzig-Wolfe master), solved by column generation with exact pricing
over every integer trajectory of the leaf's box. The column's cost is the leaf's yearly costs plus
its shortfall cost with the pools held at a value:

- ``pool box``: each pool may lie anywhere in [min, max] of itself over the shipped LP with
  ``objective <= cutoff`` (valid for every plan better than the cutoff); a column's shortfall is
  costed at the box's upper end (more pool, less shortfall), so the master stays a valid lower bound
  on every such plan.
- ``--fix-plan``: the pools fixed at those of a given plan (n[p, c] saved with numpy). NOT a valid
  bound for the whole problem, only for plans with exactly those pools; it shows how much of the gap
  the per-leaf integrality explains. ``--window W`` widens the fixed value to a box of width W around
  it (still not a valid bound), to see how fast the bound falls as the pools' range grows.

Leaves whose box has more than ``--max-grid`` trajectories keep the shipped (compact, continuous) rows,
which keeps the master a valid relaxation while weakening it for those leaves.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.horizon import horizon_instance, write_instance
from benchmarks.horizon_cuts import pool_ends


def _grid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Every integer trajectory of the box [lo, hi] (years as columns), in lexicographic order."""
    axes = [np.arange(a, b + 1) for a, b in zip(lo.tolist(), hi.tolist())]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))


def _yearly_costs(problem: Any, c: int, grid: np.ndarray) -> np.ndarray:
    """The yearly one-year costs (stability included) of each trajectory of cell c."""
    cost = np.zeros(len(grid))
    for p, year in enumerate(problem.years):
        values = np.arange(int(year.lo[c]), int(year.hi[c]) + 1)
        table = year.cell_cost(values.astype(float), np.full(len(values), c))
        cost += table[grid[:, p] - int(year.lo[c])]
        if p and problem.stability_weight:
            cost += problem.stability_weight * problem.unit * np.abs(grid[:, p] - grid[:, p - 1])
    return cost


class Master:
    """The per-leaf master LP with pools free in a box (see the module docstring)."""

    def __init__(self, problem: Any, pool_lo: np.ndarray, pool_hi: np.ndarray, max_grid: int,
                 fixed: bool = False) -> None:
        from ortools.math_opt.python import mathopt

        from allocator.solvers.horizon import _model_constant, _terms

        self.mathopt = mathopt
        self.problem = problem
        big_p, n_cells = problem.plan_years, len(problem.cells)
        lo = np.stack([y.lo for y in problem.years]).astype(np.int64)
        hi = np.stack([y.hi for y in problem.years]).astype(np.int64)
        sizes = np.prod(hi - lo + 1, axis=0)
        self.enumerated = [c for c in range(n_cells) if sizes[c] <= max_grid]
        keep_cells = set(range(n_cells)) - set(self.enumerated)
        model = self.model = mathopt.Model(name="dw")
        terms, n_index = _terms(problem)
        n_vars = {int(n_index[p, c]): (p, c) for p in range(big_p) for c in range(n_cells)}
        variables: dict[int, Any] = {}
        self.pool = [model.add_variable(lb=float(pool_lo[p]), ub=float(pool_hi[p])) for p in range(big_p)]
        self.group_rows = []
        for p, year in enumerate(problem.years):
            for group in year.groups:
                self.group_rows.append((p, set(group.cells.tolist()), model.add_linear_constraint(
                    lb=float(group.lo), ub=math.inf if group.hi is None else float(group.hi))))
        self.pool_rows = [model.add_linear_constraint(lb=0.0, ub=0.0) for _ in range(big_p)]
        for p in range(big_p):
            self.pool_rows[p].set_coefficient(self.pool[p], -1.0)
        constant = terms.offset + _model_constant(problem)
        for year in problem.years:  # the enumerated leaves' yearly costs are whole in their columns
            cells = np.array(self.enumerated, dtype=np.int64)
            constant -= float(year.cell_cost(year.lo[cells].astype(float), cells).sum())
        for index, coef, rlo, rhi in terms.rows:  # _terms's pool variables become ours
            if (coef[-1] == -1.0 and rlo == 0.0 and rhi == 0.0 and len(index) > 2
                    and all(i in n_vars for i in index[:-1])):
                variables[index[-1]] = self.pool[n_vars[index[0]][0]]

        def var(i: int) -> Any:
            if i not in variables:
                variables[i] = model.add_variable(lb=terms.lower[i], ub=terms.upper[i])
            return variables[i]

        for index, coef, rlo, rhi in terms.rows:  # the kept leaves' own rows (segments, stability, shortfall)
            cells_in = {n_vars[i][1] for i in index if i in n_vars}
            if len(cells_in) == 1 and cells_in <= keep_cells:
                model.add_linear_constraint(lb=rlo, ub=rhi,
                                            expr=mathopt.LinearSum([k * var(i) for i, k in zip(index, coef)]))
        pools = set(id(v) for v in self.pool)
        self.cost_terms = [terms.cost[i] * v for i, v in variables.items() if id(v) not in pools and terms.cost[i]]
        for i, (p, c) in n_vars.items():
            if c in keep_cells:
                v = var(i)
                for q, members, row in self.group_rows:
                    if q == p and c in members:
                        row.set_coefficient(v, 1.0)
                self.pool_rows[p].set_coefficient(v, float(problem.out[c]))
        self.constant = constant
        # the enumerated leaves
        self.convexity = {c: model.add_linear_constraint(lb=1.0, ub=1.0) for c in self.enumerated}
        self.grids = {c: _grid(lo[:, c], hi[:, c]) for c in self.enumerated}
        self.yearly = {c: _yearly_costs(problem, c, self.grids[c]) for c in self.enumerated}
        self.live = {c: np.flatnonzero(problem.reach[c].any(axis=1)) for c in self.enumerated}
        self.columns: dict[int, list[tuple[int, Any]]] = {c: [] for c in self.enumerated}
        # u[c, k], the exact row u + x - sum lambda b >= 0 and the range of x = pi sum_p A P
        self.u, self.rows, self.xrange = {}, {}, {}
        w = problem.coverage_weight
        for c in self.enumerated:
            for k in self.live[c].tolist():
                u = model.add_variable(lb=0.0)
                self.u[(c, k)] = u
                self.cost_terms.append(w * float(problem.penalty[c]) * u)
                a = problem.pi[c] * problem.reach[c, k]
                row = model.add_linear_constraint(lb=0.0, expr=u + mathopt.LinearSum(
                    [float(a[p]) * self.pool[p] for p in range(big_p) if a[p]]))
                self.xrange[(c, k)] = (float(a @ pool_lo), float(a @ pool_hi))
                # rows of (c, k): (row, kind, xbar); kind "exact", "hi" (cut 1) or "lo" (cut 2)
                self.rows[(c, k)] = [(row, "exact", 0.0)]
        self.fixed = fixed
        self.slack = []
        for _, _, row in self.group_rows:  # artificial slacks: the first masters are feasible
            plus, minus = model.add_variable(lb=0.0), model.add_variable(lb=0.0)
            row.set_coefficient(plus, 1.0)
            row.set_coefficient(minus, -1.0)
            self.cost_terms += [1e6 * plus, 1e6 * minus]
        for c in self.enumerated:
            for j in sorted({0, len(self.grids[c]) - 1}):
                self.add_column(c, j)

    def _shortfall_base(self, c: int, grid: np.ndarray) -> np.ndarray:
        """b[t, k] = demand - const - own * sum_p A n (the shortfall before the pools), live years only."""
        pr = self.problem
        live = self.live[c]
        return (pr.demand[c, live] - pr.const[c, live])[None, :] - pr.own[c] * grid @ pr.reach[c, live].T

    def _coefficients(self, c: int, b: np.ndarray, k_pos: int, kind: str, xbar: float) -> np.ndarray:
        """The column coefficient of a row of (c, k) for trajectories with shortfall bases b[:, k_pos]."""
        base = b[:, k_pos]
        if kind == "exact":
            return -base
        delta = (base > xbar).astype(float)
        h = np.maximum(0.0, base - xbar) + delta * xbar
        xlo, xhi = self.xrange[(c, int(self.live[c][k_pos]))]
        return -(h - (xhi if kind == "hi" else xlo) * delta)

    def add_column(self, c: int, j: int) -> None:
        model, pr = self.model, self.problem
        lam = model.add_variable(lb=0.0, ub=1.0)
        self.convexity[c].set_coefficient(lam, 1.0)
        traj = self.grids[c][j]
        for p, members, row in self.group_rows:
            if c in members and traj[p]:
                row.set_coefficient(lam, float(traj[p]))
        for p in range(pr.plan_years):
            if traj[p] and pr.out[c]:
                self.pool_rows[p].set_coefficient(lam, float(pr.out[c] * traj[p]))
        b = self._shortfall_base(c, traj[None, :])
        for k_pos, k in enumerate(self.live[c].tolist()):
            for row, kind, xbar in self.rows[(c, k)]:
                value = float(self._coefficients(c, b, k_pos, kind, xbar)[0])
                if value:
                    row.set_coefficient(lam, value)
        self.cost_terms.append(float(self.yearly[c][j]) * lam)
        self.columns[c].append((j, lam))

    def solve(self) -> Any:
        mathopt = self.mathopt
        self.model.minimize(mathopt.LinearSum(self.cost_terms) + self.constant)
        return mathopt.solve(self.model, mathopt.SolverType.HIGHS)

    def price(self, result: Any, tolerance: float = 1e-7) -> tuple[int, float]:
        """Add each leaf's most negative reduced-cost column; returns (columns added, least reduced cost)."""
        duals = result.dual_values()
        pool_duals = np.array([duals[row] for row in self.pool_rows])
        added, least = 0, 0.0
        for c in self.enumerated:
            grid = self.grids[c]
            price = self.problem.out[c] * pool_duals
            for p, members, row in self.group_rows:
                if c in members:
                    price[p] += duals[row]
            reduced = self.yearly[c] - grid @ price - duals[self.convexity[c]]
            b = self._shortfall_base(c, grid)
            for k_pos, k in enumerate(self.live[c].tolist()):
                for row, kind, xbar in self.rows[(c, k)]:
                    y = duals[row]
                    if y:
                        reduced -= y * self._coefficients(c, b, k_pos, kind, xbar)
            j = int(np.argmin(reduced))
            least = min(least, float(reduced[j]))
            if reduced[j] < -tolerance:
                self.add_column(c, j)
                added += 1
        return added, least

    def separate(self, result: Any) -> int:
        """Add the two McCormick cuts at xbar = the LP's x for every (c, k) where one is violated."""
        values = result.variable_values()
        pool = np.array([values[v] for v in self.pool])
        added = 0
        for (c, k), rows in self.rows.items():
            a = self.problem.pi[c] * self.problem.reach[c, k]
            x = float(a @ pool)
            u = values[self.u[(c, k)]]
            k_pos = int(np.flatnonzero(self.live[c] == k)[0])
            js = [j for j, _ in self.columns[c]]
            weights = np.array([values[lam] for _, lam in self.columns[c]])
            b = self._shortfall_base(c, self.grids[c][js])
            for kind in ("hi", "lo"):
                coef = self._coefficients(c, b, k_pos, kind, x)
                lhs = u + float(weights @ coef)
                rhs = 0.0
                if kind == "lo":
                    lhs += x
                    rhs = self.xrange[(c, k)][0]
                if lhs < rhs - 1e-6:
                    expr = self.u[(c, k)]
                    if kind == "lo":
                        expr = expr + self.mathopt.LinearSum(
                            [float(a[p]) * self.pool[p] for p in range(len(a)) if a[p]])
                    row = self.model.add_linear_constraint(lb=rhs, expr=expr)
                    for (j, lam), value in zip(self.columns[c], coef.tolist()):
                        if value:
                            row.set_coefficient(lam, value)
                    rows.append((row, kind, x))
                    added += 1
        return added


def dw_bound(problem: Any, pool_lo: np.ndarray, pool_hi: np.ndarray, max_grid: int,
             rounds: int = 400, cuts: bool = True) -> tuple[float, int, int]:
    """The master LP's value by column generation (and cuts); returns (bound, leaves with columns, rounds)."""
    master = Master(problem, pool_lo, pool_hi, max_grid)
    value = math.nan
    for round_ in range(rounds):
        result = master.solve()
        value = result.objective_value()
        added, least = master.price(result)
        made = 0
        if not added and cuts:
            made = master.separate(result)
        print(f"  round {round_}: master {value:.6f}, {added} columns (least reduced cost {least:.3g}), "
              f"{made} cuts", flush=True)
        if not added and not made:
            return value, len(master.enumerated), round_ + 1
    return value, len(master.enumerated), rounds


def main(argv: list[str] | None = None) -> None:
    """Print the shipped LP and the per-leaf master bound for one generated instance."""
    from ortools.math_opt.python import mathopt

    from allocator.core.horizon import build_horizon
    from allocator.io.horizon import load_horizon_instance
    from allocator.io.schemas import DEFAULT_MODEL
    from allocator.solvers.horizon import _model_constant, _terms

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cutoff", type=float, required=True, help="the objective of a known plan")
    parser.add_argument("--max-grid", type=int, default=1_000_000)
    parser.add_argument("--fix-plan", type=Path, default=None, help="fix the pools at this plan's (numpy .npy)")
    parser.add_argument("--window", type=float, default=0.0, help="with --fix-plan: a box this wide around its pools")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(args.seed))
        horizon = load_horizon_instance(path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    assert len(problem.specialties) == 1, "one specialty only"
    started = time.perf_counter()
    terms, n = _terms(problem)
    model = mathopt.Model(name="lp")
    variables = [model.add_variable(lb=lo, ub=hi) for lo, hi in zip(terms.lower, terms.upper)]
    for index, coef, lo, hi in terms.rows:
        model.add_linear_constraint(lb=lo, ub=hi,
                                    expr=mathopt.LinearSum([c * variables[i] for i, c in zip(index, coef)]))
    objective = mathopt.LinearSum([c * v for v, c in zip(variables, terms.cost) if c]) + terms.offset \
        + _model_constant(problem)
    model.minimize(objective)
    print(f"shipped LP relaxation {mathopt.solve(model, mathopt.SolverType.HIGHS).objective_value():.6f}")
    if args.fix_plan is not None:
        plan = np.load(args.fix_plan)
        pools = np.array([float(problem.out @ plan[p]) for p in range(problem.plan_years)])
        pool_lo, pool_hi = pools - args.window / 2, pools + args.window / 2
        print(f"pools fixed at the plan's {pools.round(4).tolist()} (objective {problem.objective(plan):.6f}), "
              f"window {args.window:g}; NOT a valid bound for other pools")
    else:
        pools = [index[-1] for index, coef, lo, hi in terms.rows
                 if coef[-1] == -1.0 and lo == 0.0 and hi == 0.0 and terms.upper[index[-1]] == math.inf]
        model.add_linear_constraint(objective <= args.cutoff)
        ends = pool_ends(model, variables, pools)
        pool_lo = np.array([a for a, _ in ends])
        pool_hi = np.array([b for _, b in ends])
        print(f"pool box under the cutoff: {[(round(a, 3), round(b, 3)) for a, b in ends]}")
    value, leaves, rounds = dw_bound(problem, pool_lo, pool_hi, args.max_grid)
    print(f"per-leaf master bound {value:.6f} ({leaves} of {len(problem.cells)} leaves enumerated, {rounds} rounds, "
          f"{time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
