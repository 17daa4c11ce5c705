"""The consoles the commands print to: ``out`` (stdout) and ``err`` (stderr, one-line errors)."""

from __future__ import annotations

import sys

from rich.console import Console

# a terminal sets its own width; a log or a pipe gets 160 columns, not Rich's 80, so the verdict table stays readable
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
