"""Prospecting: water maps, where to drive and drill next, and scores.

Fused water maps with uncertainty (:mod:`.fusion`), where to drive and drill next
(:mod:`.strategy`, survey geometry in :mod:`.paths`), and scores against the
ground truth (:mod:`.scoring`).
"""

from lupex.prospect import fusion, scoring, strategy

__all__ = ["fusion", "scoring", "strategy"]
