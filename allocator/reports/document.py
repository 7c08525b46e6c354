"""What a report shows, as numbers: no language, no layout.

A report is built from the JSON documents a run writes (plan.json,
sensitivity.json, comparison.json), whether they were just rendered by the
same command (``--report``) or read back from an output folder (``allocator
report``); so both give the same report. The instance supplies what the
documents do not hold: the area tree, names, population and the map.

Above :data:`MEMO_AREAS` leaf areas the tables and charts are summed per
parent area, as summary.md is; the map, when there is one, keeps every leaf.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from allocator.io.schemas import Instance

#: A report lists at most this many areas; a larger plan is summed per parent area (as summary.md is).
MEMO_AREAS = 300


@dataclass
class AreaFigures:
    """Posts of one area (a leaf, or a parent when the plan is summed per parent), all specialties together."""

    id: str
    name: str
    group: str  # the training region (top-level area) it lies in
    population: float
    underserved: bool
    posts: float
    target: float
    previous: float | None

    @property
    def change(self) -> float | None:
        """Posts against last year (None when last year is not given)."""
        return None if self.previous is None else self.posts - self.previous

    @property
    def per_100k(self) -> float | None:
        """Posts per 100,000 inhabitants (None without population)."""
        return self.posts / self.population * 100_000 if self.population > 0 else None


@dataclass
class PlanPart:
    """The plan of one model: the headline figures, the areas and the training regions."""

    model: str
    description: str
    solver: str
    unit: float
    total: float
    specialties: list[tuple[str, float]]  # (name, posts)
    areas: list[AreaFigures]  # leaves, or parents when summed
    leaves: list[AreaFigures]  # always the leaves (the map)
    groups: list[AreaFigures]  # top-level areas
    summed_per_parent: bool
    has_previous: bool
    underserved_areas: int
    underserved_posts: float
    underserved_population_share: float
    population: float

    @property
    def underserved_share(self) -> float:
        """The under-served areas' share of all posts."""
        return self.underserved_posts / self.total if self.total else 0.0

    def gains(self, count: int = 3) -> list[AreaFigures]:
        """The areas that gain most against last year (largest change first; ties by name)."""
        moved = [a for a in self.areas if a.change is not None and a.change > 0]
        return sorted(moved, key=lambda a: (-(a.change or 0), a.name))[:count]

    def losses(self, count: int = 3) -> list[AreaFigures]:
        """The areas that lose most against last year (largest loss first; ties by name)."""
        moved = [a for a in self.areas if a.change is not None and a.change < 0]
        return sorted(moved, key=lambda a: (a.change or 0, a.name))[:count]


@dataclass
class Interval:
    """The Monte Carlo range of one cell's posts."""

    area: str
    specialty: str
    posts: float
    low: float
    median: float
    high: float
    keep_share: float


@dataclass
class SensitivityPart:
    """The Monte Carlo ranges and who gets the next and loses the last post."""

    model: str
    draws: int
    noise: float
    seed: int
    infeasible_draws: int
    intervals: list[Interval]
    intervals_shown_of: int  # cells in the run; only the widest MEMO_AREAS ranges are shown above that
    priority: list[tuple[str, list[str], list[str]]]  # (specialty name, next areas, last areas)


@dataclass
class PolicyFigures:
    """One policy of a comparison: its metrics and posts per area."""

    name: str
    description: str
    metrics: dict[str, Any]
    posts: dict[str, float]  # area id (leaf or parent) -> posts
    leaf_posts: dict[str, float]  # leaf id -> posts (the maps)


@dataclass
class ComparisonPart:
    """Each policy's plan side by side, with the equity metrics."""

    reference: str
    need_yardstick: str
    policies: list[PolicyFigures]
    areas: list[AreaFigures]  # the reference policy's figures, for names and last year
    leaves: list[AreaFigures]  # the same per leaf (the maps)
    summed_per_parent: bool
    same_plans: list[list[str]]


@dataclass
class CoverageFigures:
    """Coverage (supply / demand, all specialties together) of one area in every outlook year."""

    id: str
    name: str
    group: str  # the training region (top-level area) it lies in
    underserved: bool
    coverage: list[float | None]  # per outlook year; None where the area has no demand

    @property
    def reached(self) -> int | None:
        """Index of the first year from which coverage stays at the target (100 %) to the end, else None.

        The same rule as summary.md's "target reached" (allocator.results.projection.year_target_reached).
        """
        reached = None
        for k, value in enumerate(self.coverage):
            if value is not None and value >= 1 - 1e-12:
                reached = k if reached is None else reached
            else:
                reached = None
        return reached


@dataclass
class BreachFigures:
    """A yearly rule a given plan breaks (plan.json's ``metadata.rule_breaches``), with the names to say.

    ``kind`` is ``total``, ``min``, ``max`` or ``max_change``; ``value`` the plan's figure, ``limit`` the rule's.
    """

    kind: str
    year: int
    area: str | None  # the area's name (None for a specialty's total)
    specialty: str | None  # the specialty's name (None for a bound on all specialties)
    value: float
    limit: float


@dataclass
class HorizonPart:
    """A multi-year plan: posts per plan year and each area's coverage over the outlook against its target."""

    model: str
    status: str
    years: list[int]  # every outlook year, the plan years first
    plan_years: int
    specialties: list[tuple[str, float]]  # (name, posts over all plan years)
    posts_per_year: list[float]
    areas: list[CoverageFigures]  # leaves, or parents when summed
    groups: list[CoverageFigures]  # the training regions
    total: CoverageFigures  # the whole country
    summed_per_parent: bool
    leaves: int
    inhabitant_years_without: float | None
    myopic_inhabitant_years_without: float | None
    leaf_areas: list[CoverageFigures] = field(default_factory=list)  # always the leaves (the maps)
    # How the plan was made: plan.json's objective, best bound and certified gap (None where it has none),
    # and the yearly rules a given plan breaks (``allocator project``: status ``given`` or ``status quo``).
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    breaches: list[BreachFigures] = field(default_factory=list)
    # A plan.json written before rule_breaches existed has only the verifier's English lines: shown as they are,
    # so that the report never says such a plan keeps every rule.
    unworded_breaches: list[str] = field(default_factory=list)


@dataclass
class HorizonPolicyFigures:
    """One policy of a multi-year comparison: its metrics, and coverage over the outlook years."""

    name: str
    description: str
    coverage_weight: float
    metrics: dict[str, Any]
    groups: list[CoverageFigures]  # the training regions
    areas: list[CoverageFigures]  # leaves, or parents when summed
    leaf_areas: list[CoverageFigures]  # always the leaves (the maps)
    total: CoverageFigures  # the whole country
    posts_per_year: list[float]


@dataclass
class HorizonComparisonPart:
    """Policies side by side over a horizon (a multi-year comparison.json)."""

    reference: str
    years: list[int]  # every outlook year, the plan years first
    plan_years: int
    policies: list[HorizonPolicyFigures]
    summed_per_parent: bool

    def area_names(self) -> list[tuple[str, str, bool]]:
        """(id, name, under-served) of the areas in the tables, in the reference policy's order."""
        return [(a.id, a.name, a.underserved) for a in self.policies[0].areas]


@dataclass
class HorizonVariantFigures:
    """One variant of a multi-year sensitivity report, as the report's table shows it."""

    kind: str
    field: str
    change: float
    area: str  # the area's name ("" for every area)
    specialty: str
    year: int | None
    status: str
    inhabitant_years_change: float | None
    posts_moved: float | None
    posts_moved_first_year: float | None
    regret: float | None
    objective_change: float | None


@dataclass
class HorizonSensitivityPart:
    """How firm a multi-year plan is (a multi-year sensitivity.json): the first year's firmness, the variants
    of every area at once and the post variants (each area alone is in sensitivity.csv)."""

    model: str
    first_year: int
    last_year: int
    shifts: int  # assumption and coverage-weight variants with a plan
    changing: int  # of those, the ones that change some area's first-year posts
    variants: list[HorizonVariantFigures]  # every-area, coverage-weight and post variants, in the file's order
    several: bool  # several specialties (labels name the specialty)


@dataclass
class SweepAxisFigures:
    """One axis of a sweep: each area's range of posts (and, multi-year, coverage) per value, and the changes."""

    field: str
    values: list[float]
    posts: list[tuple[str, list[list[float] | None]]]  # (area name, [low, high] or None per value)
    coverage: list[tuple[str, list[list[float] | None]]]  # the same for coverage (multi-year; else empty)
    changes: list[dict[str, Any]]  # from, to, changed, comparable and (multi-year) years


@dataclass
class SweepPart:
    """A sweep (sweep.json): what its scenarios were, and per axis how the plan moves."""

    scenarios: int
    statuses: dict[str, int]
    models: list[str]
    combine: str
    draws: dict[str, Any] | None
    multi_year: bool
    plan_years: list[int]
    coverage_year: int | None
    axes: list[SweepAxisFigures]


@dataclass
class Document:
    """Everything one report shows."""

    instance: str
    year: int | None
    language: str | None
    plans: list[PlanPart] = field(default_factory=list)
    sensitivities: list[SensitivityPart] = field(default_factory=list)
    comparisons: list[ComparisonPart] = field(default_factory=list)
    horizons: list[HorizonPart] = field(default_factory=list)
    horizon_comparisons: list[HorizonComparisonPart] = field(default_factory=list)
    sweeps: list[SweepPart] = field(default_factory=list)
    horizon_sensitivities: list[HorizonSensitivityPart] = field(default_factory=list)
    group_names: dict[str, str] = field(default_factory=dict)
    sources: list[tuple[str, str]] = field(default_factory=list)

    @property
    def training_regions(self) -> list[str]:
        """The names of the top-level areas, in the instance's order."""
        return list(self.group_names.values())

    @property
    def proven_optimal(self) -> bool:
        """Whether every plan the report shows was proven optimal by a solver (one-year plans always are).

        False when a multi-year plan was accepted within a gap or given (``allocator project``), or a
        comparison, sweep or sensitivity variant holds a plan accepted within a gap.
        """
        statuses = [part.status for part in self.horizons]
        statuses += [str(p.metrics.get("status", "optimal")) for part in self.horizon_comparisons
                     for p in part.policies]
        statuses += [status for part in self.sweeps for status in part.statuses]
        statuses += [v.status for part in self.horizon_sensitivities for v in part.variants]
        # Scenarios with no plan (infeasible, time limit, error) show no plan, so they claim nothing.
        return all(status in ("optimal", "infeasible", "time-limit", "error") for status in statuses)


class _Tree:
    """Names, parents, population and flags of the instance's areas, for summing leaves."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.by_id = instance.area_by_id
        self.leaves = instance.leaves
        self.summed = len(self.leaves) > MEMO_AREAS
        self.top = {leaf: self._top(leaf) for leaf in self.leaves}

    def _top(self, area: str) -> str:
        while self.by_id[area].parent is not None:
            area = self.by_id[area].parent  # type: ignore[assignment]
        return area

    def name(self, area: str) -> str:
        return self.by_id[area].name or area

    def group_of(self, leaf: str) -> str:
        """The area a leaf is counted under in tables: itself, or its parent above MEMO_AREAS leaves."""
        return (self.by_id[leaf].parent or leaf) if self.summed else leaf

    def figures(self, posts: dict[str, float], target: dict[str, float], previous: dict[str, float | None],
                key: Any) -> list[AreaFigures]:
        """Figures per area under ``key`` (a leaf -> area function), in the instance's leaf order."""
        sums: dict[str, list[Any]] = {}
        for leaf in self.leaves:
            area = key(leaf)
            entry = sums.setdefault(area, [0.0, 0.0, 0.0, None, False, self.top[leaf]])
            entry[0] += posts.get(leaf, 0.0)
            entry[1] += target.get(leaf, 0.0)
            entry[2] += self.by_id[leaf].population or 0.0
            if previous.get(leaf) is not None:
                entry[3] = (entry[3] or 0.0) + previous[leaf]
            entry[4] = entry[4] or self.by_id[leaf].underserved
        return [AreaFigures(area, self.name(area), self.name(top), population, underserved, p, t, prev)
                for area, (p, t, population, prev, underserved, top) in sums.items()]


def _plan_part(tree: _Tree, plan: dict[str, Any]) -> PlanPart:
    posts: dict[str, float] = defaultdict(float)
    target: dict[str, float] = defaultdict(float)
    previous: dict[str, float | None] = {}
    by_specialty: dict[str, float] = defaultdict(float)
    for row in plan["rows"]:
        leaf = row["area"]
        posts[leaf] += row["posts"]
        target[leaf] += row["target"]
        by_specialty[row["specialty"]] += row["posts"]
        if row.get("previous") is not None:
            previous[leaf] = (previous.get(leaf) or 0.0) + row["previous"]
    names = {s.id: s.name or s.id for s in tree.instance.specialties}
    leaves = tree.figures(posts, target, previous, lambda leaf: leaf)
    population = sum(a.population for a in leaves)
    underserved = [a for a in leaves if a.underserved]
    metadata = plan.get("metadata", {})
    return PlanPart(
        model=str(plan["model"]), description=str(metadata.get("model_description", "")),
        solver=str(metadata.get("solver", "")), unit=float(plan.get("unit", 1)), total=sum(posts.values()),
        specialties=[(names.get(s, s), by_specialty[s]) for s in tree.instance.specialty_ids if s in by_specialty],
        areas=tree.figures(posts, target, previous, tree.group_of) if tree.summed else leaves, leaves=leaves,
        groups=tree.figures(posts, target, previous, lambda leaf: tree.top[leaf]),
        summed_per_parent=tree.summed, has_previous=bool(previous), underserved_areas=len(underserved),
        underserved_posts=sum(a.posts for a in underserved),
        underserved_population_share=sum(a.population for a in underserved) / population if population else 0.0,
        population=population)


def _coverage(tree: _Tree, projection: Sequence[dict[str, Any]], years: list[int], key: Any,
              name: str | None = None) -> list[CoverageFigures]:
    """Coverage per area under ``key`` (a leaf -> area function), in the instance's leaf order.

    An area's coverage is the sum of its leaves' supply over the sum of their demand, over every
    specialty, as summary.md sums leaves into training regions. ``name`` names a single area that
    is no area of the instance (the whole country).
    """
    index = {year: k for k, year in enumerate(years)}
    sums: dict[str, list[list[float]]] = {}
    for record in projection:
        cells = sums.setdefault(key(record["area"]), [[0.0, 0.0] for _ in years])
        cell = cells[index[int(record["year"])]]
        cell[0] += float(record["supply"])
        cell[1] += float(record["demand"])
    order: dict[str, tuple[str, bool]] = {}
    for leaf in tree.leaves:
        area = key(leaf)
        if area in sums:
            top, under = order.get(area, (tree.top[leaf], False))
            order[area] = (top, under or tree.by_id[leaf].underserved)
    return [CoverageFigures(area, name if name is not None else tree.name(area), tree.name(top), under,
                            [supply / demand if demand > 0 else None for supply, demand in sums[area]])
            for area, (top, under) in order.items()]


def _horizon_part(tree: _Tree, plan: dict[str, Any]) -> HorizonPart:
    """The multi-year part of a plan.json that `solve` wrote for a multi-year instance."""
    plan_years = sorted({int(row["year"]) for row in plan["rows"]})
    years = sorted({int(record["year"]) for record in plan["projection"]} | set(plan_years))
    names = {s.id: s.name or s.id for s in tree.instance.specialties}
    by_specialty: dict[str, float] = defaultdict(float)
    per_year: dict[int, float] = defaultdict(float)
    for row in plan["rows"]:
        by_specialty[row["specialty"]] += row["posts"]
        per_year[int(row["year"])] += row["posts"]
    projection = plan["projection"]
    leaves = _coverage(tree, projection, years, lambda leaf: leaf)
    myopic = plan.get("myopic") or {}
    return HorizonPart(
        model=str(plan["model"]), status=str(plan.get("status", "")), years=years, plan_years=len(plan_years),
        specialties=[(names.get(s, s), by_specialty[s]) for s in tree.instance.specialty_ids if s in by_specialty],
        posts_per_year=[per_year[year] for year in plan_years],
        areas=_coverage(tree, projection, years, tree.group_of) if tree.summed else leaves,
        groups=_coverage(tree, projection, years, lambda leaf: tree.top[leaf]),
        total=(_coverage(tree, projection, years, lambda leaf: "", name="") or
               [CoverageFigures("", "", "", False, [None] * len(years))])[0],
        summed_per_parent=tree.summed, leaves=len(leaves),
        inhabitant_years_without=plan.get("inhabitant_years_without_specialist"),
        myopic_inhabitant_years_without=myopic.get("inhabitant_years_without_specialist"), leaf_areas=leaves,
        objective=plan.get("objective"), bound=plan.get("best_bound"), gap=plan.get("gap"),
        breaches=[BreachFigures(str(b["kind"]), int(b["year"]), tree.name(b["area"]) if b.get("area") else None,
                                names.get(b["specialty"], b["specialty"]) if b.get("specialty") else None,
                                float(b["value"]), float(b["limit"]))
                  for b in plan.get("metadata", {}).get("rule_breaches", [])],
        unworded_breaches=[] if "rule_breaches" in plan.get("metadata", {}) else
        [str(text) for text in plan.get("metadata", {}).get("broken_rules", [])])


def _sensitivity_part(tree: _Tree, report: dict[str, Any]) -> SensitivityPart:
    names = {s.id: s.name or s.id for s in tree.instance.specialties}
    robustness = report.get("robustness") or {}
    cells = robustness.get("cells") or []
    intervals = [Interval(tree.name(c["area"]), names.get(c["specialty"], c["specialty"]), c["posts"], c["min"],
                          c["median"], c["max"], c["keep_share"]) for c in cells]
    if len(intervals) > MEMO_AREAS:
        # The widest ranges are the ones a reader must see; ties keep the run's order (area, specialty).
        ranked = sorted(range(len(intervals)), key=lambda k: -(intervals[k].high - intervals[k].low))
        intervals = [intervals[k] for k in sorted(ranked[:MEMO_AREAS])]
    def step(areas: Any) -> str:
        # One step of total ranging may move posts in several areas at once.
        return " + ".join(tree.name(a) for a in (areas if isinstance(areas, list) else [areas]))

    priority = [(names.get(s, s), [step(a) for a in lists.get("next", [])], [step(a) for a in lists.get("last", [])])
                for s, lists in (report.get("priority") or {}).items()]
    return SensitivityPart(model=str(report["model"]), draws=int(robustness.get("draws", 0)),
                           noise=float(robustness.get("noise", 0.0)), seed=int(robustness.get("seed", 0)),
                           infeasible_draws=int(robustness.get("infeasible_draws", 0)), intervals=intervals,
                           intervals_shown_of=len(cells), priority=priority)


def _horizon_sensitivity_part(tree: _Tree, report: dict[str, Any]) -> HorizonSensitivityPart:
    """The part of a multi-year sensitivity.json (``kind: multi-year``)."""
    variants = report["variants"]
    shifts = [v for v in variants if v["kind"] != "posts" and v["objective"] is not None]
    shown = [HorizonVariantFigures(
        kind=str(v["kind"]), field=str(v["field"]), change=float(v["change"]),
        area=tree.name(v["area"]) if v.get("area") else "", specialty=str(v.get("specialty") or ""), year=v.get("year"),
        status=str(v["status"]), inhabitant_years_change=v.get("inhabitant_years_change"),
        posts_moved=v.get("posts_moved"), posts_moved_first_year=v.get("posts_moved_first_year"),
        regret=v.get("regret"), objective_change=v.get("objective_change"))
        for v in variants if not v.get("area")]
    return HorizonSensitivityPart(model=str(report["model"]), first_year=int(report["years"]["first"]),
                                  last_year=int(report["years"]["last_outlook"]), shifts=len(shifts),
                                  changing=sum(1 for v in shifts if v["first_year_changes"]), variants=shown,
                                  several=len(tree.instance.specialties) > 1)


def _comparison_part(tree: _Tree, comparison: dict[str, Any]) -> ComparisonPart:
    policies = []
    reference_posts: dict[str, float] = defaultdict(float)
    reference_target: dict[str, float] = defaultdict(float)
    previous: dict[str, float | None] = {}
    reference = comparison["reference"]
    for model in comparison["models"]:
        per_leaf: dict[str, float] = defaultdict(float)
        for cell in comparison["cells"]:
            per_leaf[cell["area"]] += cell["posts"][model["name"]]
        per_area: dict[str, float] = defaultdict(float)
        for leaf, posts in per_leaf.items():
            per_area[tree.group_of(leaf)] += posts
        policies.append(PolicyFigures(model["name"], model.get("description", ""), model["metrics"], dict(per_area),
                                      dict(per_leaf)))
    for cell in comparison["cells"]:
        reference_posts[cell["area"]] += cell["posts"][reference]
        reference_target[cell["area"]] += cell["target"][reference]
        if cell.get("previous") is not None:
            previous[cell["area"]] = (previous.get(cell["area"]) or 0.0) + cell["previous"]
    return ComparisonPart(reference=reference, need_yardstick=str(comparison.get("need_yardstick", reference)),
                          policies=policies,
                          areas=tree.figures(reference_posts, reference_target, previous, tree.group_of),
                          leaves=tree.figures(reference_posts, reference_target, previous, lambda leaf: leaf),
                          summed_per_parent=tree.summed, same_plans=list(comparison.get("same_plans") or []))


def _horizon_comparison_part(tree: _Tree, comparison: dict[str, Any]) -> HorizonComparisonPart:
    """The part of a multi-year comparison.json (``kind: multi-year``)."""
    years = sorted({int(cell["year"]) for cell in comparison["cells"]})
    plan_years = sorted({int(cell["year"]) for cell in comparison["cells"]
                         if any(v is not None for v in cell["posts"].values())})
    policies = []
    for model in comparison["models"]:
        name = model["name"]
        records = [{"area": cell["area"], "year": cell["year"], "supply": cell["supply"][name],
                    "demand": cell["demand"]} for cell in comparison["cells"]]
        per_year: dict[int, float] = defaultdict(float)
        for cell in comparison["cells"]:
            if cell["posts"][name] is not None:
                per_year[int(cell["year"])] += cell["posts"][name]
        leaves = _coverage(tree, records, years, lambda leaf: leaf)
        policies.append(HorizonPolicyFigures(
            name=name, description=str(model.get("description", "")),
            coverage_weight=float(model.get("coverage_weight", 0.0)), metrics=model["metrics"],
            groups=_coverage(tree, records, years, lambda leaf: tree.top[leaf]),
            areas=_coverage(tree, records, years, tree.group_of) if tree.summed else leaves, leaf_areas=leaves,
            total=(_coverage(tree, records, years, lambda leaf: "", name="") or
                   [CoverageFigures("", "", "", False, [None] * len(years))])[0],
            posts_per_year=[per_year[year] for year in plan_years]))
    return HorizonComparisonPart(reference=str(comparison["reference"]), years=years, plan_years=len(plan_years),
                                 policies=policies, summed_per_parent=tree.summed)


def _sweep_part(tree: _Tree, sweep: dict[str, Any]) -> SweepPart:
    """The part of a sweep.json: its areas named from the instance (the parents of the leaves)."""
    axes = []
    for axis in sweep["axes"]:
        coverage = axis.get("coverage") or {}
        axes.append(SweepAxisFigures(
            field=str(axis["field"]), values=[float(v) for v in axis["values"]],
            posts=[(tree.name(area), axis["posts"][area]) for area in sweep["areas"]],
            coverage=[(tree.name(area), coverage[area]) for area in sweep["areas"] if area in coverage],
            changes=list(axis["changes"])))
    years = [int(y) for y in sweep.get("plan_years") or []]
    coverage_year = next((int(a["coverage_year"]) for a in sweep["axes"] if a.get("coverage_year")), None)
    return SweepPart(scenarios=int(sweep["scenarios"]), statuses=dict(sweep["statuses"]),
                     models=[str(m) for m in sweep["models"]], combine=str(sweep["combine"]), draws=sweep.get("draws"),
                     multi_year=bool(sweep.get("multi_year")), plan_years=years, coverage_year=coverage_year,
                     axes=axes)


def _sources(instance: Instance) -> list[tuple[str, str]]:
    if isinstance(instance.sources, dict):
        return [(str(key), " ".join(str(value).split())) for key, value in instance.sources.items()]
    if instance.sources:
        return [("sources", " ".join(str(instance.sources).split()))]
    return []


def build_document(instance: Instance, plans: Sequence[dict[str, Any]] = (),
                   sensitivities: Sequence[dict[str, Any]] = (),
                   comparisons: Sequence[dict[str, Any]] = (), sweeps: Sequence[dict[str, Any]] = ()) -> Document:
    """The figures of a report from the JSON documents of one or more runs on ``instance``.

    Parameters
    ----------
    instance
        The instance the runs were made from.
    plans, sensitivities, comparisons
        Parsed plan.json, sensitivity.json and comparison.json documents (a multi-year plan.json,
        which holds a ``projection``, gives a :class:`HorizonPart`; a multi-year comparison.json,
        ``kind: multi-year``, a :class:`HorizonComparisonPart`; a multi-year sensitivity.json, a
        :class:`HorizonSensitivityPart`).
    sweeps
        Parsed sweep.json documents (``allocator sweep``), each a :class:`SweepPart`.
    """
    tree = _Tree(instance)
    tops = [area.id for area in instance.areas if area.parent is None]
    # A multi-year plan.json holds the projection; its report shows coverage over the years instead.
    return Document(instance=instance.name, year=instance.year, language=instance.language,
                    plans=[_plan_part(tree, plan) for plan in plans if "projection" not in plan],
                    horizons=[_horizon_part(tree, plan) for plan in plans if "projection" in plan],
                    sensitivities=[_sensitivity_part(tree, report) for report in sensitivities
                                   if report.get("kind") != "multi-year"],
                    horizon_sensitivities=[_horizon_sensitivity_part(tree, report) for report in sensitivities
                                           if report.get("kind") == "multi-year"],
                    comparisons=[_comparison_part(tree, comparison) for comparison in comparisons
                                 if comparison.get("kind") != "multi-year"],
                    horizon_comparisons=[_horizon_comparison_part(tree, comparison) for comparison in comparisons
                                         if comparison.get("kind") == "multi-year"],
                    sweeps=[_sweep_part(tree, sweep) for sweep in sweeps],
                    group_names={top: tree.name(top) for top in tops}, sources=_sources(instance))
