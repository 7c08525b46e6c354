"""Multi-year instances: an instance with a ``horizon`` (BRIEF.md, "Multi-year mathematics").

The file is a one-year instance plus:

- ``horizon: {first_year, plan_years, outlook_years}``;
- per specialty ``total`` (every plan year) or ``totals: {year: posts}``, and
  ``training_years``, ``completion`` and ``inhabitants_per_specialist``;
- per area an optional ``population_growth`` (inherited from ancestors);
- a ``workforce`` table (headcount on leaves; exit, fill and retention rates
  on any area, inherited field by field from the nearest area that gives them);
- an optional ``pipeline`` table (posts started before ``first_year``);
- bound rows with an optional ``year`` (that plan year only, on top of the rows without one).

Everything is read, validated and resolved to plain per-cell values here, with
located errors; the one-year instance of each plan year is made by
:meth:`HorizonInstance.year_instance`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from allocator.errors import InputError, Location, RowsOrigin
from allocator.io import Document, Table, read_document, read_table, read_table_file
from allocator.io.cells import RATE_FIELDS, CellError, fraction_fix, parse_number
from allocator.io.loading import (
    Loaded,
    _area_rows,
    _check_bound_rows,
    _hashes,
    _is_multiple,
    _reject_unknown_keys,
    _rows,
    geometry_beside,
    geometry_hashes,
    instance_header,
    check_instance,
    validate_row,
)
from allocator.io.records import validate_records
from allocator.io.tables import MISSING
from allocator.io.schemas import (
    Bound,
    CellFacts,
    HorizonInstance,
    Identifier,
    Instance,
    Number,
    Offer,
    Previous,
    Row,
    Specialty,
)

#: Keys a multi-year instance adds to the one-year keys.
HORIZON_KEYS = ("horizon", "workforce", "pipeline")

Rate = Annotated[Number, Field(ge=0, le=1)]


class HorizonFields(Row):
    """The ``horizon`` mapping."""

    first_year: Annotated[int, Field(ge=1000, le=9999)]
    plan_years: Annotated[int, Field(ge=1)]
    outlook_years: Annotated[int, Field(ge=1, le=200)]


class HorizonSpecialtyFields(Row):
    """A specialty row of a multi-year instance."""

    id: Identifier
    name: str | None = None
    total: Annotated[Number, Field(ge=0)] | None = None
    totals: dict[int, Annotated[Number, Field(ge=0)]] | None = None
    training_years: Annotated[int, Field(ge=1, le=50)]
    completion: Rate = 1.0
    inhabitants_per_specialist: Annotated[Number, Field(gt=0)]


class WorkforceFields(Row):
    """A workforce row: headcount (leaves only) and rates (any area, inherited)."""

    area: Identifier
    specialty: Identifier
    headcount: Annotated[Number, Field(ge=0)] | None = None
    exit_rate: Rate | None = None
    fill_rate: Rate | None = None
    retention: Rate | None = None


class PipelineFields(Row):
    """Posts of one specialty started in one leaf in a year before ``first_year``."""

    area: Identifier
    specialty: Identifier
    year: int
    posts: Annotated[Number, Field(ge=0)]


#: Rate defaults when no area on a leaf's path gives one (issue 14).
RATE_DEFAULTS = {"exit_rate": 0.0, "fill_rate": 1.0, "retention": 1.0}


def is_horizon_document(document: Document) -> bool:
    """Whether a parsed instance file is a multi-year instance (it has a ``horizon``)."""
    return "horizon" in document.data


def is_horizon_file(path: Path | str) -> bool:
    """Whether the instance file at ``path`` has a ``horizon`` (bad files are left to the loaders)."""
    try:
        return is_horizon_document(read_document(path))
    except InputError:
        return False


def _subtable(table: Table, rows: list[int]) -> Table:
    return Table({name: [cells[i] for i in rows] for name, cells in table.data.items()},
                 [table.labels[i] for i in rows], table.file, table.decimal_comma, table.files, table.text_cells)


def _number_cell(table: Table, index: int, column: str) -> float | None:
    if table.data[column][index] is MISSING:  # an inline row without the key
        return None
    try:
        value = parse_number(table.data[column][index], decimal_comma=table.decimal_comma)
    except CellError as exc:
        fraction = fraction_fix(table.data[column][index]) if column in RATE_FIELDS else None
        raise InputError(str(exc), where=Location(table.file, table.labels[index], column),
                         fix=fraction or "write a plain number") from None
    return None if value is None else float(value)


def _year_cell(table: Table, index: int, column: str) -> int | None:
    value = _number_cell(table, index, column)
    if value is not None and value != int(value):
        raise InputError(f"the year {value:g} is not a whole number", where=Location(table.file, table.labels[index],
                         column), fix="write a calendar year such as 2023")
    return None if value is None else int(value)


#: A column ``total_2022`` of a specialties table gives that year's total: a CSV or XLSX cell
#: cannot hold the ``totals`` mapping.
_TOTAL_COLUMN = re.compile(r"total_(\d{4})")


def _specialty_rows(table: Table) -> tuple[list[Any], set[str]]:
    """The specialty rows, with the cells of ``total_<year>`` columns gathered into ``totals``.

    An empty ``total_<year>`` cell gives no total for that year; a row with none of them keeps
    ``total`` or ``totals`` as written. Also the ids of the rows whose totals came from such
    columns, so that a message names the column the person wrote (``total_2024``), not ``totals``.
    """
    rows = []
    from_columns: set[str] = set()
    for row in table.rows:
        values = dict(row.values)
        yearly: dict[int, Any] = {}
        for name in [name for name in values if _TOTAL_COLUMN.fullmatch(name)]:
            cell = values.pop(name)
            try:
                number = parse_number(cell, decimal_comma=table.decimal_comma)
            except CellError as exc:
                raise InputError(str(exc), where=row.where(name),
                                 fix="write that year's total as a number, or leave the cell empty") from None
            if number is not None:
                yearly[int(name[len("total_"):])] = number
        if yearly:
            if values.get("totals") not in (None, MISSING):
                raise InputError("the row gives both 'totals' and total_<year> columns", where=row.where("totals"),
                                 fix="give each year's total once")
            values["totals"] = yearly
        rows.append(validate_row(HorizonSpecialtyFields, values, row.where(), table.decimal_comma))
        if yearly:
            from_columns.add(rows[-1].id)
    return rows, from_columns


def load_horizon_instance(path: Path | str) -> Loaded:
    """Read, validate and resolve a multi-year instance file.

    Returns
    -------
    Loaded
        ``value`` is the :class:`HorizonInstance`.

    Raises
    ------
    InputError
        At the first bad value, naming the file, row and field.
    """
    document = read_document(path)
    _reject_unknown_keys(document, set(Instance.model_fields) | set(HORIZON_KEYS))
    horizon_value = document.data.get("horizon")
    if not isinstance(horizon_value, dict):
        raise InputError("'horizon' must be a mapping", where=document.locate(("horizon",), "horizon"),
                         fix="write 'horizon: {first_year: 2021, plan_years: 5, outlook_years: 12}'")
    horizon = validate_row(HorizonFields, horizon_value, document.locate(("horizon",)))
    if horizon.plan_years > horizon.outlook_years:
        raise InputError(f"plan_years {horizon.plan_years} is more than outlook_years {horizon.outlook_years}",
                         where=document.locate(("horizon", "plan_years"), "plan_years"),
                         fix="the outlook covers the plan years and more: raise outlook_years or lower plan_years")
    first, plan_years = horizon.first_year, horizon.plan_years
    plan_calendar = list(range(first, first + plan_years))

    tables = {key: read_table(document, key, required=key in {"specialties", "areas", "workforce"})
              for key in ("specialties", "areas", "bounds", "previous", "offers", "workforce", "pipeline")}
    shell = instance_header(document)
    if shell.year is not None and shell.year != first:
        raise InputError(f"the year {shell.year} differs from the horizon's first_year {first}",
                         where=document.locate(("year",), "year"),
                         fix="drop 'year', or make it equal first_year")

    # Specialties: the horizon fields, then the one-year row of the first plan year.
    specialty_rows, totals_from_columns = _specialty_rows(tables["specialties"])
    totals: dict[str, list[float]] = {}
    for row in specialty_rows:
        if (row.total is None) == (row.totals is None):
            raise InputError("give either 'total' (the same every plan year) or 'totals' (one per plan year)",
                             where=row.where("total"), fix="keep one of the two")
        if row.totals is not None:
            for year in row.totals:
                if year not in plan_calendar:
                    if row.id in totals_from_columns:  # a CSV/XLSX column total_<year>: name that column
                        raise InputError(f"the column 'total_{year}' gives a total for {year}, which is not a "
                                         f"plan year ({first}-{plan_calendar[-1]})",
                                         where=row.where(f"total_{year}"),
                                         fix=f"delete the column total_{year}, or empty its cells; give a "
                                             f"total_<year> column for each plan year and no others")
                    raise InputError(f"'totals' gives the year {year}, which is not a plan year "
                                     f"({first}-{plan_calendar[-1]})", where=row.where("totals"),
                                     fix="give one total for each plan year, and no others")
            missing = [year for year in plan_calendar if year not in row.totals]
            if missing and row.id in totals_from_columns:  # CSV/XLSX: name the column the person left empty
                columns = ", ".join(f"total_{year}" for year in missing)
                raise InputError(f"no total for {', '.join(map(str, missing))}: the cell of {columns} is empty "
                                 "or the column is missing", where=row.where(f"total_{missing[0]}"),
                                 fix=f"give a whole number of posts in {columns} (a total_<year> column for each "
                                     "plan year)")
            if missing:
                raise InputError(f"'totals' has no total for {', '.join(map(str, missing))}",
                                 where=row.where("totals"), fix="give one total for each plan year")
            totals[row.id] = [float(row.totals[year]) for year in plan_calendar]
        else:
            totals[row.id] = [float(row.total)] * plan_years
        for year, value in zip(plan_calendar, totals[row.id]):
            if not _is_multiple(value, shell.unit):
                raise InputError(f"the total {value:g} of {year} is not a multiple of the unit {shell.unit:g}",
                                 where=row.where("totals" if row.totals is not None else "total"),
                                 fix="use whole posts, or set 'unit: 0.5' for half posts")
    specialties = [Specialty(id=row.id, name=row.name, total=totals[row.id][0]).placed(row.where())
                   for row in specialty_rows]

    # Areas: population_growth is ours; the rest is a one-year areas table.
    areas_table = tables["areas"]
    growth_cells = areas_table.data.pop("population_growth", None)
    inline_areas = not isinstance(document.data.get("areas"), str)
    areas = _area_rows(areas_table, inline_areas)
    own_growth: dict[str, float] = {}
    if growth_cells is not None:
        areas_table.data["population_growth"] = growth_cells
        for i, area in enumerate(areas):
            value = _number_cell(areas_table, i, "population_growth") if growth_cells[i] not in (None, MISSING) else None
            if value is None:
                continue
            if not -1 < value <= 1:
                raise InputError(f"population_growth {value:g} is not a yearly rate between -1 and 1",
                                 where=Location(areas_table.file, areas_table.labels[i], "population_growth"),
                                 fix="write the yearly growth as a fraction (0.004 for 0.4% a year)")
            own_growth[area.id] = value
        del areas_table.data["population_growth"]

    # Bounds: rows without a year hold every year; a row with a year, that plan year only.
    bounds_table = tables["bounds"]
    year_of_row: list[int | None] = [None] * len(bounds_table)
    if "year" in bounds_table.data:
        year_of_row = [_year_cell(bounds_table, i, "year") for i in range(len(bounds_table))]
        for i, year in enumerate(year_of_row):
            if year is not None and year not in plan_calendar:
                raise InputError(f"the bound's year {year} is not a plan year ({first}-{plan_calendar[-1]})",
                                 where=Location(bounds_table.file, bounds_table.labels[i], "year"),
                                 fix="use a plan year, or leave 'year' empty for a bound that holds every year")
        del bounds_table.data["year"]
    every_year = [i for i, year in enumerate(year_of_row) if year is None]
    base_bounds = validate_records(Bound, _subtable(bounds_table, every_year) if len(every_year) < len(year_of_row)
                                   else bounds_table, validate_row)
    instance = Instance(name=shell.name, year=first, unit=shell.unit, sources=shell.sources,
                        language=shell.language, geometry=geometry_beside(shell.geometry, document),
                        specialties=specialties, areas=areas, bounds=base_bounds,
                        previous=validate_records(Previous, tables["previous"], validate_row),
                        offers=validate_records(Offer, tables["offers"], validate_row))
    check_instance(instance, document.path)
    area_ids = instance.area_by_id
    specialty_ids = {s.id: s for s in instance.specialties}
    year_bounds: dict[int, list[Bound]] = {}
    for year in plan_calendar:
        rows = [i for i, y in enumerate(year_of_row) if y == year]
        if rows:
            records = list(validate_records(Bound, _subtable(bounds_table, rows), validate_row))
            # Labels of the sub-table are the rows' own, so errors point at the right lines.
            _check_bound_rows(records, area_ids, specialty_ids)
            year_bounds[year] = records

    leaves = set(instance.leaves)
    growth = {}
    for leaf in instance.leaves:
        growth[leaf] = next((own_growth[a] for a in instance.ancestors(leaf) if a in own_growth), 0.0)

    workforce_table = tables["workforce"]
    workforce_where = (document.locate(("workforce",), "workforce") if not isinstance(document.data.get("workforce"), str)
                       else Location(workforce_table.file, "the workforce table"))
    # The pipeline rows name offered cells only; then every leaf becomes a cell (see _closed_cells).
    pipeline = _pipeline(instance, tables["pipeline"], leaves, first,
                         {row.id: row.training_years for row in specialty_rows})
    offered = set(instance.cells)
    if instance.offers:
        instance = _closed_cells(instance, tables["offers"])
    cells, workforce_rows = _workforce(instance, workforce_table, leaves, offered, workforce_where)
    loaded = HorizonInstance(
        instance=instance, first_year=first, plan_years=plan_years, outlook_years=horizon.outlook_years,
        totals=totals, training_years={row.id: row.training_years for row in specialty_rows},
        completion={row.id: float(row.completion) for row in specialty_rows},
        inhabitants_per_specialist={row.id: float(row.inhabitants_per_specialist) for row in specialty_rows},
        growth=growth, cells=cells, pipeline=pipeline, year_bounds=year_bounds, own_growth=own_growth,
        workforce_rows=workforce_rows, from_rows=True)
    return Loaded(loaded, {**_hashes(document, list(tables.values())), **geometry_hashes(instance, document)})


def _unknown(kind: str, value: str, known: dict[str, Any]) -> str:
    guess = difflib.get_close_matches(value, list(known), n=1)
    return f"did you mean '{guess[0]}'?" if guess else f"use the id of an existing {kind}"


def _closed_cells(instance: Instance, table: Table) -> Instance:
    """``instance`` without its offers table: every (leaf, specialty) not offered is closed by a bound ``max: 0``.

    BRIEF.md ("Multi-year mathematics"): pi_l = pop_l / sum of pop over all
    leaves, and the inhabitants of a leaf that trains no one in a specialty
    still need its specialists. So over a horizon such a leaf keeps its
    demand, supply, shortfall and share of the graduates who settle away; it
    only gets no posts, exactly as the ``max: 0`` writing (docs/formats.md).
    """
    offered = set(instance.cells)
    closed = [(leaf, s.id) for leaf in instance.leaves for s in instance.specialties if (leaf, s.id) not in offered]
    origin = RowsOrigin(table.file, [f"offers (no row offers '{s}' in '{leaf}')" for leaf, s in closed])
    bounds = list(instance.bounds)
    at = {(b.area, b.specialty): i for i, b in enumerate(bounds)}
    for i, (leaf, s) in enumerate(closed):
        if (leaf, s) in at:  # a row of the user's on a cell not offered: it keeps its place, capped at 0
            bounds[at[(leaf, s)]] = bounds[at[(leaf, s)]]._replace(max=0.0)
        else:
            bounds.append(Bound(leaf, s, None, 0.0, origin, i))
    return Instance(name=instance.name, year=instance.year, unit=instance.unit, sources=instance.sources,
                    language=instance.language, geometry=instance.geometry, specialties=instance.specialties,
                    areas=instance.areas, bounds=bounds, previous=instance.previous, offers=[])


def _workforce(instance: Instance, table: Table, leaves: set[str], offered: set[tuple[str, str]],
               where: Location | None = None
               ) -> tuple[dict[tuple[str, str], CellFacts], dict[tuple[str, str], dict[str, float | None]]]:
    """Resolve headcount (own leaf row) and rates (inherited field by field) of every cell.

    ``where`` locates the workforce table itself, for a leaf that has no row in it. Also returns the rows
    as given (area, specialty: each field or None), for the verifier's own resolution.
    """
    areas, specialties = instance.area_by_id, {s.id: s for s in instance.specialties}
    rows: dict[tuple[str, str], WorkforceFields] = {}
    for row in _rows(WorkforceFields, table):
        if row.area not in areas:
            raise InputError(f"unknown area '{row.area}'", where=row.where("area"),
                             fix=_unknown("area", row.area, areas))
        if row.specialty not in specialties:
            raise InputError(f"unknown specialty '{row.specialty}'", where=row.where("specialty"),
                             fix=_unknown("specialty", row.specialty, specialties))
        if row.headcount is not None and row.area not in leaves:
            raise InputError(f"'{row.area}' is not a leaf area; headcount is given per leaf",
                             where=row.where("headcount"),
                             fix="give the headcount on the leaf areas under it (rates may stay here)")
        key = (row.area, row.specialty)
        if key in rows:
            raise InputError(f"a second workforce row for area '{row.area}' and specialty '{row.specialty}'",
                             where=row.where("area"), fix=f"merge it with {rows[key].where()}")
        rows[key] = row
    facts = {}
    for leaf, specialty in instance.cells:
        own = rows.get((leaf, specialty))
        not_offered = ("; it trains no one in it (offers), but its inhabitants still count in the demand"
                       if (leaf, specialty) not in offered else "")
        if own is None:  # no row at all: name the table, since there is no row to point at
            raise InputError(f"leaf area '{leaf}' has no headcount for '{specialty}': the workforce table has no "
                             f"row for area '{leaf}' and specialty '{specialty}'{not_offered}",
                             where=where or Location(table.file, "the workforce table"),
                             fix=f"add a row to the workforce table for the leaf and specialty: "
                                 f"{{area: {leaf}, specialty: {specialty}, headcount: ...}} "
                                 "(headcount 0 if it has none)")
        if own.headcount is None:
            raise InputError(f"leaf area '{leaf}' has no headcount for '{specialty}'{not_offered}",
                             where=own.where("headcount"),
                             fix=f"add a workforce row {{area: {leaf}, specialty: {specialty}, headcount: ...}} "
                                 "(headcount 0 if it has none)")
        rates = {}
        for name, default in RATE_DEFAULTS.items():
            value = next((getattr(rows[(a, specialty)], name) for a in instance.ancestors(leaf)
                          if (a, specialty) in rows and getattr(rows[(a, specialty)], name) is not None), None)
            rates[name] = float(default if value is None else value)
        facts[(leaf, specialty)] = CellFacts(float(own.headcount), **rates)
    given = {key: {name: None if getattr(row, name) is None else float(getattr(row, name))
                   for name in ("headcount", *RATE_DEFAULTS)} for key, row in rows.items()}
    return facts, given


def _pipeline(instance: Instance, table: Table, leaves: set[str], first: int,
              training: dict[str, int]) -> dict[tuple[str, str, int], float]:
    areas, specialties = instance.area_by_id, {s.id: s for s in instance.specialties}
    cells = set(instance.cells)
    result: dict[tuple[str, str, int], float] = {}
    for row in _rows(PipelineFields, table):
        if row.area not in areas:
            raise InputError(f"unknown area '{row.area}'", where=row.where("area"),
                             fix=_unknown("area", row.area, areas))
        if row.area not in leaves:
            raise InputError(f"'{row.area}' is not a leaf area; pipeline posts are given per leaf",
                             where=row.where("area"), fix="split the posts over the leaf areas under it")
        if row.specialty not in specialties:
            raise InputError(f"unknown specialty '{row.specialty}'", where=row.where("specialty"),
                             fix=_unknown("specialty", row.specialty, specialties))
        if (row.area, row.specialty) not in cells:
            raise InputError(f"'{row.area}' does not offer '{row.specialty}'", where=row.where("area"),
                             fix="add an offer row for it, or delete the pipeline row")
        if row.year >= first:
            raise InputError(f"the pipeline year {row.year} is not before first_year {first}",
                             where=row.where("year"),
                             fix="pipeline rows are posts started before the plan; posts from first_year on "
                                 "are what the plan decides")
        oldest = first - training[row.specialty]
        if row.year < oldest:
            raise InputError(f"posts started in {row.year} finish training before {first} "
                             f"({training[row.specialty]} training years)", where=row.where("year"),
                             fix=f"count them in the workforce headcount, and give pipeline years {oldest}-{first - 1}")
        key = (row.area, row.specialty, row.year)
        if key in result:
            raise InputError(f"a second pipeline row for '{row.area}', '{row.specialty}', {row.year}",
                             where=row.where("year"), fix="keep one row per area, specialty and year")
        result[key] = float(row.posts)
    return result


def load_plan_posts(path: Path | str, horizon: HorizonInstance) -> tuple[dict[tuple[str, str, int], float],
                                                                        dict[str, str]]:
    """Read a multi-year plan made elsewhere: a CSV/XLSX table with ``area, specialty, year, posts``.

    Other columns are ignored, so a plan.csv written by ``allocator solve``
    reads back. Every cell of the instance needs one row in every plan year.

    Returns
    -------
    posts, hashes
        Posts keyed by (leaf, specialty, calendar year), and the file's SHA-256.
    """
    table = read_table_file(Path(path))
    file = table.file
    for column in ("area", "specialty", "year", "posts"):
        if column not in table.data:
            raise InputError(f"the plan has no column '{column}' (it has {', '.join(table.columns) or 'none'})",
                             where=Location(file), fix="name the columns area,specialty,year,posts")
    cells = set(horizon.instance.cells)
    areas = horizon.instance.area_by_id
    plan_years = horizon.plan_calendar_years
    unit = float(horizon.instance.unit)
    posts: dict[tuple[str, str, int], float] = {}
    seen: dict[tuple[str, str, int], str] = {}
    for i in range(len(table)):
        label = table.labels[i]
        area = _text_cell(table, i, "area")
        specialty = _text_cell(table, i, "specialty")
        if area not in areas:
            raise InputError(f"unknown area '{area}'", where=Location(file, label, "area"),
                             fix=_unknown("area", area, areas))
        if (area, specialty) not in cells:
            known = {s.id: s for s in horizon.instance.specialties}
            problem = (f"unknown specialty '{specialty}'" if specialty not in known else
                       f"'{area}' is not a leaf area" if area not in horizon.instance.leaves else
                       f"'{area}' does not offer '{specialty}'")
            raise InputError(problem, where=Location(file, label, "specialty" if specialty not in known else "area"),
                             fix="give posts per leaf area and specialty of the instance")
        year = _year_cell(table, i, "year")
        if year not in plan_years:
            raise InputError(f"the year {year} is not a plan year ({plan_years[0]}-{plan_years[-1]})",
                             where=Location(file, label, "year"), fix="give one row per cell and plan year")
        value = _number_cell(table, i, "posts")
        if value is None or value < 0 or not _is_multiple(value, unit):
            shown = "empty" if value is None else f"{value:g}"
            raise InputError(f"posts is {shown}, not a number >= 0 in multiples of the unit {unit:g}",
                             where=Location(file, label, "posts"), fix="write the posts of the cell that year")
        key = (area, specialty, year)
        if key in seen:
            raise InputError(f"a second row for '{area}', '{specialty}', {year}", where=Location(file, label, "year"),
                             fix=f"keep one row per cell and year (the first is {seen[key]})")
        seen[key] = label
        posts[key] = value
    for leaf, specialty in horizon.instance.cells:
        for year in plan_years:
            if (leaf, specialty, year) not in posts:
                raise InputError(f"the plan has no posts for '{leaf}', '{specialty}' in {year}", where=Location(file),
                                 fix="give one row per leaf area, specialty and plan year (0 for none)")
    hashes = {str(name): hashlib.sha256(raw).hexdigest() for name, raw in table.files.items()}
    return posts, hashes


def status_quo_posts(horizon: HorizonInstance) -> dict[tuple[str, str, int], float]:
    """Last year's posts repeated in every plan year (``allocator project --status-quo``).

    Raises
    ------
    InputError
        When a cell has no last year's posts.
    """
    previous = horizon.instance.previous_posts
    for leaf, specialty in horizon.instance.cells:
        if (leaf, specialty) not in previous:
            raise InputError(f"--status-quo repeats last year's posts, and '{leaf}' has none for '{specialty}'",
                             where=Location(None, None, "previous"),
                             fix="add the cell to the instance's 'previous' table, or give --plan")
    return {(leaf, specialty, year): previous[(leaf, specialty)]
            for leaf, specialty in horizon.instance.cells for year in horizon.plan_calendar_years}


def _text_cell(table: Table, index: int, column: str) -> str:
    value = table.data[column][index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None or value is MISSING else str(value).strip()
    if not text:
        raise InputError(f"the {column} is empty", where=Location(table.file, table.labels[index], column),
                         fix=f"fill in the {column}")
    return unicodedata.normalize("NFC", text)


__all__ = ["load_plan_posts", "status_quo_posts", "HorizonInstance", "CellFacts", "load_horizon_instance",
           "is_horizon_file", "is_horizon_document"]
