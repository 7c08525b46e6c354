"""Output folders: one run, one folder state.

A run renders every file into a fresh hidden folder beside ``--out`` and then
moves them in together, holding a lock on ``--out`` while it does, so that:

- concurrent runs into one folder queue on the lock and never mix their files;
- files an earlier run wrote that this run does not (plan.xlsx after
  ``--no-xlsx``, plan files after an infeasible rerun, diagnosis files after a
  feasible one) are removed in the same move; files the user put there stay;
- a crash, Ctrl-C or SIGTERM before the move leaves the folder as it was; a
  SIGKILL during the move (a few renames) leaves a journal, and the next run
  into the folder finishes that move before it starts its own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

from allocator.errors import InputError, Interrupted, Location, OutputError, interruptions_held

#: Every file a run of ``solve``, ``sensitivity``, ``compare``, ``apportion``, ``sweep`` or ``pareto`` writes into its folder.
#: A file of these names in the folder belongs to an earlier run, and goes when a new run moves in.
#: Nothing else in the folder is ever touched.
RUN_FILES = frozenset({
    "plan.csv", "plan.xlsx", "plan.json", "summary.md", "projection.csv", "diagnosis.json", "diagnosis.md",
    "sensitivity.json", "sensitivity.md", "sensitivity_rules.csv", "sensitivity_cells.csv", "sensitivity.csv",
    "comparison.csv", "comparison.json", "comparison.md", "apportionment.csv", "apportionment.json",
    "biproportional.csv", "biproportional.json", "report.html", "report.pdf",
    # allocator sweep (cells.parquet is a folder of partitions, moved in by the sweep itself) and pareto
    "scenarios.csv", "scenarios.parquet", "sweep.md", "pareto.csv", "pareto.json", "pareto.md", "pareto.svg",
    "sweep.json",
})

#: The journal of a move in progress, inside the output folder (only while files are being moved in).
JOURNAL = ".allocator-move.json"
_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an output path that is a file, or a folder that already holds files unless ``force``."""
    if out.is_symlink() and not out.is_dir():
        raise InputError("the output path is a link to no folder", where=Location(out), fix="name a folder for --out")
    if out.exists() and not out.is_dir():
        raise InputError("the output path is a file, not a folder", where=Location(out),
                         fix="name a folder for --out")
    if out.exists() and not force and any(not _ours_to_clean(entry.name) for entry in out.iterdir()):
        raise InputError("the output folder already holds files", where=Location(out),
                         fix="choose an empty or new folder, or add --force to replace the files of the earlier run "
                             "(files you put there yourself stay)")


def _ours_to_clean(name: str) -> bool:
    """The journal, or a temporary file an earlier version left (``.plan.csv.x1y2.tmp``): not the user's files."""
    return name == JOURNAL or (name.startswith(".") and name.endswith(".tmp")
                               and name[1:].removesuffix(".tmp").rsplit(".", 1)[0] in RUN_FILES)


def prepare_output_dir(out: Path, force: bool) -> None:
    """:func:`check_output_dir`, then create the folder."""
    check_output_dir(out, force)
    _make_folder(out)


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out, exc) from None


def _cannot_write(out: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    fix = "free some disk space, or choose another folder" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else \
        "choose a folder you can write to"
    return OutputError(f"cannot write there ({reason})", where=Location(exc.filename or out), fix=fix)


class Publication:
    """The files of one run, staged beside ``out`` and moved in together when the run succeeds.

    Use as a context manager; pass it to the writers in place of a folder. On
    an exception nothing in ``out`` changes, the staged files are deleted, and
    ``out`` itself is removed if this run created it and it is still empty.

    Parameters
    ----------
    out
        The output folder.
    force
        Replace an earlier run's files (``--force``); without it, a folder that
        holds files is refused.
    replace_run
        Remove the files of :data:`RUN_FILES` that this run does not write
        (True for a command's run; False to add files to a folder, as a
        library call does).
    """

    def __init__(self, out: Path, *, force: bool = True, replace_run: bool = True) -> None:
        self.out = out
        self.force = force
        self.replace_run = replace_run
        self.staged: dict[str, Path] = {}
        self._lock: int | None = None
        self._staging: Path | None = None
        self._created = False

    def __enter__(self) -> Publication:
        check_output_dir(self.out, self.force)
        self._created = not self.out.exists()
        _make_folder(self.out)
        try:
            self._lock = os.open(self.out, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # concurrent runs into this folder wait here, in turn
            finish_interrupted_move(self.out)
            _remove_stale_staging(self.out)
            check_output_dir(self.out, self.force)  # again: another run may have written while we waited
            self._staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.allocator-", suffix=".tmp",
                                                  dir=self.out.parent))
        except BaseException:
            self._abandon()
            raise
        return self

    def stage(self, name: str, content: str | bytes) -> Path:
        """Write one file into the staging folder (synced to disk); it appears in ``out`` at the move."""
        assert self._staging is not None, "stage() outside 'with Publication(...)'"
        if self.replace_run and name not in RUN_FILES:
            raise ValueError(f"{name} is not in RUN_FILES: add it there, so that a later run can replace it")
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self._staging / name
        try:
            with open(path, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:
            raise _cannot_write(self.out, exc) from None
        self.staged[name] = path
        return self.out / name

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if kind is None:
            try:
                self._move_in()
            except BaseException:
                self._abandon()
                raise
        self._abandon()

    def _move_in(self) -> None:
        """Move every staged file into ``out`` and remove the earlier run's other files, as one step."""
        assert self._staging is not None
        remove = sorted(entry.name for entry in self.out.iterdir()
                        if self.replace_run and entry.name in RUN_FILES and entry.name not in self.staged
                        and not entry.is_dir())
        journal = {"staging": self._staging.name, "files": sorted(self.staged), "remove": remove}
        # No signal may stop the moves half way: held back here, delivered once the folder is whole again.
        # The mask holds back Ctrl-C's default handler (a library caller's) in this thread; the hold holds
        # back ours (allocator.__main__), whichever thread the kernel gave the signal to.
        moved = False
        try:
            with interruptions_held():
                held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
                try:
                    _write_synced(self.out / JOURNAL, json.dumps(journal).encode("utf-8"))
                    _apply(self.out, self._staging, journal)
                    moved = True
                except OSError as exc:
                    raise _cannot_write(self.out, exc) from None
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
                    _let_pending_signals_in()  # inside the hold: ours are kept, to be raised on leaving it
        except Interrupted as stop:
            stop.files_written = moved
            raise

    def _abandon(self) -> None:
        """Delete what was staged, release the lock, and remove ``out`` if this run made it and it is empty."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if self._created:
            with contextlib.suppress(OSError):
                self.out.rmdir()  # only if empty: a failed first run leaves no folder behind
            self._created = False


def _let_pending_signals_in() -> None:
    """A few bytecodes, at which Python runs the handlers of signals that arrived while they were held.

    Python runs a handler between bytecodes, not inside the C call that
    unblocked the signal; this gives it that chance while the caller can still
    mark the interruption as coming after the move.
    """
    for _ in range(3):
        pass


def _apply(out: Path, staging: Path, journal: dict[str, object]) -> None:
    for name in journal["remove"]:  # type: ignore[attr-defined]
        with contextlib.suppress(FileNotFoundError):
            (out / str(name)).unlink()
    for name in journal["files"]:  # type: ignore[attr-defined]
        source = staging / str(name)
        if source.exists():
            os.replace(source, out / str(name))
    _sync_folder(out)
    (out / JOURNAL).unlink()
    _sync_folder(out)
    shutil.rmtree(staging, ignore_errors=True)


def finish_interrupted_move(out: Path) -> bool:
    """Finish a move that a killed run left half done (its journal is still in ``out``); True if there was one.

    Called with the folder's lock held. The staged files of the killed run are
    complete (they were synced before its journal was written), so finishing
    the move leaves the folder exactly as that run would have.
    """
    path = out / JOURNAL
    if not path.exists():
        return False
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
        staging = out.parent / str(journal["staging"])
        if "/" in str(journal["staging"]) or not str(journal["staging"]).startswith(f".{out.name}.allocator-"):
            raise ValueError("not a staging folder of this output folder")
        names = [str(name) for name in journal["files"]] + [str(name) for name in journal["remove"]]
        if any(name not in RUN_FILES for name in names):
            raise ValueError("names a file no run writes")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"an earlier run left an unreadable journal {JOURNAL} ({type(exc).__name__})",
                         where=Location(out), fix=f"delete {out / JOURNAL} and rerun") from None
    _apply(out, staging, journal)
    return True


def _remove_stale_staging(out: Path) -> None:
    """Delete staging folders and temporary files that killed runs left beside or in ``out`` (lock held)."""
    for entry in out.parent.glob(f".{out.name}.allocator-*.tmp"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
    for entry in out.glob(".*.tmp"):  # earlier versions staged files as .<name>.<random>.tmp inside the folder
        if _ours_to_clean(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)


def _write_synced(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then rename it into place.

    A symbolic link at ``path`` is replaced by the file, never written through.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        handle, name_on_disk = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path.parent, exc) from None
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
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _cannot_write(path.parent, exc) from None
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


#: Where writers put their files: a folder (the files are added to it together), or a run's publication.
Target = Path | Publication


def write_files(out: Target, files: dict[str, Callable[[], str | bytes]],
                background: frozenset[str] = frozenset()) -> list[Path]:
    """Render every file and stage it; nothing appears in the folder if any rendering fails.

    Given a folder, the files are moved into it together when all are
    rendered (and nothing else there is touched). Given a
    :class:`Publication`, they move in with the rest of the run's files.
    Files named in ``background`` are rendered by a second thread while this
    one renders the rest: the large ones are written by polars, which does
    its work without holding the GIL, so on two cores a 250,000-row plan.json
    and plan.csv cost little more than the larger of the two.
    """
    if not isinstance(out, Publication):
        with Publication(out, force=True, replace_run=False) as publication:
            return write_files(publication, files, background)
    threads = {name: _Rendering(files[name]) for name in background & files.keys()}
    try:
        for thread in threads.values():
            thread.start()
        for name, make in files.items():
            if name not in threads:
                out.stage(name, make())
        for name, thread in threads.items():
            out.stage(name, thread.result())
    except BaseException:
        for thread in threads.values():
            thread.join()  # a thread cannot be stopped; it only renders into memory, so wait for it
        raise
    return [out.out / name for name in files]


@contextlib.contextmanager
def publishing(out: Path, force: bool) -> Iterator[Publication]:
    """A command's run into ``out``: ``with publishing(out, force) as target: write_plan(..., target)``."""
    with Publication(out, force=force, replace_run=True) as publication:
        yield publication
