"""The only place in triage that speaks SQL.

The rest of the code asks the store in domain words (`store.files_for(device)`), so that a
server database can replace SQLite by reimplementing this package, not by hunting queries
through the pipeline. Each domain (ingest, hash lists, classifier, ...) keeps its queries in its
own module here as a mixin; `Store` is their union over one connection.
"""

from __future__ import annotations

from triage.store.core import CoreStore, StoreError, now_iso
from triage.store.backlog import BACKLOG, BacklogStore
from triage.store.classify import CLASSIFY, ClassifyStore
from triage.store.export import EXPORT, ExportStore
from triage.store.hashsets import HASHSETS, HashsetStore
from triage.store.ingest import IngestStore
from triage.store.queue import QUEUE, QueueStore
from triage.store.review import REVIEW, ReviewStore
from triage.store.schema import CORE, EVIDENCE, INGEST
from triage.store.similar import SIMILAR, SimilarStore
from triage.store.video import VIDEO, VideoStore
from triage.store.welfare import WELFARE, WelfareStore

DOMAINS = (CORE, INGEST, EVIDENCE, HASHSETS, REVIEW, BACKLOG, CLASSIFY, WELFARE, EXPORT, SIMILAR,
           QUEUE, VIDEO)


class Store(VideoStore, QueueStore, SimilarStore, ExportStore, WelfareStore, ClassifyStore, ReviewStore,
            BacklogStore, HashsetStore, IngestStore, CoreStore):
    """One workspace database. Open with `Store.open(path)`; close with `.close()`."""

    domains = DOMAINS


__all__ = ["Store", "StoreError", "now_iso"]
