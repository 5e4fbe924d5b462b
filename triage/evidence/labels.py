r"""Labels: the one spelling of where an item sits in the evidence, unique and reversible.

A label is what `triage files` shows as `path` and what the store keys a row by: `DCIM/a.jpg` in
a folder, `dump.zip!/DCIM/a.jpg` inside an archive, `dump.zip!/x/inner.tar!/b.jpg` deeper,
`photo.jpg!/hidden.txt` inside an archive appended to a picture. Two different items must never
share a label (the second row would overwrite the first: an item silently lost), and a label must
lead back to exactly one item.

The rule. Every name (a folder entry's name, an archive member's stored name) is taken as bytes
(text names are UTF-8; bytes that are not valid UTF-8 are kept as they are) and written as:

- characters as themselves, so ordinary names stay readable (spaces, accents, any script, emoji)
  and a JSON consumer gets the exact name: control and direction-changing characters are kept
  too, and are made inert where a label is shown to people (`triage.cli.base.printable` for the
  terminal, HTML escaping on the web), not here;
- `\\` for `\`: the backslash is the escape character;
- `\xNN` for each byte that is not valid UTF-8, so a label is text that can be stored and
  shown. `\xff.jpg` is therefore the file whose name is the byte 0xFF then `.jpg`, and a file
  literally named `\xff.jpg` is shown as `\\xff.jpg`;
- `\x21` for a `!` that ends a name component, so `!/` appears in a label only where a container
  ends and its members begin (a folder named `x.zip!` is `x.zip\x21/...`, never `x.zip!/...`);
- `\x23` for a `#` followed only by digits to the end of a component, so a trailing `#N` is only
  ever the duplicate marker: a container may store one name several times (zip allows it), and the
  second and later members under one name are labelled `a.jpg#2`, `a.jpg#3` in stored order
  (a member literally named `a.jpg#2` is `a.jpg\x232`).

Components are joined by `/` (an archive member's stored name keeps its own `/`s, an absolute
name its leading one); a container's members follow the container's label after `!/`. `parse()`
inverts all of it, so a label names one item and the item can be found from it.
"""

from __future__ import annotations

import re

_DUPLICATE = re.compile(r"#([0-9]+)$")


def name_bytes(name: str | bytes) -> bytes:
    """A name as the bytes it was stored with (OS and tar names carry undecodable bytes as
    surrogate escapes)."""
    if isinstance(name, bytes):
        return name
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return name.encode("utf-8", "surrogatepass")


def escape_component(name: str | bytes) -> str:
    """One name component (no `/` inside) written by the rule above."""
    out: list[str] = []
    for ch in name_bytes(name).decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    text = "".join(out)
    if text.endswith("!"):
        text = text[:-1] + "\\x21"
    m = _DUPLICATE.search(text)
    if m:
        text = text[: m.start()] + "\\x23" + m.group(1)
    return text


def escape_path(name: str | bytes) -> str:
    """A stored member name (components separated by `/`) written by the rule above."""
    raw = name_bytes(name)
    return "/".join(escape_component(part) for part in raw.split(b"/"))


def join(container: str, member: str) -> str:
    """The label of `member` (already escaped) inside the container labelled `container`
    (`""` for the root of a folder source, whose entries are plain relative paths)."""
    if not container:
        return member
    return f"{container}!/{member}"


class Labeller:
    """Labels for the members of one container, in the order the container stores them."""

    def __init__(self, container: str) -> None:
        self.container = container
        self._seen: dict[str, int] = {}

    def __call__(self, stored_name: str | bytes) -> str:
        label = join(self.container, escape_path(stored_name))
        n = self._seen.get(label, 0) + 1
        self._seen[label] = n
        return label if n == 1 else f"{label}#{n}"


def unescape(text: str) -> bytes:
    """The bytes an escaped component or path stands for."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text[i + 1 : i + 2] == "\\":
            out += b"\\"
            i += 2
        elif ch == "\\" and text[i + 1 : i + 2] == "x" and len(text) >= i + 4:
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out += ch.encode("utf-8")
            i += 1
    return bytes(out)


def parse(label: str) -> list[tuple[bytes, int]]:
    """The chain of (stored name, occurrence) from the source's root down to the item:
    `dump.zip!/a.jpg#2` -> [(b"dump.zip", 1), (b"a.jpg", 2)] (the second member stored as
    `a.jpg` in the archive `dump.zip`). A folder entry's name is its relative path."""
    chain = []
    for segment in label.split("!/"):
        occurrence = 1
        m = _DUPLICATE.search(segment)
        if m:
            occurrence = int(m.group(1))
            segment = segment[: m.start()]
        chain.append((unescape(segment), occurrence))
    return chain
