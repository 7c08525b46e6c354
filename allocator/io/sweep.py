"""A sweep spec (``allocator sweep SPEC.yaml``): one instance, some models, axes to vary, draws.

The spec is read like every other document (line numbers kept), and every
error names the spec file, the axis row and the field. Paths in the spec are
relative to the spec's own folder. What an axis may vary:

- ``model.<path>``: a numeric field of the model (``model.underserved_weight``,
  ``model.criteria.0.weight``, ``model.stability.weight``,
  ``model.stability.max_change``, ``model.coverage_weight``, ...), with
  ``values``;
- ``specialty.<id>.total``: one specialty's national total, with ``values``;
- ``areas.population``, ``areas.<indicator>``, ``bounds.min``,
  ``bounds.max``, ``previous.posts``: an instance table column multiplied by
  a factor, with ``factors``.

On a multi-year instance (one with a ``horizon``) an axis may also vary:

- ``specialty.<id>.totals.<year>``: one specialty's total in one plan year
  (``specialty.<id>.total`` sets every plan year);
- ``workforce.fill_rate``, ``workforce.retention``, ``workforce.exit_rate``,
  ``workforce.headcount``, ``areas.population_growth``: the resolved value of
  every cell (or leaf) times a factor. A factor that takes a rate out of
  [0, 1] (a growth out of (-1, 1]) is refused, located at the axis: rates
  are never clamped, so a scenario's figures are the factor's own.

and the spec may give ``time_limit`` (seconds per scenario) and
``accept_gap`` (the relative gap accepted), as ``allocator solve`` takes them.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from allocator.errors import InputError, Location
from allocator.io.documents import Document, read_document
from allocator.io.schemas import HorizonInstance, Instance, Model

#: The instance table columns an axis may scale (``areas.<indicator>`` is checked against the instance).
SCALED_COLUMNS = {("areas", "population"), ("bounds", "min"), ("bounds", "max"), ("previous", "posts")}
#: The columns of a multi-year instance an axis may scale, and the range each must stay in (low open?, low, high).
HORIZON_COLUMNS: dict[tuple[str, str], tuple[bool, float, float]] = {
    ("workforce", "fill_rate"): (False, 0.0, 1.0), ("workforce", "retention"): (False, 0.0, 1.0),
    ("workforce", "exit_rate"): (False, 0.0, 1.0), ("workforce", "headcount"): (False, 0.0, math.inf),
    ("areas", "population_growth"): (True, -1.0, 1.0)}
_KEYS = {"instance", "models", "axes", "combine", "draws", "time_limit", "accept_gap"}
#: A sweep larger than this is refused: each scenario is a full solve, and its rows are held in memory.
MAX_SCENARIOS = 1_000_000


@dataclass(frozen=True)
class Axis:
    """One varied quantity: where it applies (``kind``, ``path``) and its values, in the order given."""

    field: str
    kind: Literal["model", "total", "scale"]
    path: tuple[str | int, ...]  # a total: (specialty,) for every plan year, (specialty, year) for one
    values: tuple[float, ...]
    where: Location


@dataclass(frozen=True)
class Draws:
    """Monte Carlo draws per scenario: population and indicators times (1 + noise * N(0, 1))."""

    count: int
    noise: float
    seed: int


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (paths resolved against the spec's folder)."""

    path: Path
    instance: Path
    models: tuple[Path, ...]
    axes: tuple[Axis, ...]
    combine: Literal["grid", "zip"]
    draws: Draws | None
    sha256: str
    horizon: bool = False  # the instance is multi-year (solved by solve_horizon)
    time_limit: float | None = None  # seconds per scenario (multi-year only)
    accept_gap: float | None = None  # relative gap accepted (multi-year only)

    def combinations(self) -> list[tuple[float, ...]]:
        """The axis values of every combination, in order (the last axis fastest on a grid)."""
        if not self.axes:
            return [()]
        if self.combine == "zip":
            return list(zip(*(axis.values for axis in self.axes)))
        return list(itertools.product(*(axis.values for axis in self.axes)))

    def draw_numbers(self) -> list[int]:
        """0 (the scenario as given) without draws; 1..count with them."""
        return [0] if self.draws is None else list(range(1, self.draws.count + 1))

    def size(self) -> int:
        """The number of scenarios: models x combinations x draws."""
        return len(self.models) * len(self.combinations()) * len(self.draw_numbers())


def _bad(document: Document, key: tuple[str | int, ...], field: str | None, problem: str, fix: str) -> InputError:
    return InputError(problem, where=document.locate(key, field), fix=fix)


def _number(document: Document, key: tuple[str | int, ...], field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(document, key, field, f"expected a finite number, got {value!r}", "write a number such as 2 or 0.5")
    return float(value)


def _parse_field(document: Document, key: tuple[str | int, ...], text: Any) -> tuple[str, tuple[str | int, ...]]:
    fix = ("use model.<field> (model.underserved_weight, model.criteria.0.weight, model.stability.weight), "
           "specialty.<id>.total, or a column to scale: areas.population, areas.<indicator>, bounds.min, "
           "bounds.max, previous.posts (multi-year: also specialty.<id>.totals.<year>, workforce.fill_rate, "
           "workforce.retention, workforce.exit_rate, workforce.headcount)")
    if not isinstance(text, str) or not text.strip():
        raise _bad(document, key, "field", "an axis needs a 'field'", fix)
    parts = text.strip().split(".")
    head, rest = parts[0], parts[1:]
    if head == "model" and rest and all(rest):
        return "model", tuple(int(p) if p.isdigit() else p for p in rest)
    if head == "specialty" and len(rest) == 2 and rest[0] and rest[1] == "total":
        return "total", (rest[0],)
    if head == "specialty" and len(rest) == 3 and rest[0] and rest[1] == "totals" and rest[2].isdigit():
        return "total", (rest[0], int(rest[2]))
    if head in {"areas", "bounds", "previous", "workforce"} and len(rest) == 1 and rest[0]:
        if head == "areas" or (head, rest[0]) in SCALED_COLUMNS | set(HORIZON_COLUMNS):
            return "scale", (head, rest[0])
    raise _bad(document, key, "field", f"cannot vary '{text}'", fix)


def load_sweep_spec(path: Path | str) -> SweepSpec:
    """Read and validate a sweep spec; the instance and models are checked by :func:`check_axes`.

    Raises
    ------
    InputError
        With the spec file, the row and the field of the first problem.
    """
    document = read_document(path)
    data = document.data
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise _bad(document, (unknown[0],), unknown[0], "unknown key",
                   f"the keys are: {', '.join(sorted(_KEYS))}")
    folder = document.path.parent
    instance = data.get("instance")
    if not isinstance(instance, str) or not instance.strip():
        raise _bad(document, ("instance",), "instance", "the spec names no instance file",
                   "write 'instance: path/to/instance.yaml' (relative to the spec)")
    models_value = data.get("models")
    if isinstance(models_value, str):
        models_value = [models_value]
    if not isinstance(models_value, list) or not models_value or \
            not all(isinstance(m, str) and m.strip() for m in models_value):
        raise _bad(document, ("models",), "models", "the spec names no model files",
                   "write 'models: [need-weighted.yaml]' (relative to the spec)")
    model_paths = tuple(folder / m for m in models_value)
    for i, model_path in enumerate(model_paths):
        if model_paths.index(model_path) != i:
            raise _bad(document, ("models", i), "models", f"the model '{models_value[i]}' is named twice",
                       "name each model once")
    combine = data.get("combine", "grid")
    if combine not in ("grid", "zip"):
        raise _bad(document, ("combine",), "combine", f"expected 'grid' or 'zip', got {combine!r}",
                   "write 'combine: grid' (every combination) or 'combine: zip' (the i-th values together)")
    axes_value = data.get("axes", [])
    if not isinstance(axes_value, list):
        raise _bad(document, ("axes",), "axes", "'axes' must be a list",
                   "write 'axes: [{field: model.underserved_weight, values: [1, 2, 3]}]'")
    axes: list[Axis] = []
    for i, row in enumerate(axes_value):
        key = ("axes", i)
        if not isinstance(row, dict):
            raise _bad(document, key, None, "an axis must be a mapping with 'field' and 'values'",
                       "write '{field: model.underserved_weight, values: [1, 2, 3]}'")
        extra = sorted(set(map(str, row)) - {"field", "values", "factors"})
        if extra:
            raise _bad(document, key, extra[0], "unknown key", "an axis has 'field' and 'values' (or 'factors')")
        kind, where_to = _parse_field(document, key, row.get("field"))
        wanted = "factors" if kind == "scale" else "values"
        other = "values" if kind == "scale" else "factors"
        if other in row:
            what = "a factor of an instance column" if kind == "scale" else "a value, not a factor"
            raise _bad(document, key, other, f"'{row['field']}' takes {what}", f"write '{wanted}: [...]'")
        values = row.get(wanted)
        if not isinstance(values, list) or not values:
            raise _bad(document, key, wanted, f"the axis has no {wanted}", f"write '{wanted}: [1, 2, 3]'")
        numbers = tuple(_number(document, key + (wanted, j), wanted, v) for j, v in enumerate(values))
        if len(set(numbers)) < len(numbers):
            raise _bad(document, key, wanted, f"a value is given twice in {list(values)}", "give each value once")
        if kind == "scale" and min(numbers) < 0:
            raise _bad(document, key, wanted, f"a factor is negative ({min(numbers):g})", "use factors of 0 or more")
        if str(row["field"]).strip() in {a.field for a in axes}:
            raise _bad(document, key, "field", f"'{row['field']}' is varied by two axes", "vary each field once")
        axes.append(Axis(str(row["field"]).strip(), kind, where_to, numbers, document.locate(key, "field")))
    if combine == "zip" and len({len(a.values) for a in axes}) > 1:
        lengths = ", ".join(f"{a.field}: {len(a.values)}" for a in axes)
        raise _bad(document, ("combine",), "combine", f"zipped axes must have as many values each ({lengths})",
                   "give every axis the same number of values, or use 'combine: grid'")
    draws = _draws(document, data.get("draws"))
    limits = {}
    for name, fix in (("time_limit", "write 'time_limit: 60' (seconds for each scenario's solve)"),
                      ("accept_gap", "write 'accept_gap: 0.01' (accept a plan proven within 1 % of the optimum)")):
        value = data.get(name)
        if value is not None:
            number = _number(document, (name,), name, value)
            if not _limit_in_range(name, number):
                raise _bad(document, (name,), name, f"{name} {number:g} is out of range", fix)
            limits[name] = number
    spec = SweepSpec(document.path, folder / instance, model_paths, tuple(axes), combine, draws,
                     hashlib.sha256(document.raw).hexdigest(), _is_horizon(folder / instance), **limits)
    if limits and not spec.horizon:
        name = sorted(limits)[0]
        raise _bad(document, (name,), name, f"'{name}' is for multi-year instances; a one-year plan is always "
                   "solved to a proven optimum", f"delete '{name}'")
    if spec.size() > MAX_SCENARIOS:
        raise _bad(document, ("axes",), "axes", f"the sweep has {spec.size():,} scenarios, more than "
                   f"{MAX_SCENARIOS:,}", "split it into several sweeps")
    return spec


def _limit_in_range(name: str, value: float) -> bool:
    """A time limit is above 0 seconds; an accepted gap is in [0, 1)."""
    return value > 0 if name == "time_limit" else 0 <= value < 1


def with_limits(spec: SweepSpec, time_limit: float | None, accept_gap: float | None) -> SweepSpec:
    """``spec`` with the command line's ``--time-limit`` and ``--accept-gap`` in place of the spec's own.

    Raises
    ------
    InputError
        A limit out of range, or a limit on a one-year sweep (located at the option).
    """
    given = {"time_limit": time_limit, "accept_gap": accept_gap}
    for name, value in given.items():
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        where = Location(None, None, option)
        if not spec.horizon:
            raise InputError(f"{option} is for multi-year sweeps; a one-year plan is always solved to a proven "
                             "optimum", where=where, fix=f"drop {option}")
        if not _limit_in_range(name, value):
            raise InputError(f"{option} {value:g} is out of range", where=where,
                             fix="give seconds above 0" if name == "time_limit" else "give a gap in [0, 1), "
                             "e.g. 0.01 for 1 %")
    return replace(spec, **{name: value for name, value in given.items() if value is not None})


def _is_horizon(instance: Path) -> bool:
    from allocator.io.horizon import is_horizon_file

    return is_horizon_file(instance)


def load_sweep_instance(spec: SweepSpec) -> tuple[Instance, HorizonInstance | None, dict[str, str]]:
    """The spec's instance: the one-year instance, the multi-year one (None for one-year) and what to fingerprint.

    The hashes are the input files' SHA-256, plus, on a multi-year sweep, the time limit and the
    accepted gap: a scenario saved under other limits is solved again, never reused.

    Raises
    ------
    InputError
        At the first bad value of the instance, located.
    """
    if not spec.horizon:
        from allocator.io.loading import load_instance

        loaded = load_instance(spec.instance)
        return loaded.value, None, dict(loaded.hashes)
    from allocator.io.horizon import load_horizon_instance

    loaded = load_horizon_instance(spec.instance)
    hashes = {**loaded.hashes, "sweep limits": f"time_limit={spec.time_limit!r} accept_gap={spec.accept_gap!r}"}
    return loaded.value.instance, loaded.value, hashes


def _draws(document: Document, value: Any) -> Draws | None:
    if value is None:
        return None
    key = ("draws",)
    if not isinstance(value, dict):
        raise _bad(document, key, "draws", "'draws' must be a mapping", "write 'draws: {count: 100, noise: 0.05, seed: 0}'")
    extra = sorted(set(map(str, value)) - {"count", "noise", "seed"})
    if extra:
        raise _bad(document, key, extra[0], "unknown key", "draws has 'count', 'noise' and 'seed'")
    count, noise, seed = value.get("count"), value.get("noise", 0.05), value.get("seed", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _bad(document, key, "count", f"expected a whole number of draws of 1 or more, got {count!r}",
                   "write 'count: 100'")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
        raise _bad(document, key, "noise", f"expected a relative noise between 0 and 1, got {noise!r}",
                   "write 'noise: 0.05' (5 % standard deviation)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _bad(document, key, "seed", f"expected a whole number of 0 or more, got {seed!r}", "write 'seed: 0'")
    return Draws(count, float(noise), seed)


# --- applying a change ------------------------------------------------------------------------------


def with_model_value(model: Model, path: tuple[str | int, ...], value: float) -> Model:
    """``model`` with the field at ``path`` set to ``value``, validated again.

    Raises
    ------
    KeyError
        When ``path`` names no numeric field of the model.
    ValueError
        When the model does not accept ``value`` there (pydantic's message).
    """
    data = model.model_dump()
    node: Any = data
    for part in path[:-1]:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise KeyError(part)
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                raise KeyError(part)
            node = node[part]
    last = path[-1]
    if isinstance(last, int) or not isinstance(node, dict) or last not in node:
        raise KeyError(last)
    old = node[last]
    if isinstance(old, bool) or not (old is None or isinstance(old, (int, float))):
        raise KeyError(last)
    node[last] = value
    from pydantic import ValidationError

    try:
        return Model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(first["msg"]) from None


def check_axes(spec: SweepSpec, instance: Instance, models: list[Model], horizon: HorizonInstance | None = None) -> None:
    """Check every axis against the instance and models: fields that exist, values each model accepts.

    ``horizon`` is the multi-year instance (``instance`` is then its one-year instance).

    Raises
    ------
    InputError
        Located at the axis row of the spec.
    """
    if horizon is not None:
        for model in models:
            if model.objective not in ("absolute", "squared", "apportionment"):
                raise InputError(f"the model '{model.name}' has objective '{model.objective}', which has no "
                                 "multi-year form", where=Location(spec.path, None, "models"),
                                 fix="use a model with objective 'absolute', 'squared' or 'apportionment'")
    for axis in spec.axes:
        if axis.kind == "model":
            for model in models:
                for value in axis.values:
                    try:
                        with_model_value(model, axis.path, value)
                    except KeyError:
                        raise InputError(f"the model '{model.name}' has no number at '{axis.field}'",
                                         where=axis.where, fix="name a numeric model field, e.g. "
                                         "model.underserved_weight or model.criteria.0.weight") from None
                    except ValueError as exc:
                        raise InputError(f"the model '{model.name}' does not take {value:g} at '{axis.field}': "
                                         f"{exc}", where=axis.where._replace(field="values"),
                                         fix="change the value") from None
        elif axis.kind == "total":
            known = {s.id for s in instance.specialties}
            if axis.path[0] not in known:
                raise InputError(f"unknown specialty '{axis.path[0]}'", where=axis.where,
                                 fix=f"the specialties are: {', '.join(sorted(known))}")
            if len(axis.path) == 2:
                if horizon is None:
                    raise InputError(f"'{axis.field}' varies one plan year's total, and the instance is not "
                                     "multi-year", where=axis.where,
                                     fix=f"use specialty.{axis.path[0]}.total")
                years = horizon.plan_calendar_years
                if axis.path[1] not in years:
                    raise InputError(f"{axis.path[1]} is not a plan year ({years[0]}-{years[-1]})", where=axis.where,
                                     fix=f"use specialty.{axis.path[0]}.totals.<year> with a plan year")
            unit = float(instance.unit)
            for value in axis.values:
                if value < 0 or abs(value / unit - round(value / unit)) > 1e-9:
                    raise InputError(f"the total {value:g} is not a multiple of the unit {unit:g} (or negative)",
                                     where=axis.where._replace(field="values"),
                                     fix="use whole posts, or half posts with 'unit: 0.5'")
        else:
            _check_scale(axis, instance, horizon)


def _check_scale(axis: Axis, instance: Instance, horizon: HorizonInstance | None) -> None:
    table, column = str(axis.path[0]), str(axis.path[1])
    limits = HORIZON_COLUMNS.get((table, column))
    if limits is None:
        if table == "areas" and column != "population":
            names = {name for area in instance.areas for name in area.indicators}
            if column not in names:
                raise InputError(f"the instance's areas have no column '{column}'", where=axis.where,
                                 fix=f"scale areas.population or one of: {', '.join(sorted(names)) or '(none)'}")
        return
    if horizon is None:
        raise InputError(f"'{axis.field}' is a column of multi-year instances, and this instance has no "
                         "'horizon'", where=axis.where, fix="scale it on a multi-year instance, or drop the axis")
    open_low, low, high = limits
    if table == "areas":
        values = {(leaf, ""): growth for leaf, growth in horizon.growth.items()}
    else:
        values = {cell: float(getattr(facts, column)) for cell, facts in horizon.cells.items()}
    # The largest factor that keeps every cell in range (for the fix); growth can also be negative.
    largest = min((high / value for value in values.values() if value > 0), default=math.inf)
    if open_low:
        largest = min([largest, *(low / value for value in values.values() if value < 0)])
    for factor in axis.values:
        for (leaf, specialty), value in values.items():
            scaled = value * factor
            if scaled > high or scaled < low or (open_low and scaled <= low):
                where = f"'{leaf}'" + (f", '{specialty}'" if specialty else "")
                shown = "(-1, 1]" if open_low else f"[{low:g}, {high:g}]"
                raise InputError(f"the factor {factor:g} makes {column} of {where} {scaled:.6g}, outside {shown}",
                                 where=axis.where._replace(field="factors"),
                                 fix=f"use factors below {largest:.6g}, which keeps every cell within {shown} "
                                 "(values are not clamped)")
