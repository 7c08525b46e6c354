"""Write the diagnosis of an infeasible instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.writers.output import Target, write_files

if TYPE_CHECKING:
    from allocator.solvers.diagnose import Diagnosis


def write_diagnosis(out: Target, instance_name: str, diagnosis: Diagnosis) -> list[Path]:
    """Write diagnosis.json and diagnosis.md (why no plan exists, and the smallest fix) into ``out``."""
    return write_files(out, {
        "diagnosis.json": lambda: json.dumps(diagnosis.as_json(), indent=2, ensure_ascii=False) + "\n",
        "diagnosis.md": lambda: diagnosis.as_markdown(instance_name),
    })
