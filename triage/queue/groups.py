"""Groups of near-identical items: the union of pairwise matches (union-find).

Pictures are grouped by PDQ/pHash pairs (`triage.queue.build.clusters`), videos by the vPDQ
rule (`triage.queue.video.video_groups`); both ask the same questions of one structure.
"""

from __future__ import annotations


class Groups:
    """`n` items, each alone until joined; joined items share the lowest index as their root,
    so groups come out in the order of their first member."""

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving
            i = parent[i]
        return i

    def same(self, a: int, b: int) -> bool:
        return self.find(a) == self.find(b)

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        """Every item in exactly one group, members ascending."""
        out: dict[int, list[int]] = {}
        for i in range(len(self._parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())
