"""Where the tests find the repository and the shared data, whatever folder a test file sits in.

ROOT is the repository (the folder holding ``src/`` and ``tests/``); SHARED is the ``shared/`` folder beside it
(real LOLA data for the tests: ``SHARED / "data"``); a test that needs it skips when it is absent.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SHARED = ROOT.parent / "shared"
