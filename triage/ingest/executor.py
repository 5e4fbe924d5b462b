"""Where a file's work runs: a pool of worker processes that can be rebuilt after one dies.

Three promises beyond a plain ProcessPoolExecutor:
- A stuck worker is noticed. Each worker stamps the moment it starts a file into shared memory
  (one slot per file in flight; CLOCK_MONOTONIC is system-wide, so the stamps compare with the
  coordinator's clock). `overdue()` names the files running past their limit; the coordinator
  records them as `timeout` and `kill()`s the pool, the only way to stop a native decoder stuck
  in a loop (a thread cannot be stopped, a process can).
- Stopping is prompt. `close(kill=True)` (after Ctrl-C, SIGTERM or an error) kills the workers
  instead of waiting for the files they hold; those files are simply done again on resume.
- No worker outlives the coordinator, even after `kill -9` of it. A worker's parent is the
  forkserver, not the coordinator, and the forkserver only exits once every worker has (each
  holds its "alive" pipe), so neither the parent's death nor an EOF ever reaches a worker stuck
  in a decoder: measured, kill -9 of the coordinator left the forkserver and both workers
  running. So each worker watches the coordinator itself from a thread (a pidfd on Linux,
  which wakes the moment it exits; elsewhere a poll each second) and exits when it is gone;
  then the forkserver and the resource tracker exit too. On Linux each worker also asks for
  SIGKILL when its parent, the forkserver, dies (prctl PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from triage import faults
from triage.evidence.base import Entry
from triage.ingest.worker import WorkerConfig, init_worker, process_entry
from triage.records import FileResult

_PR_SET_PDEATHSIG = 1
_COORDINATOR_POLL_SECONDS = 1.0


class Pool:
    """A process pool that can be rebuilt after a worker dies; `workers=0` runs in-process
    (then no time limit applies: nothing could stop a stuck call in this process)."""

    def __init__(self, workers: int, config: WorkerConfig, slots: int = 0) -> None:
        self.workers = workers
        self.config = config
        self.inline = workers <= 0
        self.slots = max(slots, workers * 4, 2)
        self._executor: ProcessPoolExecutor | None = None
        self._starts: Any = None  # shared array of start stamps, one per slot
        self._slot_of: dict[Future[FileResult], int] = {}
        self._free: list[int] = []
        if self.inline:
            init_worker(config, ignore_sigint=False)
        else:
            self.restart()

    def restart(self) -> None:
        """A fresh pool (after a crash or a kill); futures of the old one are abandoned."""
        if self._executor is not None:
            self.kill()
        # forkserver: workers start clean (no inherited SQLite handle or progress thread). The
        # server imports the worker's modules once and every worker is forked with them
        # (0.2 s of CPU per worker otherwise, before its first file).
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", "triage.ingest.worker"])
        self._starts = ctx.Array("d", self.slots, lock=False)
        self._slot_of.clear()
        self._free = list(range(self.slots))
        self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                             initializer=_init_worker,
                                             initargs=(self.config, self._starts,
                                                       faults.hang_on(), os.getpid()))

    def submit(self, entry: Entry) -> Future[FileResult]:
        assert self._executor is not None
        slot = self._free.pop()
        self._starts[slot] = 0.0
        fut = self._executor.submit(_run, entry, slot)
        self._slot_of[fut] = slot
        return fut

    def release(self, fut: Future[FileResult]) -> bool:
        """The coordinator is done with `fut`: its slot can serve another file. False if `fut`
        belonged to a pool since replaced (its failure says nothing about the current one)."""
        slot = self._slot_of.pop(fut, None)
        if slot is None:
            return False
        self._free.append(slot)
        return True

    def overdue(self, futures: dict[Future[FileResult], Entry],
                limit: Any) -> list[Future[FileResult]]:
        """Futures whose file has been running longer than `limit(entry)` seconds."""
        now = time.monotonic()
        late = []
        for fut, entry in futures.items():
            slot = self._slot_of.get(fut)
            started = self._starts[slot] if slot is not None else 0.0
            if started and not fut.done() and now - started > limit(entry):
                late.append(fut)
        return late

    def kill(self) -> None:
        """Kill every worker now (SIGKILL: a decoder stuck in C ignores anything gentler)."""
        ex, self._executor = self._executor, None
        if ex is None:
            return
        processes = list((getattr(ex, "_processes", None) or {}).values())
        for p in processes:
            try:
                p.kill()
            except (OSError, ValueError):  # already gone
                pass
        for p in processes:
            p.join(timeout=10)
        # With its workers dead the executor's manager thread ends at once; waiting for it
        # closes the pool's pipes now rather than at some later garbage collection.
        ex.shutdown(wait=True, cancel_futures=True)

    def close(self, kill: bool = False) -> None:
        """Wait for the workers to finish (a completed run: nothing is in flight), or kill them
        (an interrupted or failed run: their files are done again on resume)."""
        if self._executor is None:
            return
        if kill:
            self.kill()
        else:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


# -- in the worker ---------------------------------------------------------------------------
_starts: Any = None
_hang_on: str | None = None


def _init_worker(config: WorkerConfig, starts: Any, hang_on: str | None,
                 coordinator: int) -> None:
    global _starts, _hang_on
    _die_with_parent()
    _die_with(coordinator)
    _starts, _hang_on = starts, hang_on
    init_worker(config)


def _run(entry: Entry, slot: int) -> FileResult:
    _starts[slot] = time.monotonic()
    if _hang_on and entry.path.endswith(_hang_on):  # fault injection (TRIAGE_FAULT_HANG_ON)
        faults.announce()
        faults.wait_forever()
    return process_entry(entry)


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the forkserver that forked it dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no usable prctl: the coordinator watch remains
        return
    if os.getppid() == 1:  # the parent died before prctl took hold
        os._exit(1)


def _die_with(coordinator: int) -> None:
    """Exit this worker as soon as process `coordinator` has exited, whatever it is doing."""
    try:
        pidfd: int | None = os.pidfd_open(coordinator)  # type: ignore[attr-defined]
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux >= 5.3: poll instead
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable once the process has exited
            os._exit(1)
        while True:
            time.sleep(_COORDINATOR_POLL_SECONDS)
            try:
                os.kill(coordinator, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, under another user (cannot happen: ours)
                pass

    threading.Thread(target=watch, name="coordinator-watch", daemon=True).start()


# -- results the coordinator records itself ---------------------------------------------------
def crashed(entry: Entry) -> FileResult:
    return FileResult(path=entry.path, extension=entry.extension, size=entry.size,
                      status="corrupt", reason="a decoder crashed on this file twice; not decoded",
                      mtime=entry.mtime, atime=entry.atime, ctime=entry.ctime)


def timed_out(entry: Entry, seconds: float) -> FileResult:
    return FileResult(path=entry.path, extension=entry.extension, size=entry.size,
                      status="timeout",
                      reason=f"not finished after {seconds:.0f} s (a decoder stuck on this"
                             " file); the worker was replaced, the file not examined",
                      mtime=entry.mtime, atime=entry.atime, ctime=entry.ctime)
