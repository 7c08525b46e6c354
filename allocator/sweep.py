"""Step 8c: ``allocator sweep``: many scenarios of one instance on local processes or a Dask cluster.

Every scenario solved is saved at once in ``DIR/.sweep/`` under a fingerprint
of what it solved (the input files' SHA-256, the model, the axis values, the
draw and the tool's version), by the worker that solved it where it can
(:class:`_Store`), so a sweep that is stopped, killed or rerun with more
values solves only the scenarios not yet in the folder. When all are solved,
scenarios.csv, scenarios.parquet, cells.parquet and sweep.md are made from
the saved scenarios, in scenario order, and moved in together.

Executors (all speak ``concurrent.futures``; the task is
:func:`stored_scenarios_task`, a batch of scenarios):

- ``--jobs 1``: in this process; ``--jobs N``: this process and N - 1
  spawned ones, each given the instance and models once by its initializer;
- ``--scheduler local``: a Dask ``LocalCluster`` of ``--jobs`` single-thread
  worker processes; ``--scheduler tcp://HOST:PORT``: an existing cluster.
  The context is scattered to every worker once; tasks carry the change.

A task that raises is tried again once, then reported (status ``error``,
never saved, so a rerun tries it again). A worker that dies takes no
scenario with it: a broken process pool is replaced and its unfinished
scenarios submitted again; Dask's scheduler reruns a dead worker's tasks on
another worker.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator import __version__
from allocator.errors import InputError, Location, SolverError
from allocator.io.horizon_checks import horizon_warnings
from allocator.io.loading import column_warnings, load_model
from allocator.io.sweep import SweepSpec, check_axes, load_sweep_instance
from allocator.reports.sweep import (Change, ScenarioResult, SweepContext, check_models, install, parent_areas,
                                     scenarios_task)
from allocator.reports.workers import InlineExecutor
from allocator.writers.output import Publication
from allocator.writers.sweep import (cells_part_writer, scenarios_csv, scenarios_frame, scenarios_parquet, sweep_json,
                                     sweep_markdown)

#: The folder inside DIR that holds one file per solved scenario (the resume store).
STORE = ".sweep"
#: Tries of a scenario whose task raised (a solver error, or a Dask worker lost too often).
TRIES = 2
#: Times a broken process pool (a worker killed) is replaced before the sweep gives up.
POOL_RESTARTS = 5
#: Most scenarios in one task (about 1 s of municipal scenarios; batches shrink towards the end).
#: 64 rather than 16: 600 municipal scenarios in 23 Dask tasks instead of 46 took this process (client and
#: LocalCluster scheduler) 0.45-0.52 s of CPU instead of 0.55-0.80 s (two runs each, load 1.2-1.4).
BATCH = 64
#: Scenarios this process solves at a time while the pool's processes start, so that it hands them their first
#: batches soon after they are up (a municipal scenario takes about 20 ms).
STARTING_BATCH = 4
#: The name of the file in DIR/.sweep by which a worker knows it sees the store (:class:`_Store`).
_MARKER = ".reachable-"
#: Dask settings for the workers of ``--scheduler local`` (docs/sweeps.md recommends them for a cluster
#: started for sweeps): no statistical profiler sampling the solving thread every 10 ms, and glibc's own
#: malloc thresholds. Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers' environment; any
#: explicit threshold turns off glibc's dynamic mmap threshold, so every array above 128 KiB is a fresh
#: mmap to fault in: 600 municipal scenarios took 154,000-166,000 minor page faults per Dask worker
#: against 13,000 in one ``--jobs 1`` process (benchmarks/sweep_results.md, 2026-12-01).
#: The cluster's own clocks are slowed too, since its processes share the cores with the two solving ones: the
#: event loops' tick (20 ms by default), the memory and system monitors (100 ms, 500 ms; the workers have a
#: fixed memory need, one scenario at a time), and work stealing (the batches are already balanced by
#: :func:`batches_of`, and the scheduler queues them for whichever worker is free).
LEAN_WORKERS: dict[str, Any] = {"distributed.worker.profile.enabled": False,
                                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                                "distributed.admin.tick.interval": "1s",
                                "distributed.worker.memory.monitor-interval": "1s",
                                "distributed.admin.system-monitor.interval": "2s",
                                "distributed.scheduler.work-stealing": False,
                                "distributed.scheduler.active-memory-manager.start": False}
#: Set in this process's environment by every Dask nanny that started a worker here (the nanny writes
#: its pre-spawn settings into ``os.environ``, where they then override Dask's config for later nannies).
_NANNY_MALLOC = "MALLOC_TRIM_THRESHOLD_"
#: Seconds to wait for a Dask scheduler to answer.
CONNECT_SECONDS = 15


@dataclass
class SweepOutcome:
    """What one run did: scenarios in the sweep, solved by this run, taken from DIR, and failed."""

    scenarios: int
    solved: int
    reused: int
    failed: dict[int, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def changes_of(spec: SweepSpec) -> list[Change]:
    """Every scenario of the spec, numbered from 1: models, then combinations, then draws."""
    changes = []
    for m in range(len(spec.models)):
        for values in spec.combinations():
            for draw in spec.draw_numbers():
                changes.append(Change(len(changes) + 1, m, tuple(values), draw))
    return changes


def fingerprint(inputs: dict[str, str], context: SweepContext, change: Change) -> str:
    """What a scenario solves, as a SHA-256: equal fingerprints, equal results (any executor, any run)."""
    draws = context.draws
    described = {
        "tool": __version__,
        "instance": sorted(inputs.values()),
        "model": context.models[change.model].model_dump(mode="json"),
        "axes": [[axis.field, value] for axis, value in zip(context.axes, change.values)],
        "draw": [change.draw, draws.noise, draws.seed] if change.draw and draws is not None else 0,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode("utf-8")).hexdigest()


# --- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Store:
    """Where a task saves its scenarios itself: DIR/.sweep, when the worker sees it (a marker file proves it).

    A local process, or a Dask worker on this machine or on a shared file system, saves each scenario
    it solves and returns only its number, so the process that runs the sweep neither receives, nor
    writes, nor later converts the plans (on two cores its work is taken from the workers). A worker
    that does not see the marker (a Dask worker on another machine) returns the whole result instead,
    and this process saves it with the same function: the store is the same either way.
    """

    path: str
    marker: str

    def reachable(self) -> bool:
        """Whether this worker sees this run's store (asked once per process and run)."""
        seen = _REACHABLE.get(self.marker)
        if seen is None:
            seen = _REACHABLE[self.marker] = os.path.exists(os.path.join(self.path, self.marker))
        return seen


_REACHABLE: dict[str, bool] = {}
#: The contexts installed in this worker process by the pool's initializer, by token.
_CONTEXTS: dict[str, SweepContext] = {}


def _install(context: SweepContext) -> None:
    """Process-pool initializer: the task's context (:func:`install`), kept here too for saving plans."""
    install(context)
    _CONTEXTS.clear()
    _CONTEXTS[context.token] = context


def stored_scenarios_task(argument: SweepContext | str, batch: list[tuple[Change, str]],
                          store: _Store | None) -> list[ScenarioResult | str | int]:
    """:func:`scenarios_task`, each solved scenario saved in ``store`` by the worker when it can.

    Returns, per scenario: its number (saved here), its result (for the caller to save), or the
    message of the exception it raised.
    """
    results = scenarios_task(argument, [change for change, _ in batch])
    context = argument if isinstance(argument, SweepContext) else _CONTEXTS.get(argument)
    if store is None or context is None or not store.reachable():
        return list(results)
    out: list[ScenarioResult | str | int] = []
    for (_, key), result in zip(batch, results):
        if isinstance(result, str):
            out.append(result)
            continue
        try:
            _save(Path(store.path), key, result, context)
        except OSError as exc:  # a full or vanished disk: retried, then reported like any failure
            out.append(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            continue
        out.append(result.scenario)
    return out


def _save(store: Path, key: str, result: ScenarioResult, context: SweepContext) -> None:
    """One solved scenario: its cells as the part file cells.parquet will hold, then its row.

    Each file is written under a temporary name and renamed, the row last, so a row in the store
    means its plan is there too, and a kill leaves a scenario whole or absent. Not synced to disk
    (an fsync per scenario cost 5 ms, 13 % of a municipal scenario): after a power loss a file may
    be empty or torn; :func:`_load` then finds the row unreadable or the plan empty, and the
    scenario is solved again (a plan torn but not empty would be copied as it is).
    """
    if result.units is not None:
        temporary = store / f".{key}.{uuid.uuid4().hex}.tmp"
        _part_writer(context)(result.units, temporary)
        os.replace(temporary, store / f"{key}.parquet")
    temporary = store / f".{key}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(json.dumps({"row": result.row, "plan": result.units is not None}, sort_keys=True),
                         encoding="utf-8")
    os.replace(temporary, store / f"{key}.json")


_WRITERS: dict[str, Callable[[Any, Path], None]] = {}


def _part_writer(context: SweepContext) -> Callable[[Any, Path], None]:
    """This sweep's writer of cells.parquet parts, made once per process (its columns cost 0.2 ms to make)."""
    writer = _WRITERS.get(context.token)
    if writer is None:
        _WRITERS.clear()
        years = context.horizon.plan_calendar_years if context.horizon is not None else None
        writer = _WRITERS[context.token] = cells_part_writer(context.instance.cells, float(context.instance.unit),
                                                             years)
    return writer


def _load(store: Path, key: str) -> tuple[dict[str, Any], bool] | None:
    """A saved scenario's row, and whether it has a plan; None when not there or unreadable (solved again)."""
    try:
        saved = json.loads((store / f"{key}.json").read_text(encoding="utf-8"))
        row, plan = saved["row"], bool(saved["plan"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(row, dict):
        return None
    if plan:
        try:
            if (store / f"{key}.parquet").stat().st_size == 0:  # what a power loss most often leaves
                return None
        except OSError:
            return None
    return row, plan


@contextlib.contextmanager
def _locked_store(out: Path, force: bool) -> Iterator[Path]:
    """DIR/.sweep, created and locked for this run (a second sweep into DIR is refused, not mixed in)."""
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", where=Location(out), fix="name a folder for --out")
    store = out / STORE
    created = not out.exists()
    if out.exists() and not store.is_dir() and not force and any(out.iterdir()):
        raise InputError("the output folder already holds files that no sweep wrote", where=Location(out),
                         fix="choose an empty or new folder, or add --force (files you put there yourself stay)")
    try:
        store.mkdir(parents=True, exist_ok=True)
        handle = os.open(store, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise InputError(f"cannot write there ({exc.strerror})", where=Location(out),
                         fix="choose a folder you can write to") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another sweep is writing into this folder", where=Location(out),
                             fix="wait for it to finish, or choose another folder") from None
        for stale in [*store.glob(".*.tmp"), *store.glob("*.tmp"), *store.glob(f"{_MARKER}*")]:  # of a killed run
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        yield store
    except BaseException:
        # A run that saved nothing (say, the scheduler did not answer) leaves no folder behind.
        if not any(store.glob("*.json")):
            shutil.rmtree(store, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()
        raise
    finally:
        os.close(handle)


# --- executors ------------------------------------------------------------------------------------


class _Runner:
    """One executor and how to reach the context from a task; replaced when a process pool breaks."""

    def __init__(self, jobs: int, scheduler: str | None, context: SweepContext) -> None:
        self.jobs, self.scheduler, self.context = jobs, scheduler, context
        self.client: Any = None
        self.cluster: Any = None
        self.executor: Executor
        self.argument: Any
        #: Whether this process solves batches too (a local pool of jobs - 1 processes), and then how many
        #: batches the pool may hold at once (the rest wait here, for whichever process is free first).
        self.main_works = False
        self.ahead: int | None = None
        #: Starts the pool's processes in the background (None: nothing to wait for).
        self.starter: threading.Thread | None = None
        if scheduler is None:
            self._local_pool()
        else:
            self._dask()

    def _local_pool(self) -> None:
        if self.jobs <= 1:
            # One batch at a time, so that progress is reported as the batches finish.
            self.executor, self.argument, self.ahead = InlineExecutor(), self.context, 1
        else:
            # This process is one of the N: it has nothing else to do once workers save their own
            # scenarios, and it solves from the first moment, while the others are still starting
            # (a spawned interpreter importing numpy, polars and OR-Tools takes about 0.7-1 s).
            # spawn: polars is not fork-safe (see allocator.reports.workers).
            pool = ProcessPoolExecutor(max_workers=self.jobs - 1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_install, initargs=(self.context,))
            self.executor = pool
            self.argument = self.context.token
            self.main_works, self.ahead = True, 2 * (self.jobs - 1)
            # Starting a process sends it the context through a pipe, and the pipe takes the context only as
            # fast as the new interpreter imports what unpickling it needs (0.9 s, measured on municipal):
            # a start in this thread kept it from solving all that time. Submitting starts one process each.
            self.starter = threading.Thread(target=_start_processes, args=(pool, self.jobs - 1),
                                            name="sweep-pool-start", daemon=True)
            self.starter.start()

    def _started(self) -> None:
        # A pool shut down while a process is still being started would leave that start half-done.
        if self.starter is not None:
            self.starter.join()

    def ready(self) -> bool:
        """Whether batches may be submitted: the pool's processes are started (until then this process solves)."""
        return self.starter is None or not self.starter.is_alive()

    def _dask(self) -> None:
        from distributed import Client

        where = Location(None, None, "--scheduler")
        if self.scheduler == "local":
            self.cluster = local_cluster(max(1, self.jobs), silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot reach the Dask scheduler at '{self.scheduler}' ({type(exc).__name__})",
                                 where=where, fix="start it with 'dask scheduler', and give its address as "
                                 "tcp://HOST:8786") from None
            _check_workers(self.client, where)
        self.argument = self.client.scatter(self.context, broadcast=True, hash=False)
        self.executor = self.client.get_executor(pure=False)

    def renew(self) -> None:
        """A fresh process pool after a worker died (its futures are lost with it)."""
        self._started()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._local_pool()

    def close(self, wait: bool = True) -> None:
        """Stop the executor, and the Dask client and local cluster if this run started them."""
        self._started()
        if self.client is None:
            self.executor.shutdown(wait=wait, cancel_futures=not wait)
        else:
            self.executor.shutdown(wait=wait)  # Dask's executor cancels its futures itself when not waiting
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _start_processes(pool: ProcessPoolExecutor, count: int) -> None:
    """Start the ``count`` processes of ``pool`` (each submit of a trivial task starts one)."""
    with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile (an interrupted run)
        for _ in range(count):
            pool.submit(os.getpid)


def local_cluster(workers: int, **options: Any) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` single-thread processes with :data:`LEAN_WORKERS`.

    Parameters
    ----------
    workers : int
        Worker processes (each with a nanny in this process).
    **options
        Further ``LocalCluster`` keywords (``silence_logs``).

    Returns
    -------
    distributed.LocalCluster
        The running cluster; the caller closes it.
    """
    import dask
    from distributed import LocalCluster

    # A nanny copies its pre-spawn settings into os.environ, which later nannies prefer over the config, so
    # a cluster started earlier in this process would hand its MALLOC_TRIM_THRESHOLD_ on. Only Dask's own
    # value is left out (a user's other value is kept), and only while the nannies start: a worker a nanny
    # restarts later inherits this process's environment again.
    inherited = os.environ.get(_NANNY_MALLOC)
    drop = inherited == "65536"
    if drop:
        del os.environ[_NANNY_MALLOC]
    try:
        with dask.config.set(LEAN_WORKERS):
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                **options)
    finally:
        if drop:
            os.environ[_NANNY_MALLOC] = inherited  # type: ignore[assignment]


def worker_versions() -> dict[str, str]:
    """The versions a Dask worker must share with the client (run on each worker)."""
    import dask
    import distributed
    import numpy
    import ortools

    import allocator

    return {"allocator": allocator.__version__, "dask": dask.__version__, "distributed": distributed.__version__,
            "numpy": numpy.__version__, "ortools": ortools.__version__}


def _check_workers(client: Any, where: Location) -> None:
    mine = worker_versions()
    try:
        theirs = client.run(worker_versions)
    except Exception as exc:  # noqa: BLE001 - a worker without allocator fails to unpickle the function
        raise InputError(f"the Dask workers cannot run the sweep ({type(exc).__name__}: {exc})", where=where,
                         fix="install this allocator (and the locked dask, distributed) on every worker") from None
    if not theirs:
        raise InputError("the Dask scheduler has no workers", where=where,
                         fix="start workers with 'dask worker tcp://HOST:8786'")
    for worker, versions in sorted(theirs.items()):
        wrong = [f"{name} {versions.get(name)} (here {version})" for name, version in mine.items()
                 if versions.get(name) != version]
        if wrong:
            raise InputError(f"the worker {worker} has other versions: {', '.join(wrong)}", where=where,
                             fix="install requirements.lock and this allocator on every worker")


# --- the run --------------------------------------------------------------------------------------


def run_sweep(spec: SweepSpec, out: Path, *, jobs: int = 1, scheduler: str | None = None, force: bool = False,
              progress: Callable[[int, int], None] | None = None,
              warn: Callable[[str], None] | None = None) -> SweepOutcome:
    """Solve every scenario of ``spec`` not yet saved in ``out``, then write the sweep's files there.

    Parameters
    ----------
    jobs
        Processes solving scenarios: this one and ``jobs - 1`` spawned ones; or the workers of ``scheduler='local'``.
    scheduler
        None (local processes), ``local`` (a Dask LocalCluster) or a Dask scheduler's address.
    progress
        Called with (scenarios done, scenarios to solve) as each one finishes.
    warn
        Called with each warning about the base instance (columns no model uses; a multi-year instance's
        start years taken as 0, an outlook no plan post reaches, a growth that looks like a percentage),
        once, before any scenario is solved: the same warnings ``solve`` prints.

    Raises
    ------
    InputError
        Bad spec, instance, model or axis value; an unreachable scheduler.
    SolverError
        When scenarios failed twice (after the files are written; rerun to retry them).
    """
    instance, horizon, hashes = load_sweep_instance(spec)  # horizon: the multi-year instance, or None
    models = [load_model(path) for path in spec.models]
    names = [m.value.name for m in models]
    if len(set(names)) < len(names):
        raise InputError(f"two models are named '{sorted(n for n in names if names.count(n) > 1)[0]}'",
                         where=Location(spec.path, None, "models"), fix="give each model its own name")
    check_axes(spec, instance, [m.value for m in models], horizon)
    check_models(instance, [m.value for m in models])
    if warn is not None:
        warnings = column_warnings(instance, [m.value for m in models])
        warnings += horizon_warnings(horizon, spec.instance) if horizon is not None else []
        for warning in warnings:
            warn(warning)
    context = SweepContext(instance, tuple(m.value for m in models), spec.axes, spec.draws, horizon=horizon,
                           time_limit=spec.time_limit, accept_gap=spec.accept_gap)
    inputs = hashes
    changes = changes_of(spec)
    keys = {change.scenario: fingerprint(inputs, context, change) for change in changes}
    with _locked_store(out, force) as store:
        saved: dict[int, tuple[dict[str, Any], bool]] = {}
        todo = []
        for change in changes:
            found = _load(store, keys[change.scenario])
            if found is None:
                todo.append(change)
            else:
                saved[change.scenario] = found
        reused = len(saved)
        failed = _solve(todo, jobs, scheduler, context, store, keys, progress) if todo else {}
        outcome = SweepOutcome(len(changes), len(todo) - len(failed), reused, failed)
        outcome.files = _publish(spec, out, store, instance, names, changes, keys, failed, horizon)
    if failed:
        shown = ", ".join(f"{n} ({message})" for n, message in sorted(failed.items())[:3])
        raise SolverError(f"{len(failed)} of {len(changes)} scenarios failed twice: {shown}; the others are written. "
                          "Rerun the same command to try the failed ones again")
    return outcome


def _solve(todo: list[Change], jobs: int, scheduler: str | None, context: SweepContext, store: Path,
           keys: dict[int, str], progress: Callable[[int, int], None] | None) -> dict[int, str]:
    pending = {change.scenario: change for change in todo}
    tries: dict[int, int] = {}
    failed: dict[int, str] = {}
    restarts = 0
    done = 0
    marker = f"{_MARKER}{uuid.uuid4().hex}"
    where = _Store(str(store.resolve()), marker)
    runner = _Runner(jobs, scheduler, context)

    def take(batch: list[Change], results: list[ScenarioResult | str | int]) -> None:
        nonlocal done
        for change, result in zip(batch, results):
            if isinstance(result, str):  # the scenario raised: retried, then reported
                tries[change.scenario] = tries.get(change.scenario, 0) + 1
                if tries[change.scenario] >= TRIES:
                    failed[change.scenario] = result
                    del pending[change.scenario]
                continue
            if isinstance(result, ScenarioResult):  # a worker that does not see the store
                _save(store, keys[change.scenario], result, context)
            del pending[change.scenario]
            done += 1
            if progress is not None:
                progress(done, len(todo))

    def task(batch: list[Change]) -> list[tuple[Change, str]]:
        return [(change, keys[change.scenario]) for change in batch]

    try:
        (store / marker).touch()
        while pending:
            queue = collections.deque(batches_of(list(pending.values()), max(1, jobs)))
            running: dict[Future[Any], list[Change]] = {}
            broken = False
            while queue or running:
                while queue and not broken and runner.ready() and (runner.ahead is None or len(running) < runner.ahead):
                    batch = queue.popleft()
                    try:
                        future = runner.executor.submit(stored_scenarios_task, runner.argument, task(batch), where)
                    except BrokenProcessPool:  # a worker died while nothing of this run was on it
                        queue.appendleft(batch)
                        broken = True
                        break
                    running[future] = batch
                if runner.main_works and queue and not broken:
                    batch = queue.popleft()
                    if not runner.ready() and len(batch) > STARTING_BATCH:  # look again soon
                        queue.appendleft(batch[STARTING_BATCH:])
                        batch = batch[:STARTING_BATCH]
                    take(batch, stored_scenarios_task(context, task(batch), where))
                    finished = [future for future in running if future.done()]
                elif running:
                    finished = list(wait(running, return_when=FIRST_COMPLETED).done)
                else:
                    break  # the pool broke: what is left is submitted to a new one below
                for future in finished:
                    batch = running.pop(future)
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        broken = True  # a worker died: everything it and its pool held is submitted again
                        continue
                    except Exception as exc:  # noqa: BLE001 - a lost batch (e.g. a Dask worker lost too often)
                        results = [f"{type(exc).__name__}: {exc}".splitlines()[0][:300]] * len(batch)
                    take(batch, results)
            if broken and pending:
                restarts += 1
                if restarts > POOL_RESTARTS:
                    raise SolverError(f"worker processes died {restarts} times; {len(pending)} scenarios are not "
                                      "solved (the others are saved). Rerun to finish")
                runner.renew()
    except BaseException:
        runner.close(wait=False)
        raise
    finally:
        (store / marker).unlink(missing_ok=True)
    runner.close()
    return failed


def batches_of(changes: list[Change], workers: int) -> list[list[Change]]:
    """``changes`` cut into batches, in order: up to :data:`BATCH` scenarios, fewer towards the end.

    Several scenarios per task spare a round trip each (a municipal scenario takes about 16 ms);
    each batch holds at most half a worker's share of what is left (guided self-scheduling), so the
    last batches are small and no worker finishes long after the others.
    """
    batches = []
    start = 0
    while start < len(changes):
        size = max(1, min(BATCH, -(-(len(changes) - start) // (workers * 2))))
        batches.append(changes[start:start + size])
        start += size
    return batches


def _publish(spec: SweepSpec, out: Path, store: Path, instance: Any, names: list[str], changes: list[Change],
             keys: dict[int, str], failed: dict[int, str], horizon: Any = None) -> list[Path]:
    """Write the sweep's files from the saved scenarios; scenarios.* and sweep.md move in together."""
    parents = parent_areas(instance)
    rows = []
    staging = store / f"cells-{uuid.uuid4().hex}.tmp"
    plans: list[int] = []
    for change in changes:
        row: dict[str, Any] = {"scenario": change.scenario, "draw": change.draw}
        row.update({axis.field: value for axis, value in zip(spec.axes, change.values)})
        if change.scenario in failed:
            row.update(model=names[change.model], status="error", error=failed[change.scenario])
        else:
            found = _load(store, keys[change.scenario])
            assert found is not None, "a scenario solved by this run is saved"
            saved_row, has_plan = found
            row.update(saved_row)
            if has_plan:
                plans.append(change.scenario)
        rows.append(row)
    frame = scenarios_frame(spec, parents, rows, horizon)
    try:
        # Each part was written by the task that solved it (:func:`_save`); a copy, not a link, so that
        # editing the published file cannot change the store.
        staging.mkdir()
        for scenario in plans:
            part = staging / f"scenario={scenario}"
            part.mkdir()
            shutil.copyfile(store / f"{keys[scenario]}.parquet", part / "part-0.parquet")
        with Publication(out, force=True, replace_run=True) as target:
            target.stage("scenarios.csv", scenarios_csv(frame))
            target.stage("scenarios.parquet", scenarios_parquet(frame))
            target.stage("sweep.md", sweep_markdown(spec, parents, rows, instance.name, horizon))
            target.stage("sweep.json", sweep_json(spec, parents, rows, instance.name, horizon))
            old = store / f"old-{uuid.uuid4().hex}.tmp"
            cells = out / "cells.parquet"
            if cells.is_dir():
                os.replace(cells, old)
            os.replace(staging, cells)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    wanted = {f"{key}.{kind}" for key in keys.values() for kind in ("json", "parquet")}
    # Scenarios of an earlier spec that this sweep no longer has (and the .npz store of earlier versions).
    for entry in [*store.glob("*.json"), *store.glob("*.parquet"), *store.glob("*.npz")]:
        if entry.name not in wanted:
            entry.unlink(missing_ok=True)
    return [out / name for name in ("scenarios.csv", "scenarios.parquet", "cells.parquet", "sweep.md", "sweep.json")]

