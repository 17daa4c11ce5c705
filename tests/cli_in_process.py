"""``lupex`` run in the test process (faster than a subprocess), shared by the CLI, fault and resume tests."""

import sys


def cli(capsys, *args) -> tuple[int, str]:
    """``lupex ARGS`` in this process; (exit status, stderr)."""
    from lupex.cli import main

    argv, sys.argv = sys.argv, ["lupex", *map(str, args)]
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
    return code, capsys.readouterr().err


def one_line(err: str) -> bool:
    """The promise for a user error: one line, no traceback."""
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err
