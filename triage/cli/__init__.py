"""Command-line interface: one module per command group, all on the helpers in `base`."""
