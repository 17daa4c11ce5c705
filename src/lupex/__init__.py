"""lupex: a lunar south-pole water-prospecting mission simulator (LUPEX kind).

The data flows one way: site -> landing -> surface campaign -> samples -> report.
See README.md for the tour and docs/VALIDATION.md for what each model is
measured against.
"""

from lupex.errors import LupexError

__version__ = "0.1.0"

__all__ = ["LupexError", "__version__"]
