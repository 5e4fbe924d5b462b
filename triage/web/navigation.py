"""The grid's filters, sort, search and page, read from the query string.

Every value is checked against what it may be (a sort name, a date, a known match kind) and
anything else is dropped, so a hand-made URL cannot reach the SQL with an unexpected value
(the store binds every value as a parameter as well). The same arguments travel with the item
view's links, so next/previous there follow the order and filters the reviewer chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import request

from triage.store.browse import DATE, FLAGS, MATCH_KINDS, MAX_QUERY, SCOPES, SORTS, Browse

# The query-string names, in the order links write them.
ARGS = ("scope", "folder", "camera", "from", "to", "category", "match", "flag", "kind", "tag",
        "q", "sort", "order")


def _text(name: str, limit: int = MAX_QUERY) -> str:
    value = request.args.get(name, "")
    value = "".join(ch for ch in value if ch.isprintable()).strip()
    return value[:limit]


def browse_from_request(categories: set[str]) -> Browse:
    """The reviewer's filters; `categories`: what the category filter may name."""
    scope = request.args.get("scope", "queue")
    sort = request.args.get("sort", "priority")
    order = request.args.get("order", "")
    date_from, date_to = _text("from", 10), _text("to", 10)
    category = request.args.get("category", "")
    match = request.args.get("match", "")
    flag = request.args.get("flag", "")
    kind = request.args.get("kind", "")
    sort = sort if sort in SORTS else "priority"
    # Priority: highest first; path A to Z; date and size: newest / largest first.
    default_desc = sort in ("priority", "date", "size")
    return Browse(
        scope=scope if scope in SCOPES else "queue",
        folder=_text("folder").strip("/"),
        camera=_text("camera"),
        date_from=date_from if DATE.match(date_from) else "",
        date_to=date_to if DATE.match(date_to) else "",
        category=category if category in categories else "",
        match=match if match in MATCH_KINDS else "",
        flag=flag if flag in FLAGS else "",
        kind=kind if kind in ("image", "video") else "",
        tag=_text("tag", 64),
        q=_text("q"),
        sort=sort,
        desc={"desc": True, "asc": False}.get(order, default_desc),
    )


def browse_args(b: Browse) -> dict[str, str]:
    """The query-string form of a browse, without defaults (short, shareable URLs)."""
    out = {"scope": b.scope if b.scope != "queue" else "", "folder": b.folder,
           "camera": b.camera, "from": b.date_from, "to": b.date_to, "category": b.category,
           "match": b.match, "flag": b.flag, "kind": b.kind, "tag": b.tag, "q": b.q,
           "sort": b.sort if b.sort != "priority" else ""}
    default_desc = b.sort in ("priority", "date", "size")
    if b.desc != default_desc:
        out["order"] = "desc" if b.desc else "asc"
    return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class Page:
    number: int      # 1-based
    size: int
    total: int       # entries the filters leave

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_shown(self) -> int:
        return 0 if self.total == 0 else self.offset + 1

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.size)


def page_from_request(total: int, size: int) -> Page:
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    pages = max(1, math.ceil(total / size))
    return Page(min(max(1, number), pages), size, total)


def page_of(position: int, size: int) -> int:
    """The grid page (1-based) that shows the entry at 1-based `position`."""
    return max(1, (position - 1) // size + 1)


def describe(b: Browse, labels: dict[str, str]) -> list[str]:
    """The active filters in words, for the page (and a screen reader) to say what is shown."""
    out = []
    if b.folder:
        out.append(f"folder {b.folder}/")
    if b.camera:
        out.append(f"camera {b.camera}")
    if b.date_from or b.date_to:
        out.append(f"date {b.date_from or '…'} to {b.date_to or '…'}")
    if b.category:
        what = "decision" if b.scope == "decided" else "list candidate"
        out.append(f"{what} {labels.get(b.category, b.category)}")
    if b.match:
        out.append({"near": "near-match candidates (PDQ)",
                    "similar": "looks like known material",
                    "none": "no list similarity"}[b.match])
    if b.flag:
        out.append(b.flag)
    if b.kind:
        out.append(f"{b.kind}s")
    if b.tag:
        out.append(f"tag {b.tag}")
    if b.q:
        out.append(f"search “{b.q}”")
    return out


def nav_state(b: Browse) -> dict[str, Any]:
    return {"browse": b, "nav_args": browse_args(b)}
