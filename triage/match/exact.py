"""The exact-digest matcher: a content's MD5, SHA-1 and SHA-256 looked up in every list.

An exact match makes content *known*: an alert list's category is applied to it (and so to
every file holding those bytes); a known-good list sets it aside.
"""

from __future__ import annotations

from collections.abc import Iterator

from triage.match.base import Found, MatchJob
from triage.progress import progress_bar
from triage.store.hashsets import DIGEST_COLUMNS


class ExactDigestMatcher:
    """MD5/SHA-1/SHA-256 of the bytes, looked up in each list's digest indexes."""

    name = "exact"
    description = "exact MD5/SHA-1/SHA-256 of the bytes (known material, known-good)"
    priority = 10

    def match(self, job: MatchJob) -> Iterator[Found]:
        contents, lists = job.contents, job.lists
        with progress_bar(job.progress, total=len(DIGEST_COLUMNS) * len(contents) * len(lists),
                          unit="lookup", desc="match exact") as bar:
            for algo in DIGEST_COLUMNS:
                by_digest: dict[bytes, list[int]] = {}
                for c in contents:
                    by_digest.setdefault(bytes.fromhex(c[algo]), []).append(c["id"])
                keys = list(by_digest)
                for hid in lists:
                    for digest, raw in job.store.lookup_digests(hid, algo, keys):
                        for cid in by_digest[bytes(digest)]:
                            yield Found(cid, hid, algo, None, raw)
                    bar.update(len(contents))


EXACT = ExactDigestMatcher()
