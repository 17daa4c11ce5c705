"""``python -m lupex``: the command-line interface."""

from lupex.cli import main

main()
