"""The pipeline: the one place that chains the stages and hands each its configuration.

    evidence -> ingest -> match (+ similarities) -> classify -> queue (recorded)

Why one place: the CLI (`triage ingest`, `match`, `classify`, `hashsets import`), the demo and
a future distributed executor must run the same stages in the same order with the same
configuration. Each stage receives what it needs from here (its options, its thresholds, the
derivative folder) and never rebuilds the workspace from the store's file name. A stage that is
interrupted (Ctrl-C, SIGTERM) stops the chain: nothing after it runs on half a result, and the
same command run again resumes where it stopped.

The review queue is recorded here (`triage.queue.recorded`): once at the end of the chain, after
`triage match` and `triage classify` (a model change), and after a list import or removal for
every device whose queue it changed. Readers (the review pages, `triage queue`, the backlog) read
it; decisions keep it current themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from triage.classify.cards import ModelCardError
from triage.classify.stage import (ClassifyReport, classify_device, select_cards,
                                   options_from_config as classify_options)
from triage.evidence.base import Limits
from triage.ingest import IngestOptions, IngestReport, ingest
from triage.ingest.image_verify import VerifyReport, verify_images
from triage.match.matcher import MatchConfig, MatchReport, after_list_change, match_device
from triage.media.video import VideoSettings
from triage.match.similar import SimilarReport, record_similar, search_alerts, unchecked_count
from triage.queue.build import QueueItem
from triage.queue.priority import priority_config
from triage.queue.workload import figures
from triage.queue.recorded import (BuiltQueue, QueueView, Recorded, RecordedQueue,
                                   record_queue, refresh_devices)
from triage.store import Store, StoreError
from triage.workspace import Workspace


@dataclass
class DeviceRun:
    """What one pass of the pipeline over a device did, stage by stage."""

    device: str
    state: str  # completed | interrupted
    ingest: IngestReport | None = None
    match: MatchReport | None = None
    classify: ClassifyReport | None = None
    queue: Recorded | None = None
    stopped_at: str | None = None  # the stage that was interrupted
    verify: VerifyReport | None = None  # --verify-image: disk images against stored hashes

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.ingest.as_dict() if self.ingest else {"device": self.device}
        out["match"] = self.match.as_dict() if self.match else None
        if self.classify is not None:
            out["classify"] = self.classify.as_dict()
        if self.verify is not None:
            out["verify_image"] = self.verify.as_dict()
        out["state"] = self.state
        return out


@dataclass
class Pipeline:
    workspace: Workspace
    store: Store
    progress: bool | None = None  # None: a bar only on a terminal
    _match_config: MatchConfig | None = field(default=None, repr=False)

    # -- configuration ------------------------------------------------------------------
    def ingest_options(self, workers: int | None = None,
                       unlock: tuple[tuple[str, str], ...] = ()) -> IngestOptions:
        """Ingest options from `config/ingest.toml`; `workers` overrides (0 = in-process);
        `unlock`: keys for encrypted volumes of disk images (memory only)."""
        cfg = self.workspace.config("ingest")
        lim = cfg.get("limits", {})
        limits = Limits(
            unlock=unlock,
            in_memory_bytes=int(lim.get("in_memory_mib", Limits.in_memory_bytes >> 20)) << 20,
            max_pixels=int(lim.get("max_pixels", Limits.max_pixels)),
            max_decode_bytes=int(lim.get("max_decode_mib", Limits.max_decode_bytes >> 20)) << 20,
            max_frames=int(lim.get("max_frames", Limits.max_frames)),
            max_archive_depth=int(lim.get("max_archive_depth", Limits.max_archive_depth)),
            max_compression_ratio=int(lim.get("max_compression_ratio",
                                              Limits.max_compression_ratio)),
            # A video's child process stops at 80 % of the worker's own per-file limit, so
            # what it hashed is kept (the worker would otherwise be killed: `timeout`).
            media_seconds=0.8 * float(lim.get("file_seconds", IngestOptions.file_seconds)),
            video=VideoSettings.from_config(cfg.get("video", {})),
            draft_px=int(cfg.get("pictures", {}).get("draft_px", Limits.draft_px)),
        )
        opts = IngestOptions(limits=limits, progress=self.progress,
                             derivative_dir=str(self.workspace.derivative_dir),
                             file_seconds=float(lim.get("file_seconds", IngestOptions.file_seconds)),
                             slowest_read_mib_s=float(lim.get("slowest_read_mib_s",
                                                              IngestOptions.slowest_read_mib_s)))
        configured = workers if workers is not None else int(
            cfg.get("ingest", {}).get("workers", 0))
        if configured > 0 or workers == 0:
            opts.workers = configured
        return opts

    @property
    def match_config(self) -> MatchConfig:
        if self._match_config is None:
            self._match_config = MatchConfig.from_workspace(self.workspace)
        return self._match_config

    @cached_property
    def priority(self) -> dict[str, Any]:
        return priority_config(self.workspace)

    @property
    def similar_radius(self) -> int:
        """How far "looks like known material" is searched: the queue's range (priority.toml
        [similarity] max_distance), at least matching.toml [nearest] max_distance."""
        return max(self.match_config.settings.nearest_max,
                   int(self.priority.get("similarity", {}).get("max_distance", 70)))

    # -- stages -------------------------------------------------------------------------
    def ingest(self, source: Path, case: str, device: str,
               workers: int | None = None,
               unlock: tuple[tuple[str, str], ...] = ()) -> IngestReport:
        """Ingest SOURCE into DEVICE. Its recorded queue no longer holds from here: a reader
        meanwhile builds one from what is ingested so far, and the chain records it at the end."""
        self._forget_queue(device)
        try:
            return ingest(self.store, source, case, device,
                          self.ingest_options(workers, unlock))
        finally:
            self._forget_queue(device)

    def verify_images(self, source: Path, device: str) -> VerifyReport:
        """`--verify-image`: the disk images of SOURCE checked against their stored hashes."""
        dev = self.store.device(device)
        source_id = self.store.source_id(dev["id"], str(source.absolute()))
        return verify_images(self.store, dev["id"], source_id, self.ingest_options().limits,
                             self.progress)

    def _forget_queue(self, device: str) -> None:
        try:
            self.store.forget_queue(self.store.device(device)["id"])
        except StoreError:
            pass  # a new device: nothing recorded yet

    def match(self, device: str, *, record: bool = True) -> MatchReport:
        """Match DEVICE against every list, record its similarities to known material, and (as
        `triage match` does, unless the chain records it later) its queue."""
        report = match_device(self.store, self.match_config, device, self.progress)
        self.similar(self.store.device(device)["id"])
        if record:
            self.record_queue(device, "match")
        return report

    def similar(self, device_id: int | None) -> SimilarReport:
        """Record "looks like known material" for the device's (or every) unchecked content;
        for every content when the alert lists changed since."""
        return record_similar(self.store, self.match_config, max_distance=self.similar_radius,
                              device_id=device_id)

    def lists_changed(self, hashset_id: int | None) -> MatchReport | None:
        """After a list import or removal: refresh the PDQ index, re-match the list's contents,
        record the similarities again if the alert lists changed, and update the recorded queue
        of every device whose pictures that changed."""
        report = after_list_change(self.store, self.match_config, hashset_id, self.progress)
        self.similar(None)
        refresh_devices(self.store, self.priority)
        return report

    def classify(self, device: str, *, record: bool = True, **overrides: Any) -> ClassifyReport:
        """Score the device's unseen pictures with every enabled model card (config, overrides),
        then record its queue (unless the chain records it later)."""
        overrides.setdefault("progress", self.progress)
        opts = classify_options(self.priority, **overrides)
        cards, problems = select_cards(self.workspace.root, opts)
        try:
            report = classify_device(self.store, device, self.workspace.derivative_dir, cards,
                                     opts)
        finally:
            if record:  # even interrupted, the scores made so far count: compared at next read
                self.store.mark_queue_all_pending([self.store.device(device)["id"]])
        report.problems[:0] = problems
        report.problems += [m.problem for m in report.models if m.problem]
        if record and report.state != "interrupted":
            self.record_queue(device, "classify")
        return report

    def record_queue(self, device: str | int, reason: str) -> Recorded:
        """Build DEVICE's queue now and record it; other devices holding the same pictures
        compare theirs at their next read (a re-match or new score is per picture)."""
        device_id = device if isinstance(device, int) else self.store.device(device)["id"]
        recorded = record_queue(self.store, device_id, self.priority, reason)
        self.store.mark_queue_shared_pending(device_id)
        return recorded

    def open_queue(self, device_id: int, *, per_request: bool = False) -> QueueView:
        """The device's queue for reading. A workspace made before similarities were recorded
        has them recorded for the device first (once), so its queue reads as it did.

        `per_request`: built now, similarities searched now — the path before the queue was
        recorded, kept for scripts/bench_review.py to measure against."""
        if per_request:
            cluster, sim = self.priority.get("cluster", {}), self.priority.get("similarity", {})
            far, min_q = int(sim.get("max_distance", 70)), int(cluster.get("min_pdq_quality", 50))
            return BuiltQueue(self.store, device_id, self.priority, alerts=lambda items: (
                search_alerts(self.store, self.match_config, items, far, min_q)))
        self._similarities_once(device_id)
        return RecordedQueue(self.store, device_id, self.priority)

    def _similarities_once(self, device_id: int) -> None:
        build = self.store.queue_build(device_id)
        if build is not None and not build["built_from"].get("similarities_unchecked"):
            return
        try:
            if unchecked_count(self.store, device_id):
                self.similar(device_id)
            elif build is None:
                return
        except StoreError:
            return  # a list file is missing: the queue is read without, as the matcher would
        self.record_queue(device_id, "first read" if build is None else "similarities recorded")

    def workload(self, device_id: int) -> dict[str, Any]:
        """Queue entries, the unseen pictures they stand for, review hours left."""
        queue = self.open_queue(device_id)
        return figures(queue.count(), queue.unseen(), self.priority,
                       self.store.queue_video_seconds(device_id))

    def queue(self, device: str) -> list[QueueItem]:
        """The device's recorded queue, in rank order."""
        return self.open_queue(self.store.device(device)["id"]).page()

    # -- the chain ----------------------------------------------------------------------
    def process(self, source: Path, case: str, device: str, *, workers: int | None = None,
                classify: bool | None = None, unlock: tuple[tuple[str, str], ...] = (),
                verify_image: bool = False) -> DeviceRun:
        """Ingest SOURCE as DEVICE of CASE, match it, classify it (unless `classify` is False or
        `[classify] on_ingest` says no). A model problem never fails the stages before it: the
        classify report names it and `triage classify` can be run once it is fixed."""
        run = DeviceRun(device, "interrupted")
        run.ingest = self.ingest(source, case, device, workers, unlock)
        if run.ingest.state != "completed":
            run.stopped_at = "ingest"
            return run
        if verify_image:
            try:
                run.verify = self.verify_images(source, device)
            except KeyboardInterrupt:
                run.stopped_at = "verify"
                return run
        run.match = self.match(device, record=False)
        on = self.priority.get("classify", {}).get("on_ingest", True)
        if on if classify is None else classify:
            try:
                run.classify = self.classify(device, record=False)
            except ModelCardError as exc:
                run.classify = ClassifyReport(device, "refused", problems=[str(exc)])
            if run.classify.state == "interrupted":
                run.stopped_at = "classify"
                return run
        run.queue = self.record_queue(device, "ingest")
        run.state = "completed"
        return run
