"""The command-line entry point: ``allocator …`` and ``python -m allocator …``."""

import os
import signal
import sys
import threading
from types import FrameType

from allocator import cli
from allocator.errors import interrupt


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(number: int, frame: FrameType | None) -> None:
    interrupt(None if number == signal.SIGINT else signal.Signals(number).name)


class _MainThreadWaker:
    """Make the main thread run a signal's handler at once, whichever of the process's threads caught it.

    Python runs signal handlers only in the main thread, between bytecodes. A lock's wait in the main thread
    (``Future.result``, ``as_completed``, ``Executor.shutdown``) ends early only if the signal is delivered
    to the main thread itself. The kernel may hand a signal sent to the process to any thread that does not
    block it: a SIGTERM taken by a process pool's ``QueueFeederThread`` left a sensitivity run waiting for
    its workers' running tasks (up to minutes) before it stopped (tests/test_interruptions.py). Python's C
    handler writes each caught signal's number to the wakeup fd from whatever thread caught it; this daemon
    thread reads it and pokes the main thread with :data:`NUDGE` (thread-directed, so the main thread's
    wait is interrupted and Python runs every pending handler) until the main thread has answered.
    """

    #: Ignored by default, so a nudge still in flight once Python has restored the default handlers at exit
    #: does nothing (a real-time signal would kill the process then); nothing here uses out-of-band socket data.
    NUDGE = signal.SIGURG

    def __init__(self) -> None:
        self._main = threading.get_ident()
        self._answered = threading.Event()
        reader, writer = os.pipe()
        os.set_blocking(writer, False)  # set_wakeup_fd requires it: a signal handler must never block
        signal.signal(self.NUDGE, self._answer)
        signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(reader,), name="allocator-signal-waker", daemon=True).start()

    def _answer(self, number: int, frame: FrameType | None) -> None:
        # Running here means the main thread is checking its pending signals: those caught before the
        # nudge was sent have had their handlers run in the same check (or get them at the next bytecode).
        self._answered.set()

    def _watch(self, reader: int) -> None:
        ours = {int(number) for number in _SIGNALS}
        while True:
            try:
                caught = os.read(reader, 64)
            except OSError:
                return
            if not caught:
                return
            if not ours.intersection(caught):
                continue  # our own nudges, or a signal that another part of the process handles
            self._answered.clear()
            # The first nudge can itself fall between Python's last check and the wait: try again, each
            # time waiting longer, until the main thread answers (it may be inside a long native call).
            pause = 0.01
            while True:
                try:
                    signal.pthread_kill(self._main, self.NUDGE)
                except OSError:  # the main thread is gone: the process is ending
                    return
                if self._answered.wait(pause):
                    break
                pause = min(2 * pause, 0.5)


def _handle_signals() -> None:
    """Stop the run on SIGINT, SIGTERM and SIGHUP (:func:`_stop`), whichever thread the signal reaches."""
    for number in _SIGNALS:
        signal.signal(number, _stop)
    if hasattr(signal, "pthread_kill"):  # not on Windows, where signals reach the main thread only
        _MainThreadWaker()


def run() -> None:
    """Run the ``allocator`` command, flushing its output before the exit code is final.

    SIGTERM (a scheduler's timeout, ``systemctl stop``, a cancelled CI job) and
    SIGHUP (a closed terminal) stop the run as Ctrl-C does: a message, exit
    code 4, and no temporary files or half-written folder left behind.
    """
    _handle_signals()
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
