"""Step 8b: the index of a batch run (``make all``): every plan and comparison under one folder, linked."""

from __future__ import annotations

import json
from pathlib import Path

from allocator.errors import InputError, Location


def index_markdown(root: Path) -> str:
    """out/index.md: a table per instance of every plan under ``root``, with links, then the comparisons.

    Reads the plan.json files written by ``allocator solve`` (``root/<instance>/<model>/plan.json``);
    rows are sorted by instance, then model, so the index does not depend on the order of the disk.
    """
    if not root.is_dir():
        raise InputError("the folder does not exist", where=Location(root), fix="run 'make all' first")
    plans = sorted(root.glob("*/*/plan.json"))
    comparisons = sorted(root.glob("*/*/comparison.md"))
    out = ["# Batch run", "", f"{len(plans)} plans and {len(comparisons)} comparisons under `{root}`. "
           "Every plan was verified before it was written.", ""]
    by_instance: dict[str, list[Path]] = {}
    for path in plans:
        by_instance.setdefault(path.parent.parent.name, []).append(path)
    for instance, paths in by_instance.items():
        out += [f"## {instance}", "", "| model | posts | objective | solver | files |", "|---|---:|---:|---|---|"]
        for path in paths:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"unreadable plan ({type(exc).__name__})", where=Location(path),
                                 fix="run 'make all' again to rewrite it") from None
            model = path.parent.name
            posts = sum(row["posts"] for row in document.get("rows", []))
            meta = document.get("metadata", {})
            link = f"{instance}/{model}"
            out.append(f"| {model} | {posts:g} | {document.get('objective', float('nan')):.6g} | "
                       f"{meta.get('solver', '?')} | [summary]({link}/summary.md) · [plan.csv]({link}/plan.csv) |")
        out.append("")
    if comparisons:
        out += ["## Comparisons", ""]
        out += [f"- [{path.parent.parent.name}]({path.relative_to(root).as_posix()})" for path in comparisons]
        out.append("")
    return "\n".join(out)
