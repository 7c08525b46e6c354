"""The stock-and-flow simulator: supply, demand and shortfall of a given multi-year plan.

Written apart from the MILP's closed form (allocator.core.horizon) and
reading none of it, so that ``verify`` can recompute a solved plan's
projection and coverage cost independently. It walks the years one by one:

- starts in calendar year t: the plan's posts in plan years, the last plan
  year's after it (steady state), and before ``first_year`` the pipeline row,
  else last year's posts, else 0;
- graduates G[l, j] = c_s * f[l, s] * starts[l, first_year + j - D_s];
- arrivals New[l, j] = r[l] * G[l, j] + pi_l * sum over l' of (1 - r[l']) * G[l', j];
- stock S[l, 0] = H[l] + New[l, 0]; S[l, j] = S[l, j - 1] * (1 - e[l]) + New[l, j];
- demand pop_l * (1 + g_l)^j / rho_s, shortfall max(0, demand - S).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from allocator.io.schemas import HorizonInstance


@dataclass(frozen=True)
class ProjectionRow:
    """One cell in one outlook year."""

    area: str
    specialty: str
    year: int
    demand: float
    supply: float
    shortfall: float
    new_specialists: float
    inhabitants_per_specialist: float
    coverage: float


@dataclass(frozen=True)
class Projection:
    """The projection of a plan, rows sorted by (area, specialty, year), and its coverage cost."""

    rows: list[ProjectionRow]
    coverage_cost: float
    inhabitant_years_without: float

    def by_cell(self) -> dict[tuple[str, str, int], ProjectionRow]:
        """Rows keyed by (area, specialty, calendar year)."""
        return {(row.area, row.specialty, row.year): row for row in self.rows}


def _shares(horizon: HorizonInstance) -> dict[tuple[str, str], float]:
    # pi_l over the leaves that have the specialty: all leaves, as a multi-year instance has no offers
    # (the loader closes cells not offered with max: 0); equal shares when none has any population.
    leaves_of: dict[str, list[str]] = {}
    for leaf, specialty in horizon.instance.cells:
        leaves_of.setdefault(specialty, []).append(leaf)
    shares = {}
    for specialty, leaves in leaves_of.items():
        total = math.fsum(float(horizon.instance.area_by_id[leaf].population or 0.0) for leaf in leaves)
        for leaf in leaves:
            pop = float(horizon.instance.area_by_id[leaf].population or 0.0)
            shares[(leaf, specialty)] = pop / total if total > 0 else 1.0 / len(leaves)
    return shares


def project(horizon: HorizonInstance, posts: dict[tuple[str, str, int], float], coverage_weight: float,
            underserved_weight: float) -> Projection:
    """Simulate the plan ``posts`` (keyed by leaf, specialty and plan calendar year).

    Parameters
    ----------
    posts
        Posts of every cell in every plan year; a missing entry is 0.
    coverage_weight, underserved_weight
        w and the under-served weight p of the model, for the coverage cost.
    """
    instance = horizon.instance
    first, last_plan = horizon.first_year, horizon.first_year + horizon.plan_years - 1
    shares = _shares(horizon)

    def starts(leaf: str, specialty: str, year: int) -> float:
        if year < first:
            before = horizon.start_posts(leaf, specialty, year)
            return 0.0 if before is None else before
        return posts.get((leaf, specialty, min(year, last_plan)), 0.0)

    rows: list[ProjectionRow] = []
    costs: list[float] = []
    people: list[float] = []
    by_specialty: dict[str, list[str]] = {}
    for leaf, specialty in instance.cells:
        by_specialty.setdefault(specialty, []).append(leaf)
    per_cell: dict[tuple[str, str], list[ProjectionRow]] = {}
    for specialty, leaves in by_specialty.items():
        training = horizon.training_years[specialty]
        completion = horizon.completion[specialty]
        rho = horizon.inhabitants_per_specialist[specialty]
        stock = {leaf: horizon.cells[(leaf, specialty)].headcount for leaf in leaves}
        for j in range(horizon.outlook_years):
            year = first + j
            graduates = {}
            for leaf in leaves:
                facts = horizon.cells[(leaf, specialty)]
                graduates[leaf] = completion * facts.fill_rate * starts(leaf, specialty, year - training)
            leaving = math.fsum((1 - horizon.cells[(leaf, specialty)].retention) * graduates[leaf] for leaf in leaves)
            for leaf in leaves:
                facts = horizon.cells[(leaf, specialty)]
                arrivals = facts.retention * graduates[leaf] + shares[(leaf, specialty)] * leaving
                stock[leaf] = (stock[leaf] * (1 - facts.exit_rate) if j else stock[leaf]) + arrivals
                population = float(instance.area_by_id[leaf].population or 0.0)
                growth = horizon.growth[leaf]
                demand = population * (1 + growth) ** j / rho
                shortfall = max(0.0, demand - stock[leaf])
                supply = stock[leaf]
                coverage = supply / demand if demand > 0 else math.inf
                per_cell.setdefault((leaf, specialty), []).append(ProjectionRow(
                    leaf, specialty, year, demand, supply, shortfall, arrivals,
                    population * (1 + growth) ** j / supply if supply > 0 else math.inf, coverage))
                weight = underserved_weight if instance.area_by_id[leaf].underserved else 1.0
                costs.append(weight * shortfall)
                people.append(shortfall * rho)
    for cell in instance.cells:
        rows += per_cell[cell]
    return Projection(rows, coverage_weight * math.fsum(costs), math.fsum(people))


def coverage_by_area(horizon: HorizonInstance, projection: Projection) -> dict[tuple[str, str], dict[int, float]]:
    """Coverage (sum of supply / sum of demand) per area (leaves and every area above them) and specialty, per year."""
    sums: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in projection.rows:
        for area in horizon.instance.ancestors(row.area):
            cell = sums[(area, row.specialty, row.year)]
            cell[0] += row.supply
            cell[1] += row.demand
    result: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for (area, specialty, year), (supply, demand) in sums.items():
        result[(area, specialty)][year] = supply / demand if demand > 0 else math.inf
    return result


def year_target_reached(coverage: dict[int, float]) -> int | None:
    """The first year from which coverage stays at 100% or more to the end of the outlook (None if never)."""
    reached = None
    for year in sorted(coverage):
        if coverage[year] >= 1 - 1e-12:
            reached = reached if reached is not None else year
        else:
            reached = None
    return reached
