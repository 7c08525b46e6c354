"""A table reference holding a NUL byte is a located exit 2, not an internal error (found by tests/test_fuzz.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocator.errors import InputError
from allocator.io.loading import load_model


def test_nul_byte_in_a_table_reference(tmp_path: Path) -> None:
    """`criteria: "a\\x00b"` in a model names the key instead of crashing in os.path.realpath."""
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"name": "m", "criteria": "crit\u0000eria.csv"}), encoding="utf-8")
    with pytest.raises(InputError, match="'criteria' refers to a file name with a NUL byte"):
        load_model(path)
