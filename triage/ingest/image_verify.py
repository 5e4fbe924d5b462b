"""`triage ingest --verify-image`: recompute the MD5 / SHA-1 of each disk image's media and
compare them with the hashes stored at acquisition (an E01's), recording the outcome per image
(`matched`, `mismatch`, `no_stored_hash`, `unreadable`), which the device report shows.

Run after the ingest of the source has completed: it reads the whole image once more, in order
(what `ewfverify` does), so it is asked for, not done by default. Interrupted, it records
nothing for the image it was reading; the same command run again verifies what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triage.evidence import disk_image
from triage.evidence.base import Limits
from triage.progress import progress_bar
from triage.store import Store


@dataclass
class VerifyReport:
    images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mismatches(self) -> int:
        return sum(1 for i in self.images if i["state"] == "mismatch")

    def as_dict(self) -> dict[str, Any]:
        return {"images": self.images, "mismatches": self.mismatches}


def verify_images(store: Store, device_id: int, source_id: int | None, limits: Limits,
                  progress: bool | None = None) -> VerifyReport:
    report = VerifyReport()
    for image in store.disk_images(device_id, source_id):
        if image["verify_state"] in ("matched", "mismatch"):
            report.images.append(_row(image, image["verify_state"], image["verify_reason"]))
            continue
        stored_md5, stored_sha1 = image["stored_md5"], image["stored_sha1"]
        if not stored_md5 and not stored_sha1:
            reason = "the image stores no acquisition hash to verify against"
            store.record_verification(image["id"], "no_stored_hash", None, None, reason)
            report.images.append(_row(image, "no_stored_hash", reason))
            continue
        bar = progress_bar(progress, total=image["media_size"] or 0, unit="B",
                           unit_scale=True, desc=f"verify {image['label']}")
        try:
            md5, sha1, size = disk_image.image_digests(image["format"], image["ref"], limits,
                                                       bar.update)
        except OSError as exc:
            reason = f"image could not be read to the end: {exc}"
            store.record_verification(image["id"], "unreadable", None, None, reason)
            report.images.append(_row(image, "unreadable", reason))
            continue
        finally:
            bar.close()
        wrong = [f"{name} {got} (stored {want})" for name, got, want in
                 (("MD5", md5, stored_md5), ("SHA-1", sha1, stored_sha1))
                 if want and got.lower() != want.lower()]
        if wrong:
            reason = ("image verification failed: the media's " + ", ".join(wrong)
                      + " — the image's content is not what was acquired (damaged or altered"
                      " segment)")
            state = "mismatch"
        else:
            reason, state = None, "matched"
        store.record_verification(image["id"], state, md5, sha1, reason)
        report.images.append(_row(image, state, reason) | {"bytes": size})
    return report


def _row(image: dict[str, Any], state: str, reason: str | None) -> dict[str, Any]:
    return {"image": image["label"], "state": state, "reason": reason}
