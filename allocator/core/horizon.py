"""Step 4 for multi-year instances: the numeric horizon problem (BRIEF.md, "Multi-year mathematics").

Posts x[c, p] (cell c, plan year p = 0 .. P-1) are placed in units. Supply is
affine in them, so the problem is held as:

- one :class:`~allocator.core.problem.ProblemData` per plan year (its totals,
  bounds, targets and one-year cost; year 0 against ``previous``, later years
  without it, the stability term to year p - 1 being added by the solver);
- the supply of cell c in outlook year k as
  ``const[c, k] + own[c] * sum_p A[c, k, p] n[c, p] + pi[c] * sum_p A[c, k, p] pool[s(c), p]``,
  with ``pool[s, p] = sum_c' out[c'] n[c', p]`` the graduates of start year p
  who settle away from where they trained.

``A[c, k, p]`` sums (1 - e_c)^(k - j) over the graduation years j <= k whose
start year j - D_s is plan year p (start years after the last plan year
repeat it: the steady state). Start years before ``first_year`` are constants
(pipeline rows, else last year's posts, else 0).

Nothing here reads a file, prints or solves; the simulator that verifies a
plan is written apart from this closed form (allocator.results.projection).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.core.problem import ProblemData, build_problem
from allocator.io.schemas import HorizonInstance
from allocator.io.schemas import Instance, Model


@dataclass
class HorizonProblem:
    """The exact multi-year program of one instance under one model, in units.

    Attributes
    ----------
    years
        One one-year problem per plan year (cells in ``cells`` order).
    cells
        The (leaf, specialty) cells, sorted leaf-major.
    demand, const
        Demand and the supply that needs no plan post, per cell and outlook year.
    own, pi, out
        Per cell: retained graduates per unit placed (r c f u), the settlement
        share pi of the leaf, and graduates leaving per unit placed ((1 - r) c f u).
    reach
        A[c, k, p] (see the module docstring).
    penalty
        p_l of each cell.
    coverage_weight
        w.
    """

    years: list[ProblemData]
    cells: list[tuple[str, str]]
    cell_specialty: np.ndarray
    specialties: list[str]
    unit: float
    demand: np.ndarray
    const: np.ndarray
    own: np.ndarray
    pi: np.ndarray
    out: np.ndarray
    reach: np.ndarray
    penalty: np.ndarray
    coverage_weight: float
    stability_weight: float
    max_change: float | None

    @property
    def plan_years(self) -> int:
        """P."""
        return len(self.years)

    @property
    def outlook_years(self) -> int:
        """K."""
        return self.demand.shape[1]

    def max_change_units(self) -> int | None:
        """The stability limit in units (None: no limit)."""
        if self.max_change is None:
            return None
        return int(math.floor(self.max_change / self.unit + 1e-9))

    def active_years(self) -> np.ndarray:
        """Outlook years whose supply depends on the plan, for some cell."""
        return np.flatnonzero(self.reach.any(axis=(0, 2)))

    def supply(self, n: np.ndarray) -> np.ndarray:
        """Supply per cell and outlook year of the plan ``n[p, c]`` (closed form, for the solvers and tests)."""
        n = np.asarray(n, dtype=float)
        pool = np.zeros((len(self.specialties), self.plan_years))
        for p in range(self.plan_years):
            pool[:, p] = np.bincount(self.cell_specialty, weights=self.out * n[p], minlength=len(self.specialties))
        own = np.einsum("ckp,pc->ck", self.reach, n) * self.own[:, None]
        settled = np.einsum("ckp,cp->ck", self.reach, pool[self.cell_specialty]) * self.pi[:, None]
        return self.const + own + settled

    def costs(self, n: np.ndarray) -> tuple[float, float]:
        """(coverage_cost, posts_cost) of the plan ``n[p, c]`` in units, summed with math.fsum."""
        short = np.maximum(0.0, self.demand - self.supply(n))
        coverage = self.coverage_weight * math.fsum((short * self.penalty[:, None]).ravel().tolist())
        return coverage, self.posts_cost(n)

    def posts_cost(self, n: np.ndarray) -> float:
        """The yearly one-year costs, stability to the year before included."""
        parts: list[float] = []
        for p, year in enumerate(self.years):
            parts += year.cell_cost(n[p]).tolist()
            if p and self.stability_weight:
                parts += (self.stability_weight * self.unit * np.abs(n[p] - n[p - 1])).tolist()
        return math.fsum(parts)

    def objective(self, n: np.ndarray) -> float:
        """coverage_cost + posts_cost."""
        coverage, posts = self.costs(n)
        return coverage + posts


def build_horizon(horizon: HorizonInstance, model: Model) -> HorizonProblem:
    """Translate a multi-year instance and a model into the numeric horizon problem."""
    instance = horizon.instance
    cells = list(instance.cells)
    years = []
    for p in range(horizon.plan_years):
        year_instance = horizon.year_instance(p) if p == 0 else horizon.year_instance(p, previous={})
        problem = build_problem(year_instance, model)
        assert [(problem.leaves[a], problem.specialties[b]) for a, b in
                zip(problem.cell_leaf.tolist(), problem.cell_specialty.tolist())] == cells
        years.append(problem)
    specialties = instance.specialty_ids
    code = {s: k for k, s in enumerate(specialties)}
    cell_specialty = np.array([code[s] for _, s in cells], dtype=np.int64)
    unit = float(instance.unit)
    big_k, big_p = horizon.outlook_years, horizon.plan_years
    population = {leaf: float(instance.area_by_id[leaf].population or 0.0) for leaf in instance.leaves}
    pi = settlement_shares(instance)
    n_cells = len(cells)
    demand = np.zeros((n_cells, big_k))
    const = np.zeros((n_cells, big_k))
    reach = np.zeros((n_cells, big_k, big_p))
    own = np.zeros(n_cells)
    out = np.zeros(n_cells)
    pi_cell = np.array([pi[cell] for cell in cells])
    decay = np.zeros(n_cells)
    for c, (leaf, s) in enumerate(cells):
        facts = horizon.cells[(leaf, s)]
        graduates_per_post = horizon.completion[s] * facts.fill_rate
        own[c] = facts.retention * graduates_per_post * unit
        out[c] = (1 - facts.retention) * graduates_per_post * unit
        decay[c] = 1 - facts.exit_rate
        rho = horizon.inhabitants_per_specialist[s]
        for k in range(big_k):
            demand[c, k] = population[leaf] * (1 + horizon.growth[leaf]) ** k / rho
    # Graduates of outlook year j started in calendar year first_year + j - D_s.
    pre_pool: dict[tuple[str, int], float] = {}
    for c, (leaf, s) in enumerate(cells):
        facts = horizon.cells[(leaf, s)]
        for j in range(big_k):
            start = j - horizon.training_years[s]
            if start < 0:
                posts = horizon.start_posts(leaf, s, horizon.first_year + start) or 0.0
                graduates = horizon.completion[s] * facts.fill_rate * posts
                pre_pool[(s, j)] = pre_pool.get((s, j), 0.0) + (1 - facts.retention) * graduates
    for c, (leaf, s) in enumerate(cells):
        facts = horizon.cells[(leaf, s)]
        for k in range(big_k):
            total = facts.headcount * decay[c] ** k
            for j in range(k + 1):
                start = j - horizon.training_years[s]
                weight = decay[c] ** (k - j)
                if start < 0:
                    posts = horizon.start_posts(leaf, s, horizon.first_year + start) or 0.0
                    graduates = horizon.completion[s] * facts.fill_rate * posts
                    total += weight * (facts.retention * graduates + pi_cell[c] * pre_pool.get((s, j), 0.0))
                else:
                    reach[c, k, min(start, big_p - 1)] += weight
            const[c, k] = total
    penalty = years[0].penalty.copy()
    return HorizonProblem(
        years=years, cells=cells, cell_specialty=cell_specialty, specialties=specialties, unit=unit,
        demand=demand, const=const, own=own, pi=pi_cell, out=out, reach=reach, penalty=penalty,
        coverage_weight=float(model.coverage_weight), stability_weight=float(model.stability.weight),
        max_change=model.stability.max_change)


def settlement_shares(instance: Instance) -> dict[tuple[str, str], float]:
    """pi of every cell: its leaf's share of the base population among the leaves that have the specialty.

    A multi-year instance has no offers (the loader closes each cell not
    offered with ``max: 0`` instead), so every leaf has every specialty and
    pi_l = pop_l / sum of pop over all leaves (BRIEF.md). When no leaf has any
    population, the shares are equal (so that no graduate is lost).
    """
    by_specialty: dict[str, list[str]] = {}
    for leaf, s in instance.cells:
        by_specialty.setdefault(s, []).append(leaf)
    result = {}
    for s, leaves in by_specialty.items():
        population = [float(instance.area_by_id[leaf].population or 0.0) for leaf in leaves]
        total = math.fsum(population)
        for leaf, pop in zip(leaves, population):
            result[(leaf, s)] = pop / total if total > 0 else 1.0 / len(leaves)
    return result
