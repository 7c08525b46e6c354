"""Build areas.csv and previous.csv of this instance from the sourced files beside it.

Run from the repository root: ``.venv/bin/python instances/dk-2019-almen-medicin-kommuner/make_areas.py``.
tests/test_instances_dk_kommuner.py checks the written files against the sources again.

- municipalities.csv, population.csv, underserved_plo_2019.csv: copied unchanged from the
  project's reference data (SOURCES.md gives each source, date and attribution line).
- GPs per region: PLO, about 2019-20, as quoted in the project brief (BRIEF.md). The region rows carry
  the region's inhabitants per GP (the sum of its municipalities' FOLK1A population / its GPs), and
  each municipality inherits it (its own cell is empty), because no municipal GP count is in our sources.
- closed_practice_share (region rows, inherited likewise): PARTLY ASSUMED, the figures and reasoning of
  instances/dk-2020-almen-medicin (77 and 57 from the brief's open shares; 56.5 assumed for the rest).
- previous.csv is an ASSUMPTION: 300 posts in 2019 shared among the 98 municipalities by population
  (Hamilton, largest remainder); the real 2019 split is not in our sources.
"""

from __future__ import annotations

import csv
from pathlib import Path

from allocator.apportion import apportion

HERE = Path(__file__).resolve().parent
REGIONS = {  # region code -> (area id, name, training region, GPs (PLO, about 2019-20; BRIEF.md),
    #                         percent of practices closed to new patients, partly assumed as in dk-2020)
    "DK-81": ("Nordjylland", "Region Nordjylland", "Nord", 285, "56.5"),
    "DK-82": ("Midtjylland", "Region Midtjylland", "Nord", 798, "57"),
    "DK-83": ("Syddanmark", "Region Syddanmark", "Syd", 775, "56.5"),
    "DK-84": ("Hovedstaden", "Region Hovedstaden", "Øst", 1033, "77"),
    "DK-85": ("Sjælland", "Region Sjælland", "Øst", 435, "56.5"),
}
TRAINING = {"Nord": "Videreuddannelsesregion Nord", "Syd": "Videreuddannelsesregion Syd",
            "Øst": "Videreuddannelsesregion Øst"}
PREVIOUS_TOTAL = 300


def main() -> None:
    """Write areas.csv and previous.csv."""
    with open(HERE / "municipalities.csv", encoding="utf-8") as stream:
        municipalities = list(csv.DictReader(stream))
    with open(HERE / "population.csv", encoding="utf-8") as stream:
        population = {row["lau1"]: int(row["population"])
                      for row in csv.DictReader(line for line in stream if not line.startswith("#"))}
    with open(HERE / "underserved_plo_2019.csv", encoding="utf-8") as stream:
        underserved = {row["lau1"] for row in csv.DictReader(stream)}
    region_population = {code: 0 for code in REGIONS}
    for row in municipalities:
        region_population[row["region_code"]] += population[row["lau1"]]
    rows = [[tid, name, "", "", "", "", "", ""] for tid, name in TRAINING.items()]
    rows += [[rid, name, training, "", "", gps, f"{round(region_population[code] / gps, 1):.1f}", closed]
             for code, (rid, name, training, gps, closed) in REGIONS.items()]
    for row in municipalities:
        rows.append([row["lau1"], row["name"], REGIONS[row["region_code"]][0], population[row["lau1"]],
                     "yes" if row["lau1"] in underserved else "no", "", "", ""])
    with open(HERE / "areas.csv", "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["id", "name", "parent", "population", "underserved", "gps", "inhabitants_per_gp",
                         "closed_practice_share"])
        writer.writerows(rows)
    ids = [row["lau1"] for row in municipalities]
    shared = apportion(ids, [population[i] for i in ids], PREVIOUS_TOTAL, "hamilton")
    with open(HERE / "previous.csv", "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["area", "specialty", "posts"])
        writer.writerows([area, "almen-medicin", posts] for area, posts in zip(shared.areas, shared.posts))


if __name__ == "__main__":
    main()
