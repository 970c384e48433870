"""The configuration half of a unit's `systemctl show` snapshot.

`unit_properties(unit)` turns a loaded `Unit` into a dict of RAW values under systemd's
property names, with systemd's defaults (what `systemctl show` prints for a unit that never
ran). The engine's runtime values (ActiveState, NRestarts, timestamps, MainPID, exec runtime
records ...) are merged over it by the daemon; `sysvisor.protocol.properties` formats it.
Pure: no I/O, no clock.
# spec: systemctl-and-journal.md §4; observed: tests/data/golden/oracle/render-257.json
"""

from __future__ import annotations

from typing import Any

from sysvisor.core.types import USEC_INFINITY, LoadState
from sysvisor.core.units import ExecCommand, ExitStatusSet, ServiceSection, Unit

EXEC_FIELDS: tuple[tuple[str, str], ...] = (
    ("ExecCondition", "exec_condition"),
    ("ExecStartPre", "exec_start_pre"),
    ("ExecStart", "exec_start"),
    ("ExecStartPost", "exec_start_post"),
    ("ExecReload", "exec_reload"),
    ("ExecStop", "exec_stop"),
    ("ExecStopPost", "exec_stop_post"),
)

# systemd: LoadError= (bus error name, message) per load state; unit.c unit_load_error()
_LOAD_ERRORS: dict[LoadState, tuple[str, str]] = {
    LoadState.NOT_FOUND: ("org.freedesktop.systemd1.NoSuchUnit", "Unit {} not found."),
    LoadState.MASKED: ("org.freedesktop.systemd1.UnitMasked", "Unit {} is masked."),
    LoadState.BAD_SETTING: ("org.freedesktop.systemd1.BadUnitSetting", "Unit {} has a bad unit file setting."),
    LoadState.ERROR: ("org.freedesktop.DBus.Error.Failed", "Unit {} failed to load properly, please adjust/correct and reload service manager: {}"),
}


def exec_command_record(cmd: ExecCommand) -> dict[str, Any]:
    """An exec command as the snapshot carries it, with the runtime part zeroed (never ran).

    The engine fills start_time/stop_time (realtime µs), pid, code, status for the last run.
    """
    flags = []
    # systemd: exec_command_flags_to_strv() order
    if cmd.ignore_failure:
        flags.append("ignore-failure")
    if cmd.full_privileges:
        flags.append("privileged")
    if cmd.no_setuid:
        flags.append("no-setuid")
    if cmd.ambient_only:
        flags.append("ambient")
    if cmd.no_env_expand:
        flags.append("no-env-expand")
    return {
        "path": cmd.path,
        "argv": list(cmd.argv),
        "ignore_errors": cmd.ignore_failure,
        "flags": flags,
        "start_time": 0,
        "stop_time": 0,
        "pid": 0,
        "code": 0,
        "status": 0,
    }


def exit_status_set_value(s: ExitStatusSet) -> dict[str, list[int]]:
    """SuccessExitStatus= & co. as {"statuses": [...], "signals": [...]}, sorted as systemd prints."""
    return {"statuses": sorted(s.statuses), "signals": sorted(s.signals)}


def _load_error(unit: Unit) -> tuple[str, str] | None:
    return load_error(unit.load_state, unit.name, unit.load_error or "")


def load_error(state: LoadState, name: str, detail: str = "") -> tuple[str, str] | None:
    """LoadError= of a unit `name` in load state `state`: (bus error name, message), or None."""
    entry = _LOAD_ERRORS.get(state)
    if entry is None:
        return None
    err, template = entry
    return err, template.format(name, detail)


def _service_properties(svc: ServiceSection) -> dict[str, Any]:
    restart_kill = svc.kill_signal if svc.restart_kill_signal is None else svc.restart_kill_signal
    props: dict[str, Any] = {
        "Type": str(svc.effective_type),
        "ExitType": "main",
        "Restart": str(svc.restart),
        "RestartMode": str(svc.restart_mode),
        "PIDFile": svc.pid_file or "",
        "NotifyAccess": str(svc.effective_notify_access),
        "RestartUSec": svc.restart_usec,
        "RestartSteps": svc.restart_steps,
        "RestartMaxDelayUSec": svc.restart_max_delay_usec,
        # the delay the next restart would use with NRestarts=0; the engine overrides it
        "RestartUSecNext": svc.restart_usec,
        "TimeoutStartUSec": svc.effective_timeout_start_usec,
        "TimeoutStopUSec": svc.timeout_stop_usec,
        "TimeoutAbortUSec": svc.effective_timeout_abort_usec,
        "TimeoutStartFailureMode": str(svc.timeout_start_failure_mode),
        "TimeoutStopFailureMode": str(svc.timeout_stop_failure_mode),
        "RuntimeMaxUSec": svc.runtime_max_usec,
        "WatchdogUSec": svc.watchdog_usec,
        "RemainAfterExit": svc.remain_after_exit,
        "GuessMainPID": svc.guess_main_pid,
        "RestartPreventExitStatus": exit_status_set_value(svc.restart_prevent_exit_status),
        "RestartForceExitStatus": exit_status_set_value(svc.restart_force_exit_status),
        "SuccessExitStatus": exit_status_set_value(svc.success_exit_status),
        "MainPID": 0,
        "ControlPID": 0,
        "StatusText": "",
        "StatusErrno": 0,
        "Result": "success",
        "NRestarts": 0,
        "ExecMainStartTimestamp": 0,
        "ExecMainStartTimestampMonotonic": 0,
        "ExecMainExitTimestamp": 0,
        "ExecMainExitTimestampMonotonic": 0,
        "ExecMainPID": 0,
        "ExecMainCode": 0,
        "ExecMainStatus": 0,
        "Environment": list(svc.environment),
        "PassEnvironment": list(svc.pass_environment),
        "UnsetEnvironment": list(svc.unset_environment),
        "UMask": f"{svc.umask:04o}",
        "WorkingDirectory": svc.working_directory or "",
        "RootDirectory": svc.root_directory or "",
        "StandardInput": svc.standard_input,
        "StandardOutput": svc.standard_output,
        "StandardError": svc.standard_error,
        "SyslogIdentifier": svc.syslog_identifier or "",
        "SyslogLevelPrefix": svc.syslog_level_prefix,
        "User": svc.user or "",
        "Group": svc.group or "",
        "SupplementaryGroups": list(svc.supplementary_groups),
        "KillMode": str(svc.kill_mode),
        "KillSignal": svc.kill_signal,
        "RestartKillSignal": restart_kill,
        "FinalKillSignal": svc.final_kill_signal,
        "SendSIGKILL": svc.send_sigkill,
        "SendSIGHUP": svc.send_sighup,
        "WatchdogSignal": svc.watchdog_signal,
    }
    if svc.nice is not None:
        props["Nice"] = svc.nice
    for prop, attr in EXEC_FIELDS:
        cmds: list[ExecCommand] = getattr(svc, attr)
        props[prop] = [exec_command_record(c) for c in cmds]
    return props


# systemd: timer_base_to_string(); TimerSection field -> base name
_TIMER_BASES: tuple[tuple[str, str], ...] = (
    ("on_active_usec", "OnActiveUSec"),
    ("on_boot_usec", "OnBootUSec"),
    ("on_startup_usec", "OnStartupUSec"),
    ("on_unit_active_usec", "OnUnitActiveUSec"),
    ("on_unit_inactive_usec", "OnUnitInactiveUSec"),
)


def timer_unit_name(timer_name: str, timer: Any) -> str:
    """The unit a timer activates: Unit=, else the timer's name with `.service`."""
    return getattr(timer, "unit", None) or timer_name.rpartition(".")[0] + ".service"


def _normalized_calendar(spec: str) -> str:
    """OnCalendar= as systemd prints it (`02:30` -> `*-*-* 02:30:00`), or as written."""
    try:
        from sysvisor.core.calendar import parse_calendar

        return parse_calendar(spec).normalized()
    except (ImportError, ValueError):
        return spec


def _timer_properties(name: str, timer: Any) -> dict[str, Any]:
    """[Timer] config as `show` prints it before the timer first ran (observed v257).

    systemd keeps timer values in prepend-built lists, so TimersMonotonic/TimersCalendar come
    out in reverse file order, grouped by base as written; next elapses are the engine's.
    """
    monotonic: list[tuple[str, int, int]] = []
    # TimerSection keeps one list per base, so the file order across bases is lost: take the
    # bases in systemd's table order (exact when the file lists them in that order)
    for attr, base in _TIMER_BASES:
        for usec in getattr(timer, attr, ()) or ():
            monotonic.append((base, usec, 0))
    calendar = [("OnCalendar", _normalized_calendar(spec), 0) for spec in getattr(timer, "on_calendar", ()) or ()]
    target = timer_unit_name(name, timer)
    return {
        "Unit": target,
        "TimersMonotonic": list(reversed(monotonic)),
        "TimersCalendar": list(reversed(calendar)),
        "OnClockChange": bool(getattr(timer, "on_clock_change", False)),
        "OnTimezoneChange": bool(getattr(timer, "on_timezone_change", False)),
        "NextElapseUSecRealtime": 0,
        "NextElapseUSecMonotonic": USEC_INFINITY,
        "LastTriggerUSec": 0,
        "LastTriggerUSecMonotonic": 0,
        "Result": "success",
        "AccuracyUSec": getattr(timer, "accuracy_usec", 60_000_000),
        "RandomizedDelayUSec": getattr(timer, "randomized_delay_usec", 0),
        "FixedRandomDelay": bool(getattr(timer, "fixed_random_delay", False)),
        "Persistent": bool(getattr(timer, "persistent", False)),
        "WakeSystem": bool(getattr(timer, "wake_system", False)),
        "RemainAfterElapse": bool(getattr(timer, "remain_after_elapse", True)),
        "DeferReactivation": bool(getattr(timer, "defer_reactivation", False)),
        "Triggers": [target],
    }


def unit_properties(unit: Unit) -> dict[str, Any]:
    """Raw config properties of `unit`, with systemd 257's values for defaults.

    Runtime properties are present with their never-ran values (ActiveState=inactive,
    SubState=dead, Result=success, zero PIDs and timestamps) so the dict renders on its own;
    the daemon overwrites them with the engine's. For units that failed to load only the
    identity and LoadError are given, as systemd does.
    # spec: systemctl-and-journal.md §4
    """
    u = unit.unit
    props: dict[str, Any] = {}
    if unit.service is not None and unit.load_state is LoadState.LOADED:
        props.update(_service_properties(unit.service))
    timer = getattr(unit, "timer", None)  # TimerSection (added to core/units.py by the parser)
    if timer is not None and unit.load_state is LoadState.LOADED:
        props.update(_timer_properties(unit.name, timer))
    props.update(
        {
            "Id": unit.name,
            "Names": [unit.name, *getattr(unit, "aliases", ())],
            "Requires": list(u.requires),
            "Requisite": list(u.requisite),
            "Wants": list(u.wants),
            "BindsTo": list(u.binds_to),
            "PartOf": list(u.part_of),
            "Upholds": list(u.upholds),
            "Conflicts": list(u.conflicts),
            "Before": list(u.before),
            "After": list(u.after),
            "OnSuccess": list(u.on_success),
            "OnFailure": list(u.on_failure),
            "Documentation": list(u.documentation),
            "Description": unit.description,
            "LoadState": str(unit.load_state),
            "ActiveState": "inactive",
            "FreezerState": "running",
            "SubState": "dead",
            "FragmentPath": unit.fragment_path or "",
            "DropInPaths": list(unit.dropin_paths),
            "StateChangeTimestamp": 0,
            "StateChangeTimestampMonotonic": 0,
            "InactiveExitTimestamp": 0,
            "InactiveExitTimestampMonotonic": 0,
            "ActiveEnterTimestamp": 0,
            "ActiveEnterTimestampMonotonic": 0,
            "ActiveExitTimestamp": 0,
            "ActiveExitTimestampMonotonic": 0,
            "InactiveEnterTimestamp": 0,
            "InactiveEnterTimestampMonotonic": 0,
            "CanStart": unit.load_state is LoadState.LOADED and not u.refuse_manual_start,
            "CanStop": not u.refuse_manual_stop,
            "CanReload": bool(unit.service and unit.service.exec_reload),
            "CanIsolate": u.allow_isolate,
            "StopWhenUnneeded": u.stop_when_unneeded,
            "RefuseManualStart": u.refuse_manual_start,
            "RefuseManualStop": u.refuse_manual_stop,
            "AllowIsolate": u.allow_isolate,
            "IgnoreOnIsolate": u.ignore_on_isolate,
            "DefaultDependencies": u.default_dependencies,
            "OnSuccessJobMode": str(u.on_success_job_mode),
            "OnFailureJobMode": str(u.on_failure_job_mode),
            "NeedDaemonReload": False,
            "JobTimeoutUSec": u.job_timeout_usec,
            "JobRunningTimeoutUSec": u.job_running_timeout_usec,
            "JobTimeoutAction": str(u.job_timeout_action),
            "ConditionResult": False,
            "AssertResult": False,
            "ConditionTimestamp": 0,
            "ConditionTimestampMonotonic": 0,
            "AssertTimestamp": 0,
            "AssertTimestampMonotonic": 0,
            # (name, trigger, negate, param, state): state 0 untested, >0 met, <0 failed
            "Conditions": [
                {"name": n, "trigger": t, "negate": neg, "param": v, "state": 0} for n, t, neg, v in u.conditions
            ],
            "Asserts": [
                {"name": n, "trigger": t, "negate": neg, "param": v, "state": 0} for n, t, neg, v in u.asserts
            ],
            "LoadError": _load_error(unit),
            "Transient": False,
            "Perpetual": False,
            "StartLimitIntervalUSec": u.start_limit_interval_usec,
            "StartLimitBurst": u.start_limit_burst,
            "StartLimitAction": str(u.start_limit_action),
            "FailureAction": str(u.failure_action),
            "FailureActionExitStatus": u.failure_action_exit_status,
            "SuccessAction": str(u.success_action),
            "SuccessActionExitStatus": u.success_action_exit_status,
            "InvocationID": "",
        }
    )
    if unit.load_state is not LoadState.LOADED:
        props["CanStart"] = False
    return props
