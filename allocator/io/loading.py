"""Files to validated schemas: read, validate each row, then cross-check.

Every failure becomes an :class:`~allocator.errors.InputError` that names the
file, the row and the field, and says what to fix.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from allocator.errors import InputError, Location, RowsOrigin
from allocator.io import Document, Table, read_document, read_table, read_table_file
from allocator.io.cells import RATE_FIELDS, CellError, fraction_fix, parse_number
from allocator.io.limits import MAX_TREE_DEPTH
from allocator.io.records import validate_areas, validate_records
from allocator.io.schemas import (
    Area,
    AreaFields,
    Bound,
    Criterion,
    Geometry,
    Instance,
    Model,
    Offer,
    Previous,
    Row,
    Specialty,
    Stability,
    columns_of,
    record_from,
)


@dataclass
class Loaded:
    """A validated instance or model plus the SHA-256 of every file it was read from."""

    value: Any
    hashes: dict[str, str] = field(default_factory=dict)


def _hashes(document: Document, tables: list[Table]) -> dict[str, str]:
    result = {str(document.path): hashlib.sha256(document.raw).hexdigest()}
    for table in tables:
        for path, raw in table.files.items():
            result[str(path)] = hashlib.sha256(raw).hexdigest()
    return result


def _fix_for(error: dict[str, Any], model: type[BaseModel], field_name: str | None) -> str:
    kind = error["type"]
    if kind == "missing" or (kind == "string_type" and error.get("input") is None):
        return f"fill in '{field_name}'"
    if kind == "extra_forbidden":
        known = sorted(model.model_fields)
        guess = difflib.get_close_matches(str(field_name), known, n=1)
        hint = f"did you mean '{guess[0]}'? " if guess else ""
        return f"{hint}remove it, or use one of: {', '.join(known)}"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"use a value {'>=' if kind == 'greater_than_equal' else '>'} {error['ctx'].get('ge', error['ctx'].get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"use a value {'<=' if kind == 'less_than_equal' else '<'} {error['ctx'].get('le', error['ctx'].get('lt'))}"
    if kind.startswith("literal"):
        return f"use one of {error['ctx'].get('expected')}"
    if kind == "string_too_short":
        return f"fill in '{field_name}'"
    if field_name is None:  # a rule across fields (e.g. objective and method): the message says which
        return "change the model's keys as the message says"
    if field_name in RATE_FIELDS and (fraction := fraction_fix(error.get("input"))):
        return fraction  # retention: "70%" — the number the person meant, written as the model reads it
    return f"correct '{field_name}'"


def _explain(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing" or (error["type"] == "string_type" and error.get("input") is None):
        return "a required field is missing"  # or its cell is empty (a CSV cell of blanks is empty too)
    if error["type"] == "extra_forbidden":
        return "unknown field"
    given = error.get("input")
    if error["type"] not in {"missing"} and isinstance(given, (str, int, float)) and str(given) not in message:
        return f"{message} (got {given!r})"
    return message


def validate_row(schema: type[Row], values: dict[str, Any], where: Location,
                 decimal_comma: bool | None = None) -> Row:
    """Validate one row, turning the first pydantic error into a located InputError."""
    try:
        row = schema.model_validate(values, context={"decimal_comma": decimal_comma})
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt field also shows up as a missing one; the spelling is the real mistake.
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = [str(part) for part in error["loc"]]
        field_name = ".".join(loc) if loc else None
        raise InputError(
            _explain(error),
            where=Location(where.file, where.row, field_name),
            fix=_fix_for(error, schema, field_name),
        ) from None
    return row.placed(where)


def _rows(schema: type[Row], table: Table) -> list[Any]:
    return [validate_row(schema, row.values, row.where(), table.decimal_comma) for row in table.rows]


def _area_rows(table: Table, inline: bool) -> list[Area]:
    if not inline:
        # In a spreadsheet every column that is not a known field is an indicator.
        return validate_areas(table, validate_row)
    origin = RowsOrigin(table.file, table.labels)
    return [record_from(Area, validate_row(AreaFields, row.values, row.where(), table.decimal_comma), origin, i)
            for i, row in enumerate(table.rows)]


#: The keys of an instance document that are not tables.
HEADER_KEYS = ("name", "year", "unit", "sources", "language", "geometry")


def instance_header(document: Document) -> Instance:
    """The document's header keys (:data:`HEADER_KEYS`), validated on an instance with no tables yet."""
    header = {key: document.data.get(key) for key in HEADER_KEYS if key in document.data}
    try:
        return Instance.model_validate({**header, "specialties": [], "areas": []})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else None
        raise InputError(_explain(error), where=document.locate((key,) if key else (), key),
                         fix=_fix_for(error, Instance, key)) from None


def load_instance(path: Path | str) -> Loaded:
    """Read, validate and cross-check an instance file.

    Returns
    -------
    Loaded
        ``value`` is the :class:`~allocator.io.schemas.Instance`.
    """
    document = read_document(path)
    if "horizon" in document.data:  # multi-year instances: allocator.io.horizon
        raise InputError("this is a multi-year instance (it has a 'horizon'), which this command does not take",
                         where=document.locate(("horizon",), "horizon"),
                         fix="use 'allocator solve', 'allocator project' or 'allocator validate' on it")
    _reject_unknown_keys(document, set(Instance.model_fields))
    tables = {key: read_table(document, key, required=key in {"specialties", "areas"})
              for key in ("specialties", "areas", "bounds", "previous", "offers")}
    shell = instance_header(document)
    inline_areas = not isinstance(document.data.get("areas"), str)
    instance = Instance(
        name=shell.name,
        year=shell.year,
        unit=shell.unit,
        sources=shell.sources,
        language=shell.language,
        geometry=geometry_beside(shell.geometry, document),
        specialties=_rows(Specialty, tables["specialties"]),
        areas=_area_rows(tables["areas"], inline_areas),
        bounds=validate_records(Bound, tables["bounds"], validate_row),
        previous=validate_records(Previous, tables["previous"], validate_row),
        offers=validate_records(Offer, tables["offers"], validate_row),
    )
    check_instance(instance, document.path)
    return Loaded(instance, {**_hashes(document, list(tables.values())), **geometry_hashes(instance, document)})


def geometry_hashes(instance: Instance, document: Document) -> dict[str, str]:
    """Check the instance's map (one feature per leaf) and return the SHA-256 of its file; {} without a map."""
    if instance.geometry is None:
        return {}
    from allocator.io.geometry import check_geometry

    return check_geometry(instance, document.locate(("geometry",), "geometry"))


def geometry_beside(geometry: Geometry | None, document: Document) -> Geometry | None:
    """The geometry with its file found beside the instance file (as tables are)."""
    if geometry is None:
        return None
    return geometry.model_copy(update={"path": str(Path(document.path).parent / geometry.file)})


def load_model(path: Path | str) -> Loaded:
    """Read and validate a model (policy) file."""
    document = read_document(path)
    data = dict(document.data)
    _reject_unknown_keys(document, set(Model.model_fields))
    criteria_table = read_table(document, "criteria", required=False)
    criteria = _rows(Criterion, criteria_table)
    stability_value = data.get("stability") or {}
    if not isinstance(stability_value, dict):
        raise InputError("'stability' must be a mapping", where=document.locate(("stability",)),
                         fix="write 'stability: {max_change: 2, weight: 0.1}'")
    stability = validate_row(Stability, stability_value, document.locate(("stability",)))
    header = {k: v for k, v in data.items() if k not in {"criteria", "stability"}}
    try:
        model = Model.model_validate({**header, "criteria": criteria, "stability": stability})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else None
        raise InputError(_explain(error), where=document.locate((key,) if key else (), key),
                         fix=_fix_for(error, Model, key)) from None
    seen: dict[str, Criterion] = {}
    for criterion in model.criteria:
        if criterion.indicator in seen:
            raise InputError(f"the indicator '{criterion.indicator}' is listed twice",
                             where=criterion.where("indicator"), fix="merge the two rows into one weight")
        seen[criterion.indicator] = criterion
    return Loaded(model, _hashes(document, [criteria_table]))


def _reject_unknown_keys(document: Document, known: set[str]) -> None:
    for key in document.data:
        if key not in known:
            guess = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            raise InputError("unknown key", where=document.locate((key,), str(key)),
                             fix=f"{hint}the keys are: {', '.join(sorted(known))}")


def check_instance(instance: Instance, path: Path | str | None = None) -> None:
    """Cross-check references, the tree, units and bounds of an instance.

    Raises
    ------
    InputError
        At the first inconsistency, located at the offending row.
    """
    where_file = Location(path)
    if not instance.specialties:
        raise InputError("the instance has no specialties", where=where_file, fix="add at least one specialty")
    if not instance.areas:
        raise InputError("the instance has no areas", where=where_file, fix="add at least one area")
    _check_unique(instance.specialties, "id", "specialty")
    _check_unique(instance.areas, "id", "area")
    areas = instance.area_by_id
    specialties = {s.id: s for s in instance.specialties}
    for area in instance.areas:
        if area.parent is not None and area.parent not in areas:
            raise InputError(f"the parent '{area.parent}' of area '{area.id}' is not an area",
                             where=area.where("parent"), fix=_did_you_mean(area.parent, areas, "area"))
        if area.parent == area.id:
            raise InputError(f"area '{area.id}' is its own parent", where=area.where("parent"),
                             fix="leave 'parent' empty for a top-level area")
    _check_cycles(instance)
    _check_depth(instance)
    leaves = set(instance.leaves)
    for area in instance.areas:
        if area.id in leaves and area.population is None:
            raise InputError(f"leaf area '{area.id}' has no population", where=area.where("population"),
                             fix="fill in the population (inhabitants) of the area")
    unit = instance.unit
    for specialty in instance.specialties:
        if not _is_multiple(specialty.total, unit):
            raise InputError(f"the total {specialty.total:g} is not a multiple of the unit {unit:g}",
                             where=specialty.where("total"),
                             fix="use whole posts, or set 'unit: 0.5' for half posts")
    if not _bounds_look_valid(instance.bounds, areas, specialties):
        _check_bound_rows(instance.bounds, areas, specialties)
    _check_cell_rows(instance.previous, "last year's posts", areas, specialties, leaves)
    _check_cell_rows(instance.offers, "offers", areas, specialties, None)
    if instance.offers:
        offered = set(instance.cells)
        for row in instance.previous:
            if row.posts > 0 and (row.area, row.specialty) not in offered:
                raise InputError(f"last year's {row.posts:g} posts of '{row.specialty}' in '{row.area}' are in a "
                                 "cell that is not offered", where=row.where("area"),
                                 fix="add an offer row for it, or set last year's posts to 0 if the programme closed")


def _bounds_look_valid(bounds: Sequence[Bound], areas: dict[str, Any], specialties: dict[str, Any]) -> bool:
    """Whether every bound row passes :func:`_check_bound_rows`, checked column by column on codes."""
    if not bounds:
        return True
    area, specialty, low, high = columns_of(bounds, ("area", "specialty", "min", "max"))
    area_code = {name: code for code, name in enumerate(areas)}
    specialty_code = {name: code for code, name in enumerate(specialties)}
    specialty_code[None] = len(specialties)  # summed over specialties
    a = np.fromiter(map(area_code.get, area, repeat(-1)), dtype=np.int64, count=len(area))
    s = np.fromiter(map(specialty_code.get, specialty, repeat(-1)), dtype=np.int64, count=len(specialty))
    low_values, high_values = np.array(low, dtype=float), np.array(high, dtype=float)  # None becomes NaN
    return bool((a >= 0).all() and (s >= 0).all() and not (np.isnan(low_values) & np.isnan(high_values)).any()
                and not (low_values > high_values).any()
                and not (np.bincount(a * (len(specialties) + 1) + s) > 1).any())


def _check_bound_rows(bounds: Sequence[Bound], areas: dict[str, Any], specialties: dict[str, Any]) -> None:
    """The first bad bound row, located: unknown names, no limit, min over max, a repeated row."""
    seen_bounds: dict[tuple[str, str | None], Bound] = {}
    for bound in bounds:
        if bound.area not in areas:
            raise InputError(f"unknown area '{bound.area}'", where=bound.where("area"),
                             fix=_did_you_mean(bound.area, areas, "area"))
        if bound.specialty is not None and bound.specialty not in specialties:
            raise InputError(f"unknown specialty '{bound.specialty}'", where=bound.where("specialty"),
                             fix=_did_you_mean(bound.specialty, specialties, "specialty"))
        if bound.min is None and bound.max is None:
            raise InputError("the bound has neither min nor max", where=bound.where("min"),
                             fix="fill in min, max or both, or delete the row")
        if bound.min is not None and bound.max is not None and bound.min > bound.max:
            raise InputError(f"min {bound.min:g} is greater than max {bound.max:g}", where=bound.where("min"),
                             fix="swap them or correct one")
        key = (bound.area, bound.specialty)
        if key in seen_bounds:
            scope = f"specialty '{bound.specialty}'" if bound.specialty else "all specialties"
            raise InputError(f"a second bound for area '{bound.area}' and {scope}", where=bound.where("area"),
                             fix=f"merge it with {seen_bounds[key].where()}")
        seen_bounds[key] = bound


def _check_cell_rows(rows: Sequence[Any], what: str, areas: dict[str, Any], specialties: dict[str, Any],
                     leaves: set[str] | None) -> None:
    """Unknown areas or specialties, non-leaf areas (when ``leaves`` is given) and repeated cells.

    Whole-column set checks first (these tables can hold 100,000s of rows);
    only a table that fails one is walked row by row to locate the first bad row.
    """
    if not rows:
        return
    pairs = set(zip(*columns_of(rows, ("area", "specialty"))))
    allowed = leaves if leaves is not None else set(areas)
    if {area for area, _ in pairs} <= allowed and {s for _, s in pairs} <= specialties.keys() \
            and len(pairs) == len(rows):
        return
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if row.area not in areas:
            raise InputError(f"unknown area '{row.area}'", where=row.where("area"),
                             fix=_did_you_mean(row.area, areas, "area"))
        if leaves is not None and row.area not in leaves:
            raise InputError(f"'{row.area}' is not a leaf area; {what} are given per leaf",
                             where=row.where("area"), fix="split the figure over the leaf areas under it")
        if row.specialty not in specialties:
            raise InputError(f"unknown specialty '{row.specialty}'", where=row.where("specialty"),
                             fix=_did_you_mean(row.specialty, specialties, "specialty"))
        if (row.area, row.specialty) in seen:
            raise InputError(f"a second row for area '{row.area}' and specialty '{row.specialty}' in {what}",
                             where=row.where("area"), fix="keep one row per area and specialty")
        seen.add((row.area, row.specialty))


def _is_multiple(value: float, unit: float) -> bool:
    return abs(value / unit - round(value / unit)) < 1e-9


def _check_unique(rows: list[Any], key: str, what: str) -> None:
    """Refuse two ids that are equal, or equal but for case (ids are already in NFC, see schemas)."""
    seen: dict[str, Any] = {}
    for row in rows:
        value = getattr(row, key)
        folded = value.casefold()
        if folded in seen:
            first = getattr(seen[folded], key)
            if first == value:
                same = " (ids are compared after Unicode NFC normalisation, so an accented letter typed as " \
                       "letter + accent is the same id)" if not value.isascii() else ""
                raise InputError(f"duplicate {what} id '{value}'{same}", where=row.where(key),
                                 fix=f"ids must be unique; the first is at {seen[folded].where()}")
            raise InputError(f"{what} ids '{first}' and '{value}' differ only in case", where=row.where(key),
                             fix=f"use one spelling for one {what}, or two clearly different ids; "
                                 f"'{first}' is at {seen[folded].where()}")
        seen[folded] = row


def _check_cycles(instance: Instance) -> None:
    areas = instance.area_by_id
    state: dict[str, int] = {}
    for area in instance.areas:
        path: list[str] = []
        current: str | None = area.id
        while current is not None and state.get(current, 0) == 0:
            state[current] = 1
            path.append(current)
            current = areas[current].parent
        if current is not None and state.get(current) == 1:
            cycle = path[path.index(current):] + [current]
            raise InputError(f"the parents form a cycle: {' -> '.join(cycle)}",
                             where=areas[current].where("parent"),
                             fix="one of these areas must have another parent or none")
        for node in path:
            state[node] = 2


def _check_depth(instance: Instance) -> None:
    depth: dict[str, int] = {}
    for area in instance.areas:
        chain = []
        current: str | None = area.id
        while current is not None and current not in depth:
            chain.append(current)
            current = instance.area_by_id[current].parent
        base = depth[current] if current is not None else 0
        for offset, node in enumerate(reversed(chain), start=1):
            depth[node] = base + offset
            if depth[node] > MAX_TREE_DEPTH:
                raise InputError(f"the area tree is more than {MAX_TREE_DEPTH} levels deep",
                                 where=instance.area_by_id[node].where("parent"),
                                 fix="areas name their direct parent; real trees have a handful of levels")


def _did_you_mean(value: str, known: dict[str, Any], what: str) -> str:
    guess = difflib.get_close_matches(value, list(known), n=1)
    if guess:
        return f"did you mean '{guess[0]}'? Use the id of an existing {what}"
    return f"use the id of an existing {what}, or add the {what}"


@dataclass(frozen=True)
class ApportionmentTable:
    """The rows of an ``allocator apportion`` table, validated, in file order."""

    areas: list[str]
    weights: list[Fraction]
    lo: list[int]
    hi: list[int | None]
    hashes: dict[str, str]


def load_apportionment_table(path: Path | str, min_column: str = "min", max_column: str = "max",
                             weight_column: str = "population") -> ApportionmentTable:
    """Read a CSV/XLSX table of ``area`` and ``population`` (and optional min and max columns).

    Raises
    ------
    InputError
        Naming the file, row and field of the first bad cell.
    """
    table = read_table_file(Path(path))
    file = table.file
    for column in ("area", weight_column):
        if column not in table.data:
            raise InputError(f"the table has no column '{column}' (it has {', '.join(table.columns) or 'none'})",
                             where=Location(file), fix=f"name the columns area,{weight_column}[,min,max]")
    for option, column in (("--min-column", min_column), ("--max-column", max_column)):
        if column not in table.data and column not in ("min", "max"):
            raise InputError(f"{option} names the column '{column}', which the table does not have",
                             where=Location(file), fix=f"use one of {', '.join(table.columns)}")
    areas: list[str] = []
    weights: list[Fraction] = []
    lo: list[int] = []
    hi: list[int | None] = []
    seen: dict[str, str] = {}

    def number(index: int, column: str) -> float | int | None:
        try:
            return parse_number(table.data[column][index], decimal_comma=table.decimal_comma)
        except CellError as exc:
            raise InputError(str(exc), where=Location(file, table.labels[index], column),
                             fix="write a plain number") from None

    def whole(index: int, column: str) -> int | None:
        if column not in table.data:
            return None
        value = number(index, column)
        if value is not None and (value < 0 or value != int(value)):
            raise InputError(f"'{column}' is {value:g}, not a whole number of seats >= 0",
                             where=Location(file, table.labels[index], column), fix="write a whole number")
        return None if value is None else int(value)

    for index in range(len(table)):
        label = table.labels[index]
        raw_area = table.data["area"][index]
        area = str(int(raw_area)) if isinstance(raw_area, float) and raw_area.is_integer() else \
            (str(raw_area).strip() if raw_area is not None else "")
        if not area:
            raise InputError("the area is empty", where=Location(file, label, "area"), fix="name the area")
        if area in seen:
            raise InputError(f"the area '{area}' appears twice (first on {seen[area]})",
                             where=Location(file, label, "area"), fix="merge the two rows")
        seen[area] = label
        weight = number(index, weight_column)
        if weight is None or weight < 0:
            raise InputError(f"'{weight_column}' is {'empty' if weight is None else f'{weight:g}'}",
                             where=Location(file, label, weight_column), fix="write a number >= 0")
        low, high = whole(index, min_column), whole(index, max_column)
        if low is not None and high is not None and low > high:
            raise InputError(f"the min {low} is above the max {high}", where=Location(file, label, min_column),
                             fix="swap or correct the two")
        areas.append(area)
        weights.append(Fraction(str(weight)) if isinstance(weight, float) else Fraction(weight))
        lo.append(low or 0)
        hi.append(high)
    if not areas:
        raise InputError("the table has no rows", where=Location(file), fix="add one row per area")
    return ApportionmentTable(areas, weights, lo, hi, _hashes_of(table))


def _hashes_of(table: Table) -> dict[str, str]:
    return {str(path): hashlib.sha256(raw).hexdigest() for path, raw in table.files.items()}


#: The fields of an areas table; any other column is an indicator.
_AREA_FIELDS = ("id", "name", "parent", "population", "underserved")


def _squeezed(name: str) -> str:
    return "".join(char for char in name.casefold() if char not in " _-\t")


def column_warnings(instance: Instance, models: Sequence[Model] = ()) -> list[str]:
    """What the areas table's extra columns may hide: one line per warning, for the terminal.

    - A column whose name is a field's but for case or spaces (``Underserved``)
      is read as an indicator, so the field it was meant to be is lost.
    - Given models, the indicator columns that none of them uses are named,
      with the indicator each one may have been meant to be.
    """
    columns = list(dict.fromkeys(name for area in instance.areas for name in area.indicators))
    if not columns:
        return []
    where = instance.areas[0].where().file
    source = f"{where}: " if where else ""
    warnings = []
    fields = {_squeezed(name): name for name in _AREA_FIELDS}
    near_field = {name: fields[_squeezed(name)] for name in columns if _squeezed(name) in fields}
    for name, meant in near_field.items():
        warnings.append(f"{source}the column '{name}' is read as an indicator, not as the field '{meant}' "
                        f"(column names are case-sensitive). Fix: rename the column '{meant}'")
    if models:
        used: set[str] = set()
        for model in models:
            used.update(criterion.indicator for criterion in model.criteria)
            used.update([model.base] if isinstance(model.base, str) else model.base)
        unused = [name for name in columns if name not in used and name not in near_field]
        if unused:
            hints = []
            for name in unused:
                guess = [known for known in used if _squeezed(known) == _squeezed(name)] or \
                    difflib.get_close_matches(name, sorted(used - set(columns)), n=1)
                hints.append(f"'{name}'" + (f" (did you mean '{guess[0]}'?)" if guess else ""))
            names = ", ".join(f"'{model.name}'" for model in models)
            who = f"the model {names} does not use" if len(models) == 1 else f"none of the models {names} uses"
            warnings.append(f"{source}{len(unused)} column{'s' if len(unused) > 1 else ''} {who}: {', '.join(hints)}")
    return warnings


@dataclass(frozen=True)
class MatrixTable:
    """A long table of (row, column, weight) for ``allocator biproportional``, validated.

    ``rows`` and ``columns`` are in order of first appearance; a pair not in the
    table has weight 0.
    """

    rows: list[str]
    columns: list[str]
    weights: list[list[Fraction]]
    hashes: dict[str, str]


def _key_of(raw: Any) -> str:
    return str(int(raw)) if isinstance(raw, float) and raw.is_integer() else (str(raw).strip() if raw is not None
                                                                             else "")


def load_matrix_table(path: Path | str, row_column: str = "row", column_column: str = "column",
                      weight_column: str = "weight") -> MatrixTable:
    """Read the long CSV/XLSX table of ``row, column, weight`` (names changeable).

    Raises
    ------
    InputError
        Naming the file, row and field of the first bad cell (missing column, empty id,
        negative or non-numeric weight, a (row, column) pair twice).
    """
    table = read_table_file(Path(path))
    file = table.file
    for column in (row_column, column_column, weight_column):
        if column not in table.data:
            raise InputError(f"the table has no column '{column}' (it has {', '.join(table.columns) or 'none'})",
                             where=Location(file),
                             fix=f"name the columns {row_column},{column_column},{weight_column} or rename them "
                                 "with --row-column, --column-column and --weight-column")
    rows: dict[str, int] = {}
    columns: dict[str, int] = {}
    cells: dict[tuple[str, str], Fraction] = {}
    seen: dict[tuple[str, str], str] = {}
    for index in range(len(table)):
        label = table.labels[index]
        row, column = _key_of(table.data[row_column][index]), _key_of(table.data[column_column][index])
        for name, value in ((row_column, row), (column_column, column)):
            if not value:
                raise InputError(f"the {name} is empty", where=Location(file, label, name), fix=f"name the {name}")
        try:
            weight = parse_number(table.data[weight_column][index], decimal_comma=table.decimal_comma)
        except CellError as exc:
            raise InputError(str(exc), where=Location(file, label, weight_column), fix="write a plain number") \
                from None
        if weight is None or weight < 0:
            raise InputError(f"'{weight_column}' is {'empty' if weight is None else f'{weight:g}'}",
                             where=Location(file, label, weight_column), fix="write a number >= 0")
        if (row, column) in seen:
            raise InputError(f"the cell ({row}, {column}) appears twice (first on {seen[(row, column)]})",
                             where=Location(file, label, column_column), fix="merge the two rows")
        seen[(row, column)] = label
        rows.setdefault(row, len(rows))
        columns.setdefault(column, len(columns))
        cells[(row, column)] = Fraction(str(weight)) if isinstance(weight, float) else Fraction(weight)
    if not cells:
        raise InputError("the table has no rows", where=Location(file), fix="add one row per cell")
    weights = [[cells.get((row, column), Fraction(0)) for column in columns] for row in rows]
    return MatrixTable(list(rows), list(columns), weights, _hashes_of(table))


def load_totals(path: Path | str, key: str, known: Sequence[str], total_column: str = "total"
                ) -> tuple[list[int], dict[str, str]]:
    """Read a CSV/XLSX of ``key, total`` (key ``row`` or ``column``): one whole total per known id, in their order.

    Raises
    ------
    InputError
        For a missing column, a total that is no whole number >= 0, an id twice, an id the
        weights do not have (with a did-you-mean), or a known id without a total.
    """
    table = read_table_file(Path(path))
    file = table.file
    for column in (key, total_column):
        if column not in table.data:
            raise InputError(f"the table has no column '{column}' (it has {', '.join(table.columns) or 'none'})",
                             where=Location(file), fix=f"name the columns {key},{total_column}")
    totals: dict[str, int] = {}
    ids = {name: True for name in known}
    for index in range(len(table)):
        label = table.labels[index]
        name = _key_of(table.data[key][index])
        if name not in ids:
            raise InputError(f"'{name}' is no {key} of the weights table", where=Location(file, label, key),
                             fix=_did_you_mean(name, ids, key))
        if name in totals:
            raise InputError(f"the {key} '{name}' appears twice", where=Location(file, label, key),
                             fix="keep one total per " + key)
        try:
            value = parse_number(table.data[total_column][index], decimal_comma=table.decimal_comma)
        except CellError as exc:
            raise InputError(str(exc), where=Location(file, label, total_column), fix="write a whole number") \
                from None
        if value is None or value < 0 or value != int(value):
            raise InputError(f"'{total_column}' is {'empty' if value is None else f'{value:g}'}, not a whole "
                             "number >= 0", where=Location(file, label, total_column), fix="write a whole number")
        totals[name] = int(value)
    missing = [name for name in known if name not in totals]
    if missing:
        raise InputError(f"no total for the {key}(s) {', '.join(missing[:5])}", where=Location(file),
                         fix=f"add a line per {key} of the weights table")
    return [totals[name] for name in known], _hashes_of(table)
