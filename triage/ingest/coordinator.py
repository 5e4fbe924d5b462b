"""Coordinate an ingest: walk the source, fan files out to workers, record every result.

Guarantees, and how they are kept:
- Resumable. Results are committed in batches; a resumed run skips every path already recorded.
  An archive's row is marked `pending` until all of its members are recorded, so an archive that
  was half expanded when the run died is forgotten and expanded again (members already recorded
  are skipped). Results therefore equal an uninterrupted run's.
- Bounded memory. At most `max_inflight` files (and `max_inflight_bytes` of archive members) are
  in flight; files larger than the in-memory limit are hashed as streams.
- Nothing lost. Every entry ends as a row with a status; a worker crash (a decoder that segfaults
  on a hostile file) is retried once alone and then recorded as `corrupt`; a file still running
  past its time limit (a decoder stuck in a loop) is recorded as `timeout`, the pool is replaced
  and the other files in flight are handed to the new one.
- Prompt stops. Ctrl-C or SIGTERM records what finished and kills the workers rather than
  waiting for them, so a stuck worker never holds the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage import faults
from triage.evidence import members, open_source, release
from triage.evidence.base import Container, ContainerError, Entry, Limits
from triage.evidence.findings import flag
from triage.ingest.executor import Pool, crashed, timed_out
from triage.ingest.worker import WorkerConfig, process_entry
from triage.progress import progress_bar, show_progress, sigterm_as_interrupt
from triage.records import FileResult, IngestCounts
from triage.store import Store


@dataclass
class IngestOptions:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=Limits)
    batch_size: int = 256
    batch_seconds: float = 2.0
    progress: bool | None = None  # None: show a bar only on a terminal
    derivative_dir: str | None = None
    max_inflight_bytes: int = 512 << 20
    # Per-file time limit in a worker: file_seconds plus the time to read the file at
    # slowest_read_mib_s (config/ingest.toml explains the defaults).
    file_seconds: float = 300.0
    slowest_read_mib_s: float = 10.0

    def time_limit(self, entry: Entry) -> float:
        return self.file_seconds + (entry.size or 0) / (self.slowest_read_mib_s * (1 << 20))


@dataclass
class IngestReport:
    device: str
    source: str
    state: str  # completed | interrupted
    counts: IngestCounts
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "source": self.source, "state": self.state,
                **self.counts.as_dict(), "seconds": round(self.seconds, 2)}


@dataclass
class _Archive:
    """An archive being expanded: done once its member list is exhausted and all are recorded."""

    result: FileResult  # the archive's own row
    parent: "_Archive | None"
    container: Container
    outstanding: int = 0
    exhausted: bool = False
    failure: str | None = None
    status: str | None = None  # what the archive's row becomes if it was ok (see ContainerError)


class Ingest:
    def __init__(self, store: Store, source: Path, case: str, device: str,
                 options: IngestOptions) -> None:
        self.store = store
        self.source = source.absolute()
        self.options = options
        self.root = open_source(self.source)
        self.kind, self.name = self.root.kind, self.root.name
        self.device_label = device
        self.device_id = store.ensure_device(case, device)
        self.source_id = store.ensure_source(self.device_id, str(self.source), self.kind, self.name)
        self.counts = IngestCounts()
        self._batch: list[FileResult] = []
        self._archive_updates: list[tuple[str, str, str | None, str | None]] = []
        self._last_flush = time.monotonic()
        self._inflight_bytes = 0

    # -- public -------------------------------------------------------------------------
    def run(self) -> IngestReport:
        started = time.monotonic()
        self.store.forget_unfinished_archives(self.device_id, self.source_id)
        done = self.store.done_paths(self.device_id, self.source_id)
        run_id = self.store.start_run(self.device_id, self.source_id)
        self.store.set_device_status(self.device_id, "ingesting")
        self.run_id = run_id
        show = show_progress(self.options.progress)
        # The pre-count (names only) gives the bar its ETA; without a bar it is wasted work.
        total = (self.root.count() if show else None) or 1
        bar = progress_bar(show, total=total, unit="file", desc=f"ingest {self.device_label}",
                           smoothing=0.05)
        self.bar = bar
        state = "interrupted"
        failing = False
        try:
            with sigterm_as_interrupt():
                self._run(done)
            state = "completed"
        except KeyboardInterrupt:
            pass
        except BaseException:
            state, failing = "failed", True
            raise
        finally:
            bar.close()
            try:
                self._flush()
                self.store.finish_run(run_id, state, self.counts.as_dict())
                if state == "completed":
                    self.store.set_device_status(self.device_id, "in review")
            except Exception:
                # The error already on its way out (a full disk) is the one to report; this
                # clean-up failing with it changes nothing: the run resumes from its last batch.
                if not failing:
                    raise
        return IngestReport(self.device_label, str(self.source), state, self.counts,
                            time.monotonic() - started)

    # -- the loop -----------------------------------------------------------------------
    def _run(self, done: set[str]) -> None:
        workers = self.options.workers
        config = WorkerConfig(self.options.limits, self.options.derivative_dir,
                              crash_on=faults.crash_on())
        max_inflight = max(2, workers * 4)
        pool = Pool(workers, config, slots=max_inflight + 1)
        stack: list[tuple[Iterator[Entry], _Archive | None]] = [
            (self.root.entries(self.options.limits), None)]
        inflight: dict[Future[FileResult], tuple[Entry, _Archive | None, int]] = {}
        retry: list[tuple[Entry, _Archive | None, int]] = []
        finished_cleanly = False
        try:
            while stack or inflight or retry:
                if retry and not inflight:
                    # After a worker died, suspects run one at a time so the guilty file is
                    # the one that breaks the pool again, not whatever shared the pool with it.
                    entry, node, attempt = retry.pop()
                    inflight[pool.submit(entry)] = (entry, node, attempt)
                while (not retry and stack and len(inflight) < max_inflight
                       and self._inflight_bytes < self.options.max_inflight_bytes):
                    gen, node = stack[-1]
                    try:
                        entry = next(gen)
                    except StopIteration:
                        stack.pop()
                        if node is not None:
                            node.exhausted = True
                            self._maybe_complete(node)
                        continue
                    except ContainerError as exc:
                        stack.pop()
                        assert node is not None
                        node.failure, node.status, node.exhausted = str(exc), exc.status, True
                        self._maybe_complete(node)
                        continue
                    if node is not None:
                        self.bar.total += 1
                    if entry.path in done:
                        self.counts.skipped_done += 1
                        self.bar.update()
                        continue
                    if node is not None:
                        node.outstanding += 1
                    if entry.final is not None:
                        self._handle(entry.final, entry, node, stack)
                        continue
                    if pool.inline:
                        self._handle(process_entry(entry), entry, node, stack)
                        continue
                    self._inflight_bytes += len(entry.data or b"")
                    inflight[pool.submit(entry)] = (entry, node, 0)
                if inflight:
                    finished, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        entry, node, attempt = inflight.pop(fut)
                        current = pool.release(fut)
                        self._inflight_bytes -= len(entry.data or b"")
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            if current:  # the others in flight broke with it: one restart
                                pool.restart()
                            if attempt >= 1 and not inflight:
                                result = crashed(entry)
                            else:
                                retry.append((entry, node, attempt + 1))
                                continue
                        self._handle(result, entry, node, stack)
                    self._replace_stuck(pool, inflight, stack)
                self._maybe_flush()
                faults.pause("ingest.recorded", self.counts.files, before=self._flush)
            finished_cleanly = True
        finally:
            pool.close(kill=not finished_cleanly)
            for _gen, node in stack:
                if node is not None:
                    node.container.close()
            release()

    def _replace_stuck(self, pool: Pool,
                       inflight: dict[Future[FileResult], tuple[Entry, _Archive | None, int]],
                       stack: list[tuple[Iterator[Entry], _Archive | None]]) -> None:
        """Files past their time limit are recorded as `timeout`; the pool is killed (nothing
        else stops a stuck decoder) and the files that shared it are handed to a new one."""
        late = pool.overdue({f: e for f, (e, _, _) in inflight.items()}, self.options.time_limit)
        if not late:
            return
        pool.restart()
        for fut in late:
            entry, node, _attempt = inflight.pop(fut)
            self._inflight_bytes -= len(entry.data or b"")
            self._handle(timed_out(entry, self.options.time_limit(entry)), entry, node, stack)
        innocent = list(inflight.items())
        inflight.clear()
        for _old, (entry, node, attempt) in innocent:
            inflight[pool.submit(entry)] = (entry, node, attempt)

    def _handle(self, result: FileResult, entry: Entry, node: _Archive | None,
                stack: list[tuple[Iterator[Entry], _Archive | None]]) -> None:
        limits = self.options.limits
        if entry.origin is not None and result.origin is None:
            result.origin = entry.origin  # a disk image's file-system facts (store.disk)
        expand = result.container is not None and result.sha256 is not None
        if expand and entry.depth >= limits.max_archive_depth:
            expand = False
            flag(result, "too_deep", f"archive nested {entry.depth + 1} deep, over the limit of"
                  f" {limits.max_archive_depth} (max_archive_depth in config/ingest.toml);"
                  " hashed, its members not read")
        self._batch.append(result)
        self.counts.add(result.status)
        self.bar.update()
        if expand:
            assert result.container is not None
            result.archive_state = "pending"
            container = _container_of(result, entry, limits)
            archive = _Archive(result, node, container)
            stack.append((members(result.container, container, limits), archive))
            return
        if node is not None:
            node.outstanding -= 1
            self._maybe_complete(node)

    def _maybe_complete(self, node: _Archive) -> None:
        while node is not None and node.exhausted and node.outstanding == 0:
            node.container.close()
            state = ("damaged" if node.status == "corrupt" else "not_expanded") \
                if node.failure else "done"
            if node.failure and node.status and node.result.status == "ok":
                self.counts.moved("ok", node.status)  # as the store changes the row's status
            self._archive_updates.append((node.result.path, state, node.failure, node.status))
            parent = node.parent
            if parent is None:
                return
            parent.outstanding -= 1
            node = parent

    # -- recording ----------------------------------------------------------------------
    def _maybe_flush(self) -> None:
        if (len(self._batch) >= self.options.batch_size
                or time.monotonic() - self._last_flush > self.options.batch_seconds):
            self._flush()

    def _flush(self) -> None:
        if self._batch or self._archive_updates:
            self.store.record_files(self.device_id, self.source_id, self.run_id, self._batch,
                                    self._archive_updates)
            self._batch, self._archive_updates = [], []
        self._last_flush = time.monotonic()


def _container_of(result: FileResult, entry: Entry, limits: Limits) -> Container:
    """The container an entry holds: its bytes, or the archive appended after its picture."""
    data, ref, size = entry.data, entry.ref, result.size
    offset = result.appended_offset
    if offset is not None:
        if data is not None:
            data = data[offset:]
        if ref is not None and size is not None:
            ref = ref.sliced(offset, size - offset)
        size = None if size is None else size - offset
    return Container(label=result.path, ref=ref, depth=entry.depth, size=size, data=data,
                     limits=limits)


def ingest(store: Store, source: Path, case: str, device: str,
           options: IngestOptions | None = None) -> IngestReport:
    """Python API: ingest SOURCE as DEVICE of CASE into `store`; safe to call again to resume."""
    return Ingest(store, source, case, device, options or IngestOptions()).run()
