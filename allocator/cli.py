"""The command line: a thin layer over the library.

Exit codes: 0 ok, 2 bad input, 3 infeasible, 4 solver failure or time limit.
Every error prints one line saying what to fix, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import click

from allocator.errors import EXIT_SOLVER, AllocatorError, InfeasibleError, InputError, Location, printable
from allocator.io.loading import Loaded, column_warnings, load_instance, load_model
from allocator.io.schemas import DEFAULT_MODEL, Instance, Model
from allocator.results.plan import Plan
from allocator.writers.diagnosis import write_diagnosis
from allocator.writers.output import check_output_dir, prepare_output_dir, publishing
from allocator.writers.plan import XLSX_AUTO_ROWS, plan_json, write_plan
from allocator.writers.sensitivity import sensitivity_json, write_sensitivity
from allocator.writers.text import format_number


def _say(text: str, err: bool = False) -> None:
    """Print a line; names from other people's files may hold escape codes, so controls are shown escaped."""
    click.echo(printable(text), err=err)


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line messages and documented exit codes."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InfeasibleError as exc:
            _say(f"infeasible: {exc}", err=True)
            sys.exit(exc.exit_code)
        except AllocatorError as exc:
            _say(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            name = getattr(exc, "signal_name", None)
            by = f" by {name}" if name else ""
            if getattr(exc, "files_written", False):
                _say(f"interrupted{by} just after the files were written: they are complete.", err=True)
            elif command.__name__ == "sweep":  # each scenario is saved as it is solved (allocator.sweep)
                _say(f"interrupted{by}: the scenarios solved so far are kept in the --out folder. Run the same "
                     "command again to solve only the rest.", err=True)
            else:
                _say(f"interrupted{by}: no plan was written. Run the command again to finish.", err=True)
            sys.exit(EXIT_SOLVER)
        except BrokenPipeError:
            # The reader of our output went away (`allocator solve … | head`): not a bug. Send the
            # rest of stdout nowhere, as Python's docs advise, so that flushing at exit cannot
            # fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
            if os.environ.get("ALLOCATOR_DEBUG"):
                raise
            _say(f"internal error ({type(exc).__name__}: {exc}). This is a bug in allocator; "
                 "rerun with ALLOCATOR_DEBUG=1 for the traceback and report it.", err=True)
            sys.exit(1)

    return wrapper


def _warn(instance: Instance, models: list[Any]) -> list[str]:
    """Print the warnings about the instance's columns (even with --quiet) and return them."""
    warnings = column_warnings(instance, models)
    for warning in warnings:
        _say(f"warning: {warning}", err=True)
    return warnings


def _warn_horizon(horizon: Any, path: Path, models: list[Any]) -> list[str]:
    """_warn, then the multi-year instance's own warnings (allocator.io.horizon_checks), the same way."""
    from allocator.io.horizon_checks import horizon_warnings

    warnings = _warn(horizon.instance, models)
    for warning in horizon_warnings(horizon, path):
        _say(f"warning: {warning}", err=True)
        warnings.append(warning)
    return warnings


def _write_diagnosis(out: Path, force: bool, name: str, exc: InfeasibleError) -> None:
    """Write diagnosis.json and diagnosis.md for an infeasible run (the error itself is raised by the caller)."""
    if exc.diagnosis is not None:
        with publishing(out, force) as target:
            written = write_diagnosis(target, name, exc.diagnosis)
        _say("Wrote " + ", ".join(str(path) for path in written), err=True)


def _load_model(path: Path | None) -> Loaded:
    return load_model(path) if path is not None else Loaded(DEFAULT_MODEL, {})


def _echo_plan(instance: Instance, plan: Plan, language: str = "en", limit: int = 40) -> None:
    from allocator.writers.language import MemoNumbers, Numbers, translations

    _ = translations(language).gettext
    # English keeps the notation the console always had; Danish uses Danish numbers (924,5).
    number = format_number if language == "en" else Numbers(language).posts
    decimals = (lambda value: f"{value:.2f}") if language == "en" else (lambda value: Numbers(language).decimal(value, 2))
    _say(_("Plan for %(instance)s under model '%(model)s' (objective %(objective)s, solver %(solver)s, verified)")
         % {"instance": plan.instance, "model": plan.model, "objective": MemoNumbers(language).figure(plan.objective),
            "solver": plan.metadata.get("solver")})
    table = plan.table
    width = max((len(table.leaf_names[code]) for code in set(table.leaf.tolist())), default=0)
    area, specialty, posts, target, last, binding = (_("area"), _("specialty"), _("posts"), _("target"),
                                                     _("last yr"), _("binding"))
    _say(f"  {area:<{width}}    {specialty:<16} {posts:>7} {target:>9} {last:>7}  {binding}")
    for row in plan.rows[:limit]:
        flag = "⚑" if row.underserved else " "
        _say(f"  {row.area_name:<{width}} {flag}  {row.specialty:<16} {number(row.posts):>7} "
                   f"{decimals(row.target):>9} {number(row.previous) if row.previous is not None else '':>7}  "
                   f"{', '.join(row.binding)}")
    _say("  " + _("⚑ = designated under-served"))
    if len(plan.rows) > limit:
        _say("  " + _("… %(count)s more rows in plan.csv") % {"count": len(plan.rows) - limit})


def _console(language: str) -> Callable[[str], str]:
    """The catalogue's gettext for the console messages of ``solve``."""
    from allocator.writers.language import translations

    return translations(language).gettext


def _report_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--report`` and ``--lang``, shared by solve, sensitivity and compare."""
    command = click.option("--lang", type=click.Choice(["da", "en"]), default=None,
                           help="Language of the report (default: the instance's 'language:', else English); "
                                "for solve, also of its console messages (default English).")(command)
    return click.option("--report", "with_report", is_flag=True,
                        help="Also write report.html and report.pdf (see 'allocator report').")(command)


def _write_report(target: Any, instance: Instance, lang: str | None, plans: Sequence[Any] = (),
                  sensitivities: Sequence[Any] = (), comparisons: Sequence[Any] = (),
                  sweeps: Sequence[Any] = ()) -> list[Path]:
    """report.html and report.pdf from the runs' JSON documents, in ``lang``, else the instance's language."""
    from allocator.io.geometry import read_geometry
    from allocator.reports.document import build_document
    from allocator.writers.report import write_report

    document = build_document(instance, plans, sensitivities, comparisons, sweeps)
    shapes = read_geometry(instance) if instance.geometry is not None else None
    return write_report(target, document, lang or instance.language or "en", shapes)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="allocator")
def main() -> None:
    """Allocate specialist training posts with an exact, verified integer program.

    Exit codes: 0 ok, 2 bad input, 3 infeasible, 4 solver failure or time limit.
    """


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Policy model file (YAML/JSON). Default: posts follow population.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the plan files.")
@click.option("--solver", default="auto", show_default=True, help="Backend: auto, cbc, highs, cpsat or flow (multi-year: auto, highs, scip or cbc).")
@click.option("--time-limit", type=float, default=None, help="Seconds the solver may use.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@click.option("--xlsx/--no-xlsx", default=None,
              help=f"Write plan.xlsx. Default: only when the plan has at most {XLSX_AUTO_ROWS:,} rows "
                   "(a workbook that size takes longer to write than to solve).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the plan.")
@click.option("--sensitivity", "with_sensitivity", is_flag=True,
              help="Also write sensitivity.json and sensitivity.md (see 'allocator sensitivity').")
@click.option("--accept-gap", type=click.FloatRange(min=0), default=None,
              help="Multi-year instances: write the best plan once its certified relative gap is at most this.")
@_report_options
@_guarded
def solve(instance: Path, model_path: Path | None, out: Path, solver: str, time_limit: float | None,
          force: bool, xlsx: bool | None, quiet: bool, with_sensitivity: bool, accept_gap: float | None,
          with_report: bool, lang: str | None) -> None:
    """Solve INSTANCE under a model and write plan.csv, plan.xlsx, plan.json and summary.md.

    A multi-year INSTANCE (one with a 'horizon') is solved as one MILP and also gets projection.csv.
    """
    from allocator.results.solve import solve as solve_plan

    if _is_horizon(instance):
        _solve_horizon(instance, model_path, out, solver, time_limit, force, xlsx, quiet, accept_gap,
                       with_report=with_report, lang=lang, with_sensitivity=with_sensitivity,
                       progress=False if quiet else None)
        return
    if accept_gap is not None:
        raise InputError("--accept-gap is for multi-year instances; a one-year plan is always proven optimal",
                         where=Location(None, None, "--accept-gap"), fix="drop --accept-gap")
    loaded = load_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)  # fail before solving; create nothing until the plan is verified
    warnings = _warn(loaded.value, [model.value])
    try:
        plan = solve_plan(loaded.value, model.value, solver=solver, time_limit=time_limit,
                          inputs={**loaded.hashes, **model.hashes})
    except InfeasibleError as exc:
        _write_diagnosis(out, force, loaded.value.name, exc)
        raise
    plan.metadata["model_description"] = model.value.description
    plan.metadata["instance_file"] = str(instance)  # where `allocator report` finds the area tree and map
    if warnings:
        plan.metadata["warnings"] = warnings
    write_xlsx = xlsx if xlsx is not None else len(plan.rows) <= XLSX_AUTO_ROWS
    report = _sensitivity_report(loaded.value, model.value, plan, 5, quiet, instance_path=instance) \
        if with_sensitivity else None
    with publishing(out, force) as target:
        # summary.md is the council's memo: in the report's language (--lang, else the instance's), not the console's
        written = write_plan(loaded.value, plan, target, xlsx=write_xlsx, language=lang or loaded.value.language or "en")
        if report is not None:
            written += write_sensitivity(target, report, float(loaded.value.unit), loaded.value,
                                         language=lang or loaded.value.language or "en")
        if with_report:
            written += _write_report(target, loaded.value, lang, plans=[json.loads(plan_json(plan))],
                                     sensitivities=[json.loads(sensitivity_json(report))] if report else [])
    console = lang or "en"
    _ = _console(console)
    if not quiet:
        _echo_plan(loaded.value, plan, console)
    _say(_("Wrote %(files)s") % {"files": ", ".join(str(path) for path in written)})
    if xlsx is None and not write_xlsx:
        _say(_("Skipped plan.xlsx: the plan has %(rows)s rows; add --xlsx to write it.") % {"rows": f"{len(plan.rows):,}"})


def _sensitivity_report(instance: Instance, model: Any, plan: Plan, k: int, quiet: bool, draws: int = 200,
                        noise: float = 0.05, seed: int = 0, jobs: int | None = None,
                        instance_path: Path | None = None, progress: bool | None = None) -> Any:
    """Run the sensitivity report on ``jobs`` worker processes, with a progress bar where it helps.

    The bar goes to stderr when stderr is a terminal (or ``progress`` is True) and not ``quiet``.
    """
    from allocator.reports.sensitivity import sensitivity as analyse
    from allocator.reports.workers import Context, default_jobs, executor_for, stop_workers

    jobs = jobs or default_jobs(len(instance.cells))
    # Workers load the instance from its file: faster than unpickling a large one (docs/dependencies.md).
    context = Context(model, path=str(instance_path.resolve())) if instance_path is not None else \
        Context(model, instance=instance)
    show_bar = not quiet and (progress if progress is not None else sys.stderr.isatty())

    def say(step: str) -> None:
        if not quiet and not show_bar:
            _say(f"sensitivity: {step} …", err=True)

    executor = executor_for(jobs, context)
    try:
        if not show_bar:
            report = analyse(instance, model, plan, k=k, draws=draws, noise=noise, seed=seed, progress=say,
                             executor=executor, context=context, jobs=jobs)
        else:
            with ProgressBar("sensitivity", draws) as bar:
                report = analyse(instance, model, plan, k=k, draws=draws, noise=noise, seed=seed,
                                 progress=bar.step, on_draw=bar.draw, executor=executor, context=context, jobs=jobs,
                                 on_task=bar.task)
    except BaseException:
        # Ctrl-C, SIGTERM or an error: wait neither for the queued tasks nor for the running ones.
        stop_workers(executor)
        raise
    executor.shutdown()
    return report


class ProgressBar:
    """One bar on stderr for the whole report: sections finished and draws made, with the time left (click)."""

    def __init__(self, label: str, draws: int) -> None:
        self.label = label
        self._bar: Any = None
        self._section = ""
        self._draws = draws

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def _start(self, length: int, section: str) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._section = section
        self._bar = click.progressbar(length=length, label=f"{self.label}: {section}", file=sys.stderr,
                                      show_eta=True, show_pos=True)
        self._bar.__enter__()

    def step(self, section: str) -> None:
        """A new section begins (its bar starts when its first piece is done)."""
        self._section = section

    def task(self, section: str, done: int, total: int) -> None:
        """A piece of ``section`` is done."""
        if self._bar is None or self._section != section or getattr(self._bar, "length", None) != total:
            self._start(total, section)
        self._bar.update(1)

    def draw(self) -> None:
        """One Monte Carlo draw is done."""
        if self._section != "robustness" or self._bar is None:
            self._start(self._draws or 1, "robustness")
            self._section = "robustness"
        self._bar.update(1)


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Policy model file (YAML/JSON). Default: posts follow population.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the report.")
@click.option("--k", "k", type=click.IntRange(min=1, max=50), default=5, show_default=True,
              help="Total ranging: plans at each total from T-k to T+k units.")
@click.option("--draws", type=click.IntRange(min=0), default=200, show_default=True,
              help="Monte Carlo draws over the need figures (0: skip).")
@click.option("--noise", type=click.FloatRange(min=0, max=1), default=0.05, show_default=True,
              help="Relative noise on each population and indicator.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Monte Carlo draws.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes for the draws, weight ranges, total ranging and rules (default: the cores; 1 "
                   "under 10,000 cells); of a multi-year instance, for its variants (default: the cores; 1 up to "
                   "8 cells).")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal; never with --quiet).")
@click.option("--solver", default=None,
              help="Multi-year instances: the backend of the plan and of every variant (auto, highs, scip or cbc; "
                   "default auto).")
@click.option("--time-limit", type=float, default=None,
              help="Multi-year instances: seconds the plan's solve, and each variant's, may use.")
@click.option("--accept-gap", type=click.FloatRange(min=0), default=None,
              help="Multi-year instances: accept the plan, and each variant, once its certified relative gap is at "
                   "most this.")
@click.option("--per-area/--no-per-area", default=None,
              help="Multi-year instances: also shift each area's assumptions alone (default), or only every area's "
                   "at once (fewer solves on a large instance).")
@_report_options
@_guarded
def sensitivity(instance: Path, model_path: Path | None, out: Path, k: int, draws: int, noise: float, seed: int,
                force: bool, quiet: bool, jobs: int | None, progress: bool | None, solver: str | None,
                time_limit: float | None, accept_gap: float | None, per_area: bool | None, with_report: bool,
                lang: str | None) -> None:
    """How firm the plan of INSTANCE is: write sensitivity.json and sensitivity.md into OUT.

    A multi-year INSTANCE (one with a 'horizon') is planned again under shifted assumptions, coverage
    weights and one post more or fewer per plan year; that report adds sensitivity.csv.
    """
    from allocator.results.solve import solve as solve_plan

    if _is_horizon(instance):
        _refuse_one_year_options(("--k", "k"), ("--draws", "draws"), ("--noise", "noise"), ("--seed", "seed"))
        _solve_horizon(instance, model_path, out, solver or "auto", time_limit, force, None, True, accept_gap,
                       with_report=with_report, lang=lang, with_sensitivity=True, plan_files=False,
                       progress=False if quiet else progress, per_area=per_area is not False, jobs=jobs)
        return
    if per_area is not None:
        raise InputError("--per-area is for multi-year instances: a one-year report shifts no assumptions",
                         where=Location(None, None, "--per-area"), fix="drop --per-area")
    for option, value in (("--solver", solver), ("--time-limit", time_limit), ("--accept-gap", accept_gap)):
        if value is not None:
            raise InputError(f"{option} is for multi-year instances; a one-year plan and its sensitivity are solved "
                             "to a proven optimum", where=Location(None, None, option), fix=f"drop {option}")
    loaded = load_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)
    _warn(loaded.value, [model.value])
    plan = solve_plan(loaded.value, model.value, inputs={**loaded.hashes, **model.hashes})
    report = _sensitivity_report(loaded.value, model.value, plan, k, quiet, draws, noise, seed, jobs, instance,
                                 progress)
    with publishing(out, force) as target:
        # sensitivity.md is a memo: in the report's language (--lang, else the instance's), as summary.md
        written = write_sensitivity(target, report, float(loaded.value.unit), loaded.value,
                                    language=lang or loaded.value.language or "en")
        if with_report:
            written += _write_report(target, loaded.value, lang, sensitivities=[json.loads(sensitivity_json(report))])
    _say("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Also validate this model against the instance.")
@_guarded
def validate(instance: Path, model_path: Path | None) -> None:
    """Check INSTANCE (and a model) without solving; exit 2 at the first problem."""
    from allocator.core.need import targets

    if _is_horizon(instance):
        from allocator.io.horizon import load_horizon_instance

        horizon = load_horizon_instance(instance).value
        _say(f"{instance}: ok — multi-year instance, plan years {horizon.first_year}-"
             f"{horizon.first_year + horizon.plan_years - 1}, outlook to {horizon.first_year + horizon.outlook_years - 1}")
    loaded = load_instance(instance) if not _is_horizon(instance) else None
    value = loaded.value if loaded is not None else horizon.instance
    _say(f"{instance}: ok — {len(value.specialties)} specialties, {len(value.areas)} areas "
               f"({len(value.leaves)} leaves), {len(value.bounds)} bounds, {len(value.previous)} previous rows")
    if loaded is None:
        _warn_horizon(horizon, instance, [load_model(model_path).value] if model_path is not None else [])
    else:
        _warn(value, [load_model(model_path).value] if model_path is not None else [])
    if model_path is not None:
        model = load_model(model_path).value
        targets(value, model)
        _say(f"{model_path}: ok — model '{model.name}' with {len(model.criteria)} criteria")


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_paths", type=click.Path(path_type=Path), multiple=True, required=True,
              help="A policy model file; give two or more. The first is the reference for deltas and costs.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the comparison.")
@click.option("--need-model", "need_model_path", type=click.Path(path_type=Path), default=None,
              help="The model whose need measures posts per need for every plan. Default: the first --model.")
@click.option("--solver", default="auto", show_default=True, help="Backend: auto, cbc, highs, cpsat or flow.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@click.option("--time-limit", type=float, default=None,
              help="Multi-year instances: seconds each model's solve may use.")
@click.option("--accept-gap", type=click.FloatRange(min=0), default=None,
              help="Multi-year instances: accept each model's best plan once its certified relative gap is at most "
                   "this.")
@_report_options
@_guarded
def compare(instance: Path, model_paths: tuple[Path, ...], out: Path, need_model_path: Path | None, solver: str,
            force: bool, time_limit: float | None, accept_gap: float | None, with_report: bool,
            lang: str | None) -> None:
    """Solve INSTANCE under each --model and write comparison.csv, comparison.json and comparison.md.

    On a multi-year INSTANCE, each model is solved over the whole horizon, and the plans are compared on
    inhabitant-years without a specialist, coverage, the year each area reaches its target and the posts
    moved from year to year.
    """
    from allocator.errors import InputError
    from allocator.reports.compare import compare as line_up
    from allocator.writers.comparison import comparison_json, write_comparison

    models = [load_model(path).value for path in model_paths]
    if len(models) < 2:
        raise InputError("compare needs at least two models", fix="add another --model (e.g. models/population.yaml)")
    names = [model.name for model in models]
    for path, name in zip(model_paths, names):
        if names.count(name) > 1:
            raise InputError(f"two models are named '{name}'", where=Location(path, None, "name"),
                             fix="give each model its own name")
    if _is_horizon(instance):
        _compare_horizon(instance, models, out, need_model_path, solver, force, time_limit, accept_gap, with_report,
                         lang)
        return
    for option, value in (("--time-limit", time_limit), ("--accept-gap", accept_gap)):
        if value is not None:
            raise InputError(f"{option} is for multi-year comparisons; one-year plans are solved to a proven optimum "
                             "in seconds", where=Location(None, None, option), fix=f"drop {option}")
    loaded = load_instance(instance)
    need_model = load_model(need_model_path).value if need_model_path is not None else None
    check_output_dir(out, force)
    _warn(loaded.value, models + ([need_model] if need_model is not None else []))
    comparison = line_up(loaded.value, models, solver=solver, need_model=need_model)
    with publishing(out, force) as target:
        # comparison.md is a memo: in the report's language (--lang, else the instance's), as summary.md
        written = write_comparison(target, comparison, language=lang or loaded.value.language or "en")
        if with_report:
            written += _write_report(target, loaded.value, lang, comparisons=[json.loads(comparison_json(comparison))])
    per_leaf = [comparison.leaf_posts(c) for c in comparison.models]
    width = max(len(leaf) for leaf in loaded.value.leaves[:40])
    _say(f"  {'area':<{width}} " + " ".join(f"{name[:14]:>14}" for name in names))
    for leaf in loaded.value.leaves[:40]:
        _say(f"  {leaf:<{width}} " + " ".join(f"{format_number(posts[leaf]):>14}" for posts in per_leaf))
    _say("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--lang", type=click.Choice(["da", "en"]), default=None,
              help="Language of the report. Default: the instance's 'language:', else English.")
@click.option("--instance", "instance_path", type=click.Path(path_type=Path), default=None,
              help="The instance the runs were made from. Default: the one plan.json names, "
                   "else instances/<name>/instance.yaml.")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Folder for the report. Default: the folder given (required with several).")
@_guarded
def report(folders: tuple[Path, ...], lang: str | None, instance_path: Path | None, out: Path | None) -> None:
    """Write report.html and report.pdf from the output folders FOLDERS of solve, sensitivity, compare or sweep."""
    from allocator.errors import InputError
    from allocator.io.outputs import instance_file_of, read_output_folder

    runs = [read_output_folder(folder) for folder in folders]
    names = {run.instance_name for run in runs}
    if len(names) > 1:
        raise InputError(f"the folders hold runs of different instances ({', '.join(sorted(names))})",
                         where=Location(folders[0]), fix="make one report per instance")
    if out is None:
        if len(folders) > 1:
            raise InputError("several folders and no --out", where=Location(folders[0]),
                             fix="add --out FOLDER for the report of several runs")
        out = folders[0]
    path = instance_path or next((found for found in map(instance_file_of, runs) if found is not None), None)
    if path is None:
        raise InputError(f"cannot find the instance '{names.pop()}' the runs were made from",
                         where=Location(folders[0]), fix="add --instance PATH/instance.yaml")
    if _is_horizon(path):
        from allocator.io.horizon import load_horizon_instance

        loaded = Loaded(load_horizon_instance(path).value.instance, {})
    else:
        loaded = load_instance(path)
    if loaded.value.name not in names:
        raise InputError(f"the runs were made from '{names.pop()}', not '{loaded.value.name}'",
                         where=Location(path, None, "name"), fix="name the instance the runs were made from")
    written = _write_report(out, loaded.value, lang, plans=[r.plan for r in runs if r.plan is not None],
                            sensitivities=[r.sensitivity for r in runs if r.sensitivity is not None],
                            comparisons=[r.comparison for r in runs if r.comparison is not None],
                            sweeps=[r.sweep for r in runs if r.sweep is not None])
    _say("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an index.md that this command did not write.")
@_guarded
def index(root: Path, force: bool) -> None:
    """Write ROOT/index.md linking every plan (ROOT/<instance>/<model>/) and comparison of a batch run."""
    from allocator.batch import INDEX_MARK, index_markdown
    from allocator.errors import InputError
    from allocator.writers.output import write_atomic

    text = index_markdown(root)
    existing = root / "index.md"
    if (existing.exists() or existing.is_symlink()) and not force:
        try:
            with open(existing, "rb") as stream:
                first = stream.readline(len(INDEX_MARK) + 2).decode("utf-8", "replace").strip()
        except OSError:
            first = ""
        if first != INDEX_MARK:
            raise InputError("index.md exists and was not written by 'allocator index'", where=Location(existing),
                             fix="move it away, or add --force to replace it")
    write_atomic(existing, text)
    _say(f"Wrote {root / 'index.md'}")


@main.command()
@click.argument("table", type=click.Path(path_type=Path))
@click.option("--total", "-n", type=click.IntRange(min=0), required=True, help="Seats (posts) to share out.")
@click.option("--method", "-M", default="webster", show_default=True,
              help="hamilton (= hare), droop, jefferson (= dhondt), webster (= sainte-lague), "
                   "sainte-lague-modified, huntington-hill, adams or dean.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the result.")
@click.option("--min-column", default="min", show_default=True, help="Column of each area's minimum (optional).")
@click.option("--max-column", default="max", show_default=True, help="Column of each area's maximum (optional).")
@click.option("--weight-column", default="population", show_default=True,
              help="Column the seats are proportional to (population, votes, need).")
@click.option("--threshold", type=str, default=None,
              help="Exclude areas below this share of the total weight (e.g. 0.05 for 5%).")
@click.option("--threshold-count", type=str, default=None, help="Exclude areas whose weight is below this number.")
@click.option("--first-divisor", type=str, default=None,
              help="sainte-lague-modified only: the first divisor (1, 3, 5 scale). Default 1.4.")
@click.option("--ties", type=click.Choice(["id", "first-listed", "error"]), default="id", show_default=True,
              help="Equal claims on a seat: serve by area id, by table order, or stop with exit 3.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@_guarded
def apportion(table: Path, total: int, method: str, out: Path, min_column: str, max_column: str,
              weight_column: str, threshold: str | None, threshold_count: str | None, first_divisor: str | None,
              ties: str, force: bool) -> None:
    """Share TOTAL posts among the areas of TABLE (CSV/XLSX: area,population) by a classical method.

    Writes apportionment.csv (area, posts, quota) and apportionment.json, which
    adds the priority list ("next": who gets total+1 … total+10) and every tie.
    """
    from allocator.apportion import apportion as share_out
    from allocator.io.loading import load_apportionment_table
    from allocator.writers.apportionment import write_apportionment

    rows = load_apportionment_table(table, min_column, max_column, weight_column)
    check_output_dir(out, force)
    result = share_out(rows.areas, rows.weights, total, method, rows.lo, rows.hi, ties=ties,
                       first_divisor=_fraction_option("--first-divisor", first_divisor),
                       threshold=_fraction_option("--threshold", threshold),
                       threshold_count=_fraction_option("--threshold-count", threshold_count))
    with publishing(out, force) as target:
        written = write_apportionment(target, result, rows.hashes)
    width = max(len(area) for area in result.areas)
    _say(f"{result.method}: {total} posts among {len(result.areas) - len(result.excluded)} areas")
    for area, posts, quota in zip(result.areas, result.posts, result.quotas):
        if area in result.excluded:
            _say(f"  {area:<{width}} {posts:>6}  (excluded: {result.excluded[area]})")
        else:
            _say(f"  {area:<{width}} {posts:>6}  (quota {float(quota):.3f})")
    _say("  next: " + ", ".join(area or "(paradox)" for area in result.next))
    for tie in result.ties:
        _say(f"tie: {tie.describe()}", err=True)
    _say("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("weights", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the result.")
@click.option("--row-totals", type=click.Path(path_type=Path), default=None,
              help="CSV/XLSX of row,total (e.g. each district's or training region's seats).")
@click.option("--column-totals", type=click.Path(path_type=Path), default=None,
              help="CSV/XLSX of column,total (e.g. each party's or specialty's seats).")
@click.option("--total", "-n", type=click.IntRange(min=0), default=None,
              help="Apportion the totals not given in a file from the weights' sums (upper apportionment).")
@click.option("--method", "-M", default="webster", show_default=True,
              help="webster (= sainte-lague, standard rounding), jefferson (= dhondt), adams or huntington-hill.")
@click.option("--row-column", default="row", show_default=True, help="Column of WEIGHTS naming the row.")
@click.option("--column-column", default="column", show_default=True, help="Column of WEIGHTS naming the column.")
@click.option("--weight-column", default="weight", show_default=True, help="Column of WEIGHTS holding the weight.")
@click.option("--winner-take-one", is_flag=True,
              help="The column with the most weight in each row gets at least one seat there (tied columns each "
                   "get one if the row has the seats, else none).")
@click.option("--threshold", type=str, default=None,
              help="Keep a column if its weight reaches this share of the total weight (e.g. 0.03).")
@click.option("--row-threshold", type=str, default=None,
              help="Keep a column if its weight reaches this share of some row's weight (e.g. 0.05 in one "
                   "district). With both, a column passing either stays.")
@click.option("--per-seat", is_flag=True,
              help="Upper apportionment from each cell's weight divided by its row's total: list votes become "
                   "voters (Wählerzahlen), as in Zürich and Zug. The lower apportionment is the same either way.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@_guarded
def biproportional(weights: Path, out: Path, row_totals: Path | None, column_totals: Path | None,
                   total: int | None, method: str, row_column: str, column_column: str, weight_column: str,
                   winner_take_one: bool, threshold: str | None, row_threshold: str | None, per_seat: bool,
                   force: bool) -> None:
    """Share seats over a matrix so that rows and columns meet their totals (biproportional divisor method).

    WEIGHTS is a long CSV/XLSX of row,column,weight. Writes biproportional.csv
    (row, column, weight, seats, quotient) and biproportional.json, with every
    row divisor and column multiplier (seats = round(weight / divisor x
    multiplier)) and the ties. Totals that cannot be met exit 3.
    """
    from allocator.apportion.biproportional import biproportional as share_matrix
    from allocator.apportion.biproportional import column_thresholds, matrix_totals
    from allocator.io.loading import load_matrix_table, load_totals
    from allocator.writers.apportionment import write_biproportional

    matrix = load_matrix_table(weights, row_column, column_column, weight_column)
    hashes = dict(matrix.hashes)
    share = _fraction_option("--threshold", threshold)
    row_share = _fraction_option("--row-threshold", row_threshold)
    excluded = column_thresholds(matrix.columns, matrix.weights, share, row_share)
    given_rows = given_columns = None
    if row_totals is not None:
        given_rows, found = load_totals(row_totals, "row", matrix.rows)
        hashes.update(found)
    if column_totals is not None:
        given_columns, found = load_totals(column_totals, "column", matrix.columns)
        hashes.update(found)
    rows_total, columns_total, upper = matrix_totals(matrix.rows, matrix.columns, matrix.weights, given_rows,
                                                     given_columns, total, method, excluded, per_seat)
    check_output_dir(out, force)
    result = share_matrix(matrix.rows, matrix.columns, matrix.weights, rows_total, columns_total, method,
                          winner_take_one=winner_take_one, excluded_columns=excluded)
    extra = {"upper_apportionment": upper, "threshold": None if share is None else float(share),
             "row_threshold": None if row_share is None else float(row_share), "inputs": hashes}
    with publishing(out, force) as target:
        written = write_biproportional(target, result, extra)
    width = max(len(row) for row in result.rows)
    _say(f"biproportional ({result.method}): {sum(rows_total)} seats, {len(result.rows)} rows x "
         f"{len(result.columns)} columns")
    _say(f"  {'':<{width}} " + " ".join(f"{column[:8]:>8}" for column in result.columns))
    for i, row in enumerate(result.rows[:40]):
        _say(f"  {row:<{width}} " + " ".join(f"{seats:>8}" for seats in result.seats[i]))
    for column, reason in result.excluded_columns.items():
        _say(f"excluded: {column}: {reason}", err=True)
    for group in result.ties:
        _say("tie: " + "; ".join(f"({cell['row']}, {cell['column']}) could {cell['could']} a seat"
                                 for cell in group), err=True)
    for note in result.notes:
        _say(f"note: {note}", err=True)
    for tie in upper.get("row_ties", []) + upper.get("column_ties", []):
        _say(f"tie in the upper apportionment: {tie}", err=True)
    _say("Wrote " + ", ".join(str(path) for path in written))


def _fraction_option(option: str, value: str | None) -> Any:
    """An exact number from an option (``0.05`` stays 1/20), or None; a located exit 2 when it is no number."""
    from fractions import Fraction

    from allocator.errors import InputError

    if value is None:
        return None
    try:
        return Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{option} '{value}' is not a number", fix=f"write e.g. {option} 0.05") from None


@main.command()
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder to write into.")
@click.option("--tree", default="3,6,20", show_default=True,
              help="Areas per level, top level first, leaves last (e.g. 3,5,98).")
@click.option("--specialties", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--posts", type=click.IntRange(min=0), default=300, show_default=True,
              help="Posts over all specialties.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--unit", type=click.Choice(["1", "0.5"]), default="1", show_default=True)
@click.option("--name", default=None, help="Instance name (default: made from the options).")
@click.option("--shared-caps/--no-shared-caps", default=True, show_default=True,
              help="A capacity per leaf summed over specialties.")
@click.option("--cell-caps/--no-cell-caps", default=True, show_default=True,
              help="A capacity per leaf and specialty.")
@click.option("--floors/--no-floors", default=True, show_default=True, help="Floors per top-level area.")
@click.option("--previous/--no-previous", default=True, show_default=True, help="Last year's posts.")
@click.option("--offered", type=click.IntRange(min=1), default=None,
              help="Each leaf offers only this many specialties (an offers table); default: all.")
@click.option("--closed-share", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Share of (leaf, specialty) cells closed by a bound row 'max: 0', with no offers table; "
                   "with --cell-caps every cell then has a bound row.")
@click.option("--bounds-on-every-level/--no-bounds-on-every-level", default=False, show_default=True,
              help="Bound rows on every area above the leaves: per specialty (max, and min with --floors) "
                   "and summed over specialties (max).")
@click.option("--force", is_flag=True, help="Write into a non-empty folder.")
@_guarded
def generate(out: Path, tree: str, specialties: int, posts: int, seed: int, unit: str, name: str | None,
             shared_caps: bool, cell_caps: bool, floors: bool, previous: bool, offered: int | None,
             closed_share: float, bounds_on_every_level: bool, force: bool) -> None:
    """Write a synthetic instance (instance.yaml and CSV tables) into OUT.

    E.g. a national spreadsheet grid, a bound row on every cell and 80 % of
    the cells closed by 'max: 0': --tree 100,5000 --specialties 50 --posts
    40000 --closed-share 0.8. A tree six levels deep with bounds on every
    level: --tree 2,5,20,100,400,2000 --bounds-on-every-level.
    """
    from allocator.errors import InputError
    from allocator.generate import GeneratorOptions
    from allocator.generate import generate as write_instance

    try:
        counts = tuple(int(part) for part in tree.split(","))
    except ValueError:
        raise InputError(f"--tree '{tree}' is not a list of whole numbers", fix="write e.g. --tree 3,5,98") from None
    prepare_output_dir(out, force)
    try:
        options = GeneratorOptions(tree=counts, specialties=specialties, posts=posts, seed=seed, unit=float(unit),
                                   shared_caps=shared_caps, cell_caps=cell_caps, floors=floors,
                                   previous=previous, offered=offered, name=name, closed_share=closed_share,
                                   bounds_on_every_level=bounds_on_every_level)
        path = write_instance(options, out)
    except ValueError as exc:
        raise InputError(f"{exc}", fix="write e.g. --tree 3,5,98 --specialties 40 --offered 10, "
                                       "or --closed-share 0.8 without --offered") from None
    _say(f"Wrote {path}")


# Multi-year instances (issue 14): `solve` hands them here, and `project` projects a given plan.

def _is_horizon(instance: Path) -> bool:
    from allocator.io.horizon import is_horizon_file

    return is_horizon_file(instance)


def _refuse_one_year_options(*options: tuple[str, str]) -> None:
    """A located exit 2 for each one-year sensitivity option given on the command line for a multi-year instance."""
    context = click.get_current_context()
    for option, name in options:
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            raise InputError(f"{option} is for one-year instances: a multi-year sensitivity report makes no total "
                             "ranging and no Monte Carlo draws; it plans the horizon again under shifted assumptions "
                             "and one post more or fewer per plan year (docs/mathematics.md)",
                             where=Location(None, None, option), fix=f"drop {option}")


def _horizon_sensitivity(horizon: Any, model: Model, plan: Any, solver: str, time_limit: float | None,
                         accept_gap: float | None, progress: bool | None, per_area: bool = True,
                         jobs: int | None = None) -> Any:
    """The multi-year sensitivity report on ``jobs`` worker processes (default
    :func:`allocator.reports.workers.default_horizon_jobs`), with a line on stderr at most every 5 s unless
    ``progress`` is False."""
    from allocator.reports.horizon_sensitivity import horizon_sensitivity
    from allocator.reports.workers import default_horizon_jobs, horizon_executor, stop_workers

    show = progress is not False
    started, shown = time.monotonic(), [time.monotonic()]

    def step(done: int, total: int) -> None:
        now = time.monotonic()
        if show and (done == total or now - shown[0] >= 5):
            shown[0] = now
            _say(f"sensitivity: {done}/{total} variants, {now - started:.0f} s", err=True)

    executor = horizon_executor(jobs or default_horizon_jobs(len(horizon.instance.cells)), horizon, model, plan)
    try:
        report = horizon_sensitivity(horizon, model, plan, solver=solver, time_limit=time_limit,
                                     accept_gap=accept_gap, per_area=per_area, progress=step, executor=executor)
    except BaseException:
        # Ctrl-C, SIGTERM or an error: wait neither for the queued variants nor for the running ones.
        if executor is not None:
            stop_workers(executor)
        raise
    if executor is not None:
        executor.shutdown()
    return report


def _solve_horizon(instance: Path, model_path: Path | None, out: Path, solver: str, time_limit: float | None,
                   force: bool, xlsx: bool | None, quiet: bool, accept_gap: float | None, *,
                   with_report: bool = False, lang: str | None = None, with_sensitivity: bool = False,
                   plan_files: bool = True, progress: bool | None = None, per_area: bool = True,
                   jobs: int | None = None) -> None:
    """Solve a multi-year instance; write its plan files (``plan_files``), its sensitivity report, its report."""
    from allocator.io.horizon import load_horizon_instance
    from allocator.results.horizon import solve_horizon
    from allocator.writers.horizon import horizon_plan_json, write_horizon_plan
    from allocator.writers.horizon_sensitivity import horizon_sensitivity_json, write_horizon_sensitivity

    loaded = load_horizon_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)
    _warn_horizon(loaded.value, instance, [model.value])
    try:
        plan = solve_horizon(loaded.value, model.value, solver=solver,
                             time_limit=time_limit, accept_gap=accept_gap, inputs={**loaded.hashes, **model.hashes})
    except InfeasibleError as exc:
        _write_diagnosis(out, force, loaded.value.name, exc)
        raise
    plan.metadata["instance_file"] = str(instance)  # where `allocator report` finds the area tree
    rows = sum(len(year.rows) for year in plan.years)
    # the variants under the plan's engine rule (auto picks by the shape, which no variant changes)
    report = _horizon_sensitivity(loaded.value, model.value, plan, solver, time_limit, accept_gap, progress,
                                  per_area, jobs) if with_sensitivity else None
    language = lang or loaded.value.instance.language or "en"
    with publishing(out, force) as target:
        written = []
        if plan_files:
            written += write_horizon_plan(loaded.value, plan, target,
                                          xlsx=xlsx if xlsx is not None else rows <= XLSX_AUTO_ROWS, language=language)
        if report is not None:
            # sensitivity.md is a memo: in summary.md's language (--lang, else the instance's, else English)
            written += write_horizon_sensitivity(target, report, language=language)
        if with_report:
            written += _write_report(target, loaded.value.instance, lang,
                                     plans=[json.loads(horizon_plan_json(plan))] if plan_files else [],
                                     sensitivities=[json.loads(horizon_sensitivity_json(report))] if report else [])
    console = lang or "en"
    if not quiet:
        _echo_horizon(plan, console)
    _say(_console(console)("Wrote %(files)s") % {"files": ", ".join(str(path) for path in written)})


def _compare_horizon(instance: Path, models: list[Model], out: Path, need_model_path: Path | None, solver: str,
                     force: bool, time_limit: float | None, accept_gap: float | None, with_report: bool,
                     lang: str | None) -> None:
    from allocator.io.horizon import load_horizon_instance
    from allocator.reports.horizon_compare import compare_horizon
    from allocator.writers.horizon_comparison import horizon_comparison_json, write_horizon_comparison

    if need_model_path is not None:
        raise InputError("--need-model is for one-year comparisons: a multi-year comparison measures every plan by "
                         "its coverage of the same demand", where=Location(None, None, "--need-model"),
                         fix="drop --need-model")
    loaded = load_horizon_instance(instance)
    check_output_dir(out, force)
    _warn_horizon(loaded.value, instance, models)
    comparison = compare_horizon(loaded.value, models, solver=solver,
                                 time_limit=time_limit, accept_gap=accept_gap, inputs=loaded.hashes)
    with publishing(out, force) as target:
        written = write_horizon_comparison(target, comparison,
                                           language=lang or loaded.value.instance.language or "en")
        if with_report:
            written += _write_report(target, loaded.value.instance, lang,
                                     comparisons=[json.loads(horizon_comparison_json(comparison))])
    last = comparison.years[2]
    width = max(len(c.model.name) for c in comparison.models)
    _say(f"  {'model':<{width}} {'inhabitant-years without':>24} {'coverage ' + str(last):>14} {'posts moved':>12}")
    for c in comparison.models:
        coverage = c.metrics.coverage_last
        shown = f"{100 * next(iter(coverage.values())):.1f}%" if len(coverage) == 1 else "see comparison.md"
        _say(f"  {c.model.name:<{width}} {c.metrics.inhabitant_years_without:>24,.0f} {shown:>14} "
             f"{format_number(c.metrics.moved):>12}")
    _say("Wrote " + ", ".join(str(path) for path in written))


def _echo_horizon(plan: Any, language: str = "en") -> None:
    from allocator.writers.language import MemoNumbers, status_text

    _ = _console(language)
    numbers = MemoNumbers(language)
    whole, figure = numbers.count, numbers.figure
    if plan.status.startswith("gap"):
        # English keeps the bound at full precision (as plan.json); Danish in Danish notation, as the memo.
        status = _("%(status)s, gap %(gap)s, best bound %(bound)s") % {
            "status": status_text(plan.status, language), "gap": numbers.formatted(plan.gap, ".3g"),
            "bound": repr(plan.bound) if language == "en" else figure(plan.bound)}
    else:
        status = status_text(plan.status, language)
    _say(_("Multi-year plan for %(instance)s under model '%(model)s': %(status)s, objective %(objective)s "
           "(coverage %(coverage)s + posts %(posts)s), verified") % {
        "instance": plan.instance, "model": plan.model, "status": status, "objective": figure(plan.objective),
        "coverage": figure(plan.coverage_cost), "posts": figure(plan.posts_cost)})
    _say("  " + _("inhabitant-years without a specialist: %(count)s")
         % {"count": whole(plan.projection.inhabitant_years_without)})
    if plan.myopic and "inhabitant_years_without_specialist" in plan.myopic:
        _say("  " + _("myopic plan (each year alone): %(count)s")
             % {"count": whole(plan.myopic["inhabitant_years_without_specialist"])})


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=None,
              help="CSV/XLSX with area, specialty, year, posts for every cell and plan year.")
@click.option("--status-quo", is_flag=True, help="Project last year's posts repeated in every plan year.")
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Policy model file (YAML/JSON), for the costs. Default: posts follow population.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the projection.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@click.option("--lang", type=click.Choice(["da", "en"]), default=None,
              help="Language of summary.md (default: the instance's 'language:', else English) and of the "
                   "console messages (default English).")
@_guarded
def project(instance: Path, plan_path: Path | None, status_quo: bool, model_path: Path | None, out: Path,
            force: bool, lang: str | None) -> None:
    """Project supply and coverage of a given plan over a multi-year INSTANCE's outlook.

    Writes projection.csv, plan.json and summary.md. A plan that breaks yearly
    rules (totals, bounds, max_change) is projected all the same; the broken
    rules are listed in summary.md and plan.json and printed as warnings.
    """
    from allocator.io.horizon import is_horizon_file, load_horizon_instance, load_plan_posts, status_quo_posts
    from allocator.results.horizon import project_plan
    from allocator.writers.horizon import write_horizon_plan
    from allocator.writers.language import MemoNumbers, breach_text, status_text

    if (plan_path is None) == (not status_quo):
        raise InputError("give either --plan PLAN.csv or --status-quo", where=Location(None, None, "--plan"),
                         fix="name the plan to project, or ask for last year's posts repeated")
    if not is_horizon_file(instance):
        load_instance(instance)  # a bad file gets its own located error
        raise InputError("the instance has no 'horizon', so there is nothing to project",
                         where=Location(instance, None, "horizon"),
                         fix="add 'horizon: {first_year: ..., plan_years: ..., outlook_years: ...}' (docs/formats.md)")
    loaded = load_horizon_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)
    _warn_horizon(loaded.value, instance, [model.value])
    hashes = {**loaded.hashes, **model.hashes}
    if plan_path is not None:
        posts, plan_hashes = load_plan_posts(plan_path, loaded.value)
        hashes.update(plan_hashes)
    else:
        posts = status_quo_posts(loaded.value)
    plan = project_plan(loaded.value, model.value, posts, status="status quo" if status_quo else "given",
                        inputs=hashes)
    console = lang or "en"
    _ = _console(console)
    # The English console keeps the verifier's words (as plan.json's broken_rules); Danish words the figures.
    rules = plan.metadata.get("broken_rules", []) if console == "en" else [
        breach_text(b, console) for b in plan.metadata.get("rule_breaches", [])]
    for text in rules[:10]:
        _say(_("warning: the plan breaks a yearly rule: %(rule)s") % {"rule": text}, err=True)
    with publishing(out, force) as target:
        written = write_horizon_plan(loaded.value, plan, target, xlsx=False, include_plan=False,
                                     language=lang or loaded.value.instance.language or "en")
    numbers = MemoNumbers(console)
    _say(_("Projection of %(instance)s (%(status)s): inhabitant-years without a specialist %(count)s, coverage cost "
           "%(cost)s") % {"instance": plan.instance,
                          "status": plan.status if console == "en" else status_text(plan.status, console),
                          "count": numbers.count(plan.projection.inhabitant_years_without),
                          "cost": numbers.figure(plan.coverage_cost)})
    _say(_("Wrote %(files)s") % {"files": ", ".join(str(path) for path in written)})


# The what-if app (issue 16): a thin layer; allocator.app holds the page, the library does the rest.

@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_paths", type=click.Path(path_type=Path), multiple=True,
              help="A policy model file; give one or more. The first is where the controls start and the "
                   "baseline. Default: posts follow population.")
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=8501, show_default=True,
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default lets only this computer in.")
@click.option("--lang", type=click.Choice(["da", "en"]), default=None,
              help="Language the app starts in (default: the instance's 'language:', else English).")
@_guarded
def app(instance: Path, model_paths: tuple[Path, ...], port: int, host: str, lang: str | None) -> None:
    """Start the what-if app on INSTANCE: move a weight, see the plan and the map change.

    On a multi-year INSTANCE the app solves the whole horizon and maps coverage in the year chosen.

    It reads INSTANCE and the --model files only, and writes a file only when
    you download one. Needs the app extra: pip install 'allocator[app]'.
    """
    from importlib.util import find_spec

    # a bad file stops here with its located error, before any server starts
    if _is_horizon(instance):
        from allocator.io.horizon import load_horizon_instance

        horizon = load_horizon_instance(instance).value
    else:
        one_year = load_instance(instance).value
    names: dict[str, Path] = {}
    models = []
    for path in model_paths:
        models.append(load_model(path).value)
        name = models[-1].name
        if name in names:
            raise InputError(f"two models are named '{name}' ({names[name]} and {path})",
                             where=Location(path, None, "name"), fix="give each model its own name")
        names[name] = path
    # the warnings solve would give, on the terminal of whoever starts the app
    if _is_horizon(instance):
        _warn_horizon(horizon, instance, models)
    else:
        _warn(one_year, models)
    if find_spec("streamlit") is None:
        raise InputError("the app needs Streamlit, which is not installed",
                         fix="pip install 'allocator[app]' (or run make app)")
    from allocator.app.server import serve

    local = host in ("127.0.0.1", "localhost", "::1")
    _say(f"allocator app: http://{host}:{port}/ ({instance})")
    _say(f"Listening on {host} only: only this computer can reach it." if local else
         f"Listening on {host}: other computers that can reach this address can open the app.")
    _say("Stop it with Ctrl-C.")
    serve(instance, list(model_paths), host, port, lang)


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder for the sweep; a rerun into it solves only the scenarios not yet there.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes: this one and N-1 spawned (with --scheduler local: the LocalCluster's workers).")
@click.option("--scheduler", default=None,
              help="Run on Dask: 'local' starts a LocalCluster, or a scheduler's address (tcp://HOST:8786).")
@click.option("--force", is_flag=True, help="Use a non-empty --out folder that holds no sweep.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--progress/--no-progress", default=None,
              help="The progress bar on stderr (default: when stderr is a terminal).")
@click.option("--time-limit", type=float, default=None,
              help="Multi-year sweeps: seconds each scenario's solve may use (instead of the spec's time_limit).")
@click.option("--accept-gap", type=float, default=None,
              help="Multi-year sweeps: accept a scenario's plan once its certified relative gap is at most this "
                   "(instead of the spec's accept_gap).")
@_report_options
@_guarded
def sweep(spec_path: Path, out: Path, jobs: int, scheduler: str | None, force: bool, quiet: bool,
          progress: bool | None, time_limit: float | None, accept_gap: float | None, with_report: bool,
          lang: str | None) -> None:
    """Solve every scenario of SPEC (models x axes x draws) and write scenarios.csv, .parquet, cells.parquet, sweep.md.

    A multi-year instance's scenarios are solved over the horizon, as 'solve' does (docs/sweeps.md).
    """
    from allocator.io.sweep import load_sweep_spec, with_limits
    from allocator.sweep import run_sweep

    spec = with_limits(load_sweep_spec(spec_path), time_limit, accept_gap)
    show_bar = not quiet and (progress if progress is not None else sys.stderr.isatty())
    with contextlib.ExitStack() as stack:
        bar: Any = None
        started = time.monotonic()
        shown = [0.0]

        def step(done: int, total: int) -> None:
            nonlocal bar
            if sys.stderr.isatty():
                if bar is None:
                    bar = stack.enter_context(click.progressbar(length=total, label="sweep", file=sys.stderr,
                                                                show_eta=True, show_pos=True))
                bar.update(1)
                return
            # Not a terminal (a log file, CI): a line at most every 5 seconds, and at the end.
            now = time.monotonic()
            if done == total or now - shown[0] >= 5:
                shown[0] = now
                left = (now - started) / done * (total - done)
                _say(f"sweep: {done}/{total} scenarios, about {left:.0f} s left", err=True)
        outcome = run_sweep(spec, out, jobs=jobs, scheduler=scheduler, force=force,
                            progress=step if show_bar else None,
                            warn=lambda warning: _say(f"warning: {warning}", err=True))
    _say(f"{outcome.scenarios} scenarios: {outcome.solved} solved now, {outcome.reused} already in {out}")
    if with_report:
        outcome.files += _sweep_report(spec, out, lang)
    _say("Wrote " + ", ".join(str(path) for path in outcome.files))


def _sweep_report(spec: Any, out: Path, lang: str | None) -> list[Path]:
    """report.html and report.pdf in the sweep's folder, from the sweep.json just written."""
    from allocator.io.sweep import load_sweep_instance

    instance, _, _ = load_sweep_instance(spec)
    document = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    return _write_report(out, instance, lang, sweeps=[document])


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Policy model file (YAML/JSON); its stability weight is what the front replaces.")
@click.option("--x", "x_metric", type=click.Choice(["equity", "shortfall", "ratio"]), default="equity",
              show_default=True,
              help="equity: the model's cost without its stability term; shortfall: the weighted summed shortfall; "
              "ratio: the max/min ratio of posts per need (as compare measures it).")
@click.option("--y", "y_metric", type=click.Choice(["stability"]), default="stability", show_default=True,
              help="stability: the disruption, sum of |posts - last year's posts|.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the front.")
@click.option("--path", "path", type=click.Choice(["auto", "flow", "milp"]), default="auto", show_default=True,
              help="Solve each ε-problem as a min-cost flow (where the instance allows) or a MILP.")
@click.option("--plans", is_flag=True, help="Also write each point's plan into point-N/ (plan.csv, plan.json, ...).")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@_guarded
def pareto(instance: Path, model_path: Path | None, x_metric: str, y_metric: str, out: Path, path: str, plans: bool,
           force: bool) -> None:
    """The exact Pareto front of equity against stability: pareto.csv, .json, .md and .svg."""
    from allocator.reports.pareto import pareto as front_of, point_plan
    from allocator.writers.pareto import write_pareto, write_point_plans

    loaded = load_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)
    front = front_of(loaded.value, model.value, x_metric, path)  # type: ignore[arg-type]
    point_plans = [point_plan(front, p, {**loaded.hashes, **model.hashes}) for p in front.points] if plans else []
    with publishing(out, force) as target:
        written = write_pareto(front, target)
    written += write_point_plans(out, loaded.value, [(point.number, plan)
                                                     for point, plan in zip(front.points, point_plans)])
    # Only with --x equity is the weight of a supported point the model's stability weight (docs/mathematics.md).
    weight = "the model's stability weight" if front.equity_metric == "equity" else \
        f"minimising {front.equity_metric} + w · disruption for some weight w"
    _say(f"{len(front.points)} nondominated plans ({front.path} path); "
         f"{sum(p.supported for p in front.points)} reached by {weight}")
    _say("Wrote " + ", ".join(str(p) for p in written[:6]) + (f" and {len(written) - 6} more" if len(written) > 6 else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
