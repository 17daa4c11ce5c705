"""The one error family users can cause.

Every error a user can trigger (a bad file, a bad CRS, NaN holes, a time
outside the ephemeris, an impossible configuration) is raised as a
:class:`LupexError` whose message says what to fix. The CLI prints the message
and exits with status 2, without a traceback.
"""


class LupexError(Exception):
    """A problem with the user's input, with a message that says what to fix."""


class ConfigError(LupexError):
    """A configuration file or option is wrong (unknown key, bad value)."""


class InputError(LupexError):
    """An input file (DEM, table) is missing, corrupt or unusable."""


class EphemerisError(LupexError):
    """A time is outside the SPICE kernels' coverage or cannot be parsed."""
