"""The `triage` program: Ctrl-C and SIGTERM are handled before anything else is imported.

Why a module of its own: importing the commands (numpy, onnxruntime, Pillow) takes about a
second, and a Ctrl-C in that second used to print a traceback from deep inside an import.
"""

from __future__ import annotations

import sys


def main() -> None:
    from triage import interrupts

    interrupts.install()
    try:
        from triage.cli.main import cli
    except KeyboardInterrupt:
        print(interrupts.MESSAGE, file=sys.stderr)
        sys.exit(interrupts.EXIT_STATUS)
    cli()


if __name__ == "__main__":
    main()
