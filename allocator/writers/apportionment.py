"""Write the result of ``allocator apportion``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.output import Target, write_files
from allocator.writers.text import csv_text

if TYPE_CHECKING:
    from allocator.apportion import Apportionment


def apportionment_csv(result: Apportionment) -> str:
    """apportionment.csv: ``area,posts,quota``, one row per area in table order (quota to 6 decimals)."""
    return csv_text(("area", "posts", "quota"),
                    [result.areas, [str(posts) for posts in result.posts],
                     [f"{float(quota):.6f}" for quota in result.quotas]], text={0})


def write_apportionment(out: Target, result: Apportionment, inputs: dict[str, str]) -> list[Path]:
    """Write apportionment.csv and apportionment.json (with the priority list ``next``) into ``out``."""
    document = {**result.as_json(), "inputs": inputs}
    return write_files(out, {
        "apportionment.csv": lambda: apportionment_csv(result),
        "apportionment.json": lambda: json.dumps(document, indent=2, ensure_ascii=False) + "\n",
    })
