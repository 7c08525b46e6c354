"""The command-line entry point: ``allocator …`` and ``python -m allocator …``."""

import os
import signal
import sys
from types import FrameType

from allocator import cli
from allocator.errors import Interrupted


def _stop(number: int, frame: FrameType | None) -> None:
    raise Interrupted(None if number == signal.SIGINT else signal.Signals(number).name)


def run() -> None:
    """Run the ``allocator`` command, flushing its output before the exit code is final.

    SIGTERM (a scheduler's timeout, ``systemctl stop``, a cancelled CI job) and
    SIGHUP (a closed terminal) stop the run as Ctrl-C does: a message, exit
    code 4, and no temporary files or half-written folder left behind.
    """
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop)
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
