"""The municipal Danish instance: its tables agree with the sourced files copied beside them."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

from allocator.io.geometry import read_geometry
from allocator.io.loading import load_instance
from tests.conftest import ROOT

FOLDER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner"
SHARED = ROOT.parent / "shared" / "data" / "denmark"

#: FOLK1A 2019Q1 by region and PLO GPs by region, as the brief quotes them (shared/BRIEF.md).
BRIEF_POPULATION = {"Hovedstaden": 1_835_562, "Midtjylland": 1_320_678, "Syddanmark": 1_223_348,
                    "Sjælland": 836_738, "Nordjylland": 589_755}
BRIEF_GPS = {"Hovedstaden": 1033, "Midtjylland": 798, "Syddanmark": 775, "Sjælland": 435, "Nordjylland": 285}
CHRISTIANSO = 90  # in Hovedstaden's FOLK1A figure, in no municipality


def _rows(name: str) -> list[dict[str, str]]:
    with open(FOLDER / name, encoding="utf-8") as stream:
        return list(csv.DictReader(line for line in stream if not line.startswith("#")))


def test_the_instance_has_the_98_municipalities_under_5_regions_under_3_training_regions() -> None:
    instance = load_instance(FOLDER / "instance.yaml").value
    assert len(instance.leaves) == 98
    by_id = instance.area_by_id
    regions = {by_id[leaf].parent for leaf in instance.leaves}
    assert regions == set(BRIEF_POPULATION)
    assert {by_id[region].parent for region in regions} == {"Nord", "Syd", "Øst"}
    assert Counter(by_id[by_id[leaf].parent].parent for leaf in instance.leaves) == {"Nord": 30, "Syd": 22,
                                                                                     "Øst": 46}
    assert sum(s.total for s in instance.specialties) == 350
    assert instance.language == "da"


def test_populations_flags_and_gps_are_the_sourced_figures() -> None:
    instance = load_instance(FOLDER / "instance.yaml").value
    population = {row["lau1"]: int(row["population"]) for row in _rows("population.csv")}
    underserved = {row["lau1"] for row in _rows("underserved_plo_2019.csv")}
    assert len(underserved) == 42
    per_region: dict[str, int] = defaultdict(int)
    for leaf in instance.leaves:
        area = instance.area_by_id[leaf]
        assert area.population == population[leaf]
        assert area.underserved == (leaf in underserved)
        per_region[area.parent] += population[leaf]  # type: ignore[index]
    assert sum(population.values()) == 5_805_991  # + Christiansø's 90 = 5,806,081, the national total
    for region, total in BRIEF_POPULATION.items():
        assert per_region[region] == total - (CHRISTIANSO if region == "Hovedstaden" else 0)
    for region, gps in BRIEF_GPS.items():  # on the region rows; the municipalities inherit them
        assert instance.area_by_id[region].indicators["inhabitants_per_gp"] == round(per_region[region] / gps, 1)
    assert all("inhabitants_per_gp" not in instance.area_by_id[leaf].indicators for leaf in instance.leaves)


def test_every_municipality_inherits_its_regions_inhabitants_per_gp() -> None:
    from allocator.core.need import targets
    from allocator.io.loading import load_model

    instance = load_instance(FOLDER / "instance.yaml").value
    model = load_model(ROOT / "models" / "need-weighted.yaml").value
    by_population = load_model(ROOT / "models" / "population.yaml").value
    weighted, plain = targets(instance, model), targets(instance, by_population)
    # Within a region the need index is the region's: every municipality's target scales alike.
    for region in BRIEF_GPS:
        ratios = {round(weighted[leaf, "almen-medicin"] / plain[leaf, "almen-medicin"], 9)
                  for leaf in instance.leaves if instance.area_by_id[leaf].parent == region}
        assert len(ratios) == 1, region


def test_the_copied_files_are_the_shared_reference_files() -> None:
    if not SHARED.is_dir():  # CI has shared/ beside the clone; an outside checkout may not
        return
    for name in ("municipalities.csv", "population.csv", "underserved_plo_2019.csv", "municipalities.geojson",
                 "regions.geojson"):
        assert (FOLDER / name).read_bytes() == (SHARED / name).read_bytes(), name
    assert (FOLDER / "SOURCES.md").read_bytes() == (SHARED / "README.md").read_bytes()


def test_the_map_has_one_shape_per_municipality() -> None:
    instance = load_instance(FOLDER / "instance.yaml").value
    shapes = read_geometry(instance)
    assert sorted(shapes) == instance.leaves
    features = json.loads((FOLDER / "municipalities.geojson").read_text(encoding="utf-8"))["features"]
    assert sum(len(shapes[leaf]) for leaf in shapes) == sum(
        1 if f["geometry"]["type"] == "Polygon" else len(f["geometry"]["coordinates"]) for f in features) == 308


def test_the_assumed_2019_split_shares_300_posts_by_population() -> None:
    previous = _rows("previous.csv")
    assert sum(int(row["posts"]) for row in previous) == 300
    population = {row["lau1"]: int(row["population"]) for row in _rows("population.csv")}
    total = sum(population.values())
    for row in previous:  # Hamilton: every area gets its quota rounded down or up
        quota = 300 * population[row["area"]] / total
        assert int(quota) <= int(row["posts"]) <= int(quota) + 1


def test_the_regional_instance_maps_regions_by_name() -> None:
    instance = load_instance(ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml").value
    assert sorted(read_geometry(instance)) == instance.leaves


def test_make_areas_rebuilds_the_committed_tables(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_areas", FOLDER / "make_areas.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    for name in ("municipalities.csv", "population.csv", "underserved_plo_2019.csv"):
        (tmp_path / name).write_bytes((FOLDER / name).read_bytes())
    module.HERE = tmp_path
    module.main()
    for name in ("areas.csv", "previous.csv"):
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name
