"""What per-row convex-hull cuts do to the multi-year LP bound (issue 14); a measurement, not shipped.

Usage::

    python -m benchmarks.horizon_cuts --seed 0 --cutoff 7654.449 [--rounds 4] [--max-grid 60000] [--mip 60 --engine highs]

For one generated instance (SYNTHETIC, :func:`benchmarks.horizon.horizon_instance`) it prints the LP
relaxation of the shipped formulation, then the LP after each round of cuts:

1. **Pool bounds** (optimality-based): the least and greatest value of each pool[s, p] (the
   graduates settling away from where they trained) over the LP with ``objective <= cutoff``. Any
   plan better than the cutoff keeps them, so they are valid for proving that none is.
2. **Per-row hull cuts**: for each shortfall row u >= B - sum_p a_p n_p - sum_p pi A_p pool_p of a
   cell and year, the pools are folded into one continuous z in [0, R] (their range), and the
   exact convex hull of {(n, z, u): n integer in the cell's box, u >= max(0, beta - a.n + z)} is
   separated at the LP point by column generation over every integer point of the box (exact for
   rows whose box has at most ``--max-grid`` points; larger rows are skipped). With a single start
   year this is the secant through the integers around the kink.
3. ``--fix-pool W``: the same with each pool fixed to a window of width W around its LP value. NOT a
   valid bound for the whole problem (only for plans whose pools lie in the window); it shows how
   much of the gap the pools' freedom accounts for.

With ``--mip S`` the cut model is then solved as a MIP for S seconds by ``--engine``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.horizon import horizon_instance, write_instance



def pool_ends(model: Any, variables: list[Any], pools: list[int]) -> list[tuple[float, float]]:
    """The least and the greatest value of each pool variable over ``model``'s LP (HiGHS), widened by 1e-7."""
    from ortools.math_opt.python import mathopt

    box = []
    for i in pools:
        ends = []
        for sense in (1.0, -1.0):
            model.minimize(sense * variables[i])
            ends.append(sense * mathopt.solve(model, mathopt.SolverType.HIGHS).objective_value())
        box.append((ends[0] - 1e-7, ends[1] + 1e-7))
    return box

def _model(problem: Any, terms: Any, integer: bool = False) -> tuple[Any, list[Any], Any]:
    from allocator.solvers.horizon import mathopt_model

    return mathopt_model(problem, terms, "horizon-cuts", integer)


def _shortfall_rows(problem: Any, terms: Any) -> tuple[list[int], list[tuple[int, int, int, float]]]:
    """The pool variables (one specialty) and (cell, year, u variable, right-hand side) of every shortfall row.

    The rows are recognised in :func:`allocator.solvers.horizon._terms`'s order: they are its only
    rows whose first variable is a costed continuous variable with a non-zero right-hand side.
    """
    pools = [index[-1] for index, coef, lo, hi in terms.rows
             if coef[-1] == -1.0 and lo == 0.0 and hi == 0.0 and not terms.integer[index[-1]]
             and terms.upper[index[-1]] == math.inf and terms.cost[index[-1]] == 0]
    rows = [(index[0], lo) for index, coef, lo, hi in terms.rows
            if hi == math.inf and coef[0] == 1.0 and not terms.integer[index[0]] and index[0] not in pools
            and terms.cost[index[0]] > 0 and lo != 0]
    low = np.stack([year.lo for year in problem.years]).astype(float)
    supply_low = problem.supply(low)
    cells = [(c, k) for k in range(problem.outlook_years) for c in range(len(problem.cells))
             if problem.reach[c, k, :].any() and problem.coverage_weight and
             problem.demand[c, k] - supply_low[c, k] > 0]
    assert len(cells) == len(rows), "the shortfall rows were not recognised"
    return pools, [(c, k, u, rhs) for (c, k), (u, rhs) in zip(cells, rows)]


def _separate(problem: Any, n: np.ndarray, pools: list[int], box: list[tuple[float, float]],
              rows: list[tuple[int, int, int, float]], x: dict[int, float], max_grid: int) -> list[Any]:
    """Hull cuts violated at the LP point ``x`` (see the module docstring, step 2)."""
    from scipy.optimize import linprog

    cuts = []
    for c, k, u, rhs in rows:
        years = np.flatnonzero(problem.reach[c, k])
        weight = problem.reach[c, k, years]
        a = problem.own[c] * weight
        pia = problem.pi[c] * weight if pools else np.zeros(len(years))
        plo = np.array([box[p][0] for p in years]) if pools else np.zeros(len(years))
        phi = np.array([box[p][1] for p in years]) if pools else np.zeros(len(years))
        reach_z, beta = float(pia @ (phi - plo)), rhs - float(pia @ phi)
        point = np.array([x[int(n[p, c])] for p in years])
        z_point = float(pia @ (phi - np.array([x[pools[p]] for p in years]))) if pools else 0.0
        fractional = np.abs(point - np.rint(point)) > 1e-6
        if not fractional.any():
            continue
        lo = np.array([problem.years[p].lo[c] for p in years])
        hi = np.array([problem.years[p].hi[c] for p in years])
        if np.prod(hi - lo + 1) > max_grid:
            continue
        grid = np.stack(np.meshgrid(*[np.arange(a_, b_ + 1) for a_, b_ in zip(lo, hi)], indexing="ij"), -1)
        grid = grid.reshape(-1, len(years))
        level = beta - grid @ a
        kink = -level
        inside = (kink > 0) & (kink < reach_z)
        all_n = np.concatenate([grid, grid, grid[inside]])
        all_z = np.concatenate([np.zeros(len(grid)), np.full(len(grid), reach_z), kink[inside]])
        all_g = np.maximum(0.0, np.concatenate([level, level, level[inside]]) + all_z)
        base = np.where(fractional, np.floor(point), np.rint(point))
        chosen_n, chosen_z, chosen_g = [], [], []
        for bits in itertools.product([0, 1], repeat=int(fractional.sum())):
            corner = base.copy()
            corner[fractional] += bits
            turn = float(a @ corner - beta)
            for z in sorted({0.0, reach_z} | ({turn} if 0 < turn < reach_z else set())):
                chosen_n.append(corner)
                chosen_z.append(z)
                chosen_g.append(max(0.0, beta - float(a @ corner) + z))
        valid = False
        for _ in range(40):  # column generation: the LP's plane, then the box's points below it
            equalities = np.vstack([np.array(chosen_n).T, np.array(chosen_z)[None, :], np.ones((1, len(chosen_z)))])
            result = linprog(chosen_g, A_eq=equalities, b_eq=np.r_[point, z_point, 1.0], bounds=(0, None),
                             method="highs")
            if result.status != 0 or result.fun <= x[u] + 1e-6:
                break
            dual = result.eqlin.marginals
            gamma, gamma_z, alpha = dual[:len(years)], dual[len(years)], dual[len(years) + 1]
            reduced = all_g - (all_n @ gamma + gamma_z * all_z + alpha)
            if reduced.min() >= -1e-9:
                valid = True
                break
            for j in np.argsort(reduced)[:20]:
                if reduced[j] < -1e-9:
                    chosen_n.append(all_n[j])
                    chosen_z.append(all_z[j])
                    chosen_g.append(all_g[j])
        if valid:
            alpha += min(0.0, float(reduced.min()))  # what tolerance left below the plane
            cuts.append((c, years, u, gamma, gamma_z, alpha, pia, phi))
    return cuts


def _add(model: Any, variables: list[Any], n: np.ndarray, pools: list[int], cut: Any) -> None:
    from ortools.math_opt.python import mathopt

    c, years, u, gamma, gamma_z, alpha, pia, phi = cut
    expr = variables[u] - mathopt.LinearSum([float(g) * variables[int(n[p, c])] for g, p in zip(gamma, years)])
    rhs = alpha
    if pools:
        expr = expr + mathopt.LinearSum([float(gamma_z * w) * variables[pools[p]] for w, p in zip(pia, years)])
        rhs = alpha + float(gamma_z * (pia @ phi))
    model.add_linear_constraint(expr >= rhs)


def main(argv: list[str] | None = None) -> None:
    """Print the LP bound after each stage for one generated instance."""
    from ortools.math_opt.python import mathopt

    from allocator.core.horizon import build_horizon
    from allocator.io.horizon import load_horizon_instance
    from allocator.io.schemas import DEFAULT_MODEL
    from allocator.results.horizon import myopic
    from allocator.solvers.horizon import _terms

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cutoff", type=float, required=True, help="the objective of a known plan")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--outer", type=int, default=1, help="pool bounds, then --rounds of cuts, this many times")
    parser.add_argument("--max-grid", type=int, default=60000)
    parser.add_argument("--fix-pool", type=float, default=None)
    parser.add_argument("--mip", type=float, default=None)
    parser.add_argument("--engine", default="highs", choices=["highs", "scip"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(args.seed))
        horizon = load_horizon_instance(path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    terms, n = _terms(problem)
    pools, rows = _shortfall_rows(problem, terms)
    model, variables, objective = _model(problem, terms)
    started = time.perf_counter()

    def lp() -> tuple[float, dict[int, float]]:
        result = mathopt.solve(model, mathopt.SolverType.HIGHS)
        values = result.variable_values()
        return result.objective_value(), {i: values[v] for i, v in enumerate(variables)}

    value, x = lp()
    print(f"LP relaxation {value:.6f}")
    for outer in range(args.outer):
        if args.fix_pool is not None:
            box = [(x[i] - args.fix_pool / 2, x[i] + args.fix_pool / 2) for i in pools]
        else:
            cutoff = model.add_linear_constraint(objective <= args.cutoff)
            box = pool_ends(model, variables, pools)
            model.delete_linear_constraint(cutoff)
            model.minimize(objective)
        for i, (low, high) in zip(pools, box):
            variables[i].lower_bound, variables[i].upper_bound = low, high
        print(f"pool box {outer}: widths {[round(b - a, 2) for a, b in box]}")
        for round_ in range(args.rounds):
            value, x = lp()
            cuts = _separate(problem, n, pools, box, rows, x, args.max_grid)
            fractional = (np.abs(np.array([[x[int(i)] for i in row] for row in n]) -
                                 np.rint(np.array([[x[int(i)] for i in row] for row in n]))) > 1e-6).sum(axis=1)
            print(f"  round {round_}: LP {value:.6f}, fractional plan values by year {fractional.tolist()}, "
                  f"{len(cuts)} cuts ({time.perf_counter() - started:.1f} s)")
            if not cuts:
                break
            for cut in cuts:
                _add(model, variables, n, pools, cut)
    value, x = lp()
    print(f"final LP {value:.6f} ({time.perf_counter() - started:.1f} s)")
    if args.mip is not None:
        for variable, flag in zip(variables, terms.integer):
            if flag:
                variable.integer = True
        base, _ = myopic(horizon, DEFAULT_MODEL)
        hint = {variables[int(n[p, c])]: float(base[p, c]) for p in range(n.shape[0]) for c in range(n.shape[1])}
        params = mathopt.SolveParameters(relative_gap_tolerance=1e-9, absolute_gap_tolerance=1e-6, random_seed=0,
                                         time_limit=datetime.timedelta(seconds=args.mip))
        began = time.perf_counter()
        result = mathopt.solve(model, mathopt.SolverType.HIGHS if args.engine == "highs" else mathopt.SolverType.GSCIP,
                               params=params, model_params=mathopt.ModelSolveParameters(
                                   solution_hints=[mathopt.SolutionHint(variable_values=hint)]))
        print(json.dumps({"engine": args.engine, "reason": str(result.termination.reason),
                          "objective": result.objective_value(),
                          "bound": result.termination.objective_bounds.dual_bound,
                          "seconds": time.perf_counter() - began}))


if __name__ == "__main__":
    main()
