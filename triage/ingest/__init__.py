"""Ingest: the coordinator that walks evidence, the worker that examines one entry, the executor."""

from triage.ingest.coordinator import IngestOptions, IngestReport, ingest

__all__ = ["IngestOptions", "IngestReport", "ingest"]
