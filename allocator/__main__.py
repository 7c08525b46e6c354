"""The command-line entry point: ``allocator …`` and ``python -m allocator …``."""

import os
import sys

from allocator import cli


def run() -> None:
    """Run the ``allocator`` command, flushing its output before the exit code is final."""
    try:
        cli.main()
    except SystemExit:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader of our output went away (`allocator solve … | head`): exit 1 quietly, and
            # send what is left nowhere, so that Python's own flush at exit cannot fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        raise


if __name__ == "__main__":
    run()
