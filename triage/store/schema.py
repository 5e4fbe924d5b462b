"""Schema migrations, kept per domain so each stage owns its tables.

Why per domain: stages are added one at a time (ingest, hash lists, classifier, review,
welfare, backlog). Each declares an ordered list of migration steps; the store records how many
steps of each domain it has applied in `meta`, so a workspace made by an older version is
upgraded in place and a step is never applied twice. Steps use portable SQL where possible so a
server database can take over later.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    name: str
    steps: tuple[str, ...]


CORE = Domain(
    "core",
    (
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            os_user TEXT NOT NULL,
            host TEXT,
            tool_version TEXT NOT NULL,
            command TEXT NOT NULL,
            arguments TEXT NOT NULL,
            outcome TEXT,
            counts TEXT
        );
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            label TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'awaiting',
            created_at TEXT NOT NULL
        );
        """,
    ),
)

INGEST = Domain(
    "ingest",
    (
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id),
            location TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (device_id, location)
        );
        CREATE TABLE contents (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            sha1 TEXT NOT NULL,
            md5 TEXT NOT NULL,
            size INTEGER NOT NULL,
            detected_type TEXT,
            width INTEGER,
            height INTEGER,
            pdq TEXT,
            pdq_quality INTEGER,
            phash TEXT,
            dhash TEXT,
            exif_make TEXT,
            exif_model TEXT,
            exif_datetime_original TEXT,
            exif_gps INTEGER,
            derivative TEXT
        );
        CREATE INDEX contents_md5 ON contents(md5);
        CREATE INDEX contents_sha1 ON contents(sha1);
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id),
            source_id INTEGER NOT NULL REFERENCES sources(id),
            path TEXT NOT NULL,
            extension TEXT NOT NULL,
            size INTEGER,
            mtime REAL,
            atime REAL,
            ctime REAL,
            detected_type TEXT,
            media_kind TEXT,
            ext_mismatch INTEGER,
            content_id INTEGER REFERENCES contents(id),
            status TEXT NOT NULL,
            reason TEXT,
            run_id INTEGER,
            archive_state TEXT,
            UNIQUE (device_id, source_id, path)
        );
        CREATE INDEX files_content ON files(content_id);
        CREATE INDEX files_device_status ON files(device_id, status);
        CREATE TABLE ingest_runs (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id),
            source_id INTEGER NOT NULL REFERENCES sources(id),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            state TEXT NOT NULL,
            counts TEXT
        );
        """,
    ),
)

# What the evidence layer records beyond ingest's first schema (its own domain, so its steps
# never interleave with another stage's).
EVIDENCE = Domain(
    "evidence",
    (
        # Where data hidden after a picture's end starts (triage.evidence.picture_end).
        "ALTER TABLE files ADD COLUMN appended_offset INTEGER;",
    ),
)
