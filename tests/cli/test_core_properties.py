"""`unit_properties()` gives systemd 257's values for the units recorded by the oracle.

The Unit objects are written by hand from tests/data/golden/oracle/units/*.service (the parser
is another module's job); every configuration property sysvisor knows must equal what
systemd's `show` printed for the same file.
"""

from __future__ import annotations

import pytest
from render_snapshot import load_oracle, parse_show

from sysvisor.core.properties import unit_properties
from sysvisor.core.types import LoadState, ServiceType
from sysvisor.core.units import ExecCommand, ServiceSection, Unit, UnitSection
from sysvisor.protocol.properties import format_property

ORACLE = load_oracle()
ETC = "/etc/systemd/system"

# Properties decided by the unit file alone (no runtime, no implicit dependencies).
CONFIG = """
Type Restart RestartMode NotifyAccess RestartUSec RestartSteps RestartMaxDelayUSec
TimeoutStartUSec TimeoutStopUSec TimeoutAbortUSec TimeoutStartFailureMode TimeoutStopFailureMode
RuntimeMaxUSec WatchdogUSec RemainAfterExit GuessMainPID PIDFile KillMode KillSignal
RestartKillSignal FinalKillSignal SendSIGKILL SendSIGHUP WatchdogSignal Id Names Description
Documentation LoadState FragmentPath DropInPaths StartLimitIntervalUSec StartLimitBurst
StartLimitAction FailureAction SuccessAction FailureActionExitStatus SuccessActionExitStatus
OnFailureJobMode JobTimeoutUSec JobRunningTimeoutUSec JobTimeoutAction StopWhenUnneeded
RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies UMask StandardInput
StandardOutput StandardError SyslogLevelPrefix Environment ExitType
SuccessExitStatus RestartPreventExitStatus RestartForceExitStatus CanReload CanIsolate
""".split()


def cmd(*argv: str, ignore: bool = False) -> ExecCommand:
    return ExecCommand(path=argv[0], argv=tuple(argv), ignore_failure=ignore)


UNITS = {
    "activating-auto-restart": Unit(
        name="foo.service",
        fragment_path=f"{ETC}/foo.service",
        unit=UnitSection(description="Foo"),
        service=ServiceSection(exec_start=[cmd("/usr/bin/false")], restart="on-failure", restart_usec=1_000_000),  # type: ignore[arg-type]
    ),
    "active-running": Unit(
        name="web.service",
        fragment_path=f"{ETC}/web.service",
        dropin_paths=[f"{ETC}/web.service.d/override.conf", f"{ETC}/web.service.d/zz.conf"],
        unit=UnitSection(description="Example web server", documentation=["man:sleep(1)", "https://example.com/web"]),
        service=ServiceSection(
            exec_start_pre=[cmd("/bin/true")],
            exec_start=[cmd("/usr/bin/sleep", "infinity")],
            exec_stop=[cmd("/bin/kill", "-TERM", "$MAINPID")],
            environment=["A=1"],
        ),
    ),
    "active-running-notify": Unit(
        name="notify.service",
        fragment_path=f"{ETC}/notify.service",
        unit=UnitSection(description="Notifier"),
        service=ServiceSection(
            type=ServiceType.NOTIFY,
            notify_access="all",  # type: ignore[arg-type]
            exec_start=[cmd("/bin/sh", "-c", 'systemd-notify --ready --status="Serving 12 connections"; exec sleep infinity')],
            timeout_start_usec=1_500_000,
            runtime_max_usec=3_723_500_000,
        ),
    ),
    "active-exited": Unit(
        name="remain.service",
        fragment_path=f"{ETC}/remain.service",
        service=ServiceSection(
            type=ServiceType.ONESHOT,
            remain_after_exit=True,
            exec_start=[cmd("/bin/true"), cmd("/bin/sh", "-c", "exit 0")],
        ),
    ),
    "failed-exit-code-pre": Unit(
        name="prefail.service",
        fragment_path=f"{ETC}/prefail.service",
        unit=UnitSection(description="Pre fails"),
        service=ServiceSection(
            exec_start_pre=[cmd("/bin/false", ignore=True), cmd("/bin/sh", "-c", "exit 203")],
            exec_start=[cmd("/usr/bin/sleep", "infinity")],
        ),
    ),
    "not-found": Unit(name="nope.service", load_state=LoadState.NOT_FOUND),
}


@pytest.mark.parametrize("label", sorted(UNITS))
def test_config_properties_match_systemd(label: str) -> None:
    want = parse_show(ORACLE[label + ":show"]["stdout"])
    got = unit_properties(UNITS[label])
    for name in CONFIG:
        if name not in want:
            continue
        if label == "not-found" and name not in ("Id", "Names", "Description", "LoadState"):
            continue
        assert format_property(name, got.get(name)) == format_property(name, want[name]), name


@pytest.mark.parametrize("label", sorted(UNITS))
def test_exec_commands_config_part(label: str) -> None:
    want = parse_show(ORACLE[label + ":show"]["stdout"])
    got = unit_properties(UNITS[label])
    for name in ("ExecStartPre", "ExecStart", "ExecStop"):
        if name not in want:
            continue
        assert [(c["path"], " ".join(c["argv"]), c["ignore_errors"]) for c in got[name]] == [
            (c["path"], " ".join(c["argv"]), c["ignore_errors"]) for c in want[name]
        ]


def test_load_error_of_missing_unit() -> None:
    props = unit_properties(UNITS["not-found"])
    assert format_property("LoadError", props["LoadError"]) == (
        'org.freedesktop.systemd1.NoSuchUnit "Unit nope.service not found."'
    )
    assert "Type" not in props


def test_never_loaded_unit_shows_like_systemd() -> None:
    want = parse_show(ORACLE["not-found:show"]["stdout"])
    got = unit_properties(UNITS["not-found"])
    for name, value in got.items():
        if name == "OnSuccessJobMode":
            continue  # core/units.py defaults it to replace; systemd's default is fail (reported)
        shown = format_property(name, value)
        if name in want:
            assert shown == format_property(name, want[name]), name
        else:  # systemd omits it: ours must be empty or --all-only
            assert shown in ("", "[not set]", "[unprintable]"), name


def test_value_formats_of_a_busy_unit_file() -> None:
    """tests/data/golden/oracle/units4/fmt.service through `systemd-oracle show-parsed` (v257)."""
    import json

    from render_snapshot import GOLDEN

    from sysvisor.core.types import EmergencyAction
    from sysvisor.core.units import ExitStatusSet

    want = json.loads((GOLDEN / "oracle" / "show-parsed-fmt-257.json").read_text())["props"]

    def ex(*argv: str, path: str | None = None, **flags: bool) -> ExecCommand:
        return ExecCommand(path=path or argv[0], argv=tuple(argv), **flags)

    unit = Unit(
        name="fmt.service",
        fragment_path=f"{ETC}/fmt.service",
        unit=UnitSection(
            description="Formats",
            documentation=["man:foo(1)", "http://x/a b"],
            start_limit_interval_usec=90_000_000,
            start_limit_burst=3,
            failure_action=EmergencyAction.EXIT,
            failure_action_exit_status=7,
        ),
        service=ServiceSection(
            type=ServiceType.ONESHOT,
            exec_start=[
                ex("/bin/true", "a", ignore_failure=True, full_privileges=True),
                ex("/bin/true", "b", no_setuid=True),
                ex("/bin/true", "c", ambient_only=True),
                ex("/bin/true", "$d", no_env_expand=True),
                ex("e", "f", path="/bin/true"),
                ex("/bin/echo", "x y", 'q"z', "a\\b", "$$HOME"),
            ],
            success_exit_status=ExitStatusSet(frozenset({3, 255, 7}), frozenset({10, 1})),
            restart_prevent_exit_status=ExitStatusSet(frozenset({200}), frozenset({9})),
            environment=["A=x y", "B=$z", 'C=q"r'],
            timeout_stop_usec=2_500_000,
            restart_usec=250_000,
            restart_steps=3,
            restart_max_delay_usec=3_601_000_000,
            watchdog_usec=10_000_000,
            kill_signal=2,
            restart_kill_signal=12,
            pid_file="/run/fmt.pid",
        ),
    )
    got = unit_properties(unit)
    for name in (
        "Documentation", "StartLimitIntervalUSec", "StartLimitBurst", "FailureAction", "FailureActionExitStatus",
        "SuccessExitStatus", "RestartPreventExitStatus", "Environment", "TimeoutStopUSec", "RestartUSec",
        "RestartSteps", "RestartMaxDelayUSec", "RestartUSecNext", "KillSignal", "RestartKillSignal", "PIDFile",
        "NotifyAccess", "TimeoutStartUSec", "Type",
    ):
        assert format_property(name, got[name]) == want[name], name
    assert format_property("ExecStart", got["ExecStart"]).split("\n") == want["ExecStart"]
    assert format_property("ExecStartEx", got["ExecStart"]).split("\n") == want["ExecStartEx"]


def test_timer_properties_before_first_run() -> None:
    """units5/*.timer through `systemd-oracle show-parsed` (v257); TimerSection stand-in by duck typing."""
    import json
    from types import SimpleNamespace

    from render_snapshot import GOLDEN

    want = json.loads((GOLDEN / "oracle" / "show-parsed-timers-257.json").read_text())["units"]

    def timer(**kw: object) -> SimpleNamespace:
        base = dict(on_active_usec=[], on_boot_usec=[], on_startup_usec=[], on_unit_active_usec=[],
                    on_unit_inactive_usec=[], on_calendar=[], accuracy_usec=60_000_000, randomized_delay_usec=0,
                    persistent=False, unit=None)
        base.update(kw)
        return SimpleNamespace(**base)

    t = Unit(name="t.timer", fragment_path=f"{ETC}/t.timer", unit=UnitSection(description="T"))
    t.timer = timer(on_calendar=["02:30", "Mon *-*-* 1:2:3"], on_active_usec=[3_600_000_000],  # type: ignore[attr-defined]
                    on_boot_usec=[300_000_000], on_unit_active_usec=[10_000_000], persistent=True,
                    accuracy_usec=1_000_000, randomized_delay_usec=30_000_000)
    u = Unit(name="u.timer", fragment_path=f"{ETC}/u.timer")
    u.timer = timer(on_unit_inactive_usec=[7_200_000_000], unit="t.service")  # type: ignore[attr-defined]
    for unit in (t, u):
        got = unit_properties(unit)
        props = want[unit.name]["props"]
        for name in ("Unit", "TimersMonotonic", "TimersCalendar", "OnClockChange", "NextElapseUSecRealtime",
                     "NextElapseUSecMonotonic", "LastTriggerUSec", "Result", "AccuracyUSec", "RandomizedDelayUSec",
                     "Persistent", "RemainAfterElapse", "Triggers", "Description"):
            expected = props.get(name)
            if isinstance(expected, str):
                expected = [expected] if name.startswith("Timers") else expected
            shown = format_property(name, got.get(name))
            assert (shown.split("\n") if name.startswith("Timers") and shown else shown or None) == (
                expected or None
            ), name
