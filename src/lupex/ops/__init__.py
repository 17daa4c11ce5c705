"""Operations rehearsal: the rover's digital twin behind CCSDS telemetry and telecommands on the loopback.

* :mod:`lupex.ops.packets` -- packet layouts (CCSDS 133.0-B-2 Space Packets), encode/decode, reason codes;
* :mod:`lupex.ops.world` -- the site the twin lives on (DEM window, light per cell, havens, Earth range);
* :mod:`lupex.ops.twin` -- the twin stepped under lupex's rover and instrument models, and its rules;
* :mod:`lupex.ops.link` -- UDP on 127.0.0.1 with the light-time delay and Earth visibility; a minimal ground;
* :mod:`lupex.ops.mdb` -- the XTCE mission database made from the packet tables;
* :mod:`lupex.ops.scenarios` -- rehearsal scenarios that end by themselves;
* :mod:`lupex.ops.yamcs` -- Yamcs (AGPL, a separate process) as the optional ground segment;
* :mod:`lupex.ops.console` -- a minimal offline operator console in the browser;
* the ``lupex ops`` CLI lives in :mod:`lupex.cli.ops`.

This package sits at the top with ``mission`` and ``cli``: it imports the
models, no model imports it.
"""
