"""One meaning for Ctrl-C and SIGTERM in the `triage` process: stop, keep what is done, exit 130.

Why a process-wide handler rather than each stage's own: the promise ("interrupted: run the same
command again to resume", exit 130) must hold wherever the signal lands: while modules import,
in a stage that records its progress, in one that writes nothing until its end (matching), or in
code that happens to catch the KeyboardInterrupt and carry on. So the handler raises
KeyboardInterrupt *and remembers the signal*; the CLI's command wrapper turns either into the
same message and exit status, even if a stage swallowed the exception.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

MESSAGE = "interrupted: run the same command again to resume"
EXIT_STATUS = 130  # 128 + SIGINT, what shells report for a Ctrl-C

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: int | None = None


def on_signal(signum: int, frame: FrameType | None) -> None:
    """The handler: remember the signal, then stop the main thread where it is."""
    global _received
    _received = signum
    raise KeyboardInterrupt


def install() -> dict[int, object]:
    """SIGINT and SIGTERM raise KeyboardInterrupt from now on; returns the previous handlers.
    Only the main thread may set handlers: from another thread this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, on_signal) for s in _SIGNALS}


def restore(previous: dict[int, object]) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler)  # type: ignore[arg-type]


@contextmanager
def handled() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM interrupt; the previous handlers come back after."""
    previous = install()
    try:
        yield
    finally:
        restore(previous)


def received() -> int | None:
    """The signal that interrupted this process since `clear()`, if any."""
    return _received


def clear() -> None:
    global _received
    _received = None
