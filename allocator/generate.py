"""Synthetic instances of any size and shape, seeded and labelled as synthetic.

Large tables are written as CSV next to the instance file (YAML is for
people, not for 1,000,000 rows). Every table is built column by column with
numpy, so a million-cell instance takes seconds.

The generator first draws a plan that meets the specialty totals (last
year's posts, written as the ``previous`` table when asked). No cell cap
excludes that plan, and with ``closed_share`` or ``bounds_on_every_level``
no bound at all does (the leaves' shared caps and the top-level floors are
moved to it), so those instances are feasible by construction, under any
stability limit too since the plan changes nothing. Without them those
bounds keep their older formula, so that the same options keep giving
the same tables as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from allocator.writers.output import write_atomic

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
        A cap per leaf and specialty (on open cells only, see ``closed_share``).
    floors
        A floor per top-level area and specialty (with
        ``bounds_on_every_level``: a floor in every area's row per specialty).
    previous
        Last year's posts per leaf and specialty.
    offered
        When set, each leaf offers only this many specialties (drawn at
        random, more often the larger ones), written as an offers table; the
        plan then covers only offered cells.
    closed_share
        Share of the (leaf, specialty) cells that are closed, each by a bound
        row ``max: 0`` and without an offers table, as a spreadsheet user
        writes it. Larger specialties and larger leaves stay open more often;
        every specialty stays open somewhere. With ``cell_caps`` every cell
        then has a bound row: open cells a positive maximum, closed ones 0.
    bounds_on_every_level
        A bound row on every area above the leaves: one per specialty
        (maximum 110 % + 1 of the drawn plan's posts there, and with
        ``floors`` a minimum of 90 %) and one summed over specialties
        (maximum 105 % + 1). They replace the top-level floors.
    name
        Instance name (default: made from the options).
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
    closed_share: float = 0.0
    bounds_on_every_level: bool = False


def command_line(options: GeneratorOptions, out: Path | str | None = None) -> str:
    """The ``allocator generate`` command that writes these options' files.

    Parameters
    ----------
    options
        The generator options.
    out
        The ``--out`` folder to name in the command, if any.
    """
    parts = ["allocator generate"]
    if out is not None:
        parts.append(f"--out {out}")
    parts += [f"--tree {','.join(map(str, options.tree))}", f"--specialties {options.specialties}",
              f"--posts {options.posts}", f"--seed {options.seed}", f"--unit {options.unit:g}"]
    if options.offered is not None:
        parts.append(f"--offered {options.offered}")
    parts += [flag for flag, on in [("--no-cell-caps", not options.cell_caps),
                                    ("--no-shared-caps", not options.shared_caps),
                                    ("--no-floors", not options.floors), ("--no-previous", not options.previous)]
              if on]
    if options.closed_share:
        parts.append(f"--closed-share {options.closed_share:g}")
    if options.bounds_on_every_level:
        parts.append("--bounds-on-every-level")
    if options.name is not None:
        parts.append(f"--name {options.name}")
    return " ".join(parts)


def _split(total_units: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``total_units`` by ``weights`` (ties by index)."""
    quota = total_units * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    order = np.lexsort((np.arange(len(weights)), -(quota - base)))
    base[order[: total_units - int(base.sum())]] += 1
    return base


def _numbers(values: np.ndarray) -> list[str]:
    """Floats as ``{:g}`` text (the figures in the areas table, all under 10^6)."""
    return list(map("{:g}".format, values.tolist()))


def _posts(units: np.ndarray, unit: float) -> list[str]:
    """Whole units as post counts, exact at any size (``{:g}`` would print 10^6 posts as ``1e+06``)."""
    whole = np.asarray(units, dtype=np.int64)
    if unit == 1:
        return list(map(str, whole.tolist()))
    return [f"{u >> 1}.5" if u & 1 else str(u >> 1) for u in whole.tolist()]


def _write_csv(path: Path, header: Sequence[str], columns: Sequence[Sequence[str]]) -> None:
    """Write text columns as CSV. No generated field holds a comma, quote or line break, so none is quoted."""
    lines = [",".join(header), *map(",".join, zip(*columns))]
    write_atomic(path, "\n".join(lines) + "\n")


@dataclass
class _Tree:
    """The area tree: ids per level and, for every level, each leaf's ancestor there."""

    levels: list[list[str]]
    parent_index: list[np.ndarray]  # per level below the top: each area's parent, an index into the level above
    ancestor: list[np.ndarray]  # per level: each leaf's ancestor on that level (non-decreasing)

    def first_leaf(self, depth: int) -> np.ndarray:
        """Index of the first leaf under each area of level ``depth`` (every area has one)."""
        return np.searchsorted(self.ancestor[depth], np.arange(len(self.levels[depth])))

    def sums(self, depth: int, values: np.ndarray) -> np.ndarray:
        """Per-leaf ``values`` (rows) added up per area of level ``depth``, leaf by leaf in order."""
        return np.add.reduceat(values, self.first_leaf(depth), axis=0)


def _tree(counts: tuple[int, ...]) -> _Tree:
    levels: list[list[str]] = []
    parent_index: list[np.ndarray] = []
    for depth, count in enumerate(counts):
        width = len(str(count))
        prefix = "L" if depth == len(counts) - 1 else f"A{depth}"
        levels.append([f"{prefix}-{i + 1:0{width}d}" for i in range(count)])
        if depth:
            # Contiguous blocks of children; onto, as counts do not decrease.
            parent_index.append(np.arange(count, dtype=np.int64) * counts[depth - 1] // count)
    ancestor = [np.arange(counts[-1], dtype=np.int64)]
    for parents in reversed(parent_index):
        ancestor.insert(0, parents[ancestor[0]])
    return _Tree(levels, parent_index, ancestor)


def _open_cells(rng: np.random.Generator, share: float, population: np.ndarray,
                  spec_weights: np.ndarray) -> np.ndarray:
    """Which cells are open (True), all but about ``share`` of them, drawn at once.

    A weighted sample without replacement (Efraimidis and Spirakis): the cells
    with the largest log(u) / weight stay open, so large specialties and large
    leaves are open more often.
    """
    n_leaves, n_specs = len(population), len(spec_weights)
    weight = np.sqrt(population / population.mean())[:, None] * spec_weights[None, :]
    key = (np.log(rng.random((n_leaves, n_specs))) / weight).ravel()
    n_open = key.size - round(share * key.size)
    open_cells = np.zeros(key.size, dtype=bool)
    if n_open > 0:
        open_cells[np.argpartition(-key, n_open - 1)[:n_open]] = True
    return open_cells.reshape(n_leaves, n_specs)


def generate(options: GeneratorOptions, out: Path) -> Path:
    """Write a synthetic instance into folder ``out``; return the instance file's path.

    Parameters
    ----------
    options
        What to generate.
    out
        Folder for ``instance.yaml`` and its CSV tables (created if missing).

    Raises
    ------
    ValueError
        If the options contradict each other or are out of range.
    """
    counts = options.tree
    if not counts or any(count < 1 for count in counts) or list(counts) != sorted(counts):
        raise ValueError("tree counts must be positive and non-decreasing from the top level down")
    if options.specialties < 1:
        raise ValueError("there must be at least one specialty")
    if not 0 <= options.closed_share < 1:
        raise ValueError("closed share must be at least 0 and below 1")
    if options.closed_share and options.offered is not None:
        raise ValueError("closed share and offered are two ways to close cells: choose one")
    # The order of the random draws below is fixed: it must not change, so that
    # the same options keep giving the same files as before.
    rng = np.random.default_rng(options.seed)
    unit = options.unit
    name = options.name or f"synthetic-{'x'.join(map(str, counts))}-{options.specialties}s-seed{options.seed}"
    tree = _tree(counts)
    leaves = tree.levels[-1]
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

    n_specs = options.specialties
    spec_ids = [f"S{i + 1:02d}" for i in range(n_specs)]
    spec_weights = rng.uniform(0.5, 2.0, n_specs)
    totals_units = _split(int(round(options.posts / unit)), spec_weights)

    if options.offered is not None and not 1 <= options.offered <= n_specs:
        raise ValueError("offered must be between 1 and the number of specialties")
    open_cells = np.ones((n_leaves, n_specs), dtype=bool)
    if options.offered is not None and options.offered < n_specs:
        open_cells[:] = False
        chance = spec_weights / spec_weights.sum()
        for i in range(n_leaves):  # one draw per leaf: at most 10,000s, and the files must not change
            open_cells[i, rng.choice(n_specs, size=options.offered, replace=False, p=chance)] = True
    elif options.closed_share:
        open_cells = _open_cells(rng, options.closed_share, population, spec_weights)
    for s in np.flatnonzero(~open_cells.any(axis=0)):
        open_cells[int(np.argmax(population)), s] = True  # every specialty is trained somewhere
    # Each cell's share of its specialty, over the leaves where it is open.
    open_population = np.where(open_cells, population[:, None], 0)
    cell_share = open_population / open_population.sum(axis=0)

    # The hidden feasible plan: each specialty's total split by population, give or take 20 %.
    plan = np.zeros((n_leaves, n_specs), dtype=np.int64)
    for s in range(n_specs):
        plan[:, s] = _split(int(totals_units[s]), cell_share[:, s] * rng.uniform(0.8, 1.2, n_leaves))
    assert not plan[~open_cells].any(), "a closed cell got posts"

    out.mkdir(parents=True, exist_ok=True)
    _write_areas(out / "areas.csv", tree, population, underserved, indicators)
    _write_bounds(out / "bounds.csv", options, tree, share, cell_share, totals_units, open_cells, plan, spec_ids)

    spec_array = np.array(spec_ids)
    leaf_array = np.array(leaves)
    if options.previous:
        # Rows in (area, specialty) text order, as a reader sorting the table would expect.
        by_text = np.argsort(spec_array, kind="stable")
        li, sj = np.nonzero(open_cells[:, by_text])
        si = by_text[sj]
        _write_csv(out / "previous.csv", ["area", "specialty", "posts"],
                   [leaf_array[li].tolist(), spec_array[si].tolist(), _posts(plan[li, si], unit)])
    if options.offered is not None:
        li, si = np.nonzero(open_cells)
        _write_csv(out / "offers.csv", ["area", "specialty"], [leaf_array[li].tolist(), spec_array[si].tolist()])

    lines = [
        "# SYNTHETIC instance: every figure is generated, none is real.",
        f"# Made by: {command_line(options)}",
        f"name: {name}",
        f"unit: {unit:g}",
        "specialties:",
        *[f"  - {{id: {spec}, name: Specialty {spec}, total: {total}}}"
          for spec, total in zip(spec_ids, _posts(totals_units, unit))],
        "areas: areas.csv",
        "bounds: bounds.csv",
    ]
    if options.previous:
        lines.append("previous: previous.csv")
    if options.offered is not None:
        lines.append("offers: offers.csv")
    lines += ["sources:", "  all: SYNTHETIC, generated with numpy's default_rng; no figure is real."]
    path = out / "instance.yaml"
    write_atomic(path, "\n".join(lines) + "\n")
    return path


def _write_areas(path: Path, tree: _Tree, population: np.ndarray, underserved: np.ndarray,
                 indicators: dict[str, np.ndarray]) -> None:
    """The areas table: the areas above the leaves level by level (no figures), then the leaves."""
    ids: list[str] = []
    parents: list[str] = []
    for depth, level in enumerate(tree.levels):
        ids += level
        parents += [""] * len(level) if depth == 0 else \
            np.array(tree.levels[depth - 1])[tree.parent_index[depth - 1]].tolist()
    leaves = tree.levels[-1]
    above = len(ids) - len(leaves)
    names = [f"Area {area}" for area in ids[:above]] + [f"Site {leaf}" for leaf in leaves]
    blank = [""] * above
    columns = [ids, names, parents, blank + list(map(str, population.tolist())),
               blank + np.where(underserved, "yes", "no").tolist(),
               *[blank + _numbers(indicators[key]) for key in INDICATORS]]
    _write_csv(path, ["id", "name", "parent", "population", "underserved", *INDICATORS], columns)


def _write_bounds(path: Path, options: GeneratorOptions, tree: _Tree, share: np.ndarray, cell_share: np.ndarray,
                  totals_units: np.ndarray, open_cells: np.ndarray, plan: np.ndarray, spec_ids: list[str]) -> None:
    """The bounds table: leaf caps, cell rows (leaf-major), then the rows on areas above the leaves.

    The cell caps, and with ``closed_share`` or ``bounds_on_every_level``
    every bound, leave room for the hidden ``plan`` (see the module's
    docstring).
    """
    unit = options.unit
    leaves = np.array(tree.levels[-1])
    specs = np.array(spec_ids)
    area: list[str] = []
    spec: list[str] = []
    low: list[str] = []
    high: list[str] = []

    def add(areas: list[str], specialties: list[str], lows: list[str], highs: list[str]) -> None:
        area.extend(areas)
        spec.extend(specialties)
        low.extend(lows)
        high.extend(highs)

    if options.shared_caps:
        all_units = int(totals_units.sum())
        caps = np.ceil(1.25 * share * all_units).astype(np.int64) + 2
        if options.closed_share or options.bounds_on_every_level:
            # Raised to the hidden plan only for these shapes: the older ones keep their files byte for byte
            # (the benchmarks' history is measured on them), and they are checked feasible by solving.
            caps = np.maximum(caps, plan.sum(axis=1))
        add(leaves.tolist(), [""] * len(leaves), [""] * len(leaves), _posts(caps, unit))
    # A row on every open cell (with cell caps) and on every closed one (max 0).
    written = open_cells & options.cell_caps | ~open_cells & bool(options.closed_share)
    li, si = np.nonzero(written)
    caps = np.maximum(np.ceil(1.6 * cell_share * totals_units).astype(np.int64) + 1, plan)
    caps[~open_cells] = 0
    add(leaves[li].tolist(), specs[si].tolist(), [""] * len(li), _posts(caps[li, si], unit))
    if options.bounds_on_every_level:
        for depth, level in enumerate(tree.levels[:-1]):
            posts = tree.sums(depth, plan)
            shared = np.ceil(1.05 * posts.sum(axis=1)).astype(np.int64) + 1
            spec_caps = np.ceil(1.1 * posts).astype(np.int64) + 1
            spec_floors = np.floor(0.9 * posts).astype(np.int64) if options.floors else np.zeros_like(posts)
            # Per area: its shared row, then one row per specialty.
            n = len(specs)
            rows = len(level) * (n + 1)
            where = np.arange(rows).reshape(len(level), n + 1)
            a_col = np.repeat(np.array(level), n + 1)
            s_col = np.tile(np.concatenate([[""], specs]), len(level))
            lo_col = np.full(rows, "", dtype=object)
            hi_col = np.empty(rows, dtype=object)
            hi_col[where[:, 0]] = _posts(shared, unit)
            hi_col[where[:, 1:].ravel()] = _posts(spec_caps.ravel(), unit)
            floor_text = np.array(_posts(spec_floors.ravel(), unit), dtype=object)
            lo_col[where[:, 1:].ravel()] = np.where(spec_floors.ravel() > 0, floor_text, "")
            add(a_col.tolist(), s_col.tolist(), lo_col.tolist(), hi_col.tolist())
    elif options.floors and len(tree.levels) > 1:
        top_share = tree.sums(0, cell_share)
        floors = np.floor(0.8 * top_share * totals_units).astype(np.int64)
        if options.closed_share:
            floors = np.minimum(floors, tree.sums(0, plan))  # as for the shared caps above
        ti, si = np.nonzero(floors > 0)
        add(np.array(tree.levels[0])[ti].tolist(), specs[si].tolist(), _posts(floors[ti, si], unit),
            [""] * len(ti))
    _write_csv(path, ["area", "specialty", "min", "max"], [area, spec, low, high])
