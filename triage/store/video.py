"""What the store knows about videos: their probe (`contents.media_extra`), their sampled frames
(the `pdq` signal rows and per-frame derivatives), and the classifier's score of each frame.

A video is one content (`contents.media_kind = 'video'`); its vPDQ records are its `pdq` signal
rows (frame number, quality, hash, seconds), the same table pictures use, so the PDQ matcher
and the indexes read them without knowing what a video is. Per-frame classifier scores live in
`frame_classifications`; the video's own score (from its frames, `triage.classify.stage`) is an
ordinary row of `classifications`, so the queue weighs it as it weighs a picture's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from triage.store.core import CoreStore, in_chunks, now_iso
from triage.store.schema import Domain

VIDEO = Domain(
    "video",
    (
        """
        -- Which frame of a video a 'video' exposure interval showed (CLIP_FRAME: playback).
        CREATE TABLE exposure_frames (
            exposure_id INTEGER PRIMARY KEY,
            frame INTEGER NOT NULL
        );
        CREATE TABLE frame_classifications (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            model TEXT NOT NULL,
            frame INTEGER NOT NULL,
            seconds REAL,
            score REAL NOT NULL,
            weights_sha256 TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (content_id, model, frame)
        );
        """,
    ),
)

# What `triage files --json` shows of a video (null for anything else), appended after the
# ingest and match fields; `frames_hashed` counts its kept (vPDQ) frames.
VIDEO_FIELDS = ("duration", "codec", "fps", "rotation", "audio", "frames_hashed")


def is_video(alias: str) -> str:
    """SQL condition: content `alias` was examined as a video (the one definition)."""
    return f"{alias}.media_kind = 'video'"


class VideoStore(CoreStore):
    # -- probe ----------------------------------------------------------------------------
    def video_info(self, content_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """content id -> the video's probe (duration, codec, fps, rotation, audio, frames
        hashed, sampling interval, width, height) for those of `content_ids` that are videos."""
        out: dict[int, dict[str, Any]] = {}
        for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
            for r in self.conn.execute(
                    f"SELECT id, media_extra, width, height, frames FROM contents c"
                    f" WHERE id IN ({q}) AND {is_video('c')}", chunk):
                out[int(r[0])] = _extra(r[1]) | {"width": r[2], "height": r[3],
                                                 "frames": r[4]}
        return out

    def video_sample_seconds(self, content_ids: Sequence[int]) -> dict[int, float]:
        return {cid: float(v.get("sample_seconds") or 1.0)
                for cid, v in self.video_info(content_ids).items()}

    def video_frames(self, content_id: int) -> list[dict[str, Any]]:
        """The kept frames of a video in time order: frame, seconds, quality, pdq, derivative."""
        rows = self.conn.execute(
            "SELECT s.frame, s.seconds, s.quality, s.value AS pdq, d.name AS derivative"
            " FROM signals s LEFT JOIN derivatives d ON d.content_id = s.content_id"
            " AND d.frame = s.frame WHERE s.content_id = ? AND s.signal = 'pdq'"
            " ORDER BY s.frame", (content_id,))
        return [dict(r) for r in rows]

    def content_paths(self, device_id: int, content_id: int) -> list[str]:
        """Every path holding this content on the device, sorted."""
        return [str(r[0]) for r in self.conn.execute(
            "SELECT path FROM files WHERE device_id=? AND content_id=? ORDER BY path",
            (device_id, content_id))]

    def video_derivative(self, content_id: int, frame: int) -> str | None:
        row = self.conn.execute("SELECT name FROM derivatives WHERE content_id=? AND frame=?",
                                (content_id, frame)).fetchone()
        return str(row[0]) if row else None

    # -- the queue ----------------------------------------------------------------------------
    def unseen_videos(self, device_id: int, content_ids: Sequence[int] | None = None
                      ) -> list[dict[str, Any]]:
        """Each unique unseen video of a device (the queue's unseen rule, as for pictures), as
        `unseen_pictures` gives a picture, with `kind` 'video', its `duration` and `frames`
        (its kept frames' PDQ of quality >= 50, what copies are clustered by)."""
        unseen = self._unseen_clause("c", "f.device_id")  # type: ignore[attr-defined]
        sql = (f"SELECT c.id AS content_id, c.sha256, c.derivative, c.width, c.height,"
               f" c.media_extra, f.path FROM files f JOIN contents c ON c.id = f.content_id"
               f" WHERE f.device_id = ? AND {is_video('c')} AND {unseen}")
        args: list[Any] = [device_id]
        rows: list[Any] = []
        if content_ids is None:
            rows = self.conn.execute(sql + " ORDER BY c.id, f.path", args).fetchall()
        else:
            for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
                rows += self.conn.execute(sql + f" AND c.id IN ({q}) ORDER BY c.id, f.path",
                                          [*args, *chunk]).fetchall()
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            d = out.get(r["content_id"])
            if d is None:
                extra = _extra(r["media_extra"])
                d = {"content_id": r["content_id"], "sha256": r["sha256"],
                     "derivative": r["derivative"], "width": r["width"], "height": r["height"],
                     "pdq": None, "pdq_quality": None, "phash": None, "exif_make": None,
                     "exif_model": None, "exif_datetime_original": None, "kind": "video",
                     "duration": extra.get("duration"), "paths": []}
                out[r["content_id"]] = d
            d["paths"].append(r["path"])
        if out:
            frames = self.signal_values(sorted(out), "pdq")  # type: ignore[attr-defined]
            for cid, d in out.items():
                d["frames"] = tuple(sorted({v.value for v in frames.get(cid, [])
                                            if (v.quality or 0) >= 50}))
        return list(out.values())

    def video_matches(self, content_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """Near matches (alert lists) of videos: method, distance, frame and its time, list,
        category; closest first."""
        out: dict[int, list[dict[str, Any]]] = {}
        for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
            for r in self.conn.execute(
                    f"SELECT m.content_id, m.method, m.distance, m.frame, m.category,"
                    f" h.name AS hashset, s.seconds FROM matches m"
                    f" JOIN hashsets h ON h.id = m.hashset_id"
                    f" LEFT JOIN signals s ON s.content_id = m.content_id AND s.signal = 'pdq'"
                    f" AND s.frame = m.frame"
                    f" WHERE m.near = 1 AND h.kind = 'alert' AND m.content_id IN ({q})"
                    f" ORDER BY m.content_id, m.distance", chunk):
                out.setdefault(int(r["content_id"]), []).append(dict(r))
        return out

    def queue_video_seconds(self, device_id: int) -> list[float]:
        """The duration of each video entry of the device's recorded queue."""
        return [float(_extra(r[0]).get("duration") or 0.0) for r in self.conn.execute(
            f"SELECT c.media_extra FROM queue_entries e JOIN contents c ON c.id = e.content_id"
            f" WHERE e.device_id = ? AND {is_video('c')}", (device_id,))]

    # -- frame scores -----------------------------------------------------------------------
    def frames_to_classify(self, content_ids: Sequence[int]) -> dict[int, list[tuple[int, float |
                                                                                     None, str]]]:
        """video -> [(frame, seconds, derivative)] of its kept frames with a small copy."""
        out: dict[int, list[tuple[int, float | None, str]]] = {}
        for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
            for r in self.conn.execute(
                    f"SELECT d.content_id, d.frame, d.seconds, d.name FROM derivatives d"
                    f" JOIN contents c ON c.id = d.content_id WHERE d.content_id IN ({q})"
                    f" AND d.frame >= 0 AND {is_video('c')} ORDER BY d.content_id, d.frame",
                    chunk):
                out.setdefault(int(r[0]), []).append((int(r[1]), r[2], str(r[3])))
        return out

    def record_frame_scores(self, model: str, rows: Iterable[tuple[int, int, float | None,
                                                                   float]],
                            weights_sha256: str | None = None) -> None:
        """rows: (content_id, frame, seconds, score), replacing earlier scores of that model."""
        now = now_iso()
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO frame_classifications(content_id, model, frame, seconds, score,"
                " weights_sha256, created_at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT(content_id, model, frame) DO UPDATE SET score=excluded.score,"
                " seconds=excluded.seconds, weights_sha256=excluded.weights_sha256,"
                " created_at=excluded.created_at",
                [(cid, model, fr, sec, float(sc), weights_sha256, now)
                 for cid, fr, sec, sc in rows])

    def frame_scores(self, content_ids: Sequence[int]) -> dict[int, dict[str, list[tuple[
            int, float | None, float]]]]:
        """video -> model -> [(frame, seconds, score)], highest score first."""
        out: dict[int, dict[str, list[tuple[int, float | None, float]]]] = {}
        for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
            for r in self.conn.execute(
                    f"SELECT content_id, model, frame, seconds, score FROM frame_classifications"
                    f" WHERE content_id IN ({q}) ORDER BY content_id, model, score DESC, frame",
                    chunk):
                out.setdefault(int(r[0]), {}).setdefault(r[1], []).append(
                    (int(r[2]), r[3], float(r[4])))
        return out

    # -- exposure ---------------------------------------------------------------------------
    def record_exposure_frame(self, exposure_id: int, frame: int) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO exposure_frames(exposure_id, frame) VALUES (?, ?)",
                      (exposure_id, frame))

    def exposure_totals(self, user_id: int, since: str | None, per: str,
                        weights: dict[str, float], blurred_weight: float
                        ) -> list[dict[str, Any]]:
        """The review store's totals (video time is direct viewing, severity-weighted like a
        picture's), with what the video mode was made of: frames revealed, playback seconds."""
        from datetime import datetime, timedelta

        out = super().exposure_totals(user_id, since, per, weights,  # type: ignore[misc]
                                      blurred_weight)
        by_key = {p["period"]: p for p in out}
        for p in out:
            p["video_frames_revealed"], p["video_playback_seconds"] = 0, 0.0
        for r in self.conn.execute(
                "SELECT e.started_at, e.seconds, x.frame FROM exposure e JOIN exposure_frames x"
                " ON x.exposure_id = e.id WHERE e.user_id=? AND e.started_at>=?"
                " AND e.mode='video'", (user_id, since or "")):
            start = datetime.fromisoformat(r[0])
            key = (start.date().isoformat() if per == "day" else
                   (start.date() - timedelta(days=start.weekday())).isoformat())
            p = by_key.get(key)
            if p is None:
                continue
            if int(r[2]) >= 0:
                p["video_frames_revealed"] += 1
            else:
                p["video_playback_seconds"] = round(p["video_playback_seconds"] + float(r[1]), 1)
        return out

    # -- listings -----------------------------------------------------------------------------
    def iter_files(self, device_id: int) -> Iterator[dict[str, Any]]:
        """The rows before, with a video's probe appended (VIDEO_FIELDS) and, for a match made
        by one of its frames, that frame's time (`seconds`)."""
        info: dict[int, dict[str, Any]] = {}
        seconds: dict[tuple[int, int], float | None] = {}
        for r in self.conn.execute(
                f"SELECT c.id, c.media_extra FROM contents c WHERE {is_video('c')} AND c.id IN"
                " (SELECT content_id FROM files WHERE device_id=?)", (device_id,)):
            info[int(r[0])] = _extra(r[1])
        if info:
            for r in self.conn.execute(
                    "SELECT s.content_id, s.frame, s.seconds FROM signals s WHERE s.signal='pdq'"
                    " AND s.content_id IN (SELECT content_id FROM files WHERE device_id=?)"
                    " AND s.seconds IS NOT NULL", (device_id,)):
                seconds[(int(r[0]), int(r[1]))] = r[2]
        for row in super().iter_files(device_id):  # type: ignore[misc]
            extra = info.get(row.get("content_id") or -1)
            for k in VIDEO_FIELDS:
                row[k] = extra.get(k) if extra is not None else None
            if extra is not None:
                for m in row.get("matches") or []:
                    if m.get("frame") is not None:
                        m["seconds"] = seconds.get((row["content_id"], m["frame"]))
            yield row

    def report_videos(self, device_id: int) -> list[dict[str, Any]]:
        """One row per unique video of the device: a path holding it, duration, size, codec,
        frames hashed, status, and how many files hold it; longest first."""
        out = []
        for r in self.conn.execute(
                f"SELECT c.id, MIN(f.path) AS path, COUNT(*) AS copies, c.size, c.width,"
                f" c.height, c.media_extra, MIN(f.status) AS status FROM files f"
                f" JOIN contents c ON c.id = f.content_id WHERE f.device_id=? AND"
                f" {is_video('c')} GROUP BY c.id", (device_id,)):
            extra = _extra(r["media_extra"])
            out.append({"content_id": int(r["id"]), "path": r["path"], "copies": r["copies"],
                        "size": r["size"], "width": r["width"], "height": r["height"],
                        "duration": extra.get("duration"), "codec": extra.get("codec"),
                        "frames_hashed": extra.get("frames_hashed"), "status": r["status"]})
        return sorted(out, key=lambda v: (-(v["duration"] or 0), v["path"]))

    def device_summary(self, device_id: int) -> dict[str, Any]:
        summary = super().device_summary(device_id)  # type: ignore[misc]
        summary.update(self.video_counts(device_id))
        return summary

    def video_counts(self, device_id: int) -> dict[str, Any]:
        """Videos apart from pictures: files, unique videos, their total duration."""
        row = self.conn.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT f.content_id) FROM files f"
            f" JOIN contents c ON c.id = f.content_id WHERE f.device_id=? AND {is_video('c')}",
            (device_id,)).fetchone()
        total = 0.0
        for (extra,) in self.conn.execute(
                f"SELECT c.media_extra FROM contents c WHERE {is_video('c')} AND c.id IN"
                " (SELECT content_id FROM files WHERE device_id=?)", (device_id,)):
            total += float(_extra(extra).get("duration") or 0.0)
        return {"video_files": int(row[0]), "unique_videos": int(row[1]),
                "video_seconds": round(total, 1)}


def _extra(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
