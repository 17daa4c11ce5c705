"""``python -m lupex.cli``, as ``python -m lupex`` and the ``lupex`` script."""

from lupex.cli import main

main()
