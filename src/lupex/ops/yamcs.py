"""Optional Yamcs ground segment: what ``lupex ops --yamcs`` needs, checked before anything starts.

Yamcs (https://yamcs.org, AGPL-3.0) runs as a separate, unmodified Java
process; lupex never links it. It needs a Java runtime (17 or later) and the
Yamcs server jars, which the ``ops`` extra pulls from PyPI.
"""

from __future__ import annotations

import shutil

from lupex.errors import LupexError


class YamcsMissing(LupexError):
    """Java or the Yamcs server jars are not installed."""


def require_yamcs() -> None:
    """Raise :class:`YamcsMissing` with the one install line that fixes it."""
    if shutil.which("java") is None:
        raise YamcsMissing("--yamcs needs a Java 17+ runtime: install it (Debian: apt-get install openjdk-17-jre-headless) "
                           "and pip install 'lupex[ops]'")
    raise YamcsMissing("--yamcs is not wired up in this version: start Yamcs yourself with the XTCE of "
                       "`lupex ops mdb --out lupex.xml` and a UDP data link to the twin's ports (see README, Operations)")
