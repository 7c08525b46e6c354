"""The multi-year MILP (BRIEF.md, "Multi-year mathematics"), solved by HiGHS or CBC.

Formulation, per plan year p and cell c (see allocator.core.horizon):

- integer n[c, p] in the cell's box for that year, with the one-year cost as
  integer-breakpoint segments over the whole box (the one-year core's
  formulation: exact at every integer, and convex, so no binaries);
- each year's totals and bound rows; stability to year p - 1 (``max_change``
  as two rows, ``weight`` through d[c, p] >= |n[c, p] - n[c, p - 1]|);
- pool[s, p]: the graduates of start year p who settle away from where they
  trained (one row per specialty and year keeps the supply rows sparse);
- shortfall u[c, k] >= demand - supply(n, pool), u >= 0, only for outlook
  years the plan can reach; each u is also bounded above by the shortfall at
  the cells' lowest posts (supply only grows with posts), which is valid and
  tightens the box the LP sees. Years the plan cannot reach are a constant.

HiGHS is reached through OR-Tools' MathOpt (the same OR-Tools build as the
one-year LP; highspy cannot share the process, see allocator.solvers.highs).
The myopic plan, improved by a local search (allocator.solvers.horizon_search),
is passed as a solution hint (a warm start). CBC through PuLP is the second
exact path.
"""

from __future__ import annotations

import datetime
import math
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from allocator.core.formulation import build_segments
from allocator.core.horizon import HorizonProblem
from allocator.solvers.horizon_search import keeps_rules

HorizonStatus = Literal["optimal", "gap", "infeasible", "time_limit", "error"]
T = TypeVar("T")

#: A plan is proven optimal when the incumbent is within this of the best bound (absolute, in cost
#: units) or this relative gap; HiGHS's default relative gap (1e-4) would stop before a proof.
ABSOLUTE_GAP = 1e-6
RELATIVE_GAP = 1e-9


@dataclass
class HorizonResult:
    """What a horizon solve returns.

    Attributes
    ----------
    status
        ``optimal`` (proven), ``gap`` (stopped with a plan within the accepted gap),
        ``time_limit`` (stopped with a larger gap, or no plan), ``infeasible`` or ``error``.
    units
        n[p, c] of the best plan found (None when there is none).
    objective, bound
        The incumbent's objective and the best proven lower bound.
    reported
        The MILP's own objective value of ``units`` as the solver reported it (None when it reported none, or
        the plan is the warm start); ``objective`` is recomputed from the plan by the closed form.
    """

    status: HorizonStatus
    units: np.ndarray | None
    solver: str
    objective: float = math.nan
    bound: float = math.nan
    seconds: float = 0.0
    build_seconds: float = 0.0
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)
    reported: float | None = None

    @property
    def gap(self) -> float:
        """The relative gap (objective - bound) / max(1, |objective|); 0 when proven optimal."""
        if self.status == "optimal":
            return 0.0
        if math.isnan(self.objective) or math.isnan(self.bound):
            return math.inf
        return max(0.0, self.objective - self.bound) / max(1.0, abs(self.objective))


@dataclass
class _Terms:
    """The model as plain rows, shared by the two backends: variables by index, rows as sparse lists."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    rows: list[tuple[list[int], list[float], float, float]] = field(default_factory=list)
    offset: float = 0.0
    pools: list[int] = field(default_factory=list)

    def var(self, lo: float, hi: float, cost: float = 0.0, integer: bool = False) -> int:
        self.lower.append(lo)
        self.upper.append(hi)
        self.cost.append(cost)
        self.integer.append(integer)
        return len(self.lower) - 1

    def row(self, index: list[int], coef: list[float], lo: float, hi: float) -> None:
        self.rows.append((index, coef, lo, hi))


def _terms(problem: HorizonProblem, tight: bool = True, textbook: bool = False) -> tuple[_Terms, np.ndarray]:
    """The MILP of ``problem`` as rows; returns the terms and the index of n[p, c].

    Two switches exist only to measure what the formulation's choices change (benchmarks/horizon.py):
    ``tight=False`` leaves out the shortfall upper bounds; ``textbook=True`` writes the absolute
    one-year cost as p * short + over with short, over >= 0 and n - t = over - short, instead of
    the integer-breakpoint segments.
    """
    terms = _Terms()
    inf = math.inf
    big_p, n_cells = problem.plan_years, len(problem.cells)
    n = np.zeros((big_p, n_cells), dtype=np.int64)
    for p, year in enumerate(problem.years):
        for c in range(n_cells):
            n[p, c] = terms.var(float(year.lo[c]), float(year.hi[c]), integer=True)
        if textbook and year.objective == "absolute":
            _textbook_cost(terms, year, n[p])
        else:
            segments = build_segments(year, year.lo, year.hi)
            terms.offset += math.fsum(segments.start_cost.tolist())
            for c, first, last in segments.runs():
                pieces = [terms.var(0.0, float(segments.length[j]), float(segments.slope[j]))
                          for j in range(first, last)]
                terms.row([int(n[p, c])] + pieces, [1.0] + [-1.0] * len(pieces), float(year.lo[c]),
                          float(year.lo[c]))
        for group in year.groups:
            cells = group.cells.tolist()
            terms.row([int(n[p, c]) for c in cells], [1.0] * len(cells), float(group.lo),
                      inf if group.hi is None else float(group.hi))
        if p:
            limit = problem.max_change_units()
            for c in range(n_cells):
                pair = [int(n[p, c]), int(n[p - 1, c])]
                if limit is not None:
                    terms.row(pair, [1.0, -1.0], -float(limit), float(limit))
                if problem.stability_weight:
                    d = terms.var(0.0, inf, problem.stability_weight * problem.unit)
                    terms.row(pair + [d], [1.0, -1.0, -1.0], -inf, 0.0)
                    terms.row(pair + [d], [-1.0, 1.0, -1.0], -inf, 0.0)
    # Coverage: pools, then one shortfall per cell and reachable outlook year.
    n_specs = len(problem.specialties)
    pool = np.full((n_specs, big_p), -1, dtype=np.int64)
    if np.any(problem.out > 0) and np.any(problem.pi > 0):
        for s in range(n_specs):
            members = np.flatnonzero((problem.cell_specialty == s) & (problem.out > 0))
            if not len(members):
                continue
            for p in range(big_p):
                pool[s, p] = terms.var(0.0, inf)
                terms.pools.append(int(pool[s, p]))
                terms.row([int(n[p, c]) for c in members] + [int(pool[s, p])],
                          problem.out[members].tolist() + [-1.0], 0.0, 0.0)
    w = problem.coverage_weight
    low = np.stack([year.lo for year in problem.years]).astype(float)
    supply_low = problem.supply(low)
    for k in range(problem.outlook_years):
        reachable = problem.reach[:, k, :].any(axis=1)
        for c in range(n_cells):
            gap_at_low = max(0.0, float(problem.demand[c, k] - supply_low[c, k]))
            if not reachable[c] or w == 0:
                continue  # a constant: added by the caller from the closed form
            if gap_at_low <= 0:
                continue  # supply only grows with posts: never short
            u = terms.var(0.0, gap_at_low if tight else inf, w * float(problem.penalty[c]))
            index, coef = [u], [1.0]
            own = problem.own[c]
            for p in range(big_p):
                a = float(problem.reach[c, k, p])
                if a == 0:
                    continue
                if own:
                    index.append(int(n[p, c]))
                    coef.append(own * a)
                s = int(problem.cell_specialty[c])
                if pool[s, p] >= 0 and problem.pi[c]:
                    index.append(int(pool[s, p]))
                    coef.append(float(problem.pi[c]) * a)
            terms.row(index, coef, float(problem.demand[c, k] - problem.const[c, k]), inf)
    return terms, n


def _empty_box(problem: HorizonProblem) -> bool:
    """Whether some cell's own bounds leave it no value in some year (solvers refuse such a variable)."""
    return any(bool((year.lo > year.hi).any()) for year in problem.years) or any(
        group.hi is not None and group.lo > group.hi for year in problem.years for group in year.groups)


def _textbook_cost(terms: _Terms, year: object, n: np.ndarray) -> None:
    """The absolute one-year cost with a shortfall and a surplus variable per cell (for measurements only)."""
    from allocator.core.problem import ProblemData

    assert isinstance(year, ProblemData)
    for c in range(year.n_cells):
        short = terms.var(0.0, math.inf, float(year.penalty[c]))
        over = terms.var(0.0, math.inf, 1.0)
        terms.row([int(n[c]), over, short], [year.unit, -1.0, 1.0], float(year.target[c]), float(year.target[c]))
        prev = year.previous[c]
        if year.stability_weight and not np.isnan(prev):
            d = terms.var(0.0, math.inf, year.stability_weight)
            terms.row([int(n[c]), d], [year.unit, -1.0], -math.inf, float(prev))
            terms.row([int(n[c]), d], [-year.unit, -1.0], -math.inf, -float(prev))


def _model_constant(problem: HorizonProblem) -> float:
    """The coverage cost the model leaves out (years and cells no post can reach, or never short)."""
    low = np.stack([year.lo for year in problem.years]).astype(float)
    short = np.maximum(0.0, problem.demand - problem.supply(low))
    reachable = problem.reach.any(axis=2)
    if problem.coverage_weight == 0:
        return 0.0
    fixed = np.where(reachable, 0.0, short)
    return problem.coverage_weight * math.fsum((fixed * problem.penalty[:, None]).ravel().tolist())


def mathopt_model(problem: HorizonProblem, terms: _Terms, name: str,
                  integer: bool = True) -> tuple[Any, list[Any], Any]:
    """The rows of ``terms`` as a MathOpt model that minimises their cost, the model's constant included.

    Returns the model, its variables (by index of ``terms``) and the objective expression;
    ``integer=False`` gives the LP relaxation.
    """
    from ortools.math_opt.python import mathopt

    model = mathopt.Model(name=name)
    variables = [model.add_variable(lb=lo, ub=hi, is_integer=integer and flag)
                 for lo, hi, flag in zip(terms.lower, terms.upper, terms.integer)]
    for index, coef, lo, hi in terms.rows:
        model.add_linear_constraint(lb=lo, ub=hi, expr=mathopt.LinearSum(
            [c * variables[i] for i, c in zip(index, coef)]))
    objective = mathopt.LinearSum([c * v for v, c in zip(variables, terms.cost) if c]) + terms.offset \
        + _model_constant(problem)
    model.minimize(objective)
    return model, variables, objective


#: Pools are bounded under the warm start's cost (:func:`_pool_box`) only when there are at most this many: each
#: costs two LP solves. On 98 leaves x 1 specialty (5 pools) the 10 solves took 0.6 s and raised SCIP's bound
#: (benchmarks/horizon_results.md, round 5); 98 x 40 (200 pools, each LP 40 times larger) was not measured.
POOL_BOX_LIMIT = 10

#: No pool box under a shorter time limit: its LPs took 0.5-2.4 s on 98 leaves under load, time that a short
#: solve needs for its own root LP (at load average 4, a 2 s limit left HiGHS without a root bound even with no box).
POOL_BOX_MIN_SECONDS = 10.0

#: How far each end of a pool's range is widened beyond the LP's value, relative (the ranges are 8-32 graduates
#: wide on the generated 98-leaf instances): the LP keeps its rows only within its tolerances, so its extreme
#: value may fall short.
POOL_BOX_SLACK = 1e-3

#: The pools' ranges are taken under the warm start's cost plus this share of it (and ABSOLUTE_GAP).
CUTOFF_SLACK = 1e-6


def _pool_box(problem: HorizonProblem, terms: _Terms, cutoff: float,
              seconds: float | None) -> list[tuple[float, float]]:
    """The least and greatest value of each pool over the LP relaxation with cost <= ``cutoff``, widened.

    Every plan that costs at most ``cutoff`` keeps its pools within these ranges (the LP relaxes the
    MILP), so bounding the pools by them keeps every plan that could beat a plan of that cost: the
    MILP's optimum is unchanged, and its LP relaxation starts from narrower pools (the bound is lost in
    the pools' ranges; docs/mathematics.md). An end the LP does not settle (within ``seconds`` in all)
    stays as it was.
    """
    from ortools.math_opt.python import mathopt

    started = time.perf_counter()
    model, variables, objective = mathopt_model(problem, terms, "horizon-pool-box", integer=False)
    model.add_linear_constraint(objective <= cutoff)
    box = []
    for i in terms.pools:
        ends = [terms.lower[i], terms.upper[i]]
        for end, sense in ((0, 1.0), (1, -1.0)):
            params = mathopt.SolveParameters()
            if seconds is not None:
                left = seconds - (time.perf_counter() - started)
                if left <= 0:
                    continue
                params.time_limit = datetime.timedelta(seconds=left)
            model.minimize(sense * variables[i])
            result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
            if result.termination.reason == mathopt.TerminationReason.OPTIMAL:
                value = sense * result.objective_value()
                widen = POOL_BOX_SLACK * max(1.0, abs(value))
                ends[end] = max(ends[end], value - widen) if end == 0 else min(ends[end], value + widen)
        box.append((ends[0], ends[1]))
    return box


#: Seconds a solve may run past its time limit before the wall-clock guard stops waiting for it. HiGHS
#: checks its limit only between root separation rounds, which take over 10 s on 98 x 40 instances.
GRACE_SECONDS = 0.5

#: The solver's own time limit ends this share of the time left before the wall-clock guard's (at most
#: RESERVE_SECONDS), so that it returns by itself, with its best plan, before the guard stops waiting for it.
RESERVE_SHARE = 0.05
RESERVE_SECONDS = 2.0

#: A HiGHS MIP progress row: source, nodes, queue, leaves, explored %, best bound, best plan, gap ...
_HIGHS_ROW = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+")


#: A SCIP progress row ends "| dualbound | primalbound | gap | compl." and starts with the time, e.g. " 29.3s|".
_SCIP_ROW = re.compile(r"^\s*\S?\s*[\d.]+s\|")


def _last_digit(text: str) -> float | None:
    """One unit of the last printed digit of a number such as ``7628.809854`` or ``7.646268e+03``."""
    mantissa, _, exponent = text.lower().partition("e")
    digits = mantissa.split(".")[1] if "." in mantissa else ""
    if not digits.isdigit() or (exponent and not exponent.lstrip("+-").isdigit()):
        return None
    return 10.0 ** ((int(exponent) if exponent else 0) - len(digits))


def _logged_bounds(line: str) -> tuple[float, float] | None:
    """(best bound, best plan) of one HiGHS or SCIP progress row, or None for any other line.

    The bound is lowered by one unit of its last printed digit, so that the rounded figure stays a
    proven lower bound.
    """
    match = _HIGHS_ROW.match(line)
    if match is not None:
        bound_text, plan_text = match.group(1), match.group(2)
    elif _SCIP_ROW.match(line) and len(fields := line.split("|")) >= 5:
        bound_text, plan_text = fields[-4].strip(), fields[-3].strip()
    else:
        return None
    try:
        bound = float(bound_text)
        incumbent = float(plan_text) if plan_text != "--" else math.inf
    except ValueError:
        return None
    unit = _last_digit(bound_text)
    if not math.isfinite(bound) or unit is None:
        return None
    return bound - unit, incumbent


@dataclass
class _Progress:
    """What the solver's log said last (filled from its message callback)."""

    bound: float = math.nan
    incumbent: float = math.nan

    def read(self, lines: Sequence[str]) -> None:
        for line in lines:
            parsed = _logged_bounds(line)
            if parsed is not None:
                self.bound, self.incumbent = parsed


#: Solve threads left running past their time limit by :func:`_guarded`.
_ABANDONED: list[threading.Thread] = []


def abandoned_solve_running() -> bool:
    """Whether a solve left behind at its time limit still runs in this process.

    Such a thread is inside the solver's C++ code; a process that then finalises Python around it
    can abort (SIGABRT was seen with SCIP). The command's entry point (allocator.__main__) therefore
    ends the process at once, once its output is complete.
    """
    return any(thread.is_alive() for thread in _ABANDONED)


def _guarded(call: Callable[[], T], seconds: float | None, interrupt: Callable[[], None]) -> tuple[bool, T | None]:
    """Run ``call`` in a daemon thread and wait at most ``seconds`` + GRACE_SECONDS (no limit: None).

    Returns (finished, its result). A solve that is still running at the deadline is asked to
    stop (``interrupt``) and then left behind: it releases the GIL and stops at its own limit soon
    after, and a daemon thread does not keep the process alive.
    """
    if seconds is None:
        return True, call()
    box: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="horizon-solve", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds) + GRACE_SECONDS)
    if worker.is_alive():
        interrupt()
        _ABANDONED.append(worker)
        return False, None
    if failure:
        raise failure[0]
    return True, box[0]


def _searched(problem: HorizonProblem, hint: np.ndarray | None,
              search: bool) -> tuple[np.ndarray | None, dict[str, object]]:
    """The warm start after the local search (when asked and there is one), and what the search did."""
    if hint is None or not search:
        return hint, {}
    from allocator.solvers.horizon_search import improve_plan

    started = time.perf_counter()
    better = improve_plan(problem, hint)
    return better, {"search_seconds": time.perf_counter() - started, "start_objective": problem.objective(better)}


#: ``--solver auto`` picks SCIP for a model with at most this many cells (leaf x specialty), HiGHS above
#: (benchmarks/horizon_results.md, round 6). SCIP's bound was the higher on 98 x 1 (98 cells) and 98 x 3 (294);
#: above 100 cells its edge fades while HiGHS's plans are cheaper (150 x 1: SCIP's bound higher on 5 of 5, its
#: gap smaller on 2; 98 x 5: 3 to 2; 200 x 1: equal bounds, HiGHS's gaps 4-8 times smaller; 98 x 10, 98 x 40:
#: HiGHS), and under load SCIP, slower to its first bound, falls further behind. Against the rule: on 98 x 1
#: with a shortage in every leaf, SCIP's bound was higher but HiGHS's plans 0.4-1.4% cheaper.
AUTO_SCIP_MAX_CELLS = 100


def choose_engine(problem: HorizonProblem) -> tuple[Literal["highs", "scip"], str]:
    """The engine ``--solver auto`` uses for ``problem``, and the rule in words.

    Deterministic, on the shape alone: SCIP for at most AUTO_SCIP_MAX_CELLS cells, else HiGHS. Both
    are exact to the same tolerances; the rule only picks the one whose bound rose faster on
    generated instances of that size.
    """
    cells = len(problem.cells)
    if cells <= AUTO_SCIP_MAX_CELLS:
        return "scip", f"auto: SCIP for {cells} cells (at most {AUTO_SCIP_MAX_CELLS})"
    return "highs", f"auto: HiGHS for {cells} cells (more than {AUTO_SCIP_MAX_CELLS})"


def solve_highs(problem: HorizonProblem, *, time_limit: float | None = None, accept_gap: float = 0.0,
                hint: np.ndarray | None = None, tight: bool = True, textbook: bool = False,
                engine: Literal["highs", "scip"] = "highs", search: bool = True,
                pool_box: bool = True, options: dict[str, bool | int | float | str] | None = None) -> HorizonResult:
    """Solve the horizon MILP with HiGHS (or SCIP) through MathOpt, warm-started from ``hint`` (n[p, c]).

    With ``search`` the hint is first improved by :func:`~allocator.solvers.horizon_search.improve_plan`
    (exact pair moves). With ``pool_box``, a feasible hint and no time limit under POOL_BOX_MIN_SECONDS, the
    pools are bounded by their ranges under the hint's cost (:func:`_pool_box`; at most POOL_BOX_LIMIT
    pools). ``tight`` and ``textbook`` are :func:`_terms`'s measurement switches; ``options`` are HiGHS
    options by name (HighsOptions.h), for measurements (benchmarks/horizon_engines.py). ``time_limit`` is
    honoured by the wall clock: the solver's own limit ends RESERVE_SHARE of the time left (at most
    RESERVE_SECONDS) earlier, so that it returns by itself with its best plan; a solve still running
    GRACE_SECONDS after the limit is abandoned with the best bound and plan value its log reported, and
    ``hint`` as the plan, since the solver's own plan cannot be read from a solve that has not returned.
    A solve stopped by a limit with no plan, or a worse one than the (searched) hint, returns the hint
    when it keeps every rule: a stopped solve's plan is never worse than the warm start.
    """
    from ortools.init.python import init
    from ortools.math_opt.python import mathopt
    from ortools.util.python.solve_interrupter import SolveInterrupter

    started = time.perf_counter()
    label = "HiGHS" if engine == "highs" else "SCIP"
    if _empty_box(problem):
        return HorizonResult("infeasible", None, label, detail="a cell's bounds leave no value in some year")
    hint, searched = _searched(problem, hint, search)
    terms, n = _terms(problem, tight, textbook)
    if (pool_box and hint is not None and 0 < len(terms.pools) <= POOL_BOX_LIMIT and keeps_rules(problem, hint)
            and (time_limit is None or time_limit >= POOL_BOX_MIN_SECONDS)):
        # Any plan that beats the hint costs less than this; the slack covers rounding in the LP's cost row.
        value = problem.objective(hint)
        cutoff = value + ABSOLUTE_GAP + CUTOFF_SLACK * max(1.0, abs(value))
        # At most a quarter of what is left: the MILP needs the rest, and an unsettled end stays as it was.
        left = None if time_limit is None else (time_limit - (time.perf_counter() - started)) / 4
        for i, (lo, hi) in zip(terms.pools, _pool_box(problem, terms, cutoff, left)):
            terms.lower[i], terms.upper[i] = lo, hi
        searched = {**searched, "pool_box": [round(hi - lo, 6) for lo, hi in
                                             ((terms.lower[i], terms.upper[i]) for i in terms.pools)]}
    model, variables, _objective = mathopt_model(problem, terms, "horizon")
    built = time.perf_counter()
    params = mathopt.SolveParameters(relative_gap_tolerance=max(RELATIVE_GAP, accept_gap),
                                     absolute_gap_tolerance=ABSOLUTE_GAP, random_seed=0)
    left = None if time_limit is None else max(0.0, time_limit - (built - started))
    if left is not None:
        params.time_limit = datetime.timedelta(seconds=left - min(RESERVE_SECONDS, RESERVE_SHARE * left))
    if engine == "scip":
        params.threads = 1
    for key, value in (options or {}).items():
        table = (params.highs.bool_options if isinstance(value, bool) else params.highs.int_options
                 if isinstance(value, int) else params.highs.double_options if isinstance(value, float)
                 else params.highs.string_options)
        table[key] = value
    model_params = None
    if hint is not None:
        values = {variables[int(n[p, c])]: float(hint[p, c]) for p in range(n.shape[0]) for c in range(n.shape[1])}
        model_params = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=values)])
    progress = _Progress()
    interrupter = SolveInterrupter()
    solver_type = mathopt.SolverType.HIGHS if engine == "highs" else mathopt.SolverType.GSCIP
    finished, result = _guarded(
        lambda: mathopt.solve(model, solver_type, params=params, model_params=model_params,
                              msg_cb=progress.read,
                              # SCIP through MathOpt logs an error for an interrupter
                              interrupter=interrupter if engine == "highs" else None),
        left, interrupter.interrupt)
    solved = time.perf_counter()
    name = f"{label} MIP via OR-Tools MathOpt {init.OrToolsVersion.version_string()}"
    if not finished or result is None:
        units = None if hint is None else np.asarray(hint, dtype=np.int64)
        objective = math.nan if units is None else problem.objective(units)
        return HorizonResult("time_limit", units, name, objective=objective, bound=progress.bound,
                             seconds=solved - built, build_seconds=built - started,
                             detail=f"{label} ran past the time limit; stopped waiting for it "
                                    f"{GRACE_SECONDS:g} s after (the plan is the warm start)",
                             extra={"abandoned": True, "logged_incumbent": progress.incumbent, **searched})
    reason = result.termination.reason
    bounds = result.termination.objective_bounds
    units = None
    objective = math.nan
    if result.has_primal_feasible_solution():
        values = result.variable_values()
        raw = np.array([[values[variables[int(i)]] for i in row] for row in n])
        units = np.rint(raw).astype(np.int64)
        if np.any(np.abs(raw - units) > 1e-6):
            return HorizonResult("error", None, name, detail="a plan value is not integral", seconds=solved - built,
                                 build_seconds=built - started)
        objective = problem.objective(units)
    bound = float(bounds.dual_bound)
    common = dict(solver=name, objective=objective, bound=bound, seconds=solved - built, build_seconds=built - started,
                  detail=str(result.termination.detail), extra=searched,
                  reported=float(result.objective_value()) if units is not None else None)
    if reason == mathopt.TerminationReason.OPTIMAL and units is not None:
        proven = objective - bound <= ABSOLUTE_GAP + RELATIVE_GAP * abs(objective)
        if not proven and "pool_box" in searched:
            # Within its feasibility tolerance against the narrow pool box, the solver valued its plan below the
            # plan's cost, and proved that value (SCIP on a Danish what-if: 3.0e-4 below). The problem has no such
            # gap: solve again without the box, warm-started from the plan, as for an infeasible box below.
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            again = solve_highs(problem, time_limit=left, accept_gap=accept_gap, hint=units, tight=tight,
                                textbook=textbook, engine=engine, search=False, pool_box=False, options=options)
            again.extra["pool_box_dropped"] = f"{label} proved {float(result.objective_value())!r} in the box, " \
                                              f"for a plan that costs {objective!r}"
            again.seconds += solved - built  # both solves count
            again.build_seconds += built - started
            return again
        return HorizonResult("optimal" if proven else "gap", units, **common)  # type: ignore[arg-type]
    stopped = reason in (mathopt.TerminationReason.FEASIBLE, mathopt.TerminationReason.NO_SOLUTION_FOUND)
    if stopped and hint is not None and keeps_rules(problem, hint) and (
            units is None or problem.objective(hint) < objective):
        # Stopped without a proof, with no plan or a worse one than the warm start (the solver may drop a
        # hint that its tolerances reject): the warm start is the best plan known, and it keeps every rule.
        own = "none" if units is None else f"worse, {objective!r}"
        units, objective = np.asarray(hint, dtype=np.int64), problem.objective(hint)
        common.update(objective=objective, reported=None, detail=f"{common['detail']} (the plan is the warm "
                                                                  f"start; the solver's own: {own})")
    if reason == mathopt.TerminationReason.INFEASIBLE:
        if "pool_box" in searched:
            # The hint keeps every rule and lies in the box, so this is the solver's tolerance, not the
            # problem: solve again without the box rather than call a feasible problem infeasible.
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            return solve_highs(problem, time_limit=left, accept_gap=accept_gap, hint=hint, tight=tight,
                               textbook=textbook, engine=engine, search=False, pool_box=False, options=options)
        return HorizonResult("infeasible", None, **common)  # type: ignore[arg-type]
    if units is not None:
        return HorizonResult("time_limit", units, **common)  # type: ignore[arg-type]
    if reason in (mathopt.TerminationReason.NO_SOLUTION_FOUND, mathopt.TerminationReason.FEASIBLE):
        return HorizonResult("time_limit", None, **common)  # type: ignore[arg-type]
    return HorizonResult("error", None, **common)  # type: ignore[arg-type]


#: The lines of CBC's log (the binary PuLP ships) that state its best bound when it stops without a proof:
#: "Lower bound:  -1152.587" in the closing summary (three decimals), and "Partial search - best objective
#: -1103.2028 (best possible -1152.5865)". A proven optimum states no bound at all, only "Optimal solution found".
_CBC_LOWER_BOUND = re.compile(r"^Lower bound:\s+(\S+)\s*$", re.MULTILINE)
_CBC_BEST_POSSIBLE = re.compile(r"best objective (\S+) \(best possible (\S+)\)")
_CBC_OBJECTIVE = re.compile(r"^Objective value:\s+(\S+)\s*$", re.MULTILINE)


def _cbc_logged_bound(log: str) -> tuple[float, float] | None:
    """(best bound, incumbent) as CBC's log states them, in CBC's own objective (without the constant); or None.

    Each bound is lowered by one unit of its last printed digit (the log rounds it), so it stays a proven
    lower bound; of the lines that state one, the highest is kept. None when the log states no bound
    (a proven optimum, or a stop before the root LP) or no incumbent.
    """
    bounds = []
    for text in [m.group(1) for m in _CBC_LOWER_BOUND.finditer(log)] + \
            [m.group(2) for m in _CBC_BEST_POSSIBLE.finditer(log)]:
        try:
            value = float(text)
        except ValueError:
            continue
        unit = _last_digit(text)
        if math.isfinite(value) and unit is not None and abs(value) < 1e50:  # CBC writes 1e+50 for "none"
            bounds.append(value - unit)
    objectives = [m.group(1) for m in _CBC_OBJECTIVE.finditer(log)]
    if not bounds or not objectives:
        return None
    try:
        objective = float(objectives[-1])
    except ValueError:
        return None
    return max(bounds), objective  # every stated bound was proven when stated; the highest is the best


def _cbc_bound(log: str, constant: float, objective: float) -> float:
    """The best bound of a CBC run that stopped without a proof, in our objective; NaN when the log gives none.

    PuLP leaves the objective's constant out of the file CBC reads, so CBC's figures lack it. The bound is
    trusted only when the log's incumbent plus the constant is the incumbent's own objective (``objective``,
    recomputed from the plan), and it is never above that objective.
    """
    logged = _cbc_logged_bound(log)
    if logged is None:
        return math.nan
    bound, incumbent = logged
    tolerance = 1e-6 * max(1.0, abs(objective))  # the log prints the incumbent to 8 decimals
    if abs(incumbent + constant - objective) > tolerance or bound + constant > objective + tolerance:
        return math.nan
    return min(bound + constant, objective)


def solve_cbc(problem: HorizonProblem, *, time_limit: float | None = None,
              hint: np.ndarray | None = None, search: bool = True) -> HorizonResult:
    """Solve the horizon MILP with CBC through PuLP: the second exact path (``search`` as in :func:`solve_highs`)."""
    import pulp

    started = time.perf_counter()
    if _empty_box(problem):
        return HorizonResult("infeasible", None, "CBC", detail="a cell's bounds leave no value in some year")
    hint, _ = _searched(problem, hint, search)
    terms, n = _terms(problem)
    model = pulp.LpProblem("horizon", pulp.LpMinimize)
    variables = [pulp.LpVariable(f"v{i}", None if math.isinf(-lo) else lo, None if math.isinf(hi) else hi,
                                 cat=pulp.LpInteger if integer else pulp.LpContinuous)
                 for i, (lo, hi, integer) in enumerate(zip(terms.lower, terms.upper, terms.integer))]
    constant = terms.offset + _model_constant(problem)
    model += pulp.LpAffineExpression([(v, c) for v, c in zip(variables, terms.cost) if c], constant=constant)
    for r, (index, coef, lo, hi) in enumerate(terms.rows):
        expr = pulp.LpAffineExpression([(variables[i], c) for i, c in zip(index, coef)])
        if lo == hi:
            model += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{r}", lo)
            continue
        if not math.isinf(lo):
            model += pulp.LpConstraint(expr, pulp.LpConstraintGE, f"r{r}lo", lo)
        if not math.isinf(hi):
            model += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{r}hi", hi)
    if hint is not None:
        for p in range(n.shape[0]):
            for c in range(n.shape[1]):
                variables[int(n[p, c])].setInitialValue(float(hint[p, c]))
    built = time.perf_counter()
    options: dict[str, object] = {"msg": False, "threads": 1, "gapRel": RELATIVE_GAP, "gapAbs": ABSOLUTE_GAP,
                                  "warmStart": hint is not None}
    if time_limit is not None:
        # PuLP passes it as CBC's -sec, which takes fractions of a second ("seconds was changed from 1e+100
        # to 0.5"); CBC checks it between nodes, so its root LP runs to the end whatever the limit.
        options["timeLimit"] = max(0.0, float(time_limit))
    with tempfile.TemporaryDirectory(prefix="allocator-cbc-") as folder:
        options["logPath"] = str(Path(folder) / "cbc.log")  # CBC states its best bound only in its log
        model.solve(pulp.PULP_CBC_CMD(**options))
        log_path = Path(str(options["logPath"]))
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    solved = time.perf_counter()
    name = f"CBC via PuLP {pulp.__version__}"
    common = dict(solver=name, seconds=solved - built, build_seconds=built - started)
    if model.status == pulp.LpStatusInfeasible or model.sol_status == pulp.LpSolutionInfeasible:
        return HorizonResult("infeasible", None, **common)  # type: ignore[arg-type]
    if model.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raw = np.array([[variables[int(i)].varValue or 0.0 for i in row] for row in n])
        units = np.rint(raw).astype(np.int64)
        objective = problem.objective(units)
        common["reported"] = pulp.value(model.objective)
        if model.status == pulp.LpStatusOptimal and model.sol_status == pulp.LpSolutionOptimal:
            # CBC proved optimality within its gap tolerances but states no bound: none is claimed (NaN,
            # written as null; docs/mathematics.md, "CBC").
            return HorizonResult("optimal", units, objective=objective, **common)  # type: ignore[arg-type]
        bound = _cbc_bound(log, float(model.objective.constant), objective)
        return HorizonResult("time_limit", units, objective=objective, bound=bound, **common)  # type: ignore[arg-type]
    return HorizonResult("time_limit" if time_limit is not None else "error", None, **common)  # type: ignore[arg-type]
