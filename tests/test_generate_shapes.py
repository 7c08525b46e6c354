"""The generator's shapes (issue 12): spreadsheet grids closed by `max: 0`, deep trees bounded on every level, wide.

Small versions of the benchmark shapes, checked for their shape, for
determinism, and for being solvable (by construction: a model that forbids
any change from last year still has a plan).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.generate import GeneratorOptions, command_line, generate
from allocator.io.loading import load_instance
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.solve import solve
from tests.conftest import SYNTHETIC_INSTANCE, make_model

GRID = GeneratorOptions(tree=(5, 50), specialties=5, posts=300, seed=3, closed_share=0.8, name="grid")
DEEP = GeneratorOptions(tree=(2, 3, 4, 6, 8, 12), specialties=3, posts=240, seed=4, bounds_on_every_level=True)
WIDE = GeneratorOptions(tree=(2, 4), specialties=120, posts=1200, seed=5)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def tables(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_grid_closes_cells_by_max_zero_with_a_bound_row_on_every_cell(tmp_path: Path) -> None:
    path = generate(GRID, tmp_path)
    bounds = rows(tmp_path / "bounds.csv")
    cell_rows = [row for row in bounds if row["area"].startswith("L-") and row["specialty"]]
    shared = [row for row in bounds if row["area"].startswith("L-") and not row["specialty"]]
    assert len(cell_rows) == 50 * 5 == len({(row["area"], row["specialty"]) for row in cell_rows})
    assert len(shared) == 50
    closed = {(row["area"], row["specialty"]) for row in cell_rows if float(row["max"]) == 0}
    assert len(closed) / len(cell_rows) == pytest.approx(0.8, abs=0.03)
    assert all(float(row["max"]) > 0 for row in cell_rows if (row["area"], row["specialty"]) not in closed)
    text = path.read_text(encoding="utf-8")
    assert "SYNTHETIC" in text and "--closed-share 0.8" in text
    assert "offers" not in text and not (tmp_path / "offers.csv").exists()
    # Last year's posts only where the programme is open.
    assert not closed & {(row["area"], row["specialty"]) for row in rows(tmp_path / "previous.csv")}

    instance = load_instance(path).value
    assert len(instance.cells) == 250
    plan = solve(instance, DEFAULT_MODEL)
    posts = plan.posts()
    assert all(posts[cell] == 0 for cell in closed)
    for specialty in instance.specialties:
        assert sum(v for (_, s), v in posts.items() if s == specialty.id) == specialty.total


def test_deep_tree_has_bounds_on_every_level(tmp_path: Path) -> None:
    path = generate(DEEP, tmp_path)
    parent = {row["id"]: row["parent"] for row in rows(tmp_path / "areas.csv")}
    leaves = [area for area in parent if area.startswith("L-")]
    depths = set()
    for leaf in leaves:
        depth, area = 1, leaf
        while parent[area]:
            depth, area = depth + 1, parent[area]
        depths.add(depth)
    assert depths == {6}
    bounds = rows(tmp_path / "bounds.csv")
    internal = [area for area in parent if not area.startswith("L-")]
    assert len(internal) == 2 + 3 + 4 + 6 + 8
    # On every area above the leaves: one row summed over specialties, one per specialty.
    for area in internal:
        own = [row for row in bounds if row["area"] == area]
        assert sorted(row["specialty"] for row in own) == ["", "S01", "S02", "S03"]
        assert all(row["max"] for row in own)
    assert len(bounds) == len(internal) * 4 + 12 + 12 * 3
    levels_with_floors = {area.split("-")[0] for row in bounds if row["min"] for area in [row["area"]]}
    assert levels_with_floors == {"A0", "A1", "A2", "A3", "A4"}

    instance = load_instance(path).value
    plan = solve(instance, DEFAULT_MODEL)
    assert plan.metadata["solver_path"] == "flow"  # the bounds nest: every level is one laminar family


def test_wide_writes_last_year_in_text_order(tmp_path: Path) -> None:
    path = generate(WIDE, tmp_path)
    previous = [(row["area"], row["specialty"]) for row in rows(tmp_path / "previous.csv")]
    assert len(previous) == 4 * 120 and previous == sorted(previous)  # S100 sorts before S11, as a reader sorts
    instance = load_instance(path).value
    assert len(instance.cells) == 480
    assert len(solve(instance, DEFAULT_MODEL).rows) == 480


@pytest.mark.parametrize("options", [GRID, DEEP, WIDE], ids=["grid", "deep", "wide"])
def test_same_seed_gives_the_same_files(tmp_path: Path, options: GeneratorOptions) -> None:
    generate(options, tmp_path / "one")
    generate(options, tmp_path / "two")
    assert tables(tmp_path / "one") == tables(tmp_path / "two")
    generate(replace(options, seed=options.seed + 1), tmp_path / "other")
    assert (tmp_path / "other" / "bounds.csv").read_bytes() != (tmp_path / "one" / "bounds.csv").read_bytes()


@pytest.mark.parametrize("options", [
    GRID,
    DEEP,
    GeneratorOptions(tree=(2, 3, 4, 6, 8, 12), specialties=4, posts=200, seed=9, closed_share=0.6,
                     bounds_on_every_level=True, unit=0.5),
], ids=["grid", "deep", "both-half-posts"])
def test_last_years_plan_meets_every_bound(tmp_path: Path, options: GeneratorOptions) -> None:
    """Feasible by construction: with no change allowed, the plan is last year's."""
    instance = load_instance(generate(options, tmp_path)).value
    plan = solve(instance, make_model(stability={"max_change": 0}))
    previous = {(row["area"], row["specialty"]): float(row["posts"]) for row in rows(tmp_path / "previous.csv")}
    assert {cell: float(v) for cell, v in plan.posts().items() if v} == {c: v for c, v in previous.items() if v}


def test_command_line_writes_what_the_options_write(tmp_path: Path) -> None:
    arguments = command_line(GRID, tmp_path / "cli").split()[2:]
    assert arguments[:2] == ["--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(main, ["generate", *arguments])
    assert result.exit_code == 0, result.output
    generate(GRID, tmp_path / "api")
    assert tables(tmp_path / "cli") == tables(tmp_path / "api")


def test_closed_share_and_offers_do_not_mix(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path), "--closed-share", "0.5", "--offered", "2"])
    assert result.exit_code == 2 and "choose one" in result.output
    with pytest.raises(ValueError, match="below 1"):
        generate(GeneratorOptions(closed_share=1.0), tmp_path / "all-closed")


def test_older_options_keep_their_tables(tmp_path: Path) -> None:
    """The vectorised generator writes the bundled synthetic instance's tables byte for byte."""
    generate(GeneratorOptions(tree=(3, 6, 20), specialties=4, posts=400, seed=7), tmp_path)
    for table in ("areas.csv", "bounds.csv"):
        assert (tmp_path / table).read_bytes() == (SYNTHETIC_INSTANCE.parent / table).read_bytes()
    digest = hashlib.sha256((tmp_path / "previous.csv").read_bytes()).hexdigest()
    assert digest == "3f01e2f3d6a40fca7d0e90b6daea165ef5dffac693476887e552f4a1278c4882"  # as before issue 12


def test_every_specialty_stays_open_somewhere(tmp_path: Path) -> None:
    options = GeneratorOptions(tree=(1, 4), specialties=30, posts=300, seed=1, closed_share=0.95)
    instance = load_instance(generate(options, tmp_path)).value
    bounds = rows(tmp_path / "bounds.csv")
    open_specialties = {row["specialty"] for row in bounds if row["specialty"] and row["max"] and float(row["max"]) > 0
                        and row["area"].startswith("L-")}
    assert open_specialties == {s.id for s in instance.specialties}
    assert np.isclose(sum(solve(instance, DEFAULT_MODEL).posts().values()), 300)
