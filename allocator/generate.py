"""Synthetic instances of any size, seeded and labelled as synthetic.

Large tables are written as CSV next to the instance file (YAML is for
people, not for 50,000 rows).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDICATORS = ["inhabitants_per_gp", "closed_practice_share", "gps_aged_60_plus_share", "elderly_share", "travel_km"]


@dataclass(frozen=True)
class GeneratorOptions:
    """What to generate.

    Attributes
    ----------
    tree
        Number of areas on each level, from the top level down to the leaves,
        e.g. ``(3, 5, 98)``; ``(20,)`` is a flat list of 20 leaves.
    specialties
        Number of specialties.
    posts
        Posts over all specialties (split unevenly among them).
    seed
        Random seed; the same options give the same files.
    unit
        1 or 0.5.
    shared_caps
        A cap per leaf summed over all specialties (a site's shared capacity).
    cell_caps
        A cap per leaf and specialty.
    floors
        A floor per top-level area and specialty.
    previous
        Last year's posts per leaf and specialty.
    offered
        When set, each leaf offers only this many specialties (drawn at
        random, more often the larger ones), written as an offers table; the
        plan then covers only offered cells.
    """

    tree: tuple[int, ...] = (3, 6, 20)
    specialties: int = 3
    posts: int = 300
    seed: int = 0
    unit: float = 1
    shared_caps: bool = True
    cell_caps: bool = True
    floors: bool = True
    previous: bool = True
    offered: int | None = None
    name: str | None = None


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    cells = [[f"{v:g}" if isinstance(v, (float, np.floating)) else v for v in row] for row in rows]
    csv.writer(buffer, lineterminator="\n").writerows(cells)
    return buffer.getvalue()


def _split(total_units: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total_units`` by ``weights`` (ties by index)."""
    quota = total_units * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    order = np.lexsort((np.arange(len(weights)), -(quota - base)))
    base[order[: total_units - int(base.sum())]] += 1
    return base


def generate(options: GeneratorOptions, out: Path) -> Path:
    """Write a synthetic instance into folder ``out``; return the instance file's path."""
    if any(count < 1 for count in options.tree) or list(options.tree) != sorted(options.tree):
        raise ValueError("tree counts must be positive and non-decreasing from the top level down")
    rng = np.random.default_rng(options.seed)
    unit = options.unit
    name = options.name or f"synthetic-{'x'.join(map(str, options.tree))}-{options.specialties}s-seed{options.seed}"
    levels: list[list[str]] = []
    parents: dict[str, str | None] = {}
    for depth, count in enumerate(options.tree):
        width = len(str(count))
        prefix = "L" if depth == len(options.tree) - 1 else f"A{depth}"
        ids = [f"{prefix}-{i + 1:0{width}d}" for i in range(count)]
        for i, area in enumerate(ids):
            parents[area] = levels[-1][i * len(levels[-1]) // count] if levels else None
        levels.append(ids)
    leaves = levels[-1]
    n_leaves = len(leaves)
    population = np.rint(rng.lognormal(mean=10.5, sigma=0.9, size=n_leaves)).astype(np.int64) + 500
    share = population / population.sum()
    per_gp = np.round(rng.normal(1700, 220, n_leaves).clip(900, 3000), 1)
    indicators = {
        "inhabitants_per_gp": per_gp,
        "closed_practice_share": np.round(rng.uniform(0.2, 0.95, n_leaves), 3),
        "gps_aged_60_plus_share": np.round(rng.uniform(0.1, 0.45, n_leaves), 3),
        "elderly_share": np.round(rng.uniform(0.14, 0.30, n_leaves), 3),
        "travel_km": np.round(rng.gamma(2.0, 4.0, n_leaves) + 0.5, 1),
    }
    underserved = per_gp >= np.quantile(per_gp, 0.8)

    spec_ids = [f"S{i + 1:02d}" for i in range(options.specialties)]
    spec_weights = rng.uniform(0.5, 2.0, options.specialties)
    totals_units = _split(int(round(options.posts / unit)), spec_weights)

    n_specs = options.specialties
    if options.offered is not None and not 1 <= options.offered <= n_specs:
        raise ValueError("offered must be between 1 and the number of specialties")
    offers = np.ones((n_leaves, n_specs), dtype=bool)
    if options.offered is not None and options.offered < n_specs:
        offers[:] = False
        chance = spec_weights / spec_weights.sum()
        for i in range(n_leaves):
            offers[i, rng.choice(n_specs, size=options.offered, replace=False, p=chance)] = True
        for s in np.flatnonzero(~offers.any(axis=0)):
            offers[int(np.argmax(population)), s] = True  # every specialty is trained somewhere
    # Each cell's share of its specialty, over the leaves that offer it.
    cell_share = np.where(offers, population[:, None], 0) / np.where(offers, population[:, None], 0).sum(axis=0)

    out.mkdir(parents=True, exist_ok=True)
    area_rows: list[list[object]] = [["id", "name", "parent", "population", "underserved", *INDICATORS]]
    for level in levels[:-1]:
        for area in level:
            area_rows.append([area, f"Area {area}", parents[area] or "", "", "", *[""] * len(INDICATORS)])
    for i, leaf in enumerate(leaves):
        area_rows.append([leaf, f"Site {leaf}", parents[leaf] or "", int(population[i]),
                          "yes" if underserved[i] else "no", *[indicators[k][i] for k in INDICATORS]])
    (out / "areas.csv").write_text(_csv(area_rows), encoding="utf-8")

    bound_rows: list[list[object]] = [["area", "specialty", "min", "max"]]
    if options.shared_caps:
        all_units = int(totals_units.sum())
        for i, leaf in enumerate(leaves):
            cap = math.ceil(1.25 * share[i] * all_units) + 2
            bound_rows.append([leaf, "", "", cap * unit])
    if options.cell_caps:
        for i, leaf in enumerate(leaves):
            for s, spec in enumerate(spec_ids):
                if offers[i, s]:
                    cap = math.ceil(1.6 * cell_share[i, s] * totals_units[s]) + 1
                    bound_rows.append([leaf, spec, "", cap * unit])
    if options.floors and len(options.tree) > 1:
        top_share: dict[str, np.ndarray] = {}
        for i, leaf in enumerate(leaves):
            top = leaf
            while parents[top] is not None:
                top = parents[top]  # type: ignore[assignment]
            top_share[top] = top_share.get(top, np.zeros(n_specs)) + cell_share[i]
        for top in levels[0]:
            for s, spec in enumerate(spec_ids):
                floor = math.floor(0.8 * top_share.get(top, np.zeros(n_specs))[s] * totals_units[s])
                if floor > 0:
                    bound_rows.append([top, spec, floor * unit, ""])
    (out / "bounds.csv").write_text(_csv(bound_rows), encoding="utf-8")

    if options.previous:
        previous_rows: list[list[object]] = [["area", "specialty", "posts"]]
        for s, spec in enumerate(spec_ids):
            noisy = cell_share[:, s] * rng.uniform(0.8, 1.2, n_leaves)
            split = _split(int(totals_units[s]), noisy)
            for i, leaf in enumerate(leaves):
                if offers[i, s]:
                    previous_rows.append([leaf, spec, split[i] * unit])
        previous_rows[1:] = sorted(previous_rows[1:])
        (out / "previous.csv").write_text(_csv(previous_rows), encoding="utf-8")
    if options.offered is not None:
        offer_rows: list[list[object]] = [["area", "specialty"]]
        offer_rows += [[leaf, spec] for i, leaf in enumerate(leaves) for s, spec in enumerate(spec_ids) if offers[i, s]]
        (out / "offers.csv").write_text(_csv(offer_rows), encoding="utf-8")

    lines = [
        "# SYNTHETIC instance: every figure is generated, none is real.",
        f"# Made by: allocator generate --tree {','.join(map(str, options.tree))} "
        f"--specialties {options.specialties} --posts {options.posts} --seed {options.seed} --unit {unit:g}"
        + (f" --offered {options.offered}" if options.offered is not None else "")
        + ("" if options.cell_caps else " --no-cell-caps"),
        f"name: {name}",
        f"unit: {unit:g}",
        "specialties:",
        *[f"  - {{id: {spec}, name: Specialty {spec}, total: {totals_units[s] * unit:g}}}"
          for s, spec in enumerate(spec_ids)],
        "areas: areas.csv",
        "bounds: bounds.csv",
    ]
    if options.previous:
        lines.append("previous: previous.csv")
    if options.offered is not None:
        lines.append("offers: offers.csv")
    lines += ["sources:", "  all: SYNTHETIC, generated with numpy's default_rng; no figure is real."]
    path = out / "instance.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
