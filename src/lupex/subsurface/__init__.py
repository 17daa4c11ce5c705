"""The ground truth a simulated mission explores: regolith, temperature, ice, rocks.

``profile`` holds the Column/Rock contract the instruments use; ``regolith``
(density, composition), ``thermal`` (1-D heat conduction), ``vapor`` (ice
sublimation), ``ice`` (stability, random fields, rocks), ``polar`` (illumination
-> temperature calibration) and ``ground_truth`` (the gridded truth) build it.
Heavy modules (numba) are imported lazily by the caller.
"""

from lupex.subsurface.profile import Column, Rock, two_layer_column

__all__ = ["Column", "Rock", "two_layer_column"]
