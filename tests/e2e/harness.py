"""A real `sysvisor up` in a temporary directory, driven through the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Sysvisor:
    """A running `sysvisor up` plus a CLI bound to its socket."""

    def __init__(self, tmp: Path, units: Path, console: int | None = None) -> None:
        """`console`: the manager's stdout (a pipe the test reads itself) instead of a file."""
        self.env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET=str(tmp / "run" / "control"))
        self.state_dir = tmp / "state"
        self.log = open(tmp / "manager.log", "w+") if console is None else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sysvisor", "up", "--units", str(units), "--runtime-dir", str(tmp / "run"), "--state-dir", str(self.state_dir)],
            env=self.env,
            stdout=self.log if console is None else console,
            stderr=subprocess.STDOUT,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=self.env, capture_output=True, text=True, timeout=30)

    def prop(self, unit: str, name: str) -> str:
        return self.cli("show", unit, "-p", name, "--value").stdout.strip()

    def wait_for(self, what: str, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"manager exited with {self.proc.returncode} while waiting for {what}:\n{self.output()[-5000:]}")
            value = predicate()
            if value:
                return value
            time.sleep(0.05)  # polling interval of a bounded wait, not a fixed delay
        pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{self.output()[-5000:]}")

    def shows(self, *texts: str) -> str:
        return console_shows(self.wait_for, self.output, texts)

    def manager_pid(self) -> int | None:
        """The manager: the keeper's (`sysvisor up`'s) child started with --keeper-fd."""
        return manager_of(self.proc.pid)

    def output(self) -> str:
        """The manager's whole console output (tests count lines in it: never cut it)."""
        if self.log is None:
            return "(the console is a pipe the test reads)"
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("manager did not exit within 30 s of SIGTERM")
        return self.proc.returncode


def console_shows(wait, output, texts) -> str:
    """The console once it holds every one of `texts`, waited for with `wait(what,
    predicate)`: the relay's console follower prints the manager's messages a moment after
    they are logged."""
    def complete() -> str | None:
        text = output()
        return text if all(t in text for t in texts) else None
    return wait(f"{texts} on the console", complete)


def manager_of(keeper: int) -> int | None:
    """The manager process under a keeper, None while there is none."""
    return child_running(keeper, b"--keeper-fd")


def child_running(parent: int, marker: bytes) -> int | None:
    """The child of `parent` whose command line holds `marker`, None while there is none."""
    for pid in children(parent):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker in f.read():
                    return pid
        except (FileNotFoundError, ProcessLookupError):  # it just exited
            continue
    return None


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def proc_state(pid: int) -> str:
    """The process's state letter from /proc/PID/stat ("Z" zombie …), "gone" if none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (the manager reaps its children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def crash_loop_units(logs: Path, names: list[str], crashes: int, *, say: bool = False) -> dict[str, str]:
    """Units NAME.service that crash `crashes` times (Restart=always, RestartSec=0, no start
    limit), then stay up; every start appends the shell's PID to `logs`/NAME.log, and with
    `say` also prints `run PID` on stdout (`$$` is a literal `$` in a unit file)."""
    script = ("n=$$(cat {log} 2>/dev/null | wc -l); echo $$$$ >> {log}; " + ("echo run $$$$; " if say else "")
              + "[ $$n -ge {crashes} ] && exec sleep 600; exit 1")
    return {
        f"{name}.service": (
            "[Unit]\nStartLimitIntervalSec=0\n[Service]\n"
            f"ExecStart=/bin/sh -c '{script.format(log=logs / f'{name}.log', crashes=crashes)}'\n"
            "Restart=always\nRestartSec=0\n[Install]\nWantedBy=multi-user.target\n"
        )
        for name in names
    }


def through_crashes(logs: Path, names: list[str], crashes: int) -> bool:
    """Every unit of `crash_loop_units` has started `crashes` + 1 times."""
    paths = [logs / f"{name}.log" for name in names]
    return all(p.exists() and len(p.read_text().split()) == crashes + 1 for p in paths)


def write_units(directory: Path, units: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        (directory / name).write_text(text)
    return directory
