"""Read the output folders of earlier runs (plan.json, sensitivity.json, comparison.json, sweep.json) for a report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.errors import InputError, Location
from allocator.io.limits import MAX_TABLE_BYTES

#: The files a report is made from, in the order their sections appear.
REPORT_SOURCES = ("plan.json", "sensitivity.json", "comparison.json", "sweep.json")


@dataclass
class OutputFolder:
    """The JSON documents one output folder holds (None where a file is absent)."""

    path: Path
    plan: dict[str, Any] | None = None
    sensitivity: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    sweep: dict[str, Any] | None = None  # sweep.json of ``allocator sweep``

    @property
    def instance_name(self) -> str:
        """The instance every document of the folder was made from."""
        for document in (self.plan, self.sensitivity, self.comparison, self.sweep):
            if document is not None:
                return str(document.get("instance", ""))
        return ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise InputError(f"the file is over {MAX_TABLE_BYTES:,} bytes", where=Location(path),
                             fix="make the report from a smaller run")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", where=Location(path),
                         fix="run the command again into this folder") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError("not valid JSON", where=Location(path, f"line {line}" if line else None),
                         fix="run the command that wrote it again; the report reads only files allocator wrote") \
            from None
    if not isinstance(data, dict) or "instance" not in data:
        raise InputError("not a file allocator wrote (no 'instance' key)", where=Location(path),
                         fix="run the command that wrote it again")
    return data


def read_output_folder(path: Path) -> OutputFolder:
    """The plan, sensitivity and comparison documents of ``path``.

    Raises
    ------
    InputError
        The folder is missing, holds none of :data:`REPORT_SOURCES`, or one of
        them is not valid JSON written by allocator.
    """
    if not path.is_dir():
        raise InputError("no such output folder", where=Location(path),
                         fix="name a folder that 'allocator solve', 'sensitivity', 'compare' or 'sweep' wrote")
    folder = OutputFolder(path)
    for name in REPORT_SOURCES:
        if (path / name).exists():
            setattr(folder, name.removesuffix(".json"), _read_json(path / name))
    if folder.plan is None and folder.sensitivity is None and folder.comparison is None and folder.sweep is None:
        raise InputError(f"the folder holds none of {', '.join(REPORT_SOURCES)}", where=Location(path),
                         fix="name a folder that 'allocator solve', 'sensitivity', 'compare' or 'sweep' wrote")
    names = {document["instance"] for document in (folder.plan, folder.sensitivity, folder.comparison, folder.sweep)
             if document is not None}
    if len(names) > 1:
        raise InputError(f"the folder mixes runs of the instances {', '.join(sorted(map(str, names)))}",
                         where=Location(path), fix="make one report per instance")
    return folder


def instance_file_of(folder: OutputFolder) -> Path | None:
    """The instance file the folder's runs were made from, if it can be found; else None."""
    if folder.plan is not None:
        named = folder.plan.get("metadata", {}).get("instance_file")
        if isinstance(named, str) and Path(named).is_file():
            return Path(named)
    if folder.sweep is not None:
        named = folder.sweep.get("instance_file")
        if isinstance(named, str) and Path(named).is_file():
            return Path(named)
    # The repository's layout: instances/<name>/instance.yaml, relative to where the command runs.
    guess = Path("instances") / folder.instance_name / "instance.yaml"
    return guess if guess.is_file() else None
