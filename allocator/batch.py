"""Step 8b: the index of a batch run (``make all``): every plan and comparison under one folder, linked."""

from __future__ import annotations

import json
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
        out += [f"## {instance}", "", "| model | posts | objective | solver | files |", "|---|---:|---:|---|---|"]
        for path in paths:
            posts, objective, solver = _plan_facts(path)
            model = path.parent.name
            link = f"{instance}/{model}"
            out.append(f"| {model} | {posts:g} | {objective:.6g} | {solver} | "
                       f"[summary]({link}/summary.md) · [plan.csv]({link}/plan.csv) |")
        out.append("")
    if comparisons:
        out += ["## Comparisons", ""]
        out += [f"- [{path.parent.parent.name}]({path.relative_to(root).as_posix()})" for path in comparisons]
        out.append("")
    return "\n".join(out)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _plan_facts(path: Path) -> tuple[float, float, str]:
    """Posts, objective and solver of one plan.json, checked to be what ``allocator solve`` writes."""
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
    posts = 0.0
    for number, row in enumerate(rows, start=1):
        value = row.get("posts") if isinstance(row, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"not a plan: row {number} has no number 'posts'", where=Location(path, None, "rows"),
                             fix=fix)
        posts += value
    if isinstance(objective, bool) or not isinstance(objective, (int, float)):
        raise InputError("not a plan: 'objective' is not a number", where=Location(path, None, "objective"), fix=fix)
    return posts, float(objective), str(meta.get("solver", "?"))
