"""The manager's objective: signals and emergency actions, and when the host may be rebooted.
# spec: issue 5 ("container PID 1"); systemd(1) "Signals" (257)"""

from __future__ import annotations

import signal

import pytest

from sysvisor.core.types import EmergencyAction
from sysvisor.daemon.objective import (
    IN_PLACE, MANAGER_SIGNALS, Objective, host_reboot_command, in_container, meaning, objective_of, signal_name,
)

RT = signal.SIGRTMIN


@pytest.mark.parametrize("signum, objective, force", [
    (signal.SIGTERM, Objective.EXIT, False),
    (signal.SIGINT, Objective.EXIT, False),
    (RT + 3, Objective.HALT, False),
    (RT + 4, Objective.POWEROFF, False),
    (RT + 5, Objective.REBOOT, False),
    (RT + 6, Objective.KEXEC, False),
    (RT + 7, Objective.SOFT_REBOOT, False),
    (RT + 13, Objective.HALT, True),
    (RT + 14, Objective.POWEROFF, True),
    (RT + 15, Objective.REBOOT, True),
    (RT + 16, Objective.KEXEC, True),
    (RT + 17, Objective.SOFT_REBOOT, True),
    (RT + 24, Objective.EXIT, True),
])
def test_ending_signals(signum, objective, force):
    m = meaning(signum)
    assert (m.kind, m.objective, m.force) == ("end", objective, force)
    assert signum in MANAGER_SIGNALS


@pytest.mark.parametrize("signum, kind", [
    (signal.SIGHUP, "reload"), (signal.SIGUSR2, "dump"), (signal.SIGUSR1, "ignore"), (RT + 25, "reexec"),
    (RT + 22, "log-level"), (RT + 23, "log-level"), (RT + 0, "ignore"), (RT + 1, "ignore"), (RT + 2, "ignore"),
    (RT + 20, "ignore"), (RT + 21, "ignore"),
])
def test_other_signals(signum, kind):
    assert meaning(signum).kind == kind
    assert signum in MANAGER_SIGNALS


def test_sigwinch_and_sigpwr_start_their_targets_and_are_never_forwarded():
    assert meaning(signal.SIGWINCH).target == "kbrequest.target"
    assert meaning(signal.SIGPWR).target == "sigpwr.target"


def test_every_handled_signal_has_a_meaning():
    for s in MANAGER_SIGNALS:
        if s != signal.SIGCHLD:
            assert meaning(s).kind in ("end", "reload", "reexec", "start", "dump", "log-level", "ignore")


def test_signal_names_are_systemds():
    assert signal_name(RT + 3) == "SIGRTMIN+3" and signal_name(RT) == "SIGRTMIN" and signal_name(signal.SIGTERM) == "SIGTERM"


def test_every_emergency_action_but_none_has_an_objective():
    for action in EmergencyAction:
        got = objective_of(action)
        if action is EmergencyAction.NONE:
            assert got is None
            continue
        objective, force = got
        assert action.value.startswith(objective.value)
        assert force == (action.value.endswith("-force") or action.value.endswith("-immediate"))
    assert {o for o in Objective if o in IN_PLACE} == {Objective.REBOOT, Objective.KEXEC, Objective.SOFT_REBOOT}


@pytest.mark.parametrize("pid1, container, allowed", [
    (True, True, True), (False, False, True), (True, False, False), (False, True, False),
])
def test_the_host_is_never_rebooted_unless_pid1_of_a_real_machine_and_allowed(pid1, container, allowed):
    for o in Objective:
        assert host_reboot_command(o, pid1=pid1, container=container, allowed=allowed) is None


def test_pid1_of_a_real_machine_with_permission_reboots_but_never_soft_reboots():
    cmd = {o: host_reboot_command(o, pid1=True, container=False, allowed=True) for o in Objective}
    assert cmd[Objective.REBOOT] == 0x01234567 and cmd[Objective.POWEROFF] == 0x4321FEDC
    assert cmd[Objective.SOFT_REBOOT] is None and cmd[Objective.EXIT] is None


def _facts(env=None, files=(), pid=0xEFFFFFFC, user=0xEFFFFFFD):
    return dict(environ=env or {}, exists=lambda p: p in files, ns_inode=lambda n: {"pid": pid, "user": user}[n])


def test_container_detection():
    assert not in_container(**_facts())
    assert in_container(**_facts(env={"container": "docker"}))
    assert in_container(**_facts(files=("/.dockerenv",)))
    assert in_container(**_facts(files=("/run/.containerenv",)))
    assert in_container(**_facts(pid=4026532400))  # unshare --pid
    assert in_container(**_facts(user=4026532401))
    assert in_container(**_facts(pid=None))  # unknown: never reboot on a guess


