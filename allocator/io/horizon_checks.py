"""Warnings about a valid multi-year instance: silent defaults and values a person likely did not mean.

Nothing here refuses an instance; each warning is one line for the terminal (stderr), printed
beside the warnings about unused columns, and the run goes on (exit 0). See docs/formats.md,
"Multi-year instances", for the rules.
"""

from __future__ import annotations

from pathlib import Path

from allocator.io.schemas import HorizonInstance

#: A yearly population growth above this (in absolute value) is likely a percentage written as a
#: number (0.4 meant as 0.4 %). ASSUMPTION, not a sourced figure: the bound the issue-14 audit asked
#: for; a population growing 5 % a year doubles in 14 years.
GROWTH_WARNING = 0.05

#: At most this many cells are named in one warning; the rest are counted.
NAMED = 6


def horizon_warnings(horizon: HorizonInstance, path: Path | str) -> list[str]:
    """One line per warning about ``horizon`` (read from ``path``); empty when there is nothing to say.

    - Start years before ``first_year`` whose graduates fall in the outlook, for a cell with neither a
      ``pipeline`` row for that year nor last year's posts (``previous``): they are taken as 0 posts.
    - A specialty whose ``training_years`` reach past the outlook (first_year + training_years is after
      the last outlook year): no post of the plan graduates within it, so coverage cannot depend on the plan.
    - A ``population_growth`` above 0.05 a year in absolute value: likely a percentage written as a number.
    """
    return [f"{path}: {text}" for text in _unstarted(horizon) + _unreachable(horizon)] + _growth(horizon)


def _unstarted(horizon: HorizonInstance) -> list[str]:
    previous = horizon.instance.previous_posts
    first, outlook = horizon.first_year, horizon.outlook_years
    gaps: list[str] = []
    for leaf, specialty in horizon.instance.cells:
        if (leaf, specialty) in previous:
            continue  # last year's posts stand for every start year without a pipeline row
        training = horizon.training_years[specialty]
        # posts started in first_year + j - D graduate in outlook year j (docs/mathematics.md)
        years = [first + j - training for j in range(min(outlook, training))]
        missing = [year for year in years if (leaf, specialty, year) not in horizon.pipeline]
        if missing:
            gaps.append(f"{leaf}/{specialty} {_years(missing)}")
    if not gaps:
        return []
    named = "; ".join(gaps[:NAMED]) + (f"; and {len(gaps) - NAMED} more" if len(gaps) > NAMED else "")
    return [f"posts started before {first} are taken as 0 in {len(gaps)} cell{'s' if len(gaps) > 1 else ''}, which "
            f"have neither a 'pipeline' row for those start years nor last year's posts ('previous'): {named}. "
            f"Fix: add 'pipeline' rows (area, specialty, year, posts) for those years, or a 'previous' row for "
            f"the cell (its posts then stand for every start year without a pipeline row); write 0 where 0 is meant"]


def _years(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 2 and years == list(range(years[0], years[-1] + 1)) \
        else ", ".join(map(str, years))


def _unreachable(horizon: HorizonInstance) -> list[str]:
    last = horizon.first_year + horizon.outlook_years - 1
    warnings = []
    for specialty in horizon.instance.specialties:
        training = horizon.training_years[specialty.id]
        if horizon.first_year + training > last:
            warnings.append(
                f"specialty '{specialty.id}': posts of the first plan year {horizon.first_year} graduate in "
                f"{horizon.first_year + training} ({training} training years), after the last outlook year {last}, "
                f"so no post of the plan graduates within the outlook and coverage cannot depend on the plan "
                f"(only the yearly posts cost decides it). Fix: raise outlook_years to at least {training + 1}")
    return warnings


def _growth(horizon: HorizonInstance) -> list[str]:
    areas = horizon.instance.area_by_id
    warnings = []
    for area_id, rate in horizon.own_growth.items():
        if abs(rate) > GROWTH_WARNING:
            where = areas[area_id].where("population_growth")
            warnings.append(
                f"{where}: population_growth {rate:g} is {rate * 100:g} % a year, which is likely a percentage "
                f"written as a number ({rate:g} means {rate * 100:g} % a year). Fix: if {rate:g} % a year is meant, "
                f"write {rate / 100:g}")
    return warnings
