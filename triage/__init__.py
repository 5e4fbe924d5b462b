"""triage: hash, match, prioritise and review seized-device media with reviewer welfare built in."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("triage")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
