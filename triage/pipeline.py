"""The pipeline: the one place that chains the stages and hands each its configuration.

    evidence -> ingest -> match -> classify -> queue

Why one place: the CLI (`triage ingest`, `match`, `classify`, `hashsets import`), the demo and
a future distributed executor must run the same stages in the same order with the same
configuration. Each stage receives what it needs from here (its options, its thresholds, the
derivative folder) and never rebuilds the workspace from the store's file name. A stage that is
interrupted (Ctrl-C, SIGTERM) stops the chain: nothing after it runs on half a result, and the
same command run again resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.classify.cards import ModelCardError
from triage.classify.stage import (ClassifyReport, classify_device, select_cards,
                                   options_from_config as classify_options)
from triage.evidence.base import Limits
from triage.ingest import IngestOptions, IngestReport, ingest
from triage.ingest.image_verify import VerifyReport, verify_images
from triage.match.matcher import MatchConfig, MatchReport, after_list_change, match_device
from triage.queue.build import QueueItem, build_queue
from triage.queue.priority import priority_config
from triage.store import Store
from triage.workspace import Workspace


@dataclass
class DeviceRun:
    """What one pass of the pipeline over a device did, stage by stage."""

    device: str
    state: str  # completed | interrupted
    ingest: IngestReport | None = None
    match: MatchReport | None = None
    classify: ClassifyReport | None = None
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
            max_archive_depth=int(lim.get("max_archive_depth", Limits.max_archive_depth)),
            max_compression_ratio=int(lim.get("max_compression_ratio",
                                              Limits.max_compression_ratio)),
        )
        opts = IngestOptions(limits=limits, progress=self.progress,
                             derivative_dir=str(self.workspace.derivative_dir))
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

    @property
    def priority(self) -> dict[str, Any]:
        return priority_config(self.workspace)

    # -- stages -------------------------------------------------------------------------
    def ingest(self, source: Path, case: str, device: str,
               workers: int | None = None,
               unlock: tuple[tuple[str, str], ...] = ()) -> IngestReport:
        return ingest(self.store, source, case, device, self.ingest_options(workers, unlock))

    def verify_images(self, source: Path, device: str) -> VerifyReport:
        """`--verify-image`: the disk images of SOURCE checked against their stored hashes."""
        dev = self.store.device(device)
        source_id = self.store.source_id(dev["id"], str(source.absolute()))
        return verify_images(self.store, dev["id"], source_id, self.ingest_options().limits,
                             self.progress)

    def match(self, device: str) -> MatchReport:
        return match_device(self.store, self.match_config, device, self.progress)

    def lists_changed(self, hashset_id: int | None) -> MatchReport | None:
        """After a list import or removal: refresh the PDQ index, re-match the list's contents."""
        return after_list_change(self.store, self.match_config, hashset_id, self.progress)

    def classify(self, device: str, **overrides: Any) -> ClassifyReport:
        """Score the device's unseen pictures with every enabled model card (config, overrides)."""
        overrides.setdefault("progress", self.progress)
        opts = classify_options(self.priority, **overrides)
        cards, problems = select_cards(self.workspace.root, opts)
        report = classify_device(self.store, device, self.workspace.derivative_dir, cards, opts)
        report.problems[:0] = problems
        report.problems += [m.problem for m in report.models if m.problem]
        return report

    def queue(self, device: str) -> list[QueueItem]:
        return build_queue(self.store, self.store.device(device)["id"], self.priority)

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
        run.match = self.match(device)
        on = self.priority.get("classify", {}).get("on_ingest", True)
        if on if classify is None else classify:
            try:
                run.classify = self.classify(device)
            except ModelCardError as exc:
                run.classify = ClassifyReport(device, "refused", problems=[str(exc)])
            if run.classify.state == "interrupted":
                run.stopped_at = "classify"
                return run
        run.state = "completed"
        return run
