"""Step 8b: the index of a batch run (``make all``): every plan and comparison under one folder, linked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from allocator.errors import InputError, Location


#: The first line of every index.md this command writes: an index.md without it was written by someone else.
INDEX_MARK = "<!-- written by allocator index; rerunning it replaces this file -->"


def index_markdown(root: Path) -> str:
    """out/index.md: a table per instance of every plan under ``root``, with links, then the comparisons.

    Reads the plan.json files written by ``allocator solve`` (``root/<instance>/<model>/plan.json``);
    rows are sorted by instance, then model, so the index does not depend on the order of the disk.
    Hidden folders (a run's staging folder) are skipped. A plan.json that is not what ``solve``
    writes is bad input, named with its path.
    """
    if not root.is_dir():
        raise InputError("the folder does not exist", where=Location(root), fix="run 'make all' first")
    plans = sorted(path for path in root.glob("*/*/plan.json") if not _hidden(path.relative_to(root)))
    comparisons = sorted(path for path in root.glob("*/*/comparison.md") if not _hidden(path.relative_to(root)))
    out = [INDEX_MARK, "# Batch run", "", f"{len(plans)} plans and {len(comparisons)} comparisons under `{root}`. "
           "Every plan was verified before it was written.", ""]
    by_instance: dict[str, list[Path]] = {}
    for path in plans:
        by_instance.setdefault(path.parent.parent.name, []).append(path)
    for instance, paths in by_instance.items():
        out += [f"## {instance}", "", "| model | posts | objective | status | solver | files |",
                "|---|---:|---:|---|---|---|"]
        for path in paths:
            facts = _plan_facts(path)
            model = path.parent.name
            link = f"{instance}/{model}"
            files = f"[summary]({link}/summary.md) · [plan.csv]({link}/plan.csv)"
            if None not in facts.posts_by_year:
                files += f" · [projection.csv]({link}/projection.csv)"
            out.append(f"| {model} | {facts.posts_text()} | {facts.objective:.6g} | {facts.status} | {facts.solver} "
                       f"| {files} |")
        out.append("")
    if comparisons:
        out += ["## Comparisons", ""]
        out += [f"- [{path.parent.parent.name}]({path.relative_to(root).as_posix()})" for path in comparisons]
        out.append("")
    return "\n".join(out)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


@dataclass(frozen=True)
class PlanFacts:
    """What the index shows of one plan.json.

    ``posts_by_year`` maps each plan year to its posts; a one-year plan (rows
    without ``year``) has the single key ``None``. Posts of a multi-year plan
    are never summed across years: 350 posts a year for five years is not a
    plan of 1,750 posts.
    """

    posts_by_year: dict[int | None, float]
    objective: float
    status: str
    solver: str

    def posts_text(self) -> str:
        """``350`` for a one-year plan; ``350 a year, 2021–2025`` or ``2021: 350 · 2022: 360`` over years."""
        if list(self.posts_by_year) == [None]:
            return f"{self.posts_by_year[None]:g}"
        years = sorted(year for year in self.posts_by_year if year is not None)
        values = {self.posts_by_year[year] for year in years}
        if len(values) == 1:
            return f"{values.pop():g} a year, {years[0]}–{years[-1]}" if len(years) > 1 else \
                f"{values.pop():g} in {years[0]}"
        return " · ".join(f"{year}: {self.posts_by_year[year]:g}" for year in years)


def _plan_facts(path: Path) -> PlanFacts:
    """Posts per plan year, objective, status and solver of one plan.json, checked to be what ``allocator solve``
    writes."""
    fix = "rerun 'allocator solve' for it (or 'make all'), or move the file out of the folder"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable plan ({type(exc).__name__})", where=Location(path), fix=fix) from None
    if not isinstance(document, dict):
        raise InputError("not a plan: the file holds no JSON object", where=Location(path), fix=fix)
    rows = document.get("rows", [])
    objective = document.get("objective", float("nan"))
    meta = document.get("metadata", {})
    if not isinstance(rows, list) or not isinstance(meta, dict):
        raise InputError("not a plan: 'rows' must be a list and 'metadata' an object", where=Location(path), fix=fix)
    posts: dict[int | None, float] = {}
    for number, row in enumerate(rows, start=1):
        value = row.get("posts") if isinstance(row, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"not a plan: row {number} has no number 'posts'", where=Location(path, None, "rows"),
                             fix=fix)
        year = row.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            raise InputError(f"not a plan: row {number} has a 'year' that is not a whole number",
                             where=Location(path, None, "rows"), fix=fix)
        posts[year] = posts.get(year, 0.0) + value
    if None in posts and len(posts) > 1:
        raise InputError("not a plan: some rows have a 'year' and some do not", where=Location(path, None, "rows"),
                         fix=fix)
    if isinstance(objective, bool) or not isinstance(objective, (int, float)):
        raise InputError("not a plan: 'objective' is not a number", where=Location(path, None, "objective"), fix=fix)
    status = document.get("status", meta.get("status", "?"))
    return PlanFacts(posts or {None: 0.0}, float(objective), str(status), str(meta.get("solver", "?")))
