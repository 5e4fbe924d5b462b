from triage.cli.main import cli

cli()
