"""The sensitivity report's independent pieces of work, run on any ``concurrent.futures`` executor.

Monte Carlo draws, the ends of the weight ranges, the total ranging of each
specialty and the binding rules in batches are tasks: module-level functions
of plain arguments, so any executor that speaks ``concurrent.futures`` runs
them (a ``ProcessPoolExecutor`` here; Dask's ``Client.get_executor()`` later).
Each worker holds the instance and the model once, and the base optimum with
its residual network once, in :data:`_STATE`; a worker that has not seen them
yet (a Dask worker) gets them from the :class:`Context` each task carries.

Results never depend on the number of workers or on the order tasks finish:
every draw has its own seed (the seed and the draw's number), and results
are put back in task order.

Processes start with ``spawn``: polars is not fork-safe in this project (see
:mod:`allocator.writers.output`), and a forked child of a process whose polars
thread pool is alive can hang.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from allocator.io.schemas import Instance, Model

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """How a worker gets the instance and model: by loading ``path`` (cheaper than unpickling 50,000 cells)
    or from ``instance`` itself."""

    model: Model
    path: str | None = None
    instance: Instance | None = None

    @property
    def key(self) -> tuple[str | None, int | None, str]:
        """What identifies the work in a worker's memory (an instance in memory by its identity)."""
        return (self.path, None if self.instance is None else id(self.instance), self.model.model_dump_json())


_STATE: dict[str, Any] = {}


def _state(context: Context) -> dict[str, Any]:
    """The worker's instance, model and (lazily) base optimum and residual network for ``context``."""
    if _STATE.get("key") != context.key:
        _STATE.clear()
        instance = context.instance
        if instance is None:
            from allocator.io.loading import load_instance

            assert context.path is not None
            instance = load_instance(Path(context.path)).value
        _STATE.update(key=context.key, instance=instance, model=context.model)
    return _STATE


def install(context: Context) -> None:
    """Executor initializer: load the instance once per worker process."""
    _state(context)


def base_of(context: Context) -> tuple[Any, Any]:
    """The base optimum (an Outcome) and its residual network (None without a flow structure), made once."""
    from allocator.reports.sensitivity import resolve
    from allocator.solvers.flow import structure
    from allocator.solvers.residual import Residual

    state = _state(context)
    if "base" not in state:
        base = resolve(state["instance"], state["model"])
        state["base"] = base
        state["residual"] = Residual(base.problem, base.units) if base.problem is not None and \
            structure(base.problem) != "none" and base.problem.arrays is not None else None
    return state["base"], state["residual"]


# --- tasks -----------------------------------------------------------------------------------------


def variants_of(context: Context) -> Any:
    """The base optimum's cost variants (a CostVariants) and the draws' targets (a NoisyTargets), made once."""
    from allocator.reports.draws import NoisyTargets
    from allocator.solvers.warm import CostVariants

    state = _state(context)
    if "variants" not in state:
        base, residual = base_of(context)
        state["variants"] = CostVariants(base.problem, base.units, residual) \
            if base.problem is not None and base.units is not None else None
        state["noisy"] = NoisyTargets(state["instance"], state["model"])
    return state["variants"], state["noisy"]


def draw_task(context: Context, seed: int, noise: float, draws: list[int]) -> list[np.ndarray | None]:
    """Posts in units of every cell for each Monte Carlo draw numbered in ``draws`` (None: no plan)."""
    from allocator.reports.sensitivity import warm_noisy_outcome

    state = _state(context)
    variants, noisy = variants_of(context)
    return [warm_noisy_outcome(state["instance"], state["model"], seed, noise, d, variants, noisy) for d in draws]


def range_end_task(context: Context, weight: str, value: float, limit: float) -> Any:
    """One end of one weight's range (a RangeEnd), by bisection."""
    from allocator.reports.sensitivity import _range_end

    state = _state(context)
    base, _ = base_of(context)
    variants, _ = variants_of(context)
    return _range_end(state["instance"], state["model"], weight, value, limit, base.posts, variants)


def ranging_task(context: Context, specialties: list[str], k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Total ranging of some specialties (from the residual network)."""
    from allocator.reports.sensitivity import flow_ranging

    state = _state(context)
    base, residual = base_of(context)
    return flow_ranging(state["instance"], state["model"], base, residual, k, only=set(specialties))


def binding_task(context: Context, rules: list[str]) -> list[Any]:
    """The ±1 values of some tight rules (BindingBound each), from the residual network."""
    from allocator.reports.sensitivity import binding_bounds

    state = _state(context)
    base, residual = base_of(context)
    # The LP duals are computed once by the caller, not in every batch.
    return binding_bounds(state["instance"], state["model"], base, residual, None, only=set(rules), duals={})


def install_horizon(horizon: Any, model: Model, plan: Any) -> None:
    """Executor initializer of a multi-year sensitivity report: the instance, model and plan, once per worker."""
    _STATE.clear()
    _STATE.update(key=("horizon", id(horizon)), horizon=horizon, model=model, plan=plan)


def horizon_variant_task(variant: Any, options: dict[str, Any]) -> Any:
    """One multi-year sensitivity variant solved against the worker's plan (a VariantResult)."""
    from allocator.reports.horizon_sensitivity import solve_variant

    return solve_variant(_STATE["horizon"], _STATE["model"], _STATE["plan"], variant, **options)


# --- running ---------------------------------------------------------------------------------------


class InlineExecutor(Executor):
    """Runs each task at once in this process (``--jobs 1``): no start-up, the same results."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:  # type: ignore[override]
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


#: Below this many cells the default is one process: starting a spawned worker (a fresh interpreter
#: importing numpy, polars, OR-Tools and scipy, then loading the instance and solving its base) costs more
#: than it saves. Measured on municipal (3,920 cells, load average 3): --jobs 1 took 4.49 s, --jobs 2 5.85 s.
SMALL_CELLS = 10000


def default_jobs(cells: int | None = None) -> int:
    """The number of cores this process may use (1 for an instance of fewer than :data:`SMALL_CELLS` cells)."""
    if cells is not None and cells < SMALL_CELLS:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: A multi-year instance of at most this many cells (leaf x specialty) solves its variants in one process: on
#: the 5-cell Danish instance two spawned workers saved no wall time and cost 1.3x the CPU, on 10 and 20 cells
#: they saved a third of it (benchmarks/sensitivity_horizon_results.md).
HORIZON_SMALL_CELLS = 8


def default_horizon_jobs(cells: int) -> int:
    """Worker processes for a multi-year sensitivity report of ``cells`` cells: 1 up to
    :data:`HORIZON_SMALL_CELLS`, else the cores this process may use."""
    return 1 if cells <= HORIZON_SMALL_CELLS else default_jobs()


def executor_for(jobs: int, context: Context) -> Executor:
    """An executor of ``jobs`` worker processes (spawned, each loading the instance once), or inline for 1."""
    if jobs <= 1:
        return InlineExecutor()
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=install, initargs=(context,))


def horizon_executor(jobs: int, horizon: Any, model: Model, plan: Any) -> Executor | None:
    """``jobs`` spawned worker processes for a multi-year sensitivity report, each holding ``horizon``,
    ``model`` and ``plan`` (pickled once per worker); None for 1 (the variants are then solved in this process)."""
    if jobs <= 1:
        return None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=install_horizon, initargs=(horizon, model, plan))


def stop_workers(executor: Executor) -> None:
    """Stop ``executor`` now: cancel its queued tasks and end the worker processes of a process pool.

    ``shutdown(wait=False)`` alone returns at once, but Python's exit then waits for the tasks still
    running in the workers (a draw batch can take half a minute on 50,000 cells), so a SIGTERM took
    that long to end the command.
    """
    terminate = getattr(executor, "terminate_workers", None)  # Python 3.14 and later
    if terminate is not None:
        terminate()
        return
    # Before 3.14 the processes are reachable only here; shutdown() forgets them.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def chunks(items: list[T], pieces: int) -> list[list[T]]:
    """``items`` cut into at most ``pieces`` runs of consecutive items (in order)."""
    pieces = max(1, min(pieces, len(items)))
    bounds = np.linspace(0, len(items), pieces + 1).round().astype(int).tolist()
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
