"""A model as YAML: what the what-if app (issue 16) exports, and `allocator solve --model` loads back.

Only the keys that differ from a model's defaults are written (plus ``name``,
``base``, ``objective`` and ``criteria``, which people look for), in the
order of docs/formats.md. Numbers are written by PyYAML's float ``repr``, the
shortest text that reads back as the same double, so the loaded model is the
one the app solved, bit for bit.
"""

from __future__ import annotations

from typing import Any

import yaml

from allocator.io.schemas import Model, Stability


def _number(value: float) -> float | int:
    # 2.0 reads better as 2; an integral float reads back as the same number either way.
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def model_document(model: Model) -> dict[str, Any]:
    """The model as a plain dict in the shape of a model file (docs/formats.md)."""
    defaults = Model(name=model.name)
    document: dict[str, Any] = {"name": model.name}
    if model.description:
        document["description"] = model.description
    document["base"] = list(model.base) if isinstance(model.base, list) else model.base
    if model.underserved_addition != defaults.underserved_addition:
        document["underserved_addition"] = _number(model.underserved_addition)
    document["criteria"] = [{"indicator": c.indicator, "weight": _number(c.weight), "direction": c.direction}
                            for c in model.criteria]
    document["objective"] = model.objective
    if model.method is not None:
        document["method"] = model.method
    if model.first_divisor is not None:
        document["first_divisor"] = _number(model.first_divisor)
    if model.underserved_weight != defaults.underserved_weight:
        document["underserved_weight"] = _number(model.underserved_weight)
    if model.stability.max_change is not None or model.stability.weight != Stability().weight:
        stability: dict[str, Any] = {}
        if model.stability.max_change is not None:
            stability["max_change"] = _number(model.stability.max_change)
        stability["weight"] = _number(model.stability.weight)
        document["stability"] = stability
    if model.coverage_weight != defaults.coverage_weight:
        document["coverage_weight"] = _number(model.coverage_weight)
    return document


def model_yaml(model: Model, header: list[str] | None = None) -> str:
    """The model file's text; ``header`` lines become ``#`` comments on top (where it came from, and why)."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header or [])
    body = yaml.safe_dump(model_document(model), sort_keys=False, allow_unicode=True, width=100)
    return comments + body
