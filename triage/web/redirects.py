r"""Where a page may send the browser next: same-site relative paths only.

`next=` (after sign-in) and `back=` (after saving settings) come from the query string or a form,
so an attacker can put anything there. Browsers are lenient about what they take as a URL: they
drop tab, CR and LF anywhere in it (so `/\t/evil.example/` becomes `//evil.example/`, another
site), read a backslash as a slash (`/\evil.example`), and a CR/LF in a `Location` header is a
header-injection attempt (Werkzeug refuses it with a 500). So the rule is an allow-list, not a
deny-list: one leading `/`, then printable characters only (no control, format or space
characters of any script, no `\`), no second `/` at the start, no scheme or host once parsed.
Anything else falls back to a fixed page of ours. Non-ASCII letters stay allowed: a device label
may hold them, and Werkzeug percent-encodes them in the `Location` header.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

MAX_LENGTH = 2048  # longer than any path of ours; a bound so a huge value is not echoed back


def same_site_path(value: str | None) -> str | None:
    """`value` if it is a safe relative path on this site (e.g. `/review/D1?known=1`), else None."""
    if not value or len(value) > MAX_LENGTH or not value.startswith("/"):
        return None
    if any(ch == "\\" or unicodedata.category(ch)[0] in "CZ" for ch in value):
        return None  # C: control/format/unassigned, Z: spaces and line/paragraph separators
    if value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def redirect_target(value: str | None, default: str) -> str:
    """The one place every `next`/`back` parameter goes through before a redirect or a form."""
    return same_site_path(value) or default
