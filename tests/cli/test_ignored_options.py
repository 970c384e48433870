"""systemctl options that scripts pass and that mean nothing to sysvisor are taken, not
refused ("unrecognized option" broke `systemctl --no-ask-password start x` in scripts);
their values are checked as systemctl 257 checks them (recorded with the oracle:
"Failed to parse boolean argument to --legend: maybe.", "Failed to parse
--check-inhibitors= argument: bogus")."""

from __future__ import annotations

import pytest

from sysvisor.cli.main import main


@pytest.mark.parametrize("argv", [
    ["--no-ask-password", "--no-wall", "--no-warn", "is-active"],
    ["--check-inhibitors=no", "is-active"],
    ["--check-inhibitors", "auto", "is-active"],
    ["--legend=no", "is-active"],
])
def test_taken_and_ignored(argv, capsys):
    # (no unit named: the verb's own "Too few arguments." shows the options were taken)
    assert main(argv) == 1
    assert capsys.readouterr().err == "Too few arguments.\n"


@pytest.mark.parametrize(("argv", "error"), [
    (["--legend=maybe", "list-units"], "Failed to parse boolean argument to --legend: maybe.\n"),
    (["--check-inhibitors=bogus", "is-active", "x"], "Failed to parse --check-inhibitors= argument: bogus\n"),
])
def test_their_values_are_checked(argv, error, capsys):
    assert main(argv) == 1
    assert capsys.readouterr().err == error
