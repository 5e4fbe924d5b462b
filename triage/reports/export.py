"""Export a device's media and categories for submission: VICS 2.0 JSON or CSV.

The VICS file is read back by `triage hashsets import` without loss: every field written is
kept in the imported entry. What a lab submits back to Project VIC or CAID is mostly *new*
material its reviewers categorised, so each content goes out with the category its exact
alert-list matches gave it (the one rule of `triage.categories.known_category`) or, where no
list categorised it, its reviewer's current decision (the latest one not undone on this
device). IsPrecategorized is true only for the former, and only with a Category.

Two shapes (`shape`): the *case* (`value[0]` with the case fields and `Media[]`, what Project VIC
and CAID exchange) and the *hash set* (`value[]` of Media, the shape IPED's HashDBTool and other
tools import; they refuse the case shape). Only fields of the VICS data model are written
(`CASE_FIELDS`, `MEDIA_FIELDS`, `MEDIA_FILE_FIELDS`). CaseID is a GUID made at the case's first
export and kept (`Store.vics_case_id`), so every export of one case carries the same one.

Times (`MediaFiles`): Written and Accessed are the evidence's own mtime and atime as recorded
at ingest, before anything was read. Created is null: POSIX records no creation time, and
ctime is the inode change time (on a lab's working copy, when the copy was made), never the
creation of the file on the seized device. An archive member carries only the mtime the
archive stored for it. FilePath is the path on the device: `source/path` for a folder, the
member path itself for an archive or disk-image source (whose member paths already start with
its name: `laptop.E01!/p2/Users/alice/a.jpg`). A file from a disk image's file system carries
that file system's own times (Created is its creation time: NTFS, ext4, HFS+ and FAT record
one) and `Deleted` (its directory entry or metadata entry is marked free) and `Unallocated`
(its metadata entry, and so its blocks, are free for reuse).

Profiles (VICS 2.0 `.../2.0.xml/{US|UK}/$metadata#...`): the US profile carries Project VIC
numbers 0-4; the UK profile carries CAID's numeric codes for A/B/C (and not indecent). Those codes
are not published anywhere this project could verify, so they come only from the lab's
`[schemes.uk] map` in config/categories.toml (inverted here); a category to be exported without a
configured code stops the export before anything is written, rather than inventing a number or
silently sending the picture out as uncategorised. A category with no meaning in the profile
(a UK letter in a US export, a VIC number in a UK export, "uncertain", "uncategorised") goes out
as Category null, as the data model prescribes for media not yet categorised.

Reviewer fields: what reviewers recorded of a picture in the review pages goes out in the VICS
fields made for it: Series, VictimIdentified, OffenderIdentified, IsDistributed (written only
when a reviewer said yes or no), Tags (the picture's tags joined with "; ") and Comments (its
note). A field nobody filled in is left out, as before.

Peer check: where the lab requires a second reviewer for some categories
(config/review.toml [peer_check] categories), a VICS export is refused while any picture of the
exhibit carries such a category from a decision not yet confirmed, or from a disagreement no
lead has resolved (`peer_categories`); the message says how many and where to settle them.

CSV (one row per file) goes through `triage.reports.csvout` (formula cells neutralised).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from triage import __version__
from triage.categories import NOT_A_CATEGORY, UK_CATEGORIES, VIC_NUMBERS
from triage.reports.csvout import SafeWriter

PROFILES = ("us", "uk")
SHAPES = ("case", "hashset")
VICS_CONTEXT = ("http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{profile}/"
                "$metadata#{entity}")
# The VICS 2.0 fields (REFERENCE.md): nothing else is written.
CASE_FIELDS = ("CaseID", "CaseNumber", "ContactName", "ContactEmail", "ContactPhone",
               "SourceApplicationName", "SourceApplicationVersion", "TotalMediaFiles",
               "TotalPrecategorized", "SeizureDate", "Media")
MEDIA_FIELDS = ("MediaID", "Category", "MD5", "SHA1", "MediaSize", "DateUpdated",
                "VictimIdentified", "OffenderIdentified", "IsDistributed", "IsSuspected",
                "IsPrecategorized", "PrecategorizationSource", "Series", "Tags", "Comments",
                "RelativeFilePath", "MimeType", "Exifs", "MediaFiles", "PhotoDNA",
                "AlternativeHashes")
MEDIA_FILE_FIELDS = ("MD5", "FileName", "FilePath", "Created", "Written", "Accessed",
                     "Unallocated", "Deleted", "ParentMD5", "PhysicalLocation", "SourceID")
MEDIA_KINDS = ("image", "video")
CSV_FIELDS = ("path", "source", "md5", "sha1", "sha256", "size", "media_kind", "known",
              "match_kind", "category", "category_raw", "match_method", "match_distance",
              "hashsets", "category_source", "decided_at", "decided_by")


class ExportError(ValueError):
    """The export cannot be written as asked (nothing was written)."""


def default_profile(review_config: dict[str, Any]) -> str:
    """The profile matching how the lab's reviewers grade (config/review.toml [scheme] name)."""
    scheme = str(review_config.get("scheme", {}).get("name", "uk")).lower()
    return "us" if scheme == "vic" else "uk"


@dataclass
class CategoryCodes:
    """Reported category -> VICS Category number for one profile."""
    profile: str
    codes: dict[str, int]
    ambiguous: dict[str, list[str]]
    config_path: str

    @classmethod
    def for_profile(cls, profile: str, categories_config: dict[str, Any],
                    config_path: str = "config/categories.toml") -> "CategoryCodes":
        if profile not in PROFILES:
            raise ExportError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        if profile == "us":
            return cls(profile, {n: int(n) for n in VIC_NUMBERS}, {}, config_path)
        table = categories_config.get("schemes", {}).get("uk", {}).get("map", {})
        found: dict[str, list[str]] = {}
        for raw, category in table.items():
            if str(raw).strip().isdigit() and category in UK_CATEGORIES:
                found.setdefault(str(category), []).append(str(raw).strip())
        codes = {cat: int(raws[0]) for cat, raws in found.items() if len(set(raws)) == 1}
        ambiguous = {cat: raws for cat, raws in found.items() if len(set(raws)) > 1}
        return cls(profile, codes, ambiguous, config_path)

    def needs_code(self, category: str | None) -> bool:
        return self.profile == "uk" and category in UK_CATEGORIES

    def code(self, category: str | None) -> int | None:
        return None if category is None else self.codes.get(category)

    def check(self, categories: set[str]) -> None:
        """Raise ExportError naming the config key to fill in for every category lacking a code."""
        needed = sorted(c for c in categories if self.needs_code(c))
        missing = [c for c in needed if c not in self.codes and c not in self.ambiguous]
        clashing = [c for c in needed if c in self.ambiguous]
        problems = []
        if missing:
            example = ", ".join(f'"<code>" = "{c}"' for c in missing)
            problems.append(
                f"no CAID numeric code is configured for category {', '.join(missing)}: add it"
                f" to `map` under [schemes.uk] in {self.config_path} ({example}, the code from"
                " your CAID documentation)")
        for c in clashing:
            problems.append(f"category {c} has several codes ({', '.join(self.ambiguous[c])})"
                            f" in [schemes.uk] map of {self.config_path}: keep one")
        if problems:
            raise ExportError("cannot export in the UK profile: " + "; ".join(problems)
                              + ". Nothing was written.")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def _media(store: Any, device_id: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(first file row, all file rows) per content of the device, in content order."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in store.iter_files(device_id):
        if row["content_id"] is not None and row["media_kind"] in MEDIA_KINDS:
            groups.setdefault(row["content_id"], []).append(row)
    for cid in sorted(groups):
        yield groups[cid][0], groups[cid]


def effective_category(row: dict[str, Any], decision: dict[str, Any] | None
                       ) -> tuple[str | None, str | None]:
    """(category, 'list' | 'review' | None) for a content.

    A list's real category first; else the reviewer's current decision when it is a real
    category; else what the list said ('uncategorised'); else the decision ('uncertain');
    else nothing.
    """
    listed = row.get("category")
    decided = None if decision is None else str(decision["category"])
    if listed is not None and listed not in NOT_A_CATEGORY:
        return listed, "list"
    if decided is not None and decided not in NOT_A_CATEGORY:
        return decided, "review"
    if listed is not None:
        return listed, "list"
    if decided is not None:
        return decided, "review"
    return None, None


def file_path(row: dict[str, Any], container_sources: set[str] = frozenset()) -> str:
    """The file's path on the device: `source/path`, or the path alone when the source is an
    archive (or another container file), whose entries are labelled from its own name."""
    source, path = row["source"], row["path"]
    if source in container_sources and (path == source or path.startswith(f"{source}!/")):
        return path
    return f"{source}/{path}"


# Detected type -> the MIME type VICS records carry (pictures and videos; `filetype` names
# the rest).
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
         "tiff": "image/tiff", "webp": "image/webp", "heic": "image/heic", "heif": "image/heif",
         "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime",
         "3gp": "video/3gpp", "mkv": "video/x-matroska", "webm": "video/webm",
         "avi": "video/x-msvideo", "m4v": "video/x-m4v", "flv": "video/x-flv",
         "wmv": "video/x-ms-wmv", "mpg": "video/mpeg"}


def mime_type(detected_type: str | None) -> str | None:
    if not detected_type:
        return None
    if detected_type in _MIME:
        return _MIME[detected_type]
    import filetype

    kind = filetype.get_type(ext=detected_type)
    return kind.mime if kind is not None else None


def reviewer_fields(annotation: dict[str, Any] | None) -> dict[str, Any]:
    """The VICS fields a reviewer filled in (tags, note, series, the three flags)."""
    if not annotation:
        return {}
    out: dict[str, Any] = {}
    if annotation.get("series"):
        out["Series"] = annotation["series"]
    for key, field in (("victim_identified", "VictimIdentified"),
                       ("offender_identified", "OffenderIdentified"),
                       ("distributed", "IsDistributed")):
        if annotation.get(key) is not None:
            out[field] = bool(annotation[key])
    if annotation.get("tags"):
        out["Tags"] = "; ".join(annotation["tags"])
    if annotation.get("note"):
        out["Comments"] = annotation["note"]
    return out


def check_peer(store: Any, device_id: int, label: str, categories: Sequence[str]) -> None:
    """Refuse (ExportError) while the exhibit has decisions whose peer check is open."""
    if not categories:
        return
    state = store.peer_state(device_id, list(categories))
    if not state["unchecked"] and not state["disagreements"]:
        return
    parts = []
    if state["unchecked"]:
        parts.append(f"{state['unchecked']} picture(s) categorised"
                     f" {' or '.join(categories)} wait for a second reviewer's check")
    if state["disagreements"]:
        parts.append(f"{state['disagreements']} picture(s) are in a disagreement between two"
                     " reviewers that a lead has not resolved")
    raise ExportError(
        f"cannot export {label} in VICS: {'; '.join(parts)} (peer check required for"
        f" {', '.join(categories)} by config/review.toml [peer_check]). Settle them in the"
        " review pages (Peer checks; a lead resolves disagreements), then export again."
        " Nothing was written.")


def media_record(first: dict[str, Any], files: list[dict[str, Any]],
                 decision: dict[str, Any] | None = None,
                 codes: CategoryCodes | None = None,
                 container_sources: set[str] = frozenset(),
                 annotation: dict[str, Any] | None = None) -> dict[str, Any]:
    codes = codes or CategoryCodes.for_profile("us", {})
    category, source = effective_category(first, decision)
    code = codes.code(category)
    extra = reviewer_fields(annotation)
    return {
        "MediaID": first["content_id"],
        "Category": code,
        "MD5": first["md5"].upper(),
        "SHA1": first["sha1"].upper(),
        "MediaSize": first["size"],
        "IsPrecategorized": source == "list" and code is not None,
        "MimeType": mime_type(first.get("detected_type")),
        **{k: extra[k] for k in MEDIA_FIELDS if k in extra},
        "MediaFiles": [media_file(f, container_sources) for f in files],
    }


def media_file(f: dict[str, Any], container_sources: set[str] = frozenset()) -> dict[str, Any]:
    """One MediaFiles record. A file from a disk image's file system carries that file system's
    own times (Created included) and its Deleted / Unallocated flags."""
    record = {"MD5": f["md5"].upper(), "FileName": f["path"].rsplit("/", 1)[-1],
              "FilePath": file_path(f, container_sources), "Created": None,
              "Written": _iso(f["mtime"]), "Accessed": _iso(f["atime"])}
    if f.get("file_system") is not None:
        record["Created"] = _iso(f.get("created"))
        record["Deleted"] = bool(f.get("deleted"))
        record["Unallocated"] = bool(f.get("unallocated"))
    return record


def write_vics(store: Any, device_label: str, out: TextIO, profile: str,
               categories_config: dict[str, Any],
               config_path: str = "config/categories.toml", shape: str = "case",
               peer_categories: Sequence[str] = ()) -> int:
    """Write the device as one VICS 2.0 case (or hash set); returns how many Media records.

    profile: 'us' or 'uk' (`default_profile` gives the workspace's); categories_config: the
    workspace's config/categories.toml (the UK codes), named by config_path in messages.
    shape: 'case' or 'hashset'. peer_categories: categories that need a confirmed peer check
    (config/review.toml [peer_check]). Every record is built (and every UK code and peer check
    checked) before the first byte is written.
    """
    if shape not in SHAPES:
        raise ExportError(f"shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    codes = CategoryCodes.for_profile(profile, categories_config, config_path)
    dev = store.device(device_label)
    check_peer(store, dev["id"], device_label, peer_categories)
    media = list(_media(store, dev["id"]))
    decisions = store.current_decisions(dev["id"])
    notes = store.annotations_for_case(dev["case_id"])
    chosen = {effective_category(first, decisions.get(first["content_id"]))[0]
              for first, _ in media}
    codes.check({c for c in chosen if c is not None})
    containers = {name for name, kinds in store.source_kinds(dev["id"]).items()
                  if kinds - {"folder"}}
    records = [media_record(first, files, decisions.get(first["content_id"]), codes,
                            containers, notes.get(first["content_id"]))
               for first, files in media]
    case_id = store.vics_case_id(dev["case_id"]) if shape == "case" else None
    entity = "Cases" if shape == "case" else "Media"
    context = VICS_CONTEXT.format(profile=profile.upper(), entity=entity)
    out.write('{"@odata.context": ' + json.dumps(context) + ', "value": [')
    if shape == "case":
        case = {
            "CaseID": case_id,
            "CaseNumber": dev["case_reference"],
            "SourceApplicationName": "triage",
            "SourceApplicationVersion": __version__,
            "TotalMediaFiles": sum(len(files) for _, files in media),
            "TotalPrecategorized": sum(1 for r in records if r["IsPrecategorized"]),
        }
        head = json.dumps(case, ensure_ascii=False)
        out.write(head[:-1] + ', "Media": [')
    for i, rec in enumerate(records):
        out.write((",\n" if i else "\n") + json.dumps(rec, ensure_ascii=False))
    out.write("\n]}]}\n" if shape == "case" else "\n]}\n")
    return len(records)


def write_csv(store: Any, device_label: str, out: TextIO) -> int:
    """One row per file; `category` is the list's category or else the reviewer's decision
    (`category_source` says which; `decided_at`/`decided_by` for a decision). Cells that would
    start a spreadsheet formula are neutralised (`triage.reports.csvout`)."""
    dev = store.device(device_label)
    decisions = store.current_decisions(dev["id"])
    writer = SafeWriter(out)
    writer.header(CSV_FIELDS)
    n = 0
    for row in store.iter_files(dev["id"]):
        if row["content_id"] is None:
            continue
        decision = decisions.get(row["content_id"])
        category, source = effective_category(row, decision)
        by_review = source == "review" and decision is not None
        row = dict(row, hashsets=";".join(sorted({m["hashset"] for m in row["matches"]})),
                   category=category, category_source=source,
                   decided_at=decision["decided_at"] if by_review else None,
                   decided_by=decision["user"] if by_review else None)
        writer.row(["" if row.get(k) is None else row[k] for k in CSV_FIELDS])
        n += 1
    return n


def write_file(path: Path, write: Callable[[TextIO], int]) -> int:
    """`write(f)` into `path` via a scratch file renamed at the end: a reader never finds half
    an export, and a failed export leaves nothing behind."""
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            n = write(f)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
