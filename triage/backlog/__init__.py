"""Backlog: the device register and the ranking of devices waiting for examination."""
