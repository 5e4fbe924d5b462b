"""Registries of what a lab can add: evidence sources, media handlers, signals, matchers, list
formats and notifiers.

Why one mechanism, entry points: triage's own built-ins are declared in its `pyproject.toml`
exactly as a lab's package declares its additions (as datasette's and pluggy's plugins are), so
the core has no list of built-ins to edit and a lab's module is found the same way:

    [project.entry-points."triage.signals"]
    crc32 = "lab_triage.crc:CRC32"

Each registry loads its entry points once, on first use. Triage's own distribution comes first,
so a plugin can add names but never silently replace a built-in: a second object under a name
already taken is refused and reported. A plugin that fails to import (a missing optional
library, a syntax error) disables that one plugin, is reported by `triage plugins`, and never
stops the tool. `register()` adds an object in-process (an embedding application, a test).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

OWN_DISTRIBUTION = "triage"


@dataclass(frozen=True)
class Plugin(Generic[T]):
    name: str
    obj: T
    origin: str  # the distribution that declared it, or "code" for register()
    target: str  # "module:attribute"

    @property
    def builtin(self) -> bool:
        return self.origin == OWN_DISTRIBUTION


@dataclass(frozen=True)
class PluginProblem:
    name: str
    origin: str
    target: str
    problem: str


class Registry(Generic[T]):
    """Named objects of one kind, from the entry-point group `group`.

    `required` names attributes every object must have (checked at load, so a broken plugin is
    reported by name instead of failing later in the middle of a run). Objects are ordered by
    their `priority` (or module-level `PRIORITY`) attribute (lower first, default 100), then by name: detection order for
    list formats and evidence sources, where the most specific signature must be tried first.
    """

    def __init__(self, group: str, what: str, required: tuple[str, ...] = ()) -> None:
        self.group = group
        self.what = what
        self.required = required
        self._plugins: dict[str, Plugin[T]] | None = None
        self._problems: list[PluginProblem] = []
        self._in_process: set[str] = set()  # names added by register(), whatever their origin
        REGISTRIES[group] = self

    # -- loading ------------------------------------------------------------------------
    def _load(self) -> dict[str, Plugin[T]]:
        if self._plugins is not None:
            return self._plugins
        self._plugins = {}
        found = sorted(entry_points(group=self.group),
                       key=lambda ep: (_dist(ep) != OWN_DISTRIBUTION, _dist(ep), ep.name))
        for ep in found:
            dist = _dist(ep)
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop triage
                self._problems.append(PluginProblem(ep.name, dist, ep.value,
                                                    f"cannot load: {type(exc).__name__}: {exc}"))
                continue
            self._add(ep.name, obj, dist, ep.value)
        return self._plugins

    def _add(self, name: str, obj: T, origin: str, target: str) -> None:
        assert self._plugins is not None
        missing = [a for a in self.required if not hasattr(obj, a)]
        if missing:
            self._problems.append(PluginProblem(name, origin, target,
                                                f"not a {self.what}: lacks {', '.join(missing)}"))
            return
        if name in self._plugins:
            first = self._plugins[name]
            self._problems.append(PluginProblem(
                name, origin, target, f"name {name!r} is already taken by {first.target}"
                f" ({first.origin}); refused"))
            return
        self._plugins[name] = Plugin(name, obj, origin, target)

    def register(self, name: str, obj: T, origin: str = "code") -> T:
        """Add `obj` under `name` in this process (refused, and reported, if the name is taken)."""
        self._load()
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', name)}"
        before = len(self._problems)
        self._add(name, obj, origin, target)
        if len(self._problems) > before:
            raise ValueError(self._problems[-1].problem)
        self._in_process.add(name)
        return obj

    def unregister(self, name: str) -> None:
        """Drop a name added with `register()` (tests and embedding applications)."""
        plugins = self._load()
        if name in plugins and name in self._in_process:
            # register(origin=...) may name a lab's package: it is still in-process, and must
            # go (a test's stand-in for a built-in kind would otherwise outlive the test).
            del plugins[name]
            self._in_process.discard(name)

    # -- reading ------------------------------------------------------------------------
    def plugins(self) -> list[Plugin[T]]:
        return sorted(self._load().values(), key=lambda p: (_priority(p.obj), p.name))

    def __iter__(self) -> Iterator[T]:
        return (p.obj for p in self.plugins())

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def names(self) -> list[str]:
        return [p.name for p in self.plugins()]

    def items(self) -> list[tuple[str, T]]:
        return [(p.name, p.obj) for p in self.plugins()]

    def get(self, name: str) -> T:
        plugins = self._load()
        if name not in plugins:
            known = ", ".join(self.names()) or "none"
            raise KeyError(f"no {self.what} named {name!r} (loaded: {known})")
        return plugins[name].obj

    def problems(self) -> list[PluginProblem]:
        self._load()
        return list(self._problems)

    def describe(self) -> list[dict[str, Any]]:
        """What is loaded, and what failed to load, for `triage plugins`."""
        rows: list[dict[str, Any]] = [
            {"registry": self.group, "name": p.name, "origin": p.origin, "target": p.target,
             "description": _first_line(p.obj), "problem": None} for p in self.plugins()]
        rows += [{"registry": self.group, "name": x.name, "origin": x.origin,
                  "target": x.target, "description": "", "problem": x.problem}
                 for x in self.problems()]
        return rows


REGISTRIES: dict[str, Registry[Any]] = {}


def all_registries() -> list[Registry[Any]]:
    """Every registry, after importing the modules that define them (so each is listed)."""
    import importlib

    for module in _REGISTRY_MODULES:
        importlib.import_module(module)
    return [REGISTRIES[k] for k in sorted(REGISTRIES)]


# The modules that create a registry at import time, in pipeline order.
_REGISTRY_MODULES = (
    "triage.evidence",
    "triage.media",
    "triage.signals",
    "triage.match",
    "triage.match.lists",
    "triage.welfare.notify",
)


def _priority(obj: Any) -> int:
    return int(getattr(obj, "priority", getattr(obj, "PRIORITY", 100)))


def _dist(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return str(dist.name) if dist is not None else "?"


def _first_line(obj: Any) -> str:
    text = getattr(obj, "description", None) or getattr(obj, "DESCRIPTION", None) \
        or (obj.__doc__ if isinstance(obj, type) or callable(obj) else None) or ""
    return str(text).strip().splitlines()[0] if str(text).strip() else ""
