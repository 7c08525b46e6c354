"""The command line: a thin layer over the library.

Exit codes: 0 ok, 2 bad input, 3 infeasible, 4 solver failure or time limit.
Every error prints one line saying what to fix, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import click

from allocator.errors import EXIT_SOLVER, AllocatorError, InfeasibleError, Location
from allocator.io.loading import Loaded, load_instance, load_model
from allocator.io.schemas import DEFAULT_MODEL, Instance
from allocator.results.plan import Plan
from allocator.writers.diagnosis import write_diagnosis
from allocator.writers.output import check_output_dir, prepare_output_dir
from allocator.writers.plan import XLSX_AUTO_ROWS, write_plan
from allocator.writers.sensitivity import write_sensitivity
from allocator.writers.text import format_number


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line messages and documented exit codes."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InfeasibleError as exc:
            click.echo(f"infeasible: {exc}", err=True)
            sys.exit(exc.exit_code)
        except AllocatorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: no plan was written. Run the command again to finish.", err=True)
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
            click.echo(f"internal error ({type(exc).__name__}: {exc}). This is a bug in allocator; "
                       "rerun with ALLOCATOR_DEBUG=1 for the traceback and report it.", err=True)
            sys.exit(1)

    return wrapper


@contextlib.contextmanager
def _output_dir(out: Path, force: bool) -> Iterator[None]:
    """Create ``out`` for writing; if writing fails or is interrupted, remove it again when this run made it."""
    created = not out.exists()
    prepare_output_dir(out, force)
    try:
        yield
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _load_model(path: Path | None) -> Loaded:
    return load_model(path) if path is not None else Loaded(DEFAULT_MODEL, {})


def _echo_plan(instance: Instance, plan: Plan, limit: int = 40) -> None:
    click.echo(f"Plan for {plan.instance} under model '{plan.model}' "
               f"(objective {plan.objective:.6g}, solver {plan.metadata.get('solver')}, verified)")
    table = plan.table
    width = max((len(table.leaf_names[code]) for code in set(table.leaf.tolist())), default=0)
    click.echo(f"  {'area':<{width}}    {'specialty':<16} {'posts':>7} {'target':>9} {'last yr':>7}  binding")
    for row in plan.rows[:limit]:
        flag = "⚑" if row.underserved else " "
        click.echo(f"  {row.area_name:<{width}} {flag}  {row.specialty:<16} {format_number(row.posts):>7} "
                   f"{row.target:>9.2f} {format_number(row.previous):>7}  {', '.join(row.binding)}")
    click.echo("  ⚑ = designated under-served")
    if len(plan.rows) > limit:
        click.echo(f"  … {len(plan.rows) - limit} more rows in plan.csv")


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
@click.option("--solver", default="auto", show_default=True, help="Backend: auto, cbc, highs, cpsat or flow.")
@click.option("--time-limit", type=float, default=None, help="Seconds the solver may use.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@click.option("--xlsx/--no-xlsx", default=None,
              help=f"Write plan.xlsx. Default: only when the plan has at most {XLSX_AUTO_ROWS:,} rows "
                   "(a workbook that size takes longer to write than to solve).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the plan.")
@click.option("--sensitivity", "with_sensitivity", is_flag=True,
              help="Also write sensitivity.json and sensitivity.md (see 'allocator sensitivity').")
@_guarded
def solve(instance: Path, model_path: Path | None, out: Path, solver: str, time_limit: float | None,
          force: bool, xlsx: bool | None, quiet: bool, with_sensitivity: bool) -> None:
    """Solve INSTANCE under a model and write plan.csv, plan.xlsx, plan.json and summary.md."""
    from allocator.results.solve import solve as solve_plan

    loaded = load_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)  # fail before solving; create nothing until the plan is verified
    try:
        plan = solve_plan(loaded.value, model.value, solver=solver, time_limit=time_limit,
                          inputs={**loaded.hashes, **model.hashes})
    except InfeasibleError as exc:
        if exc.diagnosis is not None:
            with _output_dir(out, force):
                written = write_diagnosis(out, loaded.value.name, exc.diagnosis)
            click.echo("Wrote " + ", ".join(str(path) for path in written), err=True)
        raise
    plan.metadata["model_description"] = model.value.description
    write_xlsx = xlsx if xlsx is not None else len(plan.rows) <= XLSX_AUTO_ROWS
    report = _sensitivity_report(loaded.value, model.value, plan, 5, quiet, instance_path=instance) \
        if with_sensitivity else None
    with _output_dir(out, force):
        written = write_plan(loaded.value, plan, out, xlsx=write_xlsx)
        if report is not None:
            written += write_sensitivity(out, report, float(loaded.value.unit), loaded.value)
    if not quiet:
        _echo_plan(loaded.value, plan)
    click.echo("Wrote " + ", ".join(str(path) for path in written))
    if xlsx is None and not write_xlsx:
        click.echo(f"Skipped plan.xlsx: the plan has {len(plan.rows):,} rows; add --xlsx to write it.")


def _sensitivity_report(instance: Instance, model: Any, plan: Plan, k: int, quiet: bool, draws: int = 200,
                        noise: float = 0.05, seed: int = 0, jobs: int | None = None,
                        instance_path: Path | None = None, progress: bool | None = None) -> Any:
    """Run the sensitivity report on ``jobs`` worker processes, with a progress bar where it helps.

    The bar goes to stderr when stderr is a terminal (or ``progress`` is True) and not ``quiet``.
    """
    from allocator.reports.sensitivity import sensitivity as analyse
    from allocator.reports.workers import Context, default_jobs, executor_for

    jobs = jobs or default_jobs(len(instance.cells))
    # Workers load the instance from its file: faster than unpickling a large one (docs/dependencies.md).
    context = Context(model, path=str(instance_path.resolve())) if instance_path is not None else \
        Context(model, instance=instance)
    show_bar = not quiet and (progress if progress is not None else sys.stderr.isatty())

    def say(step: str) -> None:
        if not quiet and not show_bar:
            click.echo(f"sensitivity: {step} …", err=True)

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
        # Ctrl-C or an error: do not wait for the queued tasks of the workers.
        executor.shutdown(wait=False, cancel_futures=True)
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
                   "under 2,000 cells).")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal; never with --quiet).")
@_guarded
def sensitivity(instance: Path, model_path: Path | None, out: Path, k: int, draws: int, noise: float, seed: int,
                force: bool, quiet: bool, jobs: int | None, progress: bool | None) -> None:
    """How firm the plan of INSTANCE is: write sensitivity.json and sensitivity.md into OUT."""
    from allocator.results.solve import solve as solve_plan

    loaded = load_instance(instance)
    model = _load_model(model_path)
    check_output_dir(out, force)
    plan = solve_plan(loaded.value, model.value, inputs={**loaded.hashes, **model.hashes})
    report = _sensitivity_report(loaded.value, model.value, plan, k, quiet, draws, noise, seed, jobs, instance,
                                 progress)
    with _output_dir(out, force):
        written = write_sensitivity(out, report, float(loaded.value.unit), loaded.value)
    click.echo("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=None,
              help="Also validate this model against the instance.")
@_guarded
def validate(instance: Path, model_path: Path | None) -> None:
    """Check INSTANCE (and a model) without solving; exit 2 at the first problem."""
    from allocator.core.need import targets

    loaded = load_instance(instance)
    value = loaded.value
    click.echo(f"{instance}: ok — {len(value.specialties)} specialties, {len(value.areas)} areas "
               f"({len(value.leaves)} leaves), {len(value.bounds)} bounds, {len(value.previous)} previous rows")
    if model_path is not None:
        model = load_model(model_path).value
        targets(value, model)
        click.echo(f"{model_path}: ok — model '{model.name}' with {len(model.criteria)} criteria")


@main.command()
@click.argument("instance", type=click.Path(path_type=Path))
@click.option("--model", "-m", "model_paths", type=click.Path(path_type=Path), multiple=True, required=True,
              help="A policy model file; give two or more. The first is the reference for deltas and costs.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the comparison.")
@click.option("--need-model", "need_model_path", type=click.Path(path_type=Path), default=None,
              help="The model whose need measures posts per need for every plan. Default: the first --model.")
@click.option("--solver", default="auto", show_default=True, help="Backend: auto, cbc, highs, cpsat or flow.")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@_guarded
def compare(instance: Path, model_paths: tuple[Path, ...], out: Path, need_model_path: Path | None, solver: str,
            force: bool) -> None:
    """Solve INSTANCE under each --model and write comparison.csv, comparison.json and comparison.md."""
    from allocator.errors import InputError
    from allocator.reports.compare import compare as line_up
    from allocator.writers.comparison import write_comparison

    loaded = load_instance(instance)
    models = [load_model(path).value for path in model_paths]
    if len(models) < 2:
        raise InputError("compare needs at least two models", fix="add another --model (e.g. models/population.yaml)")
    names = [model.name for model in models]
    for path, name in zip(model_paths, names):
        if names.count(name) > 1:
            raise InputError(f"two models are named '{name}'", where=Location(path, None, "name"),
                             fix="give each model its own name")
    need_model = load_model(need_model_path).value if need_model_path is not None else None
    check_output_dir(out, force)
    comparison = line_up(loaded.value, models, solver=solver, need_model=need_model)
    with _output_dir(out, force):
        written = write_comparison(out, comparison)
    per_leaf = [comparison.leaf_posts(c) for c in comparison.models]
    width = max(len(leaf) for leaf in loaded.value.leaves[:40])
    click.echo(f"  {'area':<{width}} " + " ".join(f"{name[:14]:>14}" for name in names))
    for leaf in loaded.value.leaves[:40]:
        click.echo(f"  {leaf:<{width}} " + " ".join(f"{format_number(posts[leaf]):>14}" for posts in per_leaf))
    click.echo("Wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("root", type=click.Path(path_type=Path))
@_guarded
def index(root: Path) -> None:
    """Write ROOT/index.md linking every plan (ROOT/<instance>/<model>/) and comparison of a batch run."""
    from allocator.batch import index_markdown
    from allocator.writers.output import write_atomic

    text = index_markdown(root)
    write_atomic(root / "index.md", text)
    click.echo(f"Wrote {root / 'index.md'}")


@main.command()
@click.argument("table", type=click.Path(path_type=Path))
@click.option("--total", "-n", type=click.IntRange(min=0), required=True, help="Seats (posts) to share out.")
@click.option("--method", "-M", default="webster", show_default=True,
              help="hamilton, jefferson (= dhondt), webster (= sainte-lague), huntington-hill, adams or dean.")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Folder for the result.")
@click.option("--min-column", default="min", show_default=True, help="Column of each area's minimum (optional).")
@click.option("--max-column", default="max", show_default=True, help="Column of each area's maximum (optional).")
@click.option("--weight-column", default="population", show_default=True,
              help="Column the seats are proportional to (population, votes, need).")
@click.option("--force", is_flag=True, help="Replace files in a non-empty --out folder.")
@_guarded
def apportion(table: Path, total: int, method: str, out: Path, min_column: str, max_column: str,
              weight_column: str, force: bool) -> None:
    """Share TOTAL posts among the areas of TABLE (CSV/XLSX: area,population) by a classical method.

    Writes apportionment.csv (area, posts, quota) and apportionment.json, which
    adds the priority list ("next": who gets total+1 … total+10) and every tie.
    """
    from allocator.apportion import apportion as share_out
    from allocator.io.loading import load_apportionment_table
    from allocator.writers.apportionment import write_apportionment

    rows = load_apportionment_table(table, min_column, max_column, weight_column)
    check_output_dir(out, force)
    result = share_out(rows.areas, rows.weights, total, method, rows.lo, rows.hi)
    with _output_dir(out, force):
        written = write_apportionment(out, result, rows.hashes)
    width = max(len(area) for area in result.areas)
    click.echo(f"{result.method}: {total} posts among {len(result.areas)} areas")
    for area, posts, quota in zip(result.areas, result.posts, result.quotas):
        click.echo(f"  {area:<{width}} {posts:>6}  (quota {float(quota):.3f})")
    click.echo("  next: " + ", ".join(area or "(paradox)" for area in result.next))
    for tie in result.ties:
        click.echo(f"tie: {tie.describe()}", err=True)
    click.echo("Wrote " + ", ".join(str(path) for path in written))


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
    click.echo(f"Wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
