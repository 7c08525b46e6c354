"""The Danish horizon over the 98 municipalities: is the multi-year MILP proven on real-shaped data?

Usage::

    python -m benchmarks.horizon_kommuner [--limit 60] [--out benchmarks/horizon_kommuner_results.md]

The instance is built in a temporary folder from two bundled instances, nothing new is sourced:

- instances/dk-2021-almen-medicin-horizon: the horizon, the specialty, the training regions' growth,
  the rates (on the regions and training regions, inherited by their municipalities), the regional
  bounds and the regional pipeline and last year's posts;
- instances/dk-2019-almen-medicin-kommuner/areas.csv: the 98 municipalities with their REAL population
  (Statistics Denmark, FOLK1A, 2019) and PLO's 2019 under-served flags.

ASSUMPTIONS of this build (on top of those of the two instances): each region's REAL GP count (PLO) is
split over its municipalities by population, and so are the regional pipeline and last year's posts
(largest remainder). Every municipality of a region therefore starts with its region's inhabitants
per GP. The instance is solved once with HiGHS and once with SCIP, each with ``--limit`` seconds, as
``benchmarks/horizon.py`` solves its generated instances.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.horizon import _solve_once, write_instance

ROOT = Path(__file__).resolve().parent.parent
HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "areas.csv"
RESULTS = Path(__file__).resolve().parent / "horizon_kommuner_results.md"


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights``; ties by position (the areas.csv order)."""
    quotas = [total * weight / sum(weights) for weight in weights]
    shares = [math.floor(quota) for quota in quotas]
    for k in sorted(range(len(quotas)), key=lambda k: (-(quotas[k] - shares[k]), k))[:total - sum(shares)]:
        shares[k] += 1
    return shares


def kommuner_horizon() -> dict[str, Any]:
    """The municipal multi-year instance as plain data (see the module docstring for what is assumed)."""
    regional = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    with open(KOMMUNER, encoding="utf-8", newline="") as stream:
        municipalities = [row for row in csv.DictReader(stream) if row["population"]]
    population = {row["id"]: int(row["population"]) for row in municipalities}
    members: dict[str, list[str]] = {}
    for row in municipalities:
        members.setdefault(row["parent"], []).append(row["id"])
    areas = [area for area in regional["areas"] if not area.get("parent")]
    areas += [{"id": area["id"], "name": area["name"], "parent": area["parent"]}
              for area in regional["areas"] if area.get("parent")]
    areas += [{"id": row["id"], "name": row["name"], "parent": row["parent"], "population": population[row["id"]],
               "underserved": row["underserved"] == "yes"} for row in municipalities]
    workforce = []
    for row in regional["workforce"]:
        if "headcount" not in row:
            workforce.append(row)
            continue
        workforce.append({key: value for key, value in row.items() if key != "headcount"})
        region_population = sum(population[leaf] for leaf in members[row["area"]])
        workforce += [{"area": leaf, "specialty": row["specialty"],
                       "headcount": round(row["headcount"] * population[leaf] / region_population, 1)}
                      for leaf in members[row["area"]]]

    def split(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            leaves = members[row["area"]]
            for leaf, posts in zip(leaves, _largest_remainder(row["posts"], [population[x] for x in leaves])):
                out.append({**row, "area": leaf, "posts": posts})
        return out

    return {"name": "dk-2021-almen-medicin-horizon-kommuner-benchmark",
            "sources": "Built by benchmarks/horizon_kommuner.py from instances/dk-2021-almen-medicin-horizon and "
                       "instances/dk-2019-almen-medicin-kommuner (see their sources). ASSUMPTION: regional GP counts, "
                       "pipeline and last year's posts split over the municipalities by population.",
            "unit": regional["unit"], "horizon": regional["horizon"], "specialties": regional["specialties"],
            "areas": areas, "workforce": workforce, "pipeline": split(regional["pipeline"]),
            "previous": split(regional["previous"]), "bounds": regional["bounds"]}


def main(argv: list[str] | None = None) -> None:
    """Solve the municipal horizon with HiGHS and with SCIP and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder) / "instance.yaml", kommuner_horizon())
        for engine in ("highs", "scip"):
            result = _solve_once(path, args.limit, engine=engine)
            rows.append(f"| {engine} | {result['status']} | {result['seconds']:.2f} | {result['cpu']:.2f} | "
                        f"{result['gap']:.2e} | {result['objective']:.6f} | {result['bound']:.6f} |")
    lines = [f"# The Danish horizon over the 98 municipalities ({datetime.date.today().isoformat()})", "",
             f"`python -m benchmarks.horizon_kommuner --limit {args.limit:g}`; load average {load:.1f} at the start "
             f"on {os.cpu_count()} cores. The instance and its assumptions: the docstring of "
             "benchmarks/horizon_kommuner.py.", "",
             "| engine | status | seconds | CPU s | gap | plan | bound |", "|---|---|---:|---:|---:|---:|---:|",
             *rows, ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
