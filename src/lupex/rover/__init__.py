"""The rover as a vehicle: mobility, power, thermal, communication and night survival.

Everything is a small pure function on numpy arrays that takes a
:class:`~lupex.rover.vehicle.RoverParams` tree (every parameter with unit and
source). The light core supplies the time series (sun fraction, sun az/el,
Earth fraction/elevation); the planner and scheduler (not here yet) call these.
"""

from lupex.rover.vehicle import MODES, RoverParams, parameter_table

__all__ = ["MODES", "RoverParams", "parameter_table"]
