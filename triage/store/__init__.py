"""The only place in triage that speaks SQL.

The rest of the code asks the store in domain words (`store.files_for(device)`), so that a
server database can replace SQLite by reimplementing this package, not by hunting queries
through the pipeline. Each domain (ingest, hash lists, classifier, ...) keeps its queries in its
own module here as a mixin; `Store` is their union over one connection.
"""

from __future__ import annotations

from triage.store.core import CoreStore, DamagedDatabase, StoreError, now_iso
from triage.store.annotations import ANNOTATIONS, AnnotationStore
from triage.store.disk import DISK, DiskStore
from triage.store.backlog import BACKLOG, BacklogStore
from triage.store.browse import BROWSE, BrowseStore
from triage.store.classify import CLASSIFY, ClassifyStore
from triage.store.court import CourtStore
from triage.store.export import EXPORT, ExportStore
from triage.store.hashsets import HASHSETS, HashsetStore
from triage.store.ingest import IngestStore
from triage.store.peer import PEER, PeerStore
from triage.store.queue import QUEUE, QueueStore
from triage.store.review import REVIEW, ReviewStore
from triage.store.schema import CORE, EVIDENCE, INGEST
from triage.store.similar import SIMILAR, SimilarStore
from triage.store.video import VIDEO, VideoStore
from triage.store.welfare import WELFARE, WelfareStore

DOMAINS = (CORE, INGEST, EVIDENCE, HASHSETS, REVIEW, BACKLOG, CLASSIFY, WELFARE, EXPORT, SIMILAR,
           QUEUE, DISK, BROWSE, ANNOTATIONS, PEER, VIDEO)


class Store(VideoStore, BrowseStore, AnnotationStore, PeerStore, CourtStore, DiskStore,
            QueueStore, SimilarStore, ExportStore, WelfareStore, ClassifyStore, ReviewStore,
            BacklogStore, HashsetStore, IngestStore, CoreStore):
    """One workspace database. Open with `Store.open(path)`; close with `.close()`."""

    domains = DOMAINS


__all__ = ["Store", "StoreError", "DamagedDatabase", "now_iso"]
