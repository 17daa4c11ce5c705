"""Progress steps: the disabled one is a no-op callback; the enabled one counts what it is told and ends each
task at its total, drawn on the console it is given."""

import io

from rich.console import Console

from lupex import progress


def test_disabled_steps_do_nothing():
    with progress.NO_PROGRESS as steps, steps.task("horizons", total=10) as advance:
        advance(3)
        advance()
    assert progress.NO_PROGRESS._progress is None


def test_enabled_steps_count_and_complete():
    buf = io.StringIO()
    steps = progress.Steps(enabled=True, console=Console(file=buf, width=100, force_terminal=False))
    with steps:
        with steps.task("horizons", total=10) as advance:
            advance(3)
            advance()
            (task,) = steps._progress.tasks
            assert task.completed == 4
        assert task.completed == 10          # finished at its total on leaving, even if told less
        with steps.task("light", total=5) as advance:
            advance(5)
    assert [t.description for t in steps._progress.tasks] == ["horizons", "light"]
    assert "horizons" in buf.getvalue() and "10/10" in buf.getvalue()
