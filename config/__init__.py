"""Default lab policy files; shipped inside the package as `triage.defaults` (see pyproject)."""
