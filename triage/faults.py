"""Fault-injection hooks for tests, read from the environment; inert unless a variable is set.

Why: the interrupt, timeout and kill tests must stop a run at a known point whatever the
machine's speed. A sleep that "usually" lands mid-hashing fails on a fast machine (the files
are all hashed before it ends) and a loaded one alike; a run that waits at a named point until
it is signalled cannot.

- `TRIAGE_FAULT_PAUSE=POINT[:N]` with `TRIAGE_FAULT_PAUSE_FLAG=FILE`: when the run reaches
  POINT (for counted points: the N-th time or later), everything before it is committed, FILE is
  created (holding the process id) and the process waits there until a signal ends it. Points:
  `ingest.recorded:N` (N files recorded), `match` (every lookup done, nothing written),
  `classify.start` (the model loaded, nothing scored), `classify:N` (N pictures scored and
  committed), `import` (a list file is being built aside).
- `TRIAGE_FAULT_HANG_ON=SUFFIX`: a worker handed a path ending with SUFFIX hangs forever, as a
  decoder stuck in a loop would (it creates the flag file first, if one is named).
- `TRIAGE_FAULT_CRASH_ON=SUFFIX`: such a worker dies at once, as a segfaulting decoder would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

PAUSE = "TRIAGE_FAULT_PAUSE"
FLAG = "TRIAGE_FAULT_PAUSE_FLAG"
HANG_ON = "TRIAGE_FAULT_HANG_ON"
CRASH_ON = "TRIAGE_FAULT_CRASH_ON"

_paused: set[str] = set()


def _wanted(point: str, count: int) -> bool:
    spec = os.environ.get(PAUSE)
    if not spec or point in _paused:
        return False
    name, _, threshold = spec.partition(":")
    return name == point and count >= (int(threshold) if threshold else 0)


def pause(point: str, count: int = 0, before: Callable[[], None] | None = None) -> None:
    """Wait here for ever (until a signal) if the environment asks to pause at `point`.

    `before` runs first (e.g. commit what is pending), so the state seen from outside while the
    process waits is exactly "everything up to this point".
    """
    if not _wanted(point, count):
        return
    _paused.add(point)
    if before is not None:
        before()
    announce()
    wait_forever()


def announce() -> None:
    """Create the flag file, if one is named: the test polls for it."""
    flag = os.environ.get(FLAG)
    if flag:
        tmp = f"{flag}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(str(os.getpid()))
        os.replace(tmp, flag)


def wait_forever() -> None:
    while True:  # a signal handler that raises (SIGINT, SIGTERM) ends the wait
        time.sleep(3600)


def hang_on() -> str | None:
    return os.environ.get(HANG_ON) or None


def crash_on() -> str | None:
    return os.environ.get(CRASH_ON) or None
