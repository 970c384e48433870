"""Differential: the CLI's answers to bad input against what systemctl 257 answered for the
same calls (tests/data/oracle/cli/bad-input-257.json, recorded with tools/systemd-oracle from
bad-input.scenario.json): the same exit status and the same message, "systemctl" read as
"sysvisor" (and `journalctl` as `sysvisor logs`, journal-bad-input-257.json; unit names
and refused jobs, bad-names-257.json). Among them verbs that take no arguments (`poweroff now` must power nothing off),
signals systemd does not know (`kill -s 99` was an internal error), unknown unit types,
reset-failed of a unit not loaded, and option errors in getopt's words with exit status 1.
# issue 6 ("exit codes exactly as systemctl"); systemd 257: systemctl.c verbs[], parse_argv()"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "data" / "oracle" / "cli"
STEPS = [s for name in ("bad-input-257.json", "bad-names-257.json")
         for s in json.loads((ORACLE / name).read_text())["scenarios"][0]["steps"] if s["do"] == "systemctl"]
# where sysvisor answers otherwise, on purpose: systemd appends ".service" to any name that is
# not valid, also to one already ending in a unit type ("@.service" → "@.service.service");
# sysvisor keeps such a suffix, so that mangling a name twice changes nothing
DEVIATIONS = {
    ("start", "@.service"): (1, "Failed to start @.service: Unit name @.service is not valid.\n"
                                "See system logs and 'sysvisor status @.service' for details.\n"),
}
# `exec` steps record no argv: it is the scenario's
JOURNAL_STEPS = [(asked["argv"][2:], answered) for asked, answered in zip(
    json.loads((ORACLE / "journal-bad-input.scenario.json").read_text()),
    json.loads((ORACLE / "journal-bad-input-257.json").read_text())["scenarios"][0]["steps"]) if asked["do"] == "exec"]


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    from harness import Sysvisor, write_units

    tmp = tmp_path_factory.mktemp("bad-input")
    m = Sysvisor(tmp, write_units(tmp / "units", {"a.service": (ORACLE / "a.service").read_text()}))
    m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
    assert m.cli("start", "a.service").returncode == 0
    yield m
    m.stop()


@pytest.mark.parametrize("step", STEPS, ids=[" ".join(s["argv"][2:]) for s in STEPS])
def test_bad_input_is_answered_as_systemctl_answers_it(manager, step):
    args = step["argv"][2:]  # without "systemctl --no-pager"
    # from / as in the container (`enable ../../etc/passwd` names the file from there)
    got = subprocess.run([sys.executable, "-m", "sysvisor", "--no-pager", *args], env=manager.env, cwd="/",
                         capture_output=True, text=True, timeout=30)
    assert "Traceback" not in got.stderr
    want = DEVIATIONS.get(tuple(args), (step["rc"], step["stderr"].replace("systemctl", "sysvisor")))
    assert (got.returncode, got.stderr) == want
    if step["stdout"] in ("running\n", "active\n"):  # is-failed without units; the unit still runs
        assert got.stdout == step["stdout"]
    assert manager.cli("is-active", "a.service").returncode == 0  # nothing was stopped or powered off


@pytest.mark.parametrize(("args", "step"), JOURNAL_STEPS, ids=[" ".join(a) for a, _s in JOURNAL_STEPS])
def test_bad_journal_input_is_answered_as_journalctl_answers_it(manager, args, step):
    got = manager.cli("logs", "--no-pager", *args)  # (args: without "journalctl --no-pager")
    assert "Traceback" not in got.stderr
    assert (got.returncode, got.stderr) == (step["rc"], step["stderr"].replace("journalctl", "sysvisor logs"))


@pytest.mark.parametrize(("units", "why"), [("missing", "no such directory"), ("a-file", "not a directory")])
def test_up_refuses_a_units_folder_that_is_not_one(tmp_path, units, why):
    """A typo in --units used to start a manager with no units at all."""
    (tmp_path / "a-file").write_text("")
    target = tmp_path / units
    got = subprocess.run([sys.executable, "-m", "sysvisor", "up", "--units", str(target), "--runtime-dir", str(tmp_path / "run"),
                          "--state-dir", str(tmp_path / "state")], env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                         capture_output=True, text=True, timeout=30)
    assert got.returncode == 2 and got.stderr.endswith(f"sysvisor up: error: --units {target}: {why}\n"), got.stderr
    assert not (tmp_path / "run").exists()  # nothing was started


def test_show_of_a_unit_that_does_not_exist_as_systemctl(manager):
    """It was a traceback (LoadError was no (bus error, message) pair). systemctl prints its
    ~260 defaults for the full `show`; the properties it shares with sysvisor read alike.
    (tests/data/oracle/cli/show-not-found-257.json)"""
    steps = json.loads((ORACLE / "show-not-found-257.json").read_text())["scenarios"][0]["steps"]
    full, chosen = steps
    got = manager.cli("show", "nonexist.service")
    assert got.returncode == 0 and got.stderr == ""
    theirs = dict(line.split("=", 1) for line in full["stdout"].splitlines() if line)
    ours = dict(line.split("=", 1) for line in got.stdout.splitlines() if line)
    assert ours.items() <= theirs.items()
    got = manager.cli("show", "nonexist.service", "-p", "LoadState,LoadError,ActiveState,SubState,Id,Names,Description")
    assert (got.returncode, got.stdout) == (chosen["rc"], chosen["stdout"])
