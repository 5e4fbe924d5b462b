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
        # Signals per content in one table instead of fixed columns (a new hash type is a new
        # `signal` name, not a new column), per frame for multi-frame pictures (and video
        # frames, with their time); derivatives per frame likewise. `media_kind` records what a
        # content was decoded as, so "a picture" no longer means "has a pHash"; `frames` its
        # frame/page count (NULL for pictures ingested before frames were counted: only their
        # first frame was examined, and the count was not kept). md5/sha1/sha256 stay columns:
        # the content's identity (SHA-256 keys it). Existing values move over unchanged.
        """
        CREATE TABLE signals (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            signal TEXT NOT NULL,
            frame INTEGER NOT NULL DEFAULT 0,
            value TEXT NOT NULL,
            quality INTEGER,
            seconds REAL,
            PRIMARY KEY (content_id, signal, frame)
        );
        CREATE TABLE derivatives (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            frame INTEGER NOT NULL,
            name TEXT NOT NULL,
            seconds REAL,
            PRIMARY KEY (content_id, frame)
        );
        ALTER TABLE contents ADD COLUMN media_kind TEXT;
        ALTER TABLE contents ADD COLUMN frames INTEGER;
        ALTER TABLE contents ADD COLUMN media_extra TEXT;
        UPDATE contents SET media_kind = 'image' WHERE phash IS NOT NULL;
        INSERT INTO signals(content_id, signal, frame, value, quality)
            SELECT id, 'pdq', 0, pdq, pdq_quality FROM contents WHERE pdq IS NOT NULL;
        INSERT INTO signals(content_id, signal, frame, value)
            SELECT id, 'phash', 0, phash FROM contents WHERE phash IS NOT NULL;
        INSERT INTO signals(content_id, signal, frame, value)
            SELECT id, 'dhash', 0, dhash FROM contents WHERE dhash IS NOT NULL;
        INSERT INTO derivatives(content_id, frame, name)
            SELECT id, 0, derivative FROM contents WHERE derivative IS NOT NULL;
        ALTER TABLE contents DROP COLUMN pdq;
        ALTER TABLE contents DROP COLUMN pdq_quality;
        ALTER TABLE contents DROP COLUMN phash;
        ALTER TABLE contents DROP COLUMN dhash;
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
