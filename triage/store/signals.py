"""Signal values and derivatives per content (and frame), and what "a picture" is in SQL.

Every signal value (`triage.signals`) a content yielded is one row of `signals` (content,
signal, frame, value, quality, seconds), whatever the signal: a new hash type needs no new
column. md5/sha1/sha256 are the content's identity and stay columns of `contents`
(`triage.signals.crypto.IDENTITY`); `content_signals` shows both as one list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from triage.records import Derivative, SignalValue
from triage.signals.crypto import IDENTITY
from triage.store.core import CoreStore, in_chunks


def is_picture(alias: str) -> str:
    """SQL condition: content `alias` was decoded as a picture (the one definition)."""
    return f"{alias}.media_kind = 'image'"


def frame0_signal(content: str, signal: str, alias: str) -> str:
    """A LEFT JOIN of content `content`'s value of `signal` at frame 0 as `alias` (for the
    listings that show one value per content: `files`, the queue)."""
    if not signal.isidentifier():
        raise ValueError(signal)
    return (f" LEFT JOIN signals {alias} ON {alias}.content_id = {content}.id"
            f" AND {alias}.signal = '{signal}' AND {alias}.frame = 0")


class SignalStore(CoreStore):
    # -- writing ------------------------------------------------------------------------
    @staticmethod
    def _record_signals(c: Any, content_id: int, values: Iterable[SignalValue]) -> None:
        """A content's values; one already recorded (the same bytes seen before) is kept."""
        c.executemany(
            "INSERT INTO signals(content_id, signal, frame, value, quality, seconds)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(content_id, signal, frame) DO NOTHING",
            [(content_id, v.signal, v.frame, v.value.lower(), v.quality, v.seconds)
             for v in values])

    @staticmethod
    def _record_derivatives(c: Any, content_id: int, derivatives: Iterable[Derivative]) -> None:
        c.executemany(
            "INSERT INTO derivatives(content_id, frame, name, seconds) VALUES (?,?,?,?)"
            " ON CONFLICT(content_id, frame) DO NOTHING",
            [(content_id, d.frame, d.name, d.seconds) for d in derivatives])

    # -- reading ------------------------------------------------------------------------
    def signal_values(self, content_ids: Sequence[int], signal: str
                      ) -> dict[int, list[SignalValue]]:
        """Every value of `signal` (all frames, in frame order) of each of `content_ids`."""
        out: dict[int, list[SignalValue]] = {}
        for chunk, q in in_chunks(list(content_ids)):
            for r in self.conn.execute(
                    f"SELECT content_id, frame, value, quality, seconds FROM signals"
                    f" WHERE signal = ? AND content_id IN ({q}) ORDER BY content_id, frame",
                    [signal, *chunk]):
                out.setdefault(int(r[0]), []).append(
                    SignalValue(signal, r[2], r[3], int(r[1]), r[4]))
        return out

    def content_signals(self, content_id: int) -> list[SignalValue]:
        """Every signal value of one content: its identity digests, then the rest by name."""
        row = self.conn.execute(f"SELECT {', '.join(IDENTITY)} FROM contents WHERE id=?",
                                (content_id,)).fetchone()
        if row is None:
            return []
        out = [SignalValue(name, row[name]) for name in IDENTITY]
        out += [SignalValue(r[0], r[2], r[3], int(r[1]), r[4]) for r in self.conn.execute(
            "SELECT signal, frame, value, quality, seconds FROM signals WHERE content_id=?"
            " ORDER BY signal, frame", (content_id,))]
        return out

    def derivatives_of(self, content_ids: Sequence[int]) -> dict[int, list[Derivative]]:
        """Each content's derivatives, frame 0 (the representative) first."""
        out: dict[int, list[Derivative]] = {}
        for chunk, q in in_chunks(list(content_ids)):
            for r in self.conn.execute(
                    f"SELECT content_id, frame, name, seconds FROM derivatives"
                    f" WHERE content_id IN ({q}) ORDER BY content_id, frame", chunk):
                out.setdefault(int(r[0]), []).append(Derivative(int(r[1]), r[2], r[3]))
        return out
