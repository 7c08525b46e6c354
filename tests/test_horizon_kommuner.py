"""The municipal Danish horizon that benchmarks/horizon_kommuner.py builds from two bundled instances."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from allocator.io.horizon import load_horizon_instance
from benchmarks.horizon import write_instance
from benchmarks.horizon_kommuner import HORIZON, kommuner_horizon


def test_the_municipal_horizon_splits_each_regional_figure_over_its_municipalities(tmp_path: Path) -> None:
    horizon = load_horizon_instance(write_instance(tmp_path / "instance.yaml", kommuner_horizon())).value
    instance = horizon.instance
    assert len(instance.leaves) == 98
    assert sum(instance.area_by_id[leaf].population for leaf in instance.leaves) == 5_805_991  # FOLK1A 2019
    regional = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    region_of = {leaf: instance.area_by_id[leaf].parent for leaf in instance.leaves}
    for row in regional["workforce"]:
        if "headcount" in row:
            mine = [horizon.cells[(leaf, "almen-medicin")] for leaf in instance.leaves
                    if region_of[leaf] == row["area"]]
            # split by population and rounded to a tenth: within half a tenth per municipality
            assert sum(f.headcount for f in mine) == pytest.approx(row["headcount"], abs=0.05 * len(mine))
            assert {f.fill_rate for f in mine} == {row["fill_rate"]}  # inherited from the region
            assert {(f.exit_rate, f.retention) for f in mine} == {(0.045, 0.7)}
    for row in regional["pipeline"]:
        split = [horizon.pipeline[(leaf, "almen-medicin", row["year"])] for leaf in instance.leaves
                 if region_of[leaf] == row["area"]]
        assert sum(split) == row["posts"] and all(float(v).is_integer() for v in split)
    for row in regional["previous"]:
        assert sum(v for (leaf, _s), v in instance.previous_posts.items() if region_of[leaf] == row["area"]) == \
            row["posts"]
    assert horizon.totals["almen-medicin"] == [350.0] * 5
