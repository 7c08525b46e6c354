"""The app's settings, and everything shown for them, from the library: no optimisation here.

The controls of the app set a :class:`Settings`; :func:`model_of` makes the
model they describe (validated like a model file) and :func:`evaluate` asks
the library for the verified plan (:func:`allocator.results.solve.solve`, the
same call as ``allocator solve``), the equity metrics and deltas of
``allocator compare`` (:func:`allocator.reports.compare.line_up`), who gets the
next and who loses the last post, and the weight ranges of ``allocator
sensitivity``. When no plan exists, the diagnosis of ``allocator solve`` is put
into words in the app's language (:func:`diagnosis_words`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from allocator.errors import AllocatorError, InfeasibleError
from allocator.io.schemas import Instance, Model
from allocator.reports.compare import Comparison, line_up
from allocator.reports.sensitivity import WeightRange, priority_lists, total_ranging, variant, weight_ranges
from allocator.results.plan import Plan
from allocator.results.solve import solve
from allocator.solvers.diagnose import Diagnosis, Rule
from allocator.writers.language import Numbers, translations

#: The objective forms a model may take (docs/formats.md).
OBJECTIVES = ("absolute", "squared", "apportionment", "biproportional")
#: The method an objective that needs one starts with.
DEFAULT_METHOD = "webster"
#: Total ranging looks this many units above and below each total for the next and last posts.
PRIORITY_STEPS = 3


@dataclass(frozen=True)
class Settings:
    """What the app's controls set.

    Attributes
    ----------
    weights
        (indicator, weight) of each of the starting model's criteria; weight 0
        leaves the criterion out of the need index.
    underserved_weight, max_change, stability_weight, objective, method
        As in a model file; ``max_change`` None is no limit.
    totals
        (specialty id, total) of every specialty, in posts.
    name
        The name of the model the settings make.
    """

    weights: tuple[tuple[str, float], ...]
    underserved_weight: float
    max_change: float | None
    stability_weight: float
    objective: str
    method: str | None
    totals: tuple[tuple[str, float], ...]
    name: str


def settings_of(instance: Instance, model: Model, name: str | None = None) -> Settings:
    """The settings that reproduce ``model`` on ``instance`` (the controls' starting values)."""
    return Settings(
        weights=tuple((c.indicator, float(c.weight)) for c in model.criteria),
        underserved_weight=float(model.underserved_weight),
        max_change=None if model.stability.max_change is None else float(model.stability.max_change),
        stability_weight=float(model.stability.weight),
        objective=model.objective,
        method=model.method,
        totals=tuple((s.id, float(s.total)) for s in sorted(instance.specialties, key=lambda s: s.id)),
        name=name or model.name,
    )


def model_of(start: Model, settings: Settings) -> Model:
    """The model the settings describe: ``start`` with its weights, stability and objective replaced.

    Weights that have no meaning under the chosen objective are set to their
    neutral value (the under-served weight to 1 under ``apportionment`` and
    ``biproportional``, the stability weight to 0 under ``biproportional``),
    as the model's own validation demands.

    Raises
    ------
    pydantic.ValidationError
        When the settings are no valid model (e.g. a method the objective does not take).
    """
    document = start.model_dump()
    weights = dict(settings.weights)
    document["criteria"] = [{**c.model_dump(), "weight": weights.get(c.indicator, c.weight)}
                            for c in start.criteria if weights.get(c.indicator, c.weight) > 0]
    rounding = settings.objective in ("apportionment", "biproportional")
    document["underserved_weight"] = 1.0 if rounding else settings.underserved_weight
    document["stability"] = {"max_change": settings.max_change,
                             "weight": 0.0 if settings.objective == "biproportional" else settings.stability_weight}
    document["objective"] = settings.objective
    method = settings.method if rounding else None
    if settings.objective == "apportionment" and method is None:
        method = DEFAULT_METHOD
    document["method"] = method
    if method != "sainte-lague-modified":
        document["first_divisor"] = None
    document["name"] = settings.name
    return Model.model_validate(document)


def instance_with(instance: Instance, settings: Settings) -> Instance:
    """``instance`` with the totals of the settings (itself when none changed)."""
    totals = dict(settings.totals)
    if all(totals.get(s.id, s.total) == s.total for s in instance.specialties):
        return instance
    return variant(instance, specialties=[s.model_copy(update={"total": totals.get(s.id, s.total)})
                                          for s in instance.specialties])


@dataclass
class Evaluation:
    """What the app shows for one set of settings.

    Exactly one of ``plan``, ``diagnosis`` and ``problem`` says what happened:
    a verified plan; no plan, and why; or settings that make no valid model.
    """

    instance: Instance
    model: Model | None = None
    plan: Plan | None = None
    diagnosis: Diagnosis | None = None
    problem: str | None = None
    #: The baseline plan and this one, lined up as ``allocator compare`` does (baseline first).
    comparison: Comparison | None = None
    #: Per specialty: who gets each next post and who loses each last one (``allocator sensitivity``).
    priority: dict[str, dict[str, list[list[str]]]] | None = None
    #: How far each weight may move with the plan unchanged (``allocator sensitivity``).
    ranges: list[WeightRange] | None = None
    #: Why the sensitivity figures are missing, when they are.
    no_sensitivity: str | None = None
    #: Wall-clock seconds: ``solve`` (the library's verified solve), ``sensitivity``, ``total``.
    seconds: dict[str, float] = field(default_factory=dict)


def settings_problem(exc: ValidationError) -> str:
    """The one line the page shows for settings that make no valid model: the first field and what is wrong."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return (f"{where}: " if where else "") + str(first.get("msg", exc))


def evaluate(instance: Instance, start: Model, settings: Settings, baseline: Model, baseline_plan: Plan | None,
             *, sensitivity: bool = True) -> Evaluation:
    """Solve the settings' model on ``instance`` (with the settings' totals) and derive what the app shows.

    ``baseline_plan`` is ``baseline``'s plan on the instance as given (None
    when it has none); the deltas and the equity metrics are taken against it.
    """
    started = time.perf_counter()
    try:
        model = model_of(start, settings)
    except ValidationError as exc:
        return Evaluation(instance, problem=settings_problem(exc))
    varied = instance_with(instance, settings)
    try:
        plan = solve(varied, model)
    except InfeasibleError as exc:
        return Evaluation(varied, model, diagnosis=exc.diagnosis, problem=None if exc.diagnosis else str(exc),
                          seconds={"solve": time.perf_counter() - started, "total": time.perf_counter() - started})
    except AllocatorError as exc:
        return Evaluation(varied, model, problem=str(exc))
    result = Evaluation(varied, model, plan, seconds={"solve": time.perf_counter() - started})
    if baseline_plan is not None:
        baseline_model = baseline if baseline.name != model.name else baseline.model_copy(
            update={"name": f"{baseline.name} (baseline)"})
        result.comparison = line_up(varied, [baseline_model, model], [baseline_plan, plan])
    result.seconds["total"] = time.perf_counter() - started
    if sensitivity:
        add_sensitivity(result)
    return result


def add_sensitivity(result: Evaluation) -> None:
    """Add who gets the next and who loses the last post, and the weight ranges, to a plan's evaluation.

    Apart from :func:`evaluate`, so that the app can show the plan before
    these re-solves are done.
    """
    if result.plan is None or result.model is None:
        return
    started = time.perf_counter()
    if result.model.objective == "biproportional":
        # Its plan comes from tie-and-transfer, not from the re-solves the ranges are made of (as in `sensitivity`).
        result.no_sensitivity = "biproportional"
    else:
        posts = result.plan.posts()
        result.priority = priority_lists(posts, total_ranging(result.instance, result.model, PRIORITY_STEPS))
        result.ranges = weight_ranges(result.instance, result.model, posts)
    result.seconds["sensitivity"] = time.perf_counter() - started
    result.seconds["total"] += result.seconds["sensitivity"]


# --- the diagnosis in the app's language --------------------------------------------------------


def _specialty_names(instance: Instance) -> dict[str, str]:
    return {s.id: s.name or s.id for s in instance.specialties}


def diagnosis_words(instance: Instance, model: Model, diagnosis: Diagnosis,
                    language: str) -> tuple[list[str], list[str]]:
    """The conflicting rules and the smallest relaxation of ``diagnosis``, each as a sentence in ``language``.

    The English sentences are those of ``allocator solve``'s diagnosis.md
    (:mod:`allocator.solvers.diagnose`), with the numbers in the language's
    notation; the Danish ones come from the same catalogue as the reports.
    """
    words = _Words(instance, model, language)
    return ([words.rule(rule) for rule in diagnosis.conflicting],
            [words.relaxation(change.rule, change.lower_by, change.raise_by) for change in diagnosis.relaxation])


class _Words:
    """The diagnosis' sentences in one language."""

    def __init__(self, instance: Instance, model: Model, language: str) -> None:
        catalogue = translations(language)
        self._ = catalogue.gettext
        self.ngettext = catalogue.ngettext
        self.n = Numbers(language)
        self.instance = instance
        self.unit = float(instance.unit)
        self.names = _specialty_names(instance)
        self.max_change = model.stability.max_change or 0.0

    def posts(self, value: float) -> str:
        return self.ngettext("%(count)s post", "%(count)s posts", 1 if value == 1 else 2) % {
            "count": self.n.posts(value)}

    def unit_note(self, value: float, units: int) -> str:
        if abs(units * self.unit - value) <= 1e-9 * max(1.0, abs(value)):
            return ""
        return " " + self._("(in units of %(unit)s: %(posts)s)") % {"unit": self.n.posts(self.unit),
                                                                   "posts": self.posts(units * self.unit)}

    def scope(self, rule: Rule) -> str:
        return self.names[rule.specialty] if rule.specialty else self._("all specialties together")

    def subject(self, rule: Rule) -> str:
        if rule.kind == "total":
            return self._("the national total of %(specialty)s") % {"specialty": self.names[str(rule.specialty)]}
        label = self.instance.area_by_id[str(rule.area)].label
        return f"{label}, {self.scope(rule)}"

    def rule(self, rule: Rule) -> str:
        _, n = self._, self.n
        if rule.kind == "total":
            return _("the national total of %(specialty)s is %(posts)s") % {
                "specialty": self.names[str(rule.specialty)], "posts": self.posts(rule.lo * self.unit)}
        label = self.instance.area_by_id[str(rule.area)].label
        if rule.kind == "stability":
            previous = self.instance.previous_posts[(str(rule.area), str(rule.specialty))]
            return _("%(area)s may change its %(specialty)s posts by at most %(change)s from last year's "
                     "%(previous)s (so %(low)s to %(high)s)") % {
                "area": label, "specialty": self.names[str(rule.specialty)], "change": n.posts(self.max_change),
                "previous": n.posts(previous), "low": n.posts(rule.lo * self.unit),
                "high": n.posts((rule.hi or 0) * self.unit)}
        bound = self.instance.bound_at[(str(rule.area), rule.specialty)]
        parts = []
        if bound.min is not None:
            parts.append(_("at least %(posts)s") % {"posts": self.posts(bound.min)}
                         + self.unit_note(bound.min, rule.lo))
        if bound.max is not None:
            parts.append(_("at most %(posts)s") % {"posts": self.posts(bound.max)}
                         + self.unit_note(bound.max, rule.hi or 0))
        limits = parts[0] if len(parts) == 1 else _("%(first)s and %(second)s") % {"first": parts[0],
                                                                                   "second": parts[1]}
        return _("%(area)s must get %(limits)s of %(scope)s") % {"area": label, "limits": limits,
                                                                 "scope": self.scope(rule)}

    def relaxation(self, rule: Rule, lower_by: int, raise_by: int) -> str:
        _, n = self._, self.n
        subject = self.subject(rule)
        if rule.kind == "total":
            return _("change %(subject)s from %(old)s to %(new)s") % {
                "subject": subject, "old": self.posts(rule.lo * self.unit),
                "new": self.posts((rule.lo - lower_by + raise_by) * self.unit)}
        bound = self.instance.bound_at.get((str(rule.area), rule.specialty)) if rule.kind == "bound" else None
        given_min = bound.min if bound is not None and bound.min is not None else rule.lo * self.unit
        given_max = bound.max if bound is not None and bound.max is not None else (rule.hi or 0) * self.unit
        parts = []
        if lower_by:
            parts.append(_("lower the minimum for %(subject)s from %(old)s to %(new)s") % {
                "subject": subject, "old": n.posts(given_min), "new": self.posts((rule.lo - lower_by) * self.unit)})
        if raise_by and rule.hi is not None:
            parts.append(_("raise the maximum for %(subject)s from %(old)s to %(new)s") % {
                "subject": subject, "old": n.posts(given_max), "new": self.posts((rule.hi + raise_by) * self.unit)})
        text = parts[0] if len(parts) == 1 else _("%(first)s and %(second)s") % {"first": parts[0],
                                                                                 "second": parts[1]}
        if rule.kind == "stability":
            text += " " + _("(a larger change against last year than max_change allows)")
        return text


def weight_label(name: str, language: str) -> str:
    """A weight of :func:`allocator.reports.sensitivity.weight_ranges` in words."""
    _ = translations(language).gettext
    if name == "underserved_weight":
        return _("Under-served weight")
    if name == "stability.weight":
        return _("Stability weight")
    return _("Weight on %(indicator)s") % {"indicator": name.removeprefix("criterion:").replace("_", " ")}


def settings_key(settings: Settings) -> tuple[Any, ...]:
    """A hashable key of the settings, for the app's cache of evaluations."""
    return (settings.weights, settings.underserved_weight, settings.max_change, settings.stability_weight,
            settings.objective, settings.method, settings.totals, settings.name)
