"""Output folders and atomic writes.

Every file is written to a temporary name in the target folder and renamed
into place, so a crash or Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import os
import tempfile
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


def _stage(out: Path, name: str, content: str | bytes, handle: int | None = None,
           temporary: Path | None = None) -> Path:
    """Write ``content`` to a hidden temporary file in ``out``, synced to disk, and return its path."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if handle is None or temporary is None:
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


def _render_in_child(out: Path, name: str, make: Callable[[], str | bytes]) -> tuple[int, Path]:
    """Fork a process that renders one file into a hidden temporary file; return its pid and the file."""
    handle, name_on_disk = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    pid = os.fork()
    if pid == 0:  # the child: render, write, and leave without running the parent's clean-up
        status = 1
        try:
            _stage(out, name, make(), handle, Path(name_on_disk))
            status = 0
        finally:
            os._exit(status)
    os.close(handle)
    return pid, Path(name_on_disk)


def write_files(out: Path, files: dict[str, Callable[[], str | bytes]],
                background: frozenset[str] = frozenset()) -> list[Path]:
    """Render every file, then move each into ``out``; nothing appears there if any rendering fails.

    Files named in ``background`` are rendered by a forked process while this
    one renders the rest (on a 2-core machine a 50,000-row plan.json and
    plan.csv then cost the time of one). Without ``os.fork`` all render here.
    """
    children: dict[str, tuple[int, Path]] = {}
    staged: dict[str, Path] = {}
    try:
        if hasattr(os, "fork"):
            for name in background & files.keys():
                children[name] = _render_in_child(out, name, files[name])
        for name, make in files.items():
            if name not in children:
                staged[name] = _stage(out, name, make())
        for name, (pid, temporary) in list(children.items()):
            _, status = os.waitpid(pid, 0)
            del children[name]
            if os.waitstatus_to_exitcode(status) != 0:
                temporary.unlink(missing_ok=True)
                staged[name] = _stage(out, name, files[name]())  # again here, to raise the real error
            else:
                staged[name] = temporary
        written = []
        for name in files:
            os.replace(staged.pop(name), out / name)
            written.append(out / name)
        return written
    except BaseException:
        for pid, temporary in children.values():
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            temporary.unlink(missing_ok=True)
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
