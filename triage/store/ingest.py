"""Sources, contents (one row per unique SHA-256) and files (one row per path on a device)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from triage.records import FileResult
from triage.store.core import now_iso
from triage.store.disk import record_origin
from triage.store.signals import SignalStore, frame0_signal, is_picture

# Columns `triage files` prints, in order. Later stages add columns; they never change these.
FILE_FIELDS = (
    "path", "source", "size", "detected_type", "media_kind", "extension", "ext_mismatch",
    "md5", "sha1", "sha256", "pdq", "pdq_quality", "phash", "dhash", "width", "height",
    "exif_make", "exif_model", "exif_datetime_original", "exif_gps",
    "mtime", "atime", "ctime", "status", "reason", "content_id",
    "duplicate_count", "copies_in_case", "frames",
)


class IngestStore(SignalStore):
    # -- sources and runs ---------------------------------------------------------------
    def ensure_source(self, device_id: int, location: str, kind: str, name: str) -> int:
        with self.transaction() as c:
            row = c.execute(
                "SELECT id FROM sources WHERE device_id=? AND location=?", (device_id, location)
            ).fetchone()
            if row:
                return int(row[0])
            cur = c.execute(
                "INSERT INTO sources(device_id, location, kind, name) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (device_id, location, kind, name),
            )
            return int(cur.fetchone()[0])

    def start_run(self, device_id: int, source_id: int) -> int:
        with self.transaction() as c:
            # A run still marked `running` was interrupted (Ctrl-C or kill -9): say so.
            c.execute(
                "UPDATE ingest_runs SET state='interrupted' WHERE device_id=? AND source_id=?"
                " AND state='running'",
                (device_id, source_id),
            )
            cur = c.execute(
                "INSERT INTO ingest_runs(device_id, source_id, started_at, state)"
                " VALUES (?, ?, ?, 'running') RETURNING id",
                (device_id, source_id, now_iso()),
            )
            return int(cur.fetchone()[0])

    def finish_run(self, run_id: int, state: str, counts: dict[str, Any]) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE ingest_runs SET finished_at=?, state=?, counts=? WHERE id=?",
                (now_iso(), state, json.dumps(counts, sort_keys=True), run_id),
            )

    def runs_for(self, device_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT r.*, s.location FROM ingest_runs r JOIN sources s ON s.id=r.source_id"
            " WHERE r.device_id=? ORDER BY r.id",
            (device_id,),
        )
        return [dict(r) for r in rows]

    def done_paths(self, device_id: int, source_id: int) -> set[str]:
        """Paths already recorded: a resumed run skips them."""
        rows = self.conn.execute(
            "SELECT path FROM files WHERE device_id=? AND source_id=?", (device_id, source_id)
        )
        return {r[0] for r in rows}

    # -- recording results --------------------------------------------------------------
    def forget_unfinished_archives(self, device_id: int, source_id: int) -> int:
        """Drop rows of archives whose expansion never finished, so a resumed run redoes them."""
        with self.transaction() as c:
            cur = c.execute(
                "DELETE FROM files WHERE device_id=? AND source_id=? AND archive_state='pending'",
                (device_id, source_id),
            )
            return cur.rowcount

    def record_files(
        self, device_id: int, source_id: int, run_id: int, results: Iterable[FileResult],
        archive_updates: Iterable[tuple[str, str, str | None, str | None]] = (),
    ) -> None:
        """Write a batch in one transaction, so a kill loses a whole batch or nothing.

        `archive_updates` (path, state, failure, status) are applied after the rows, so an
        archive is marked done in the same transaction as (or after) its last member; a failure
        is appended to the row's reason and `status` replaces an `ok` one.
        """
        with self.transaction() as c:
            for r in results:
                content_id = None
                if r.sha256 is not None:
                    content_id = self._upsert_content(c, r)
                c.execute(
                    "INSERT INTO files(device_id, source_id, path, extension, size, mtime, atime,"
                    " ctime, detected_type, media_kind, ext_mismatch, content_id, status, reason,"
                    " run_id, archive_state, appended_offset)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(device_id, source_id, path) DO UPDATE SET"
                    " size=excluded.size, mtime=excluded.mtime, atime=excluded.atime,"
                    " ctime=excluded.ctime, detected_type=excluded.detected_type,"
                    " media_kind=excluded.media_kind, ext_mismatch=excluded.ext_mismatch,"
                    " content_id=excluded.content_id, status=excluded.status,"
                    " reason=excluded.reason, run_id=excluded.run_id,"
                    " archive_state=excluded.archive_state,"
                    " appended_offset=excluded.appended_offset",
                    (device_id, source_id, r.path, r.extension, r.size, r.mtime, r.atime,
                     r.ctime, r.detected_type, r.media_kind,
                     None if r.ext_mismatch is None else int(r.ext_mismatch), content_id,
                     r.status, r.reason, run_id, r.archive_state, r.appended_offset),
                )
                if r.origin is not None:
                    record_origin(c, device_id, source_id, r)
            for path, state, failure, status in archive_updates:
                if failure is None:
                    c.execute(
                        "UPDATE files SET archive_state=? WHERE device_id=? AND source_id=?"
                        " AND path=?", (state, device_id, source_id, path))
                else:
                    # A damaged or stopped container: its own bytes were hashed, but members
                    # may be missing, which the investigator must see in the status counts.
                    c.execute(
                        "UPDATE files SET archive_state=?, status=CASE WHEN status='ok'"
                        " AND ? IS NOT NULL THEN ? ELSE status END, reason=CASE WHEN reason IS"
                        " NULL THEN ? ELSE reason || '; ' || ? END WHERE device_id=?"
                        " AND source_id=? AND path=?",
                        (state, status, status, failure, failure, device_id, source_id, path))

    def _upsert_content(self, c: Any, r: FileResult) -> int:
        c.execute(
            "INSERT INTO contents(sha256, sha1, md5, size, detected_type) VALUES (?,?,?,?,?)"
            " ON CONFLICT(sha256) DO NOTHING",
            (r.sha256, r.sha1, r.md5, r.size, r.detected_type),
        )
        content_id = int(c.execute("SELECT id FROM contents WHERE sha256=?",
                                   (r.sha256,)).fetchone()[0])
        m = r.media
        if m is not None:
            # The first examination of these bytes is kept (the same bytes give the same).
            c.execute(
                "UPDATE contents SET media_kind=?, width=?, height=?, frames=?, exif_make=?,"
                " exif_model=?, exif_datetime_original=?, exif_gps=?, media_extra=?,"
                " derivative=COALESCE(?, derivative) WHERE id=? AND media_kind IS NULL",
                (m.kind, m.width, m.height, m.frames, m.exif_make, m.exif_model,
                 m.exif_datetime_original, int(m.exif_gps),
                 json.dumps(m.extra, sort_keys=True) if m.extra else None,
                 r.derivative, content_id),
            )
        self._record_signals(c, content_id, r.signals)
        self._record_derivatives(c, content_id, r.derivatives)
        return content_id

    # -- reading results ----------------------------------------------------------------
    def iter_files(self, device_id: int) -> Iterator[dict[str, Any]]:
        """Every file of a device with its content's hashes and its duplicate counts."""
        rows = self.conn.execute(
            """
            WITH dev AS (SELECT case_id FROM devices WHERE id = :d),
            on_device AS (
                SELECT content_id, COUNT(*) AS n FROM files
                WHERE device_id = :d AND content_id IS NOT NULL GROUP BY content_id
            ),
            in_case AS (
                SELECT f.content_id, COUNT(*) AS n FROM files f
                JOIN devices d ON d.id = f.device_id
                WHERE d.case_id = (SELECT case_id FROM dev)
                  AND f.content_id IN (SELECT content_id FROM on_device)
                GROUP BY f.content_id
            )
            SELECT f.path, s.name AS source, f.size, f.detected_type, f.media_kind,
                   f.extension, f.ext_mismatch, c.md5, c.sha1, c.sha256, sp.value AS pdq,
                   sp.quality AS pdq_quality, sh.value AS phash, sd.value AS dhash, c.width,
                   c.height, c.exif_make, c.exif_model,
                   c.exif_datetime_original, c.exif_gps, f.mtime, f.atime, f.ctime,
                   f.status, f.reason, f.content_id, f.appended_offset,
                   f.fs_partition AS partition, f.file_system, f.fs_inode AS inode,
                   f.deleted, f.unallocated, f.created,
                   COALESCE(od.n - 1, 0) AS duplicate_count,
                   COALESCE(ic.n, 0) AS copies_in_case, c.frames
            FROM files f
            JOIN sources s ON s.id = f.source_id
            LEFT JOIN contents c ON c.id = f.content_id
            {pdq} {phash} {dhash}
            LEFT JOIN on_device od ON od.content_id = f.content_id
            LEFT JOIN in_case ic ON ic.content_id = f.content_id
            WHERE f.device_id = :d
            ORDER BY s.id, f.path
            """.format(pdq=frame0_signal("c", "pdq", "sp"),
                       phash=frame0_signal("c", "phash", "sh"),
                       dhash=frame0_signal("c", "dhash", "sd")),
            {"d": device_id},
        )
        for r in rows:
            d = dict(r)
            for k in ("ext_mismatch", "exif_gps", "deleted", "unallocated"):
                if d[k] is not None:
                    d[k] = bool(d[k])
            yield d

    def device_summary(self, device_id: int) -> dict[str, Any]:
        c = self.conn
        by_status = dict(
            c.execute(
                "SELECT status, COUNT(*) FROM files WHERE device_id=? GROUP BY status ORDER BY 1",
                (device_id,),
            ).fetchall()
        )
        by_type = dict(
            c.execute(
                "SELECT COALESCE(detected_type, 'unknown'), COUNT(*) FROM files WHERE device_id=?"
                " GROUP BY 1 ORDER BY 2 DESC, 1",
                (device_id,),
            ).fetchall()
        )
        by_kind = dict(
            c.execute(
                "SELECT COALESCE(media_kind, 'unknown'), COUNT(*) FROM files WHERE device_id=?"
                " GROUP BY 1 ORDER BY 2 DESC, 1",
                (device_id,),
            ).fetchall()
        )
        row = c.execute(
            """
            SELECT COUNT(*) AS files,
                   COUNT(content_id) AS hashed,
                   COUNT(DISTINCT content_id) AS unique_contents,
                   COALESCE(SUM(size), 0) AS bytes,
                   SUM(ext_mismatch) AS ext_mismatches
            FROM files WHERE device_id=?
            """,
            (device_id,),
        ).fetchone()
        images = c.execute(
            f"""
            SELECT COUNT(*) AS image_files, COUNT(DISTINCT f.content_id) AS unique_images
            FROM files f JOIN contents c ON c.id=f.content_id
            WHERE f.device_id=? AND {is_picture("c")}
            """,
            (device_id,),
        ).fetchone()
        return {
            "files": row["files"],
            "bytes": row["bytes"],
            "hashed": row["hashed"],
            "unique_contents": row["unique_contents"],
            "duplicate_files": row["hashed"] - row["unique_contents"],
            "image_files": images["image_files"],
            "unique_images": images["unique_images"],
            "ext_mismatches": row["ext_mismatches"] or 0,
            "by_status": by_status,
            "by_kind": by_kind,
            "by_type": by_type,
        }
