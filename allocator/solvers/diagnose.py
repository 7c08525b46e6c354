"""Explain why no plan exists: an irreducible set of conflicting rules, in words.

Every rule of an instance (a specialty's total, each bound row, each stability
limit) is a named linear constraint on the cells. The constraint matrix is
totally unimodular with integer limits (see :mod:`allocator.core.formulation`), so
the integer program is feasible exactly when its LP is. A deletion filter
over the named rules, with an LP feasibility test (GLOP), leaves an
irreducible infeasible subset: drop any one rule of it and a plan exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from allocator.io.schemas import Instance, Model

_EPS = 1e-9


@dataclass(frozen=True)
class Rule:
    """One named rule: lo <= sum of units over ``cells`` <= hi.

    Attributes
    ----------
    name
        Machine name (``total[almen]``, ``bound[Øst|almen]``, ``stability[Nord|almen]``).
    text
        The rule in plain words.
    cells
        (leaf, specialty) pairs it sums over.
    lo, hi
        Limits in units (hi None: no upper limit).
    subject
        What the rule limits, in words (``Region Sjælland, almen medicin``).
    area, specialty
        The bound row or stability cell it comes from (None where not applicable).
    """

    name: str
    kind: str
    text: str
    cells: tuple[tuple[str, str], ...]
    lo: int
    hi: int | None
    subject: str = ""
    area: str | None = None
    specialty: str | None = None


def _posts(value: float) -> str:
    return f"{value:g} post" + ("" if value == 1 else "s")


def _unit_note(value: float, rounded: int, unit: float) -> str:
    if math.isclose(rounded * unit, value):
        return ""
    return f" (in units of {unit:g}: {_posts(rounded * unit)})"


def rules_of(instance: Instance, model: Model) -> list[Rule]:
    """Every rule of the instance under the model, as named linear constraints."""
    unit = float(instance.unit)
    names = {s.id: s.name or s.id for s in instance.specialties}
    rules: list[Rule] = []
    in_plan = set(instance.cells)
    for spec in sorted(instance.specialties, key=lambda s: s.id):
        cells = tuple((leaf, spec.id) for leaf in instance.leaves if (leaf, spec.id) in in_plan)
        units = int(round(spec.total / unit))
        rules.append(Rule(f"total[{spec.id}]", "total",
                          f"the national total of {names[spec.id]} is {_posts(spec.total)}", cells, units, units,
                          f"the national total of {names[spec.id]}", None, spec.id))
    for (area, specialty), bound in sorted(instance.bound_at.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        specs = [specialty] if specialty else instance.specialty_ids
        cells = tuple((leaf, s) for leaf in instance.leaves_under[area] for s in specs if (leaf, s) in in_plan)
        scope = names[specialty] if specialty else "all specialties together"
        label = instance.area_by_id[area].label
        lo = math.ceil(bound.min / unit - _EPS) if bound.min is not None else 0
        hi = math.floor(bound.max / unit + _EPS) if bound.max is not None else None
        parts = []
        if bound.min is not None:
            parts.append(f"at least {_posts(bound.min)}{_unit_note(bound.min, lo, unit)}")
        if bound.max is not None:
            parts.append(f"at most {_posts(bound.max)}{_unit_note(bound.max, hi or 0, unit)}")
        rules.append(Rule(f"bound[{area}|{specialty or '*'}]", "bound",
                          f"{label} must get {' and '.join(parts)} of {scope}", cells, lo, hi,
                          f"{label}, {scope}", area, specialty))
    max_change = model.stability.max_change
    if max_change is not None:
        for (leaf, specialty), prev in sorted(instance.previous_posts.items()):
            if (leaf, specialty) not in in_plan:
                continue
            lo = max(0, math.ceil((prev - max_change) / unit - _EPS))
            hi = math.floor((prev + max_change) / unit + _EPS)
            label = instance.area_by_id[leaf].label
            rules.append(Rule(
                f"stability[{leaf}|{specialty}]", "stability",
                f"{label} may change its {names[specialty]} posts by at most {max_change:g} from last year's "
                f"{prev:g} (so {lo * unit:g} to {hi * unit:g})",
                ((leaf, specialty),), lo, hi, f"{label}, {names[specialty]}", leaf, specialty))
    return rules


def _cell_lp(rules: list[Rule]) -> tuple[pywraplp.Solver, dict[tuple[str, str], pywraplp.Variable]]:
    """A GLOP model with one non-negative variable per cell that any rule sums over."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    variables: dict[tuple[str, str], pywraplp.Variable] = {}
    for rule in rules:
        for cell in rule.cells:
            if cell not in variables:
                variables[cell] = solver.NumVar(0.0, solver.infinity(), f"x{len(variables)}")
    return solver, variables


def feasible(rules: list[Rule]) -> bool:
    """Whether some non-negative integer units meet every rule (an LP test, exact by total unimodularity)."""
    solver, variables = _cell_lp(rules)
    for rule in rules:
        upper = solver.infinity() if rule.hi is None else float(rule.hi)
        if rule.lo > upper:
            return False
        constraint = solver.Constraint(float(rule.lo), upper)
        for cell in rule.cells:
            constraint.SetCoefficient(variables[cell], 1.0)
    solver.Objective().SetMinimization()
    status = solver.Solve()
    return status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)


def conflicting_rules(instance: Instance, model: Model, rules: list[Rule] | None = None) -> list[Rule]:
    """An irreducible set of rules that cannot all hold; empty when a plan exists.

    The deletion filter tries to drop stability limits first, then bounds, and
    totals last, so the explanation names the totals whenever they take part.
    """
    rules = rules if rules is not None else rules_of(instance, model)
    if feasible(rules):
        return []
    order = {"stability": 0, "bound": 1, "total": 2}
    ordered = sorted(rules, key=lambda r: (order[r.kind], r.name))
    dropped = {id(ordered[k]) for k in _deletion_filter(ordered)}
    return [rule for rule in rules if id(rule) not in dropped]  # in the rules' own order


def _deletion_filter(ordered: list[Rule]) -> set[int]:
    """The rules the one-at-a-time deletion filter drops from the infeasible ``ordered``, found in blocks.

    The filter visits the rules in order and drops a rule when the rules kept
    without it are still infeasible. Dropping a whole block at once when the
    rest is infeasible without it, and else splitting the block in two, drops
    exactly the same rules: a superset of infeasible rules is infeasible, so the
    one-at-a-time filter would drop every rule of such a block too. Thousands of
    rules (a stability limit per cell) then cost a few LPs per rule of the
    answer instead of one LP per rule, and every LP is the same one with some
    rows freed (:class:`_Rows`), re-solved from the last basis.
    """
    rows = _Rows(ordered)
    dropped: set[int] = set()

    def visit(block: list[int]) -> None:
        if not block:
            return
        if not rows.feasible_without(dropped | set(block)):
            dropped.update(block)
        elif len(block) > 1:
            middle = len(block) // 2
            visit(block[:middle])
            visit(block[middle:])

    visit(list(range(len(ordered))))
    return dropped


class _Rows:
    """One GLOP model of all the rules; a rule is dropped by freeing its row (bounds -inf, +inf)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.solver, variables = _cell_lp(rules)
        self.solver.Objective().SetMinimization()
        self.rows = []
        for rule in rules:
            row = self.solver.Constraint(-self.solver.infinity(), self.solver.infinity())
            for cell in rule.cells:
                row.SetCoefficient(variables[cell], 1.0)
            self.rows.append(row)
        self.free: set[int] = set(range(len(rules)))
        # a rule whose minimum is above its maximum is infeasible alone
        self.contradictory = {k for k, rule in enumerate(rules) if rule.hi is not None and rule.lo > rule.hi}

    def feasible_without(self, dropped: set[int]) -> bool:
        """Whether the rules not in ``dropped`` can all hold (an LP test, exact by total unimodularity)."""
        if self.contradictory - dropped:
            return False
        infinity = self.solver.infinity()
        for k in self.free - dropped:
            rule = self.rules[k]
            self.rows[k].SetBounds(float(rule.lo), infinity if rule.hi is None else float(rule.hi))
        for k in dropped - self.free:
            self.rows[k].SetBounds(-infinity, infinity)
        self.free = set(dropped)
        return self.solver.Solve() in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)


def explain(instance: Instance, model: Model, rules: list[Rule]) -> str:
    """One paragraph that says which rules conflict and by how much."""
    unit = float(instance.unit)
    if not rules:
        return "no plan exists, but no conflicting set of rules was found"
    lines = [rule.text for rule in rules]
    totals = [r for r in rules if r.kind == "total"]
    others = [r for r in rules if r.kind != "total"]
    summary = ""
    disjoint = sum(len(r.cells) for r in others) == len({c for r in others for c in r.cells})
    if len(totals) == 1 and others and disjoint:
        floors = sum(r.lo for r in others) * unit
        caps = [r.hi for r in others]
        total = totals[0].lo * unit
        if floors > total:
            summary = f"the minimums add up to {_posts(floors)}, but the total is {_posts(total)}. "
        elif all(c is not None for c in caps) and sum(c for c in caps if c is not None) * unit < total:
            summary = (f"the maximums add up to {_posts(sum(c for c in caps if c is not None) * unit)}, "
                       f"but the total is {_posts(total)}. ")
    return f"No plan can meet all the rules: {summary}These rules conflict: " + "; ".join(lines) + \
        ". Relax any one of them."


#: Cost of relaxing a rule by one unit in the elastic model. A national total is usually fixed by
#: the ministry, so the suggestion changes bounds and stability limits before it touches a total.
RELAXATION_WEIGHT = {"stability": 1.0, "bound": 1.0, "total": 3.0}


@dataclass(frozen=True)
class Relaxation:
    """One change to one rule, part of the smallest change that makes a plan exist.

    Attributes
    ----------
    rule
        The rule to change.
    lower_by, raise_by
        Units by which to lower its minimum / raise its maximum.
    text
        The change in plain words.
    """

    rule: Rule
    lower_by: int
    raise_by: int
    text: str


def _relaxation_text(instance: Instance, rule: Rule, lower_by: int, raise_by: int, unit: float) -> str:
    if rule.kind == "total":
        old = rule.lo * unit
        new = (rule.lo - lower_by + raise_by) * unit
        return f"change {rule.subject} from {_posts(old)} to {_posts(new)}"
    # Name the figures as the user wrote them (a min of 2.5 is 3 in whole units).
    bound = instance.bound_at.get((rule.area, rule.specialty)) if rule.kind == "bound" else None  # type: ignore
    given_min = bound.min if bound is not None and bound.min is not None else rule.lo * unit
    given_max = bound.max if bound is not None and bound.max is not None else (rule.hi or 0) * unit
    parts = []
    if lower_by:
        parts.append(f"lower the minimum for {rule.subject} from {given_min:g} "
                     f"to {_posts((rule.lo - lower_by) * unit)}")
    if raise_by and rule.hi is not None:
        parts.append(f"raise the maximum for {rule.subject} from {given_max:g} "
                     f"to {_posts((rule.hi + raise_by) * unit)}")
    text = " and ".join(parts)
    if rule.kind == "stability":
        text += " (a larger change against last year than max_change allows)"
    return text


def smallest_relaxation(instance: Instance, model: Model, rules: list[Rule] | None = None) -> list[Relaxation]:
    """The least weighted change to the rules after which a plan exists (empty when one exists already).

    An elastic LP: every rule gets a slack below its minimum and above its
    maximum, and the weighted sum of slacks (:data:`RELAXATION_WEIGHT`) is
    minimised. Slack columns keep the matrix totally unimodular, so the
    simplex vertex is integral: the change is in whole units.
    """
    rules = rules if rules is not None else rules_of(instance, model)
    unit = float(instance.unit)
    solver, variables = _cell_lp(rules)
    objective = solver.Objective()
    slacks = []
    for index, rule in enumerate(rules):
        below = solver.NumVar(0.0, solver.infinity(), f"below{index}")
        above = solver.NumVar(0.0, solver.infinity(), f"above{index}") if rule.hi is not None else None
        low = solver.Constraint(float(rule.lo), solver.infinity())
        low.SetCoefficient(below, 1.0)
        for cell in rule.cells:
            low.SetCoefficient(variables[cell], 1.0)
        if above is not None:
            high = solver.Constraint(-solver.infinity(), float(rule.hi))  # type: ignore[arg-type]
            high.SetCoefficient(above, -1.0)
            for cell in rule.cells:
                high.SetCoefficient(variables[cell], 1.0)
            objective.SetCoefficient(above, RELAXATION_WEIGHT[rule.kind])
        objective.SetCoefficient(below, RELAXATION_WEIGHT[rule.kind])
        slacks.append((rule, below, above))
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return []
    changes = []
    for rule, below, above in slacks:
        lower_by = int(round(below.solution_value()))
        raise_by = int(round(above.solution_value())) if above is not None else 0
        if lower_by or raise_by:
            changes.append(Relaxation(rule, lower_by, raise_by, _relaxation_text(instance, rule, lower_by, raise_by, unit)))
    return changes


@dataclass(frozen=True)
class Diagnosis:
    """Why no plan exists, and the smallest change that would give one."""

    conflicting: list[Rule]
    relaxation: list[Relaxation]
    explanation: str

    def as_json(self) -> dict[str, object]:
        """A JSON-ready record (rules by name and in words; changes in units and in words)."""
        return {
            "status": "infeasible",
            "explanation": self.explanation,
            "conflicting_rules": [{"name": r.name, "kind": r.kind, "text": r.text, "min_units": r.lo,
                                   "max_units": r.hi} for r in self.conflicting],
            "smallest_relaxation": [{"rule": c.rule.name, "lower_min_by_units": c.lower_by,
                                     "raise_max_by_units": c.raise_by, "text": c.text} for c in self.relaxation],
        }

    def as_markdown(self, instance_name: str) -> str:
        """The diagnosis as a short memo."""
        lines = [f"# No plan exists: {instance_name}", "", self.explanation, "", "## Rules that conflict", ""]
        lines += [f"- {rule.text}" for rule in self.conflicting]
        lines += ["", "## Smallest change that gives a plan", ""]
        lines += [f"- {change.text}" for change in self.relaxation] or ["- (none found)"]
        lines += ["", "Dropping any one of the conflicting rules also gives a plan; the change above is the "
                  "smallest in posts (national totals count three times, as they are rarely negotiable)."]
        return "\n".join(lines) + "\n"


def diagnose(instance: Instance, model: Model) -> Diagnosis:
    """The conflicting rules, the smallest relaxation and the explanation, for an infeasible instance."""
    rules = rules_of(instance, model)
    conflicting = conflicting_rules(instance, model, rules)
    relaxation = smallest_relaxation(instance, model, rules)
    text = explain(instance, model, conflicting)
    if relaxation:
        text += " Smallest change that gives a plan: " + "; ".join(c.text for c in relaxation) + "."
    return Diagnosis(conflicting, relaxation, text)


def apply_relaxation(instance: Instance, model: Model, changes: list[Relaxation]) -> tuple[Instance, Model]:
    """The instance and model with ``changes`` made, to check that a suggestion gives a plan.

    Totals and bound rows change exactly as suggested. A stability change is
    made by raising the model's ``max_change`` to what the cell needs (which
    also allows every other cell as much).
    """
    unit = float(instance.unit)
    totals = {c.rule.specialty: c for c in changes if c.rule.kind == "total"}
    bounds = {(c.rule.area, c.rule.specialty): c for c in changes if c.rule.kind == "bound"}
    specialties = [s.model_copy(update={"total": (totals[s.id].rule.lo - totals[s.id].lower_by
                                                  + totals[s.id].raise_by) * unit}) if s.id in totals else s
                   for s in instance.specialties]
    new_bounds = []
    for bound in instance.bounds:
        change = bounds.get((bound.area, bound.specialty))
        if change is not None:
            rule = change.rule
            if change.lower_by:
                bound = bound._replace(min=(rule.lo - change.lower_by) * unit)
            if change.raise_by and rule.hi is not None:
                bound = bound._replace(max=(rule.hi + change.raise_by) * unit)
        new_bounds.append(bound)
    fields = {name: getattr(instance, name) for name in Instance.model_fields}
    relaxed = Instance(**{**fields, "specialties": specialties, "bounds": new_bounds})
    max_change = model.stability.max_change
    previous = instance.previous_posts
    for change in changes:
        if change.rule.kind == "stability" and max_change is not None:
            prev = previous[(change.rule.area, change.rule.specialty)]  # type: ignore[index]
            needed = max(prev - (change.rule.lo - change.lower_by) * unit,
                         ((change.rule.hi or 0) + change.raise_by) * unit - prev)
            max_change = max(max_change, needed)
    if max_change != model.stability.max_change:
        model = model.model_copy(update={"stability": model.stability.model_copy(update={"max_change": max_change})})
    return relaxed, model
