"""Batch runs from Make: `make all` (every instance under every model, out/index.md) reruns only what changed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from tests.conftest import DK_INSTANCE, MODELS, ROOT

STAMP = ROOT / ".venv" / ".installed-stamp"


def test_index_links_every_plan(tmp_path: Path) -> None:
    """`allocator index` lists each plan under its instance, with links that exist."""
    for model in ("population", "webster"):
        result = CliRunner().invoke(main, ["solve", str(DK_INSTANCE), "-m", str(MODELS / f"{model}.yaml"), "-q",
                                           "--no-xlsx", "-o", str(tmp_path / "dk-2020-almen-medicin" / model)])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["index", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "## dk-2020-almen-medicin" in text and "| population | 350 |" in text and "| webster | 350 |" in text
    for link in ("dk-2020-almen-medicin/population/summary.md", "dk-2020-almen-medicin/webster/plan.csv"):
        assert f"({link})" in text and (tmp_path / link).exists()


def test_index_gives_a_multi_year_plan_per_year(tmp_path: Path) -> None:
    """A multi-year plan's posts are shown per plan year, never summed over the years, with its projection linked."""
    horizon = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
    result = CliRunner().invoke(main, ["solve", str(horizon), "-m", str(MODELS / "population.yaml"), "-q",
                                       "--no-xlsx", "-o", str(tmp_path / "dk-horizon" / "population")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["index", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "| population | 350 a year, 2021–2025 |" in text and "| optimal | scip |" in text
    assert "1750" not in text and (tmp_path / "dk-horizon/population/projection.csv").exists()
    assert "(dk-horizon/population/projection.csv)" in text


@pytest.mark.skipif(shutil.which("make") is None or not STAMP.exists(), reason="needs make and the project's .venv")
def test_make_all_reruns_only_what_changed(tmp_path: Path) -> None:
    """A second `make all` has nothing to do; a changed model file reruns only that model's plans and the index."""
    out = tmp_path / "out"

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-C", str(ROOT), f"OUT={out}", *args], capture_output=True, text=True,
                              timeout=600)

    first = make("all")
    assert first.returncode == 0, first.stdout + first.stderr
    instances = sorted(path.parent.name for path in (ROOT / "instances").glob("*/instance.yaml"))
    models = sorted(path.stem for path in MODELS.glob("*.yaml"))
    for instance in instances:
        for model in models:
            assert (out / instance / model / "plan.csv").exists()
    assert (out / "index.md").exists()
    assert make("-q", "all").returncode == 0  # up to date
    what_if = make("-n", "all", "-W", "models/webster.yaml").stdout
    solves = [line for line in what_if.splitlines() if " solve " in line]
    assert len(solves) == len(instances) and all("models/webster.yaml" in line for line in solves)
    assert "allocator index" in what_if
