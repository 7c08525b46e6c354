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
        _exit_past_abandoned_solve(sys.exc_info()[1])
        raise


def _exit_past_abandoned_solve(stop: BaseException | None) -> None:
    """End the process now, with the run's exit code, when a solve left behind at --time-limit still runs.

    The run's files and message are complete by then; letting Python finalise around the solver's
    C++ thread can abort the process (allocator.solvers.horizon.abandoned_solve_running).
    """
    solvers = sys.modules.get("allocator.solvers.horizon")
    if solvers is None or not solvers.abandoned_solve_running():
        return
    code = stop.code if isinstance(stop, SystemExit) else 1
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    run()
