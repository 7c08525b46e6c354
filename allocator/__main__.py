"""The command-line entry point: ``allocator …`` and ``python -m allocator …``.

The cyclic garbage collector is switched off before the libraries are
imported. One command is a short batch job that builds hundreds of thousands
of small objects and no cycles worth collecting; the collector would only
rescan them (0.3 s of a 3 s national run, measured). Reference counting still
frees everything as usual. Code that imports :mod:`allocator` as a library is
not affected.

For the same reason the process ends with ``os._exit`` once the command has
finished and its output is flushed: freeing a national instance and plan one
object at a time, only for the process to end, took 0.1 s. Every file is
already written, synced and closed by then (see ``allocator.writers``).
"""

import gc
import os
import sys

gc.disable()


def run() -> None:
    """Run the ``allocator`` command."""
    from allocator import cli

    cli.kept_until_exit = []
    code: object = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    if not isinstance(code, int):
        sys.exit(code)  # a message for Python to print; the usual exit
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe, say: let Python report it and pick the exit code
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    run()
