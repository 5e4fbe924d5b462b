"""Reports: the device report, the backlog report, VICS/CSV export and the charts they draw."""
