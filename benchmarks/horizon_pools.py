"""Branching on the pools, pool bounds under a cutoff and solver settings (issue 14, round 5); a measurement.

Usage::

    python -m benchmarks.horizon_pools --seeds 0,1,2 --limit 60 --engine scip --variants base,box,branch

For generated instances (SYNTHETIC, :func:`benchmarks.horizon.horizon_instance`) it solves the shipped
MILP (:func:`allocator.solvers.horizon._terms`, warm-started from the searched myopic plan as
:func:`allocator.solvers.horizon.solve_highs` does) under variants, each for ``--limit`` seconds in
this process, and prints one JSON line per solve (status, plan, bound, wall and CPU seconds):

- ``base``: the shipped model.
- ``box``: each pool[s, p] (the graduates of start year p settling away from where they trained)
  bounded by its least and greatest value over the LP relaxation with ``objective <= incumbent``
  (the warm start's cost). Valid for a proof: a plan cheaper than the incumbent keeps them.
- ``branch``: ``box`` plus an integer z[s, p] with delta z <= pool[s, p] <= delta (z + 1)
  (``--delta``), given branching priority ``--priority`` (MathOpt's ``branching_priorities``; SCIP
  honours them, HiGHS ignores them), so that the solver splits the pools' ranges before the posts.
- ``quiet``: ``box`` with the solver's heuristics off (the warm start is already good) and cuts
  set to ``--cuts`` emphasis.
- ``emphasis``: ``box`` with SCIP's ``--emphasis`` setting (``optimality``, ``phase_proof``, ...).
- ``posts``: ``box``, then each post count n[c, p] bounded by its least and greatest value over the same LP
  (rounded inwards to integers after a 1e-6 allowance): optimality-based tightening of the posts.
- ``window``: NOT VALID for a proof: each pool held within ``--window`` of the warm start's pool.
  It shows how fast the solver settles one narrow pool box, the unit of an outer search over boxes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.horizon import horizon_instance, write_instance
from benchmarks.horizon_cuts import _model, _shortfall_rows, pool_ends


def _setup(seed: int) -> tuple[Any, np.ndarray, float]:
    """The problem of generated ``seed``, its searched myopic plan and that plan's cost."""
    from allocator.core.horizon import build_horizon
    from allocator.io.horizon import load_horizon_instance
    from allocator.io.schemas import DEFAULT_MODEL
    from allocator.results.horizon import myopic
    from allocator.solvers.horizon_search import improve_plan

    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "i.yaml", horizon_instance(seed))
        horizon = load_horizon_instance(path).value
    problem = build_horizon(horizon, DEFAULT_MODEL)
    base, _ = myopic(horizon, DEFAULT_MODEL)
    assert base is not None
    plan = improve_plan(problem, base)
    return problem, plan, problem.objective(plan)


def solve_variant(problem: Any, plan: np.ndarray, incumbent: float, variant: str, limit: float, engine: str,
                  delta: float = 1.0, priority: int = 100, cuts: str = "high", window: float = 1.0,
                  emphasis: str = "optimality", cpu_clock: bool = False) -> dict[str, Any]:
    """One solve of ``variant`` (see the module docstring); returns what it reached."""
    from ortools.math_opt.python import mathopt

    from allocator.solvers.horizon import ABSOLUTE_GAP, RELATIVE_GAP, _terms

    started, cpu = time.perf_counter(), time.process_time()
    terms, n = _terms(problem)
    pools, _ = _shortfall_rows(problem, terms)
    model, variables, objective = _model(problem, terms)
    box: list[tuple[float, float]] = []
    tightened = 0
    if variant in ("box", "branch", "quiet", "emphasis", "posts"):
        cutoff = model.add_linear_constraint(objective <= incumbent)
        box = pool_ends(model, variables, pools)
        if variant == "posts":
            for i, (low, high) in zip(pools, box):
                variables[i].lower_bound, variables[i].upper_bound = low, high
            for i in n.ravel().tolist():
                ends = pool_ends(model, variables, [int(i)])[0]
                low, high = math.ceil(ends[0] - 1e-6), math.floor(ends[1] + 1e-6)
                if low > variables[int(i)].lower_bound or high < variables[int(i)].upper_bound:
                    tightened += 1
                variables[int(i)].lower_bound = max(variables[int(i)].lower_bound, low)
                variables[int(i)].upper_bound = min(variables[int(i)].upper_bound, high)
        model.delete_linear_constraint(cutoff)
        model.minimize(objective)
    elif variant == "window":
        value = problem.out * plan  # the warm start's pools (one specialty)
        box = [(float(value[p].sum()) - window / 2, float(value[p].sum()) + window / 2) for p in range(len(pools))]
    for i, (low, high) in zip(pools, box):
        variables[i].lower_bound, variables[i].upper_bound = low, high
    obbt_seconds = time.perf_counter() - started
    for variable, flag in zip(variables, terms.integer):
        variable.integer = flag
    priorities: dict[Any, int] = {}
    if variant == "branch":
        for i, (low, high) in zip(pools, box):
            z = model.add_integer_variable(lb=math.floor(low / delta), ub=math.floor(high / delta))
            model.add_linear_constraint(variables[i] - delta * z >= 0)
            model.add_linear_constraint(variables[i] - delta * z <= delta)
            priorities[z] = priority
    hint = {variables[int(n[p, c])]: float(plan[p, c]) for p in range(n.shape[0]) for c in range(n.shape[1])}
    # With SCIP's CPU clock the limit is SCIP's own work; otherwise the tightening LPs count against it.
    left = limit if cpu_clock and engine == "scip" else max(0.0, limit - (time.perf_counter() - started))
    params = mathopt.SolveParameters(relative_gap_tolerance=RELATIVE_GAP, absolute_gap_tolerance=ABSOLUTE_GAP,
                                     random_seed=0, time_limit=datetime.timedelta(seconds=left))
    if engine == "scip":
        params.threads = 1
        if cpu_clock:  # SCIP's limit in CPU seconds: fair between variants on a shared machine
            params.gscip.int_params["timing/clocktype"] = 1
    if variant == "emphasis":
        from ortools.math_opt.solvers.gscip import gscip_pb2

        params.gscip.emphasis = gscip_pb2.GScipParameters.Emphasis.Value(emphasis.upper())
    if variant == "quiet":
        params.heuristics = mathopt.Emphasis.OFF
        params.cuts = getattr(mathopt.Emphasis, cuts.upper())
    result = mathopt.solve(model, mathopt.SolverType.HIGHS if engine == "highs" else mathopt.SolverType.GSCIP,
                           params=params, model_params=mathopt.ModelSolveParameters(
                               solution_hints=[mathopt.SolutionHint(variable_values=hint)],
                               branching_priorities=priorities))
    plan_value = result.objective_value() if result.has_primal_feasible_solution() else math.nan
    bound = result.termination.objective_bounds.dual_bound
    return {"variant": variant, "engine": engine, "reason": result.termination.reason.name,
            "plan": plan_value, "bound": bound, "start": incumbent,
            "gap": max(0.0, min(plan_value, incumbent) - bound) / max(1.0, abs(min(plan_value, incumbent))),
            "box_widths": [round(b - a, 3) for a, b in box], "obbt_s": round(obbt_seconds, 2),
            "posts_tightened": tightened,
            "wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "load": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> None:
    """Print one JSON line per seed and variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--engine", default="scip", choices=["highs", "scip"])
    parser.add_argument("--variants", default="base,box,branch")
    parser.add_argument("--delta", type=float, default=1.0)
    parser.add_argument("--priority", type=int, default=100)
    parser.add_argument("--cuts", default="high", choices=["off", "low", "medium", "high", "very_high"])
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--emphasis", default="optimality")
    parser.add_argument("--cpu-clock", action="store_true", help="SCIP's time limit in CPU seconds, not wall")
    args = parser.parse_args(argv)
    for seed in (int(s) for s in args.seeds.split(",")):
        problem, plan, incumbent = _setup(seed)
        for variant in args.variants.split(","):
            row = solve_variant(problem, plan, incumbent, variant, args.limit, args.engine, args.delta,
                                args.priority, args.cuts, args.window, args.emphasis, args.cpu_clock)
            print(json.dumps({"seed": seed, **row}), flush=True)


if __name__ == "__main__":
    main()
