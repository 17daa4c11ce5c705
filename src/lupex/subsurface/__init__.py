"""The ground truth a simulated mission explores: regolith, temperature, ice, rocks."""

from lupex.subsurface.profile import Column, Rock

__all__ = ["Column", "Rock"]
