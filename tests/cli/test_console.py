"""The CLI's two consoles: ``out`` prints to stdout at 160 columns when stdout is not a terminal (a log, a pipe,
this test), ``err`` prints to stderr."""

from lupex.cli import _console


def test_out_goes_to_stdout_and_err_to_stderr(capsys):
    _console.out.print("to the output", highlight=False)
    _console.err.print("to the errors", highlight=False)
    got = capsys.readouterr()
    assert got.out == "to the output\n" and got.err == "to the errors\n"


def test_out_is_160_columns_off_a_terminal():
    assert _console.out.width == 160
    long = "x" * 150
    with _console.out.capture() as cap:
        _console.out.print(long, highlight=False)
    assert cap.get() == long + "\n"  # not wrapped at rich's default 80
