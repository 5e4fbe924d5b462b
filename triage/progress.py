"""What every long-running stage shares: a progress bar, and SIGTERM treated as Ctrl-C.

The bar shows on a terminal and stays quiet in pipes and logs unless the user asked for it
(`--progress/--no-progress`). A `kill` (SIGTERM) becomes a KeyboardInterrupt so the stage records
what finished before it stops, exactly as on Ctrl-C, and the same command resumes from there.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from triage import interrupts


def show_progress(progress: bool | None) -> bool:
    """`None` means "on a terminal only"; True/False is what the user said."""
    return sys.stderr.isatty() if progress is None else progress


def progress_bar(progress: bool | None, **kwargs: Any) -> tqdm:
    kwargs.setdefault("smoothing", 0.1)
    return tqdm(disable=not show_progress(progress), dynamic_ncols=True, **kwargs)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt, for callers of the Python API (the CLI
    already treats it so, see triage.interrupts). Only the main thread may set signal handlers;
    called from another thread (an embedding application) this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupts.on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
