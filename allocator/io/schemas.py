"""Step 2 of the pipeline: the validated shapes of an instance and a model.

An *instance* holds the facts of one allocation round; a *model* holds one
policy. Both are pydantic models. Rows remember where they were read from, so
that every later check can name the file, the row and the field.
"""

from __future__ import annotations

import unicodedata

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import repeat
from fractions import Fraction
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SkipValidation,
    ValidationInfo,
    field_validator,
    model_validator,
)

from allocator.errors import Location, RowsOrigin
from allocator.io.cells import CellError, parse_flag, parse_number


def _number(value: Any, info: ValidationInfo) -> Any:
    decimal_comma = (info.context or {}).get("decimal_comma")
    try:
        return parse_number(value, decimal_comma=decimal_comma)
    except CellError as exc:
        raise ValueError(str(exc)) from None


def _flag(value: Any) -> bool:
    try:
        return parse_flag(value)
    except CellError as exc:
        raise ValueError(str(exc)) from None


def _identifier(value: Any) -> Any:
    # Spreadsheets turn ids like 101 into numbers; ids are always text to us.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        # Ids are compared after NFC: 'Århus' typed with a combining ring is the same id.
        return unicodedata.normalize("NFC", value.strip())
    return value


Number = Annotated[float, BeforeValidator(_number)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Identifier = Annotated[str, BeforeValidator(_identifier), Field(min_length=1)]
OptionalIdentifier = Annotated[str | None, BeforeValidator(lambda v: None if v in ("", None) else _identifier(v))]


class Row(BaseModel):
    """A table row that remembers where it was read from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _origin: Location = PrivateAttr(default_factory=Location)

    def where(self, field_name: str | None = None) -> Location:
        """The file and row this came from, narrowed to ``field_name``."""
        return Location(self._origin.file, self._origin.row, field_name)

    def placed(self, origin: Location) -> "Row":
        """Record where this row came from and return it."""
        self._origin = origin
        return self


class Specialty(Row):
    """A specialty and its fixed national total of posts for the year."""

    id: Identifier
    name: str | None = None
    total: Annotated[Number, Field(ge=0)]


class AreaFields(Row):
    """The fields of one area row, validated one by one (see :class:`Area`)."""

    id: Identifier
    name: str | None = None
    parent: OptionalIdentifier = None
    population: Annotated[Number, Field(ge=0)] | None = None
    underserved: Flag = False
    indicators: dict[str, Annotated[Number, Field()]] = Field(default_factory=dict)


class BoundFields(Row):
    """The fields of one bound row, validated one by one (see :class:`Bound`)."""

    area: Identifier
    specialty: OptionalIdentifier = None
    min: Annotated[Number, Field(ge=0)] | None = None
    max: Annotated[Number, Field(ge=0)] | None = None


class PreviousFields(Row):
    """The fields of one row of last year's posts (see :class:`Previous`)."""

    area: Identifier
    specialty: Identifier
    posts: Annotated[Number, Field(ge=0)]


class OfferFields(Row):
    """The fields of one offer row (see :class:`Offer`)."""

    area: Identifier
    specialty: Identifier


def _where(record: Any, field_name: str | None = None) -> Location:
    """The file and row a record came from, narrowed to ``field_name`` (the ``where`` of every record)."""
    origin = record.origin
    return origin.at(record.index, field_name) if origin is not None else Location(None, None, field_name)


# Cell-level tables can hold hundreds of thousands of rows, so their rows are
# light named tuples: a pydantic object costs ~15 µs to build even without
# validation. Each names the pydantic model that validates it (``schema``) and
# the column kinds the bulk validator may accept without it (``fast``).


class Area(NamedTuple):
    """A node of the area tree; only leaves (areas nobody names as parent) receive posts."""

    id: str
    name: str | None = None
    parent: str | None = None
    population: float | None = None
    underserved: bool = False
    indicators: dict[str, float] = {}  # noqa: RUF012 - a record is never mutated
    origin: RowsOrigin | None = None
    index: int = 0

    schema = AreaFields

    @property
    def label(self) -> str:
        """The name to show people (the name, or the id when there is none)."""
        return self.name or self.id

    where = _where


class Bound(NamedTuple):
    """min <= posts under ``area`` (for ``specialty``, or summed over all when None) <= max."""

    area: str
    specialty: str | None = None
    min: float | None = None
    max: float | None = None
    origin: RowsOrigin | None = None
    index: int = 0

    schema = BoundFields
    fast = {"area": "id", "specialty": "id?", "min": "number?", "max": "number?"}

    where = _where


class Previous(NamedTuple):
    """Last year's posts of one specialty in one leaf area."""

    area: str
    specialty: str
    posts: float
    origin: RowsOrigin | None = None
    index: int = 0

    schema = PreviousFields
    fast = {"area": "id", "specialty": "id", "posts": "number"}

    where = _where


class Offer(NamedTuple):
    """``area`` (a leaf, or every leaf under it) trains ``specialty``.

    When an instance lists offers, only offered (leaf, specialty) cells can
    receive posts; the others are not part of the plan at all.
    """

    area: str
    specialty: str
    origin: RowsOrigin | None = None
    index: int = 0

    schema = OfferFields
    fast = {"area": "id", "specialty": "id"}

    where = _where


class Records(Sequence[Any]):
    """The validated rows of a cell-level table, held as columns.

    A row becomes a record (a named tuple such as :class:`~allocator.io.schemas.Bound`)
    only when someone indexes or iterates; the pipeline reads whole columns
    (:func:`columns_of`).
    """

    def __init__(self, record_type: type[Any], columns: dict[str, list[Any]], origin: RowsOrigin | None) -> None:
        self.record_type = record_type
        self.columns = columns
        self.origin = origin
        self._records: list[Any] | None = None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def _all(self) -> list[Any]:
        if self._records is None:
            # tuple.__new__ is what a named tuple's constructor calls; mapping it directly skips a frame per row.
            make = partial(tuple.__new__, self.record_type)
            self._records = list(map(make, zip(*self.columns.values(), repeat(self.origin), range(len(self)))))
        return self._records

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"Records({self.record_type.__name__}, {len(self)} rows)"


def columns_of(records: Sequence[Any], names: Sequence[str]) -> list[list[Any]]:
    """The named fields of every record, column by column (free for :class:`Records`)."""
    if isinstance(records, Records):
        return [records.columns[name] for name in names]
    if not records:
        return [[] for _ in names]
    fields = type(records[0])._fields
    transposed = list(zip(*records))
    return [list(transposed[fields.index(name)]) for name in names]


def record_from(record_type: type[Any], row: Row, origin: RowsOrigin | None = None, index: int = 0) -> Any:
    """The light record of a validated pydantic row, read from row ``index`` of ``origin``."""
    values = [getattr(row, name) for name in record_type._fields[:-2]]
    return record_type(*values, origin, index)


def _records_of(record_type: type[Any]) -> Any:
    def convert(items: Any) -> Any:
        if hasattr(items, "columns") and getattr(items, "record_type", None) is record_type:
            return items  # validated columns from the loaders (Records)
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"expected a list of {record_type.__name__.lower()} rows")
        if set(map(type, items)) <= {record_type}:
            return list(items)  # already records (the loaders build them in bulk)
        return [item if isinstance(item, record_type)
                else record_from(record_type, record_type.schema.model_validate(item)) for item in items]
    return BeforeValidator(convert)


class Geometry(BaseModel):
    """The map of an instance: a GeoJSON file whose features carry each leaf area's id (or name).

    ``path`` is filled in by the loader: the file, found beside the instance file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Annotated[str, Field(min_length=1)]
    property: Annotated[str, Field(min_length=1)] = "id"
    match: Literal["id", "name"] = "id"
    path: str | None = None


class Instance(BaseModel):
    """The facts of one allocation round."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Identifier
    year: int | None = None
    unit: Literal[1, 0.5] = 1
    specialties: list[Specialty]
    areas: Annotated[list[SkipValidation[Area]], _records_of(Area)]
    bounds: Annotated[SkipValidation[Sequence[Bound]], _records_of(Bound)] = Field(default_factory=list)
    previous: Annotated[SkipValidation[Sequence[Previous]], _records_of(Previous)] = Field(default_factory=list)
    offers: Annotated[SkipValidation[Sequence[Offer]], _records_of(Offer)] = Field(default_factory=list)
    sources: Any = None
    #: The language of the reports made from this instance's plans (``allocator report``); None: English.
    language: Literal["da", "en"] | None = None
    geometry: Geometry | None = None

    @cached_property
    def area_by_id(self) -> dict[str, Area]:
        """Areas keyed by id."""
        return {area.id: area for area in self.areas}

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Child ids of every area, sorted by id."""
        result: dict[str, list[str]] = {area.id: [] for area in self.areas}
        for area in sorted(self.areas, key=lambda a: a.id):  # one sort, so every list comes out sorted
            if area.parent is not None and area.parent in result:
                result[area.parent].append(area.id)
        return result

    @cached_property
    def leaves(self) -> list[str]:
        """Leaf area ids, sorted; the only areas that receive posts."""
        return sorted(area_id for area_id, kids in self.children.items() if not kids)

    @cached_property
    def specialty_ids(self) -> list[str]:
        """Specialty ids, sorted."""
        return sorted(s.id for s in self.specialties)

    @cached_property
    def cells(self) -> list[tuple[str, str]]:
        """The (leaf, specialty) pairs a plan covers, sorted by leaf then specialty.

        Every pair when the instance lists no offers; otherwise only the pairs
        whose leaf, or an area above it, offers the specialty.
        """
        if not self.offers:
            return [(leaf, s) for leaf in self.leaves for s in self.specialty_ids]
        under = self.leaves_under
        # Offers files usually come sorted, and sorting sorted input is linear; dict.fromkeys drops repeats.
        return list(dict.fromkeys(sorted([(leaf, offer.specialty) for offer in self.offers
                                          for leaf in under[offer.area]])))

    @cached_property
    def leaves_under(self) -> dict[str, list[str]]:
        """For every area, the sorted leaf ids in its subtree (itself, for a leaf)."""
        result: dict[str, list[str]] = {}

        def collect(area_id: str) -> list[str]:
            if area_id not in result:
                kids = self.children[area_id]
                result[area_id] = sorted(leaf for kid in kids for leaf in collect(kid)) if kids else [area_id]
            return result[area_id]

        for area in self.areas:
            collect(area.id)
        return result

    def ancestors(self, area_id: str) -> list[str]:
        """The chain from ``area_id`` up to its root, itself first."""
        chain = self._chains.get(area_id)
        if chain is None:
            parent = self.area_by_id[area_id].parent
            chain = [area_id] + (self.ancestors(parent) if parent is not None else [])
            self._chains[area_id] = chain
        return chain

    @cached_property
    def _chains(self) -> dict[str, list[str]]:
        return {}

    @cached_property
    def bound_at(self) -> dict[tuple[str, str | None], Bound]:
        """Bound rows keyed by (area, specialty or None for summed over specialties)."""
        return {(bound.area, bound.specialty): bound for bound in self.bounds}

    @cached_property
    def previous_posts(self) -> dict[tuple[str, str], float]:
        """Last year's posts keyed by (leaf, specialty)."""
        return {(row.area, row.specialty): row.posts for row in self.previous}


class Criterion(Row):
    """One indicator in the need index, with its weight and direction."""

    indicator: Identifier
    weight: Annotated[Number, Field(gt=0)]
    direction: Literal["higher_is_worse", "higher_is_better"] = "higher_is_worse"


class Stability(Row):
    """Limits and costs on the change against last year's posts."""

    max_change: Annotated[Number, Field(ge=0)] | None = None
    weight: Annotated[Number, Field(ge=0)] = 0.0


class Model(BaseModel):
    """One allocation policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Identifier
    description: str = ""
    #: What need is proportional to: ``population``, an indicator, ``capacity`` (the posts a leaf's
    #: bounds allow), or a list of these, meaning the largest of their shares (Japan's residency caps).
    base: Identifier | list[Identifier] = "population"
    #: Designated under-served leaves get this fraction more need (0.1: 10% more).
    underserved_addition: Annotated[Number, Field(ge=0)] = 0.0
    criteria: list[Criterion] = Field(default_factory=list)
    objective: Literal["absolute", "squared", "apportionment", "biproportional"] = "absolute"
    #: The classical method behind ``objective: apportionment`` or ``biproportional`` (see allocator.apportion).
    method: str | None = None
    #: Modified Sainte-Laguë's first divisor, 1, 3, 5 scale (default 1.4); with that method only.
    first_divisor: Annotated[Number, Field(gt=0, le=2)] | None = None
    underserved_weight: Annotated[Number, Field(ge=1)] = 1.0
    stability: Stability = Field(default_factory=Stability)
    #: Multi-year instances only: the weight w of the inhabitant-years without a specialist
    #: against the yearly posts cost (docs/mathematics.md, "Multi-year plans"); one-year plans ignore it.
    coverage_weight: Annotated[Number, Field(ge=0)] = 10.0

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> Any:
        from allocator.apportion import METHOD_NAMES, method_named
        from allocator.errors import InputError

        if value is None:
            return None
        try:
            return method_named(str(value))
        except InputError:
            raise ValueError(f"unknown method '{value}'; use one of {', '.join(METHOD_NAMES)}") from None

    @model_validator(mode="after")
    def _method_fits_objective(self) -> "Model":
        if self.objective == "apportionment":
            if self.method is None:
                raise ValueError("objective 'apportionment' needs a method, e.g. 'method: webster'")
            if self.method == "droop":
                raise ValueError("droop's quota depends on the total, so it is no separable cost; "
                                 "use 'method: hamilton' or a divisor method")
            if self.first_divisor is not None and self.method != "sainte-lague-modified":
                raise ValueError("'first_divisor' belongs to 'method: sainte-lague-modified' only")
            if self.underserved_weight != 1:
                raise ValueError("underserved_weight has no meaning under objective 'apportionment' (the "
                                 "method rounds shares of need); drop it, or raise need through criteria")
        elif self.objective == "biproportional":
            from allocator.apportion.biproportional import BIPROPORTIONAL_METHODS

            if self.method is not None and self.method not in BIPROPORTIONAL_METHODS:
                raise ValueError(f"objective 'biproportional' takes the method {', '.join(BIPROPORTIONAL_METHODS)}, "
                                 f"not '{self.method}'")
            if self.underserved_weight != 1 or self.stability.weight:
                raise ValueError("underserved_weight and stability.weight have no meaning under objective "
                                 "'biproportional' (it rounds need exactly); drop them (stability.max_change works)")
        elif self.method is not None:
            raise ValueError("'method' is used only with 'objective: apportionment' or 'biproportional', "
                             f"not '{self.objective}'")
        return self

    @property
    def first_divisor_exact(self) -> Fraction | None:
        """The first divisor as an exact fraction (1.4 by default) under modified Sainte-Laguë, else None."""
        if self.method != "sainte-lague-modified":
            return None
        return Fraction(str(self.first_divisor)) if self.first_divisor is not None else Fraction(7, 5)


#: The policy used when none is named: posts follow population.
DEFAULT_MODEL = Model(name="population", description="Posts follow population; no criteria.")


# Multi-year instances (issue 14): the validated, resolved form that allocator.io.horizon loads.

@dataclass(frozen=True)
class CellFacts:
    """The resolved facts of one cell (leaf, specialty)."""

    headcount: float
    exit_rate: float
    fill_rate: float
    retention: float


@dataclass(frozen=True)
class FactChange:
    """How a variant (a sensitivity shift, a sweep's scaling, the app's what-if) changed one resolved fact.

    The new value is ``value * factor + shift``, rounded to ``digits`` decimals (None: not rounded), then
    clipped to [``low``, ``high``]. It applies to ``field`` (a :class:`CellFacts` field, or
    ``population_growth`` of the leaves) of the cells whose leaf is ``area`` and whose specialty is
    ``specialty`` ('' matches every one). The verifier resolves the rows again and applies the changes, in
    order, by its own code, so a variant is checked against the rows as the file's own instance is.
    """

    field: str
    factor: float = 1.0
    shift: float = 0.0
    digits: int | None = None
    low: float = -float("inf")
    high: float = float("inf")
    area: str = ""
    specialty: str = ""


@dataclass(frozen=True)
class HorizonInstance:
    """A validated multi-year instance.

    Attributes
    ----------
    instance
        The one-year instance of the first plan year with the rows that hold
        every year (bounds without ``year``), last year's posts and the offers.
    first_year, plan_years, outlook_years
        Calendar year of outlook year 0, P and K.
    totals
        T[s, k] for every specialty and plan year k (in posts).
    training_years, completion, inhabitants_per_specialist
        D_s, c_s and rho_s per specialty.
    growth
        g_l per leaf (inherited from the nearest area that gives it, default 0).
    cells
        (headcount, rates) per cell of ``instance.cells``.
    pipeline
        Posts started before ``first_year``, keyed by (leaf, specialty, calendar year).
    year_bounds
        Bound rows that hold in one plan year only, keyed by calendar year.
    own_growth
        ``population_growth`` as written, keyed by the area that gives it (before inheritance), so that
        a warning can point at the row.
    """

    instance: Instance
    first_year: int
    plan_years: int
    outlook_years: int
    totals: dict[str, list[float]]
    training_years: dict[str, int]
    completion: dict[str, float]
    inhabitants_per_specialist: dict[str, float]
    growth: dict[str, float]
    cells: dict[tuple[str, str], CellFacts]
    pipeline: dict[tuple[str, str, int], float] = field(default_factory=dict)
    year_bounds: dict[int, list[Bound]] = field(default_factory=dict)
    #: The workforce rows as given, keyed by (area, specialty): each field or None (the verifier resolves
    #: inheritance from these by its own code and compares with ``cells``).
    workforce_rows: dict[tuple[str, str], dict[str, float | None]] = field(default_factory=dict)
    own_growth: dict[str, float] = field(default_factory=dict)
    #: True when the loader made ``cells`` and ``growth`` from ``workforce_rows`` and ``own_growth``; an instance
    #: made in code (False) has no rows for the verifier to check them against.
    from_rows: bool = False
    #: What a variant changed in ``cells`` and ``growth`` after loading, in order (empty for the file's own
    #: instance); any other difference from the rows is a verification error.
    changes: tuple[FactChange, ...] = ()

    @property
    def name(self) -> str:
        """The instance's name."""
        return self.instance.name

    @property
    def plan_calendar_years(self) -> list[int]:
        """The calendar years in which posts are placed."""
        return [self.first_year + k for k in range(self.plan_years)]

    @property
    def outlook_calendar_years(self) -> list[int]:
        """The calendar years projected."""
        return [self.first_year + k for k in range(self.outlook_years)]

    def year_instance(self, k: int, previous: dict[tuple[str, str], float] | None = None) -> Instance:
        """The one-year instance of plan year ``k``.

        Its totals are T[s, k]; its bounds are the rows without a year plus
        the rows of that year (a key given in both holds both limits, so the
        tighter of each is kept); its last year's posts are ``previous``
        (year k - 1's plan), or the instance's own for year 0 when None.
        """
        base = self.instance
        specialties = [Specialty(id=s.id, name=s.name, total=self.totals[s.id][k]).placed(s.where())
                       for s in base.specialties]
        bounds: list[Bound] = list(base.bounds)
        extra = self.year_bounds.get(self.first_year + k, [])
        if extra:
            at = {(b.area, b.specialty): i for i, b in enumerate(bounds)}
            for row in extra:
                key = (row.area, row.specialty)
                if key in at:
                    old = bounds[at[key]]
                    lows = [v for v in (old.min, row.min) if v is not None]
                    highs = [v for v in (old.max, row.max) if v is not None]
                    bounds[at[key]] = row._replace(min=max(lows) if lows else None,
                                                   max=min(highs) if highs else None)
                else:
                    at[key] = len(bounds)
                    bounds.append(row)
        if previous is None:
            prev_rows: Any = base.previous
        else:
            prev_rows = [Previous(area, specialty, posts) for (area, specialty), posts in sorted(previous.items())]
        return Instance.model_validate({
            "name": base.name, "year": self.first_year + k, "unit": base.unit, "specialties": specialties,
            "areas": base.areas, "bounds": bounds, "previous": prev_rows, "offers": base.offers,
            "sources": base.sources})

    def start_posts(self, leaf: str, specialty: str, year: int) -> float | None:
        """Posts started before ``first_year`` (pipeline row, else last year's posts, else 0); None in plan years."""
        if year >= self.first_year:
            return None
        given = self.pipeline.get((leaf, specialty, year))
        if given is not None:
            return given
        return self.instance.previous_posts.get((leaf, specialty), 0.0)
