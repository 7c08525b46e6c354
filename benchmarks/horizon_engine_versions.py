"""Do newer MILP engines prove the multi-year instances that OR-Tools' HiGHS/SCIP cannot? (issue 14); a measurement.

Usage (from the repository root, in the project's venv; the other engines live in a THROWAWAY venv that is never
part of the lock)::

    python3 -m venv /tmp/engvenv && /tmp/engvenv/bin/pip install highspy==1.15.1 pyscipopt==6.3.0 numpy
    /tmp/engvenv/bin/pip install xpress==9.9.1      # optional, a reference only (community licence, <= 5000 rows+cols)
    nice -n 19 .venv/bin/python -m benchmarks.horizon_engine_versions run --seeds 0-9 --limit 60 \\
        --engines ortools-scip,ortools-highs,highspy,pyscipopt --other-python /tmp/engvenv/bin/python \\
        --folder /tmp/w8e --out /tmp/w8e/results.jsonl
    .venv/bin/python -m benchmarks.horizon_engine_versions run --seeds dk --limit 60 ...  # the export's check
    .venv/bin/python -m benchmarks.horizon_engine_versions export --seeds dk,0 --folder /tmp/w8e  # MPS only
    .venv/bin/python -m benchmarks.horizon_engine_versions summary /tmp/w8e/results.jsonl  # the tables as markdown

What is measured. Per instance the exact shipped model is exported once (:func:`export`), as
:func:`allocator.solvers.horizon.solve_highs` builds it for a 60 s solve: the myopic plan improved by the local
search (``_searched``) is the warm start, ``_terms`` the rows, the pool box (``_pool_box``, its LPs given a quarter
of the limit, as shipped) bounds the pools, and the model's constant (``terms.offset + _model_constant``) is the
cost of one extra column fixed at 1, named ``OBJCONST``, so that every engine's objective is the plan's full cost
(OR-Tools' own MPS writer prints 6 significant digits and puts the constant in the objective row's RHS, whose sign
readers disagree on; this writer prints every number with ``repr``, exactly). The warm start goes to
``<name>.hint.json`` (the values of the plan's integer columns n_p_c only, the partial hint solve_highs gives).

Then every engine solves the same MPS file in a fresh process (:func:`worker`), one thread, the warm start given,
relative gap tolerance 1e-9 and absolute 1e-6 (RELATIVE_GAP, ABSOLUTE_GAP in allocator/solvers/horizon.py),
random seed 0, and the time limit on the solver's own clock (wall) from the start of its solve (the model is read
first; the shipped solve also counts the search and the pool box within its 60 s, so these solves get 1-4 s more
than shipped ones). The engines take turns per seed (seed k starts with the (k mod E)-th engine), so that each
sees about the same load. Per solve: status, objective (constant included), best bound, gap ((objective - bound) /
max(1, |objective|), 0 when proven), solve wall and CPU seconds, load average at the end, and the plan's cost
recomputed from its n_p_c by the closed form (``HorizonProblem.objective``), which must equal the objective.

Engines: ``ortools-scip`` / ``ortools-highs`` (the baseline: OR-Tools' MathOpt, as shipped, reading the MPS with
OR-Tools' own reader), ``highspy`` (standalone HiGHS), ``pyscipopt`` (standalone SCIP), ``xpress`` (FICO Xpress
community licence; a REFERENCE only, never shipped). The generated instances are SYNTHETIC
(:func:`benchmarks.horizon.horizon_instance`, seeded); ``dk`` is the bundled Danish horizon instance.

The worker part of this file imports only the standard library and the engine it runs (and numpy for highspy), so
that it runs in the throwaway venv: ``python benchmarks/horizon_engine_versions.py worker ENGINE MPS HINT LIMIT``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RELATIVE_GAP = 1e-9  # as allocator/solvers/horizon.py (the worker cannot import it from the throwaway venv)
ABSOLUTE_GAP = 1e-6
CONSTANT_COLUMN = "OBJCONST"


# --- the export (project venv) ---------------------------------------------------------------------------------

def _number(value: float) -> str:
    """A float as MPS text that reads back to the same double."""
    return repr(float(value))


def write_mps(path: Path, terms: Any, constant: float, names: list[str]) -> dict[str, int]:
    """Write ``terms`` (allocator.solvers.horizon._Terms) as free MPS, minimising cost + ``constant``; return counts.

    Every column gets explicit bounds (readers differ on an integer column without them); a row with both ends
    finite and apart is a G row with a RANGE; a row free at both ends is left out (it constrains nothing).
    Duplicate entries of a column in one row are summed, as MathOpt's LinearSum does.
    """
    columns: list[list[tuple[str, float]]] = [[] for _ in terms.lower]
    for j, c in enumerate(terms.cost):
        if c:
            columns[j].append(("COST", float(c)))
    rows, rhs, ranges = [], [], []
    written = 0
    for index, coef, lo, hi in terms.rows:
        if math.isinf(lo) and math.isinf(hi):
            continue
        name = f"r{written}"
        written += 1
        merged: dict[int, float] = {}
        for i, c in zip(index, coef):
            merged[int(i)] = merged.get(int(i), 0.0) + float(c)
        for i, c in merged.items():
            if c:
                columns[i].append((name, c))
        if lo == hi:
            rows.append(f" E  {name}")
            value = lo
        elif math.isinf(lo):
            rows.append(f" L  {name}")
            value = hi
        else:
            rows.append(f" G  {name}")
            value = lo
            if not math.isinf(hi):
                ranges.append(f"    RNG  {name}  {_number(hi - lo)}")
        if value:
            rhs.append(f"    RHS  {name}  {_number(value)}")
    lines = ["NAME horizon", "ROWS", " N  COST", *rows, "COLUMNS"]
    marked = False
    for j, entries in enumerate(columns):
        if terms.integer[j] != marked:
            lines.append(f"    MARKER  'MARKER'  '{'INTORG' if terms.integer[j] else 'INTEND'}'")
            marked = terms.integer[j]
        for row, c in entries or [("COST", 0.0)]:
            lines.append(f"    {names[j]}  {row}  {_number(c)}")
    if marked:
        lines.append("    MARKER  'MARKER'  'INTEND'")
    lines.append(f"    {CONSTANT_COLUMN}  COST  {_number(constant)}")
    lines += ["RHS", *rhs]
    if ranges:
        lines += ["RANGES", *ranges]
    lines.append("BOUNDS")
    for j, (lo, hi) in enumerate(zip(terms.lower, terms.upper)):
        name = names[j]
        if lo == hi:
            lines.append(f" FX BND  {name}  {_number(lo)}")
            continue
        if math.isinf(lo) and math.isinf(hi):
            lines.append(f" FR BND  {name}")
            continue
        lines.append(f" MI BND  {name}" if math.isinf(lo) else f" LO BND  {name}  {_number(lo)}")
        lines.append(f" PL BND  {name}" if math.isinf(hi) else f" UP BND  {name}  {_number(hi)}")
    lines.append(f" FX BND  {CONSTANT_COLUMN}  1.0")
    lines.append("ENDATA")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return {"columns": len(columns) + 1, "rows": written, "integers": int(sum(terms.integer)),
            "nonzeros": sum(len(entries) for entries in columns)}


def _instance_path(seed: str, folder: Path) -> Path:
    from benchmarks.horizon import DK, horizon_instance, write_instance

    return DK if seed == "dk" else write_instance(folder / f"seed{seed}.yaml", horizon_instance(int(seed)))


def _problem(seed: str, folder: Path) -> tuple[Any, Any]:
    """The built problem and its myopic plan (as allocator solve does)."""
    from allocator.core.horizon import build_horizon
    from allocator.io.horizon import load_horizon_instance
    from allocator.io.schemas import DEFAULT_MODEL
    from allocator.results.horizon import myopic

    h = load_horizon_instance(str(_instance_path(seed, folder))).value
    base, _ = myopic(h, DEFAULT_MODEL)
    return build_horizon(h, DEFAULT_MODEL), base


def export(seed: str, folder: Path, limit: float = 60.0) -> dict[str, Any]:
    """Write ``<folder>/<seed>.mps``, ``.hint.json`` and ``.meta.json`` for one instance; return the meta.

    As solve_highs for a solve with ``limit``: searched warm start, shipped rows, the pool box under the
    warm start's cost with a quarter of the time left as its limit.
    """
    started = time.perf_counter()
    problem, base = _problem(seed, folder)
    return export_problem(problem, base, folder, seed, limit, started)


def export_problem(problem: Any, base: Any, folder: Path, name: str, limit: float | None,
                   started: float | None = None) -> dict[str, Any]:
    """Write ``<folder>/<name>.mps``, ``.hint.json`` and ``.meta.json`` of a built HorizonProblem and its myopic
    plan ``base`` (the pool box's limit counts from ``started``; no limit when ``limit`` is None); return the meta."""
    import numpy as np

    from allocator.solvers import horizon as shipped
    from allocator.solvers.horizon_search import keeps_rules

    started = time.perf_counter() if started is None else started
    seed = name
    hint, searched = shipped._searched(problem, base, True)
    terms, n = shipped._terms(problem)
    box: list[list[float]] = []
    if hint is not None and 0 < len(terms.pools) <= shipped.POOL_BOX_LIMIT and keeps_rules(problem, hint):
        value = problem.objective(hint)
        cutoff = value + shipped.ABSOLUTE_GAP + shipped.CUTOFF_SLACK * max(1.0, abs(value))
        left = None if limit is None else (limit - (time.perf_counter() - started)) / 4
        for i, (lo, hi) in zip(terms.pools, shipped._pool_box(problem, terms, cutoff, left)):
            terms.lower[i], terms.upper[i] = lo, hi
            box.append([lo, hi])
    names = [f"x{j}" for j in range(len(terms.lower))]
    for p in range(n.shape[0]):
        for c in range(n.shape[1]):
            names[int(n[p, c])] = f"n_{p}_{c}"
    constant = terms.offset + shipped._model_constant(problem)
    counts = write_mps(folder / f"{seed}.mps", terms, constant, names)
    # no myopic plan (it broke a rule): no warm start, as solve_highs
    plan = None if hint is None else np.asarray(hint, dtype=np.int64)
    hint_names = [] if plan is None else [f"n_{p}_{c}" for p in range(n.shape[0]) for c in range(n.shape[1])]
    (folder / f"{seed}.hint.json").write_text(json.dumps(
        {"names": hint_names, "values": [] if plan is None else [float(v) for v in plan.ravel()]}), encoding="utf-8")
    meta = {"seed": seed, "constant": constant, "hint_objective": None if plan is None else problem.objective(plan),
            "search_seconds": searched.get("search_seconds"), "pool_box": box,
            "export_seconds": round(time.perf_counter() - started, 2), "shape": list(n.shape), **counts}
    (folder / f"{seed}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return meta


def plan_objective(seed: str, folder: Path, plan: dict[str, float]) -> float | None:
    """The closed-form cost of the plan whose n_p_c values a worker returned (None when it returned none)."""
    import numpy as np

    if not plan:
        return None
    problem, _ = _problem(seed, folder)
    shape = json.loads((folder / f"{seed}.meta.json").read_text(encoding="utf-8"))["shape"]
    units = np.array([[round(plan[f"n_{p}_{c}"]) for c in range(shape[1])] for p in range(shape[0])], dtype=np.int64)
    return float(problem.objective(units))


# --- the worker (any venv: standard library + the engine) ------------------------------------------------------

def _ortools(engine: str, mps: str, hint: dict[str, Any], limit: float, log: Path) -> dict[str, Any]:
    """OR-Tools' MathOpt, parameters as solve_highs sets them (threads=1 for SCIP only, as shipped)."""
    import datetime

    from ortools.init.python import init
    from ortools.math_opt.io.python import mps_converter
    from ortools.math_opt.python import mathopt

    model = mathopt.Model.from_model_proto(mps_converter.mps_to_model_proto(Path(mps).read_text(encoding="ascii")))
    by_name = {v.name: v for v in model.variables()}
    params = mathopt.SolveParameters(relative_gap_tolerance=RELATIVE_GAP, absolute_gap_tolerance=ABSOLUTE_GAP,
                                     random_seed=0, time_limit=datetime.timedelta(seconds=limit), enable_output=False)
    if engine == "ortools-scip":
        params.threads = 1
    values = {by_name[k]: v for k, v in zip(hint["names"], hint["values"])}
    model_params = mathopt.ModelSolveParameters(
        solution_hints=[mathopt.SolutionHint(variable_values=values)] if values else [])
    lines: list[str] = []
    wall, cpu = time.perf_counter(), time.process_time()
    result = mathopt.solve(model, mathopt.SolverType.GSCIP if engine == "ortools-scip" else mathopt.SolverType.HIGHS,
                           params=params, model_params=model_params, msg_cb=lines.extend)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reason = result.termination.reason
    feasible = result.has_primal_feasible_solution()
    plan = {}
    if feasible:
        solution = result.variable_values()
        plan = {k: solution[v] for k, v in by_name.items() if k.startswith("n_")}
    version = next((line.strip() for line in lines if "Running HiGHS" in line or "SCIP version" in line), "")
    return {"status": "optimal" if reason == mathopt.TerminationReason.OPTIMAL else reason.name.lower(),
            "objective": result.objective_value() if feasible else None,
            "bound": float(result.termination.objective_bounds.dual_bound), "wall_s": wall, "cpu_s": cpu, "plan": plan,
            "version": f"OR-Tools {init.OrToolsVersion.version_string()}; {version}"}


def _highspy(mps: str, hint: dict[str, Any], limit: float, log: Path) -> dict[str, Any]:
    """Standalone HiGHS: the same options by their HighsOptions names; the hint as a sparse (partial) solution."""
    import highspy
    import numpy as np

    h = highspy.Highs()
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("log_file", str(log))
    h.readModel(mps)
    for key, value in (("threads", 1), ("time_limit", float(limit)), ("mip_rel_gap", RELATIVE_GAP),
                       ("mip_abs_gap", ABSOLUTE_GAP), ("random_seed", 0)):
        h.setOptionValue(key, value)
    index = np.array([h.getColByName(k)[1] for k in hint["names"]], dtype=np.int32)
    h.setSolution(len(index), index, np.array(hint["values"], dtype=np.float64))
    wall, cpu = time.perf_counter(), time.process_time()
    h.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    info = h.getInfo()
    status = h.getModelStatus()
    feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
    plan = {}
    if feasible:
        col = h.getSolution().col_value
        plan = {k: float(col[i]) for k, i in zip(hint["names"], index)}
    name = h.modelStatusToString(status)
    return {"status": "optimal" if status == highspy.HighsModelStatus.kOptimal else name.lower().replace(" ", "_"),
            "objective": info.objective_function_value if feasible else None, "bound": info.mip_dual_bound,
            "wall_s": wall, "cpu_s": cpu, "plan": plan, "version": f"highspy HiGHS {h.version()} ({h.githash()})"}


def _pyscipopt(mps: str, hint: dict[str, Any], limit: float, log: Path) -> dict[str, Any]:
    """Standalone SCIP: limits/gap, limits/absgap, one LP thread, seed shift 0; the hint as a partial solution."""
    import pyscipopt

    m = pyscipopt.Model()
    m.hideOutput()
    m.setLogfile(str(log))
    m.readProblem(mps)
    m.setParam("limits/time", float(limit))
    m.setParam("limits/gap", RELATIVE_GAP)
    m.setParam("limits/absgap", ABSOLUTE_GAP)
    m.setParam("lp/threads", 1)
    m.setParam("randomization/randomseedshift", 0)
    by_name = {v.name: v for v in m.getVars()}
    sol = m.createPartialSol()
    for k, v in zip(hint["names"], hint["values"]):
        m.setSolVal(sol, by_name[k], v)
    m.addSol(sol)
    wall, cpu = time.perf_counter(), time.process_time()
    m.optimize()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    feasible = m.getNSols() > 0
    plan = {}
    if feasible:
        best = m.getBestSol()
        plan = {k: m.getSolVal(best, by_name[k]) for k in hint["names"]}
    return {"status": m.getStatus(), "objective": m.getObjVal() if feasible else None, "bound": m.getDualbound(),
            "wall_s": wall, "cpu_s": cpu, "plan": plan,
            "version": f"PySCIPOpt {pyscipopt.__version__}; SCIP {m.version()}"}


def _xpress(mps: str, hint: dict[str, Any], limit: float, log: Path) -> dict[str, Any]:
    """FICO Xpress (community licence, a reference only): one thread, the same gaps, the hint as a partial MIP
    solution (Xpress completes it)."""
    import xpress as xp

    p = xp.problem()
    p.setlogfile(str(log))
    p.setControl("outputlog", 0)
    p.readProb(mps)
    # miprelcutoff / mipaddcutoff would prune nodes within 1e-4 relative / 1e-5 of the incumbent: off, so that
    # only the two gap tolerances decide a proof, as for the other engines
    p.setControl({"threads": 1, "miprelstop": RELATIVE_GAP, "mipabsstop": ABSOLUTE_GAP, "timelimit": float(limit),
                  "randomseed": 0, "miprelcutoff": 0.0, "mipaddcutoff": -ABSOLUTE_GAP})
    index = [p.getIndexFromName(2, k) for k in hint["names"]]
    p.addMipSol(hint["values"], index, "warmstart")
    wall, cpu = time.perf_counter(), time.process_time()
    p.optimize()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    feasible = p.attributes.mipsols > 0
    plan = {}
    if feasible:
        values = p.getSolution()
        plan = {k: float(values[i]) for k, i in zip(hint["names"], index)}
    status = p.attributes.solstatus
    proven = p.attributes.mipstatus == xp.enums.MIPStatus.OPTIMAL
    return {"status": "optimal" if proven else f"stop_{p.attributes.stopstatus}",
            "objective": p.attributes.mipobjval if feasible else None, "bound": p.attributes.bestbound,
            "wall_s": wall, "cpu_s": cpu, "plan": plan, "solstatus": str(status),
            "version": f"xpress {xp.__version__}; Optimizer {xp.getVersion()}"}


def worker(engine: str, mps: str, hint_path: str, limit: float) -> dict[str, Any]:
    """Solve ``mps`` with ``engine`` from the warm start in ``hint_path``; the figures as a dict."""
    hint = json.loads(Path(hint_path).read_text(encoding="utf-8"))
    log = Path(mps).with_suffix(f".{engine}.log")
    solve = {"ortools-scip": lambda: _ortools(engine, mps, hint, limit, log),
             "ortools-highs": lambda: _ortools(engine, mps, hint, limit, log),
             "highspy": lambda: _highspy(mps, hint, limit, log), "pyscipopt": lambda: _pyscipopt(mps, hint, limit, log),
             "xpress": lambda: _xpress(mps, hint, limit, log)}[engine]
    done = solve()
    done["load"] = round(os.getloadavg()[0], 2)
    done["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return done


# --- the driver (project venv) ---------------------------------------------------------------------------------

def gap(status: str, objective: float | None, bound: float) -> float:
    """(objective - bound) / max(1, |objective|), as HorizonResult.gap; 0 when proven, inf without a plan."""
    if status == "optimal":
        return 0.0
    if objective is None or not math.isfinite(bound):
        return math.inf
    return max(0.0, objective - bound) / max(1.0, abs(objective))


def run_one(engine: str, seed: str, folder: Path, limit: float, python: str) -> dict[str, Any]:
    """One solve in a fresh process, with its figures and the plan's cost by the closed form."""
    mps, hint = folder / f"{seed}.mps", folder / f"{seed}.hint.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run([python, str(Path(__file__).resolve()), "worker", engine, str(mps), str(hint), str(limit)],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row: dict[str, Any] = {"seed": seed, "engine": engine, "limit": limit}
    if done.returncode != 0 or not done.stdout.strip():
        return {**row, "status": "failed", "error": done.stderr.strip().splitlines()[-3:]}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    plan = out.pop("plan")
    closed = plan_objective(seed, folder, plan)
    raw = gap("", out["objective"], out["bound"])
    if out["status"] == "optimal" and raw * max(1.0, abs(out["objective"])) > ABSOLUTE_GAP + RELATIVE_GAP * abs(
            out["objective"]):
        out["status"] = "optimal_by_own_tolerance"  # the engine stopped on a tolerance looser than asked
    return {**row, **out, "gap": gap(out["status"], out["objective"], out["bound"]), "raw_gap": raw,
            "closed_form": closed,
            "process_wall_s": round(wall, 2),
            "process_cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)}


def _seeds(text: str) -> list[str]:
    """``0-9``, ``dk,0,3`` or a mix."""
    seeds: list[str] = []
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-")
            seeds += [str(k) for k in range(int(first), int(last) + 1)]
        else:
            seeds.append(part)
    return seeds


def summary(lines: list[dict[str, Any]]) -> str:
    """Markdown of the JSON lines of ``run``: per engine how many proven, gaps and CPU; then per seed and engine."""
    import statistics

    # the gap of the plan's own cost, as shipped (HorizonResult recomputes the objective by the closed form): an
    # engine's incumbent may leave a continuous column above its least value, and cost more than its plan does
    lines = [{**row, "gap": gap(row["status"], row["closed_form"] if row.get("closed_form") is not None
                                else row.get("objective"), row["bound"])} for row in lines]
    engines = list(dict.fromkeys(row["engine"] for row in lines))
    seeds = list(dict.fromkeys(row["seed"] for row in lines))
    out = ["| engine | proven | median gap (all) | median gap (unproven) | gaps of the unproven | median CPU s | "
           "objective = plan's cost |", "|---|---:|---:|---:|---|---:|---:|"]
    for engine in engines:
        rows = [row for row in lines if row["engine"] == engine]
        proven = [row for row in rows if row["status"] == "optimal"]
        rest = sorted(row["gap"] for row in rows if row["status"] != "optimal")
        agree = sum(1 for row in rows if row.get("closed_form") is not None and row.get("objective") is not None
                    and abs(row["closed_form"] - row["objective"]) <= 1e-6 * max(1.0, abs(row["objective"])))
        out.append(f"| {engine} | {len(proven)} of {len(rows)} | {statistics.median(r['gap'] for r in rows):.2e} | "
                   f"{statistics.median(rest) if rest else 0:.2e} | {', '.join(f'{g:.2e}' for g in rest)} | "
                   f"{statistics.median(r['cpu_s'] for r in rows):.2f} | {agree} of {len(rows)} |")
    # per seed, which engine ended with the highest bound and the cheapest plan (ties within 1e-6 count for each)
    out += ["", "| engine | highest bound (seeds) | cheapest plan (seeds) | median bound - best known plan, relative |",
            "|---|---:|---:|---:|"]
    best_plan = {seed: min(row["closed_form"] for row in lines if row["seed"] == seed
                           and row.get("closed_form") is not None) for seed in seeds}
    for engine in engines:
        high = cheap = 0
        shortfall = []
        for seed in seeds:
            rows = [row for row in lines if row["seed"] == seed]
            mine = [row for row in rows if row["engine"] == engine]
            if not mine:
                continue
            top = max(row["bound"] for row in rows)
            high += mine[0]["bound"] >= top - 1e-6
            cost = mine[0].get("closed_form")
            cheap += cost is not None and cost <= best_plan[seed] + 1e-6
            shortfall.append((best_plan[seed] - mine[0]["bound"]) / max(1.0, abs(best_plan[seed])))
        out.append(f"| {engine} | {high} | {cheap} | {statistics.median(shortfall):.2e} |")
    out += ["", "| seed | engine | status | solver's objective | plan's cost | best bound | gap | wall s | CPU s "
                "| load |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for seed in seeds:
        for row in (row for row in lines if row["seed"] == seed):
            objective = "none" if row.get("objective") is None else f"{row['objective']:.6f}"
            cost = "none" if row.get("closed_form") is None else f"{row['closed_form']:.6f}"
            out.append(f"| {seed} | {row['engine']} | {row['status']} | {objective} | {cost} | {row['bound']:.6f} | "
                       f"{row['gap']:.2e} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | {row['load']:.2f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    """``export``, ``run`` (export, then each engine per seed in turn), ``summary`` (markdown of run's JSON lines)
    or ``worker`` (one solve, JSON on stdout)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "summary":
        print(summary([json.loads(line) for line in Path(argv[1]).read_text(encoding="utf-8").splitlines() if line]))
        return
    if argv and argv[0] == "worker":
        _, engine, mps, hint, limit = argv
        print(json.dumps(worker(engine, mps, hint, float(limit))), flush=True)
        os._exit(0)  # an engine's threads may outlive its solve
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["export", "run"])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--engines", default="ortools-scip,ortools-highs,highspy,pyscipopt")
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--other-python", default=sys.executable,
                        help="the python of the venv that has highspy / pyscipopt / xpress")
    parser.add_argument("--out", type=Path, default=None, help="append the JSON lines here too")
    args = parser.parse_args(argv)
    from benchmarks.horizon_engines import emit  # here: the worker runs in a venv without the project

    args.folder.mkdir(parents=True, exist_ok=True)
    engines = args.engines.split(",")
    for k, seed in enumerate(_seeds(args.seeds)):
        meta = export(seed, args.folder, args.limit)
        print(json.dumps({"export": meta}, default=str), flush=True)
        if args.command == "export":
            continue
        turn = k % len(engines)
        for engine in engines[turn:] + engines[:turn]:
            python = sys.executable if engine.startswith("ortools") else args.other_python
            row = run_one(engine, seed, args.folder, args.limit, python)
            row["hint_objective"] = meta["hint_objective"]
            emit(row, args.out)


if __name__ == "__main__":
    main()
