from triage.cli.entry import main

main()
