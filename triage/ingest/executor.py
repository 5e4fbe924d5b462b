"""Where a file's work runs: a pool of worker processes that can be rebuilt after one dies."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

from triage.evidence.base import Entry
from triage.ingest.worker import WorkerConfig, init_worker, process_entry
from triage.records import FileResult


class Pool:
    """A process pool that can be rebuilt after a worker dies; `workers=0` runs in-process."""

    def __init__(self, workers: int, config: WorkerConfig) -> None:
        self.workers = workers
        self.config = config
        self.inline = workers <= 0
        self._executor: ProcessPoolExecutor | None = None
        if self.inline:
            init_worker(config, ignore_sigint=False)
        else:
            self.restart()

    def restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        # forkserver: workers start clean (no inherited SQLite handle or progress thread). The
        # server imports the worker's modules once and every worker is forked with them
        # (0.2 s of CPU per worker otherwise, before its first file).
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", "triage.ingest.worker"])
        self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                             initializer=init_worker, initargs=(self.config,))

    def submit(self, entry: Entry) -> Future[FileResult]:
        assert self._executor is not None
        return self._executor.submit(process_entry, entry)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def crashed(entry: Entry) -> FileResult:
    return FileResult(path=entry.path, extension=entry.extension, size=entry.size,
                      status="corrupt", reason="a decoder crashed on this file twice; not decoded",
                      mtime=entry.mtime, atime=entry.atime, ctime=entry.ctime)
