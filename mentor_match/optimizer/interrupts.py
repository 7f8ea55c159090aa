"""Long work started from a terminal: it runs in a thread, Ctrl-C once stops it, twice leaves.

Shared by `mentor-match-solve` and `flask rounds run`; standard library only, so the
optimizer stays free of Flask. The work runs off the main thread so the main thread stays
free to take signals and show progress. The first Ctrl-C (or another signal named) sets
`Interrupts.cancel` for the work to see, and the caller says what else it does; a second
leaves at once, whatever the work is doing.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Generic, TypeVar

T = TypeVar("T")

# How soon the main thread notices an interrupt while it waits.
NOTICE_SECONDS = 0.05


class BackgroundWork(threading.Thread, Generic[T]):
    """One call run off the main thread; its result or its failure is kept for the main thread."""

    def __init__(self, work: Callable[[], T], *, name: str):
        super().__init__(name=name, daemon=True)
        self._work = work
        self.result: T | None = None
        self.failure: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as failure:  # noqa: BLE001 - handed to the main thread as it is
            self.failure = failure
        finally:
            self.done.set()


class Interrupts:
    """While in effect, the first of `signals` sets `cancel`; a second calls `leave(signum)`.

    `leave` does not return (it exits, or raises SystemExit). Only the main thread receives
    signals, so from any other thread (a test calling a command) nothing is installed; and a
    signal ignored when the program started (nohup, `&` in a script) stays ignored.
    """

    def __init__(
        self,
        leave: Callable[[int], object],
        signals: tuple[signal.Signals, ...] = (signal.SIGINT,),
    ):
        self.leave = leave
        self.signals = signals
        self.received: list[int] = []
        self.cancel = threading.Event()
        self._previous: dict[int, object] = {}

    @property
    def exit_status(self) -> int:
        """The shell's status for a process ended by the first signal received."""
        return 128 + self.received[0]

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            self.leave(signum)  # asked twice: go now
            return
        self.received.append(signum)
        self.cancel.set()


def wait_for(
    work: BackgroundWork,
    interrupts: Interrupts,
    *,
    every: float,
    tick: Callable[[], None],
    on_interrupt: Callable[[], None] | None = None,
) -> None:
    """Start the work and wait until it ends, calling `tick` every `every` seconds.

    On the first interrupt, `on_interrupt` is called once (to ask the work to stop in its own
    way) and the wait goes on until the work ends; without one, the wait ends there and the
    caller decides how long the work may still take.
    """
    work.start()
    noticed = False
    next_tick = time.monotonic() + every
    # Waits on an Event, not Thread.join: on Python 3.11 a join interrupted by Ctrl-C leaves
    # is_alive() False while the thread still runs. In short steps, so an interrupt is acted
    # on before a second Ctrl-C comes (a handler cannot wake the wait: setting an Event the
    # main thread waits on, from a signal handler, can deadlock).
    while not work.done.wait(NOTICE_SECONDS):
        if interrupts.received and not noticed:
            if on_interrupt is None:
                return
            noticed = True
            on_interrupt()
        if time.monotonic() >= next_tick:
            tick()
            next_tick = time.monotonic() + every
