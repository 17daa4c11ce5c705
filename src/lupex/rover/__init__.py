"""The rover: the vehicle (mobility, power, thermal, communication, night survival) and its plans.

The vehicle models are small pure functions on numpy arrays that take a
:class:`~lupex.rover.vehicle.RoverParams` tree (every parameter with unit and
source). The light core supplies the time series (sun fraction, sun az/el,
Earth fraction/elevation). The planner (``planner``, ``search``, ``plan_result``),
the havens (``havens``) and the six-month scheduler (``scheduler``, ``stop_rule``,
``retreat``, ``schedule_check``) call these.

Time-series convention shared by power, thermal, comms and survival: values
are given at the n grid times; each holds over the interval that starts there
(n-1 intervals); states (SOC, temperatures) are reported at the n times.
"""

from lupex.rover.comms import CommWindow, max_data_rate_bps, windows
from lupex.rover.survival import DarkPeriod, SurvivalResult, survive
from lupex.rover.vehicle import MODES, RoverParams, parameter_table

__all__ = [
    "MODES", "RoverParams", "parameter_table", "survive", "SurvivalResult", "DarkPeriod",
    "windows", "CommWindow", "max_data_rate_bps",
]
