"""Output folders and atomic writes.

Every file is written to a temporary name in the target folder and renamed
into place, so a crash or Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

from allocator.errors import InputError, Location


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an output path that is a file, or a folder that already holds files unless ``force``."""
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", where=Location(out),
                         fix="name a folder for --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError("the output folder already holds files", where=Location(out),
                         fix="choose an empty or new folder, or add --force to replace this run's files")


def prepare_output_dir(out: Path, force: bool) -> None:
    """:func:`check_output_dir`, then create the folder."""
    check_output_dir(out, force)
    out.mkdir(parents=True, exist_ok=True)


def _stage(out: Path, name: str, content: str | bytes) -> Path:
    """Write ``content`` to a hidden temporary file in ``out``, synced to disk, and return its path."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, name_on_disk = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    temporary = Path(name_on_disk)
    try:
        # mkstemp makes the file private (0600); give it the permissions a normal write would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then rename it into place."""
    temporary = _stage(path.parent, path.name, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class _Rendering(threading.Thread):
    """Renders one file's content in a thread of its own (polars writes without holding the GIL)."""

    def __init__(self, make: Callable[[], str | bytes]) -> None:
        super().__init__(daemon=True)
        self.make = make
        self.content: str | bytes | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.content = self.make()
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc

    def result(self) -> str | bytes:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.content is not None
        return self.content


def write_files(out: Path, files: dict[str, Callable[[], str | bytes]],
                background: frozenset[str] = frozenset()) -> list[Path]:
    """Render every file, then move each into ``out``; nothing appears there if any rendering fails.

    Files named in ``background`` are rendered by a second thread while this
    one renders the rest: the large ones are written by polars, which does
    its work without holding the GIL, so on two cores a 250,000-row plan.json
    and plan.csv cost little more than the larger of the two.
    """
    threads = {name: _Rendering(files[name]) for name in background & files.keys()}
    staged: dict[str, Path] = {}
    try:
        for thread in threads.values():
            thread.start()
        for name, make in files.items():
            if name not in threads:
                staged[name] = _stage(out, name, make())
        for name, thread in threads.items():
            staged[name] = _stage(out, name, thread.result())
        written = []
        for name in files:
            os.replace(staged.pop(name), out / name)
            written.append(out / name)
        return written
    except BaseException:
        for thread in threads.values():
            thread.join()  # a thread cannot be stopped; it only renders into memory, so wait for it
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
