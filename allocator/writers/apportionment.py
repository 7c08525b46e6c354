"""Write the results of ``allocator apportion`` and ``allocator biproportional``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocator.writers.output import Target, write_files
from allocator.writers.text import csv_text

if TYPE_CHECKING:
    from allocator.apportion import Apportionment
    from allocator.apportion.biproportional import BiproportionalResult


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


def biproportional_csv(result: BiproportionalResult) -> str:
    """biproportional.csv: ``row,column,weight,seats,quotient``, rows then columns in input order."""
    rows, columns, weights, seats, quotients = [], [], [], [], []
    for i, row in enumerate(result.rows):
        for j, column in enumerate(result.columns):
            rows.append(row)
            columns.append(column)
            weight = result.weights[i][j]
            weights.append(str(weight.numerator) if weight.denominator == 1 else f"{float(weight):.10g}")
            seats.append(str(result.seats[i][j]))
            quotients.append(f"{result.quotient(i, j):.6f}")
    return csv_text(("row", "column", "weight", "seats", "quotient"), [rows, columns, weights, seats, quotients],
                    text={0, 1})


def write_biproportional(out: Target, result: BiproportionalResult, extra: dict[str, Any]) -> list[Path]:
    """Write biproportional.csv and biproportional.json (divisors, multipliers, ties, inputs) into ``out``."""
    document = {**result.as_json(), **extra}
    return write_files(out, {
        "biproportional.csv": lambda: biproportional_csv(result),
        "biproportional.json": lambda: json.dumps(document, indent=2, ensure_ascii=False) + "\n",
    })
