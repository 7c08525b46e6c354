"""Explain why no plan exists: an irreducible set of conflicting rules, in words.

Every rule of an instance (a specialty's total, each bound row, each stability
limit) is a named linear constraint on the cells. The constraint matrix is
totally unimodular with integer limits (see :mod:`allocator.formulation`), so
the integer program is feasible exactly when its LP is. A deletion filter
over the named rules, with an LP feasibility test (GLOP), leaves an
irreducible infeasible subset: drop any one rule of it and a plan exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from allocator.schemas import Instance, Model

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
    """

    name: str
    kind: str
    text: str
    cells: tuple[tuple[str, str], ...]
    lo: int
    hi: int | None


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
                          f"the national total of {names[spec.id]} is {_posts(spec.total)}", cells, units, units))
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
                          f"{label} must get {' and '.join(parts)} of {scope}", cells, lo, hi))
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
                ((leaf, specialty),), lo, hi))
    return rules


def feasible(rules: list[Rule]) -> bool:
    """Whether some non-negative integer units meet every rule (an LP test, exact by total unimodularity)."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    variables: dict[tuple[str, str], pywraplp.Variable] = {}
    for rule in rules:
        for cell in rule.cells:
            if cell not in variables:
                variables[cell] = solver.NumVar(0.0, solver.infinity(), f"x{len(variables)}")
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


def conflicting_rules(instance: Instance, model: Model) -> list[Rule]:
    """An irreducible set of rules that cannot all hold; empty when a plan exists.

    The deletion filter tries to drop stability limits first, then bounds, and
    totals last, so the explanation names the totals whenever they take part.
    """
    rules = rules_of(instance, model)
    if feasible(rules):
        return []
    order = {"stability": 0, "bound": 1, "total": 2}
    kept = list(rules)
    for rule in sorted(rules, key=lambda r: (order[r.kind], r.name)):
        trial = [r for r in kept if r is not rule]
        if not feasible(trial):
            kept = trial
    return kept


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
