"""The directive table: (section, key) → field, value kind, and empty/repeat semantics.

One row per directive spelling systemd accepts and sysvisor implements; the kinds (how a value
is parsed, what an empty value does) are in `setting`. A directive systemd knows (`known`) but
without a row here gets the "not supported by sysvisor" notice. A fatal row error stops
parsing the file, as config_parse() does, and the unit gets load state bad-setting.
# spec: unit-files.md §2, §7.1; restart-and-failure.md §5.1; systemd: load-fragment-gperf.gperf.in
"""

from __future__ import annotations

from sysvisor.core.types import (
    JobMode,
    NotifyAccess,
    RestartMode,
    RestartPolicy,
    ServiceType,
    TimeoutFailureMode,
)
from sysvisor.unitfile import values as v
from sysvisor.unitfile.known import KNOWN
from sysvisor.unitfile.setting import KINDS, Directive, Interpretation, not_supported
from sysvisor.unitfile.syntax import Assignment

__all__ = ["DIRECTIVES", "SECTIONS", "Directive", "Interpretation", "apply", "lookup", "not_supported"]

# --- the table -----------------------------------------------------------------------------------


D = Directive
U, S, I, T = "unit", "service", "install", "timer"
_JOB_MODE = (JobMode, "Failed to parse job mode")

DIRECTIVES: dict[tuple[str, str], Directive] = {
    # [Unit] — spec: unit-files.md; restart-and-failure.md §5, §7, §9
    ("Unit", "Description"): D(U, "description", "string"),
    ("Unit", "Documentation"): D(U, "documentation", "docs"),
    ("Unit", "Wants"): D(U, "wants", "deps"),
    ("Unit", "Requires"): D(U, "requires", "deps"),
    ("Unit", "Requisite"): D(U, "requisite", "deps"),
    ("Unit", "BindsTo"): D(U, "binds_to", "deps"),
    ("Unit", "PartOf"): D(U, "part_of", "deps"),
    ("Unit", "Upholds"): D(U, "upholds", "deps"),
    ("Unit", "Conflicts"): D(U, "conflicts", "deps"),
    ("Unit", "Before"): D(U, "before", "deps"),
    ("Unit", "After"): D(U, "after", "deps"),
    ("Unit", "OnFailure"): D(U, "on_failure", "deps"),
    ("Unit", "OnSuccess"): D(U, "on_success", "deps"),
    ("Unit", "PropagatesReloadTo"): D(U, "propagates_reload_to", "deps"),
    ("Unit", "ReloadPropagatedFrom"): D(U, "reload_propagated_from", "deps"),
    ("Unit", "PropagatesStopTo"): D(U, "propagates_stop_to", "deps"),
    ("Unit", "StopPropagatedFrom"): D(U, "stop_propagated_from", "deps"),
    ("Unit", "JoinsNamespaceOf"): D(U, "joins_namespace_of", "deps"),
    # old spellings still accepted by systemd
    ("Unit", "BindTo"): D(U, "binds_to", "deps"),
    ("Unit", "PropagateReloadTo"): D(U, "propagates_reload_to", "deps"),
    ("Unit", "PropagateReloadFrom"): D(U, "reload_propagated_from", "deps"),
    ("Unit", "RequiresOverridable"): D(U, "requires", "obsolete_dep", "Requires"),
    ("Unit", "RequisiteOverridable"): D(U, "requisite", "obsolete_dep", "Requisite"),
    ("Unit", "IgnoreOnSnapshot"): D(U, "", "removed"),
    ("Unit", "OnFailureJobMode"): D(U, "on_failure_job_mode", "enum", _JOB_MODE),
    ("Unit", "OnSuccessJobMode"): D(U, "on_success_job_mode", "enum", _JOB_MODE),
    ("Unit", "StartLimitIntervalSec"): D(U, "start_limit_interval_usec", "sec"),
    ("Unit", "StartLimitInterval"): D(U, "start_limit_interval_usec", "sec"),
    ("Unit", "StartLimitBurst"): D(U, "start_limit_burst", "unsigned"),
    ("Unit", "StartLimitAction"): D(U, "start_limit_action", "emergency"),
    ("Unit", "FailureAction"): D(U, "failure_action", "emergency"),
    ("Unit", "SuccessAction"): D(U, "success_action", "emergency"),
    ("Unit", "FailureActionExitStatus"): D(U, "failure_action_exit_status", "exit_status"),
    ("Unit", "SuccessActionExitStatus"): D(U, "success_action_exit_status", "exit_status"),
    ("Unit", "JobTimeoutSec"): D(U, "job_timeout_usec", "sec_fix0", "Failed to parse {key}= parameter"),
    ("Unit", "JobRunningTimeoutSec"): D(U, "job_running_timeout_usec", "sec_fix0", "Failed to parse {key}= parameter"),
    ("Unit", "JobTimeoutAction"): D(U, "job_timeout_action", "emergency"),
    ("Unit", "DefaultDependencies"): D(U, "default_dependencies", "bool"),
    ("Unit", "StopWhenUnneeded"): D(U, "stop_when_unneeded", "bool"),
    ("Unit", "RefuseManualStart"): D(U, "refuse_manual_start", "bool"),
    ("Unit", "RefuseManualStop"): D(U, "refuse_manual_stop", "bool"),
    ("Unit", "AllowIsolate"): D(U, "allow_isolate", "bool"),
    ("Unit", "IgnoreOnIsolate"): D(U, "ignore_on_isolate", "bool"),
    # [Service] — spec: service-lifecycle.md §2–§7; restart-and-failure.md §1–§3
    ("Service", "Type"): D(S, "type", "enum", (ServiceType, "Failed to parse service type")),
    ("Service", "ExecCondition"): D(S, "exec_condition", "exec"),
    ("Service", "ExecStartPre"): D(S, "exec_start_pre", "exec"),
    ("Service", "ExecStart"): D(S, "exec_start", "exec"),
    ("Service", "ExecStartPost"): D(S, "exec_start_post", "exec"),
    ("Service", "ExecReload"): D(S, "exec_reload", "exec"),
    ("Service", "ExecStop"): D(S, "exec_stop", "exec"),
    ("Service", "ExecStopPost"): D(S, "exec_stop_post", "exec"),
    ("Service", "RemainAfterExit"): D(S, "remain_after_exit", "bool"),
    ("Service", "ExitType"): D(S, "exit_type", "choice", (("main", "cgroup"), "Failed to parse service exit type")),
    ("Service", "GuessMainPID"): D(S, "guess_main_pid", "bool"),
    ("Service", "PIDFile"): D(S, "pid_file", "path"),
    ("Service", "BusName"): D(S, "bus_name", "bus_name"),
    ("Service", "Restart"): D(S, "restart", "enum", (RestartPolicy, "Failed to parse service restart specifier")),
    ("Service", "RestartMode"): D(S, "restart_mode", "enum", (RestartMode, "Failed to parse service restart mode"), since=254),
    ("Service", "RestartSec"): D(S, "restart_usec", "sec"),
    ("Service", "RestartSteps"): D(S, "restart_steps", "unsigned", since=254),
    ("Service", "RestartMaxDelaySec"): D(S, "restart_max_delay_usec", "sec", since=254),
    ("Service", "SuccessExitStatus"): D(S, "success_exit_status", "exit_set"),
    ("Service", "RestartPreventExitStatus"): D(S, "restart_prevent_exit_status", "exit_set"),
    ("Service", "RestartForceExitStatus"): D(S, "restart_force_exit_status", "exit_set"),
    ("Service", "TimeoutStartSec"): D(S, "timeout_start_usec", "timeout", "Failed to parse {key}= parameter"),
    ("Service", "TimeoutSec"): D(S, "timeout_start_usec", "timeout", "Failed to parse {key}= parameter"),
    ("Service", "TimeoutStopSec"): D(S, "timeout_stop_usec", "sec_fix0", "Failed to parse time value"),
    ("Service", "TimeoutAbortSec"): D(S, "timeout_abort_usec", "sec_reset", "Failed to parse {key}= setting"),
    ("Service", "TimeoutStartFailureMode"): D(S, "timeout_start_failure_mode", "enum", (TimeoutFailureMode, "Failed to parse timeout failure mode")),
    ("Service", "TimeoutStopFailureMode"): D(S, "timeout_stop_failure_mode", "enum", (TimeoutFailureMode, "Failed to parse timeout failure mode")),
    ("Service", "RuntimeMaxSec"): D(S, "runtime_max_usec", "sec"),
    ("Service", "WatchdogSec"): D(S, "watchdog_usec", "sec"),
    ("Service", "NotifyAccess"): D(S, "notify_access", "enum", (NotifyAccess, "Failed to parse notify access specifier")),
    ("Service", "KillMode"): D(S, "kill_mode", "kill_mode"),
    ("Service", "KillSignal"): D(S, "kill_signal", "signal"),
    ("Service", "RestartKillSignal"): D(S, "restart_kill_signal", "signal"),
    ("Service", "FinalKillSignal"): D(S, "final_kill_signal", "signal"),
    ("Service", "WatchdogSignal"): D(S, "watchdog_signal", "signal"),
    ("Service", "SendSIGHUP"): D(S, "send_sighup", "bool"),
    ("Service", "SendSIGKILL"): D(S, "send_sigkill", "bool"),
    ("Service", "Environment"): D(S, "environment", "env"),
    ("Service", "EnvironmentFile"): D(S, "environment_files", "env_file"),
    ("Service", "PassEnvironment"): D(S, "pass_environment", "pass_env"),
    ("Service", "UnsetEnvironment"): D(S, "unset_environment", "unset_env"),
    ("Service", "WorkingDirectory"): D(S, "working_directory", "path"),
    ("Service", "RootDirectory"): D(S, "root_directory", "path"),
    ("Service", "User"): D(S, "user", "user"),
    ("Service", "Group"): D(S, "group", "user"),
    ("Service", "SupplementaryGroups"): D(S, "supplementary_groups", "groups"),
    ("Service", "UMask"): D(S, "umask", "mode"),
    ("Service", "Nice"): D(S, "nice", "nice"),
    ("Service", "StandardInput"): D(S, "standard_input", "std"),
    ("Service", "StandardOutput"): D(S, "standard_output", "std"),
    ("Service", "StandardError"): D(S, "standard_error", "std"),
    ("Service", "SyslogIdentifier"): D(S, "syslog_identifier", "string", None),
    ("Service", "SyslogLevelPrefix"): D(S, "syslog_level_prefix", "bool"),
    # compatibility spellings accepted in [Service] (observed v252, no warning); trap 4:
    # StartLimitIntervalSec= is *not* among them
    ("Service", "StartLimitInterval"): D(U, "start_limit_interval_usec", "sec"),
    ("Service", "StartLimitBurst"): D(U, "start_limit_burst", "unsigned"),
    ("Service", "StartLimitAction"): D(U, "start_limit_action", "emergency"),
    ("Service", "FailureAction"): D(U, "failure_action", "emergency"),
    ("Service", "BusPolicy"): D(S, "", "removed"),
    ("Service", "Capabilities"): D(S, "", "removed"),
    ("Service", "NetClass"): D(S, "", "removed"),
    ("Service", "SysVStartPriority"): D(S, "", "removed"),
    ("Service", "BlockIODeviceWeight"): D(S, "", "deprecated_cgroup", "IO*= settings"),
    ("Service", "BlockIOReadBandwidth"): D(S, "", "deprecated_cgroup", "IO*= settings"),
    ("Service", "BlockIOWriteBandwidth"): D(S, "", "deprecated_cgroup", "IO*= settings"),
    ("Service", "CPUShares"): D(S, "", "deprecated_cgroup", "CPUWeight="),
    ("Service", "StartupCPUShares"): D(S, "", "deprecated_cgroup", "CPUWeight="),
    # [Timer] — spec: timers.md §1
    ("Timer", "OnActiveSec"): D(T, "on_active_usec", "timer_span"),
    ("Timer", "OnBootSec"): D(T, "on_boot_usec", "timer_span"),
    ("Timer", "OnStartupSec"): D(T, "on_startup_usec", "timer_span"),
    ("Timer", "OnUnitActiveSec"): D(T, "on_unit_active_usec", "timer_span"),
    ("Timer", "OnUnitInactiveSec"): D(T, "on_unit_inactive_usec", "timer_span"),
    ("Timer", "OnCalendar"): D(T, "on_calendar", "calendar"),
    ("Timer", "OnClockChange"): D(T, "on_clock_change", "bool"),
    ("Timer", "OnTimezoneChange"): D(T, "on_timezone_change", "bool"),
    ("Timer", "AccuracySec"): D(T, "accuracy_usec", "sec"),
    ("Timer", "RandomizedDelaySec"): D(T, "randomized_delay_usec", "sec"),
    ("Timer", "FixedRandomDelay"): D(T, "fixed_random_delay", "bool"),
    ("Timer", "Persistent"): D(T, "persistent", "bool"),
    ("Timer", "WakeSystem"): D(T, "wake_system", "bool"),
    ("Timer", "RemainAfterElapse"): D(T, "remain_after_elapse", "bool"),
    ("Timer", "DeferReactivation"): D(T, "defer_reactivation", "bool"),
    ("Timer", "Unit"): D(T, "unit", "trigger_unit"),
    # [Install] — only enable/disable read it. spec: unit-files.md §8
    ("Install", "WantedBy"): D(I, "wanted_by", "install_names"),
    ("Install", "RequiredBy"): D(I, "required_by", "install_names"),
    ("Install", "UpheldBy"): D(I, "upheld_by", "install_names"),
    ("Install", "Also"): D(I, "also", "install_names"),
    ("Install", "Alias"): D(I, "alias", "install_names"),
    ("Install", "DefaultInstance"): D(I, "default_instance", "install_string"),
}
for _limit_name in v.LIMIT_NAMES:
    DIRECTIVES[("Service", "Limit" + _limit_name)] = D(S, "limits", "limit")
for _key in KNOWN["Unit"]:
    if _key.startswith("Condition"):
        DIRECTIVES[("Unit", _key)] = D(U, "conditions", "condition")
    elif _key.startswith("Assert"):
        DIRECTIVES[("Unit", _key)] = D(U, "asserts", "condition")

# Sections each unit type accepts. # systemd: unit_vtable[]->sections
SECTIONS: dict[str, tuple[str, ...]] = {
    "service": ("Unit", "Service", "Install"),
    "target": ("Unit", "Install"),
    "timer": ("Unit", "Timer", "Install"),
    "socket": ("Unit", "Socket", "Install"),
    "path": ("Unit", "Path", "Install"),
    "mount": ("Unit", "Mount", "Install"),
    "automount": ("Unit", "Automount", "Install"),
    "swap": ("Unit", "Swap", "Install"),
    "slice": ("Unit", "Slice", "Install"),
    "scope": ("Unit", "Scope", "Install"),
    "device": ("Unit", "Install"),
}


def lookup(section: str, key: str) -> Directive | None:
    """The row for `key` in `section`, or None if systemd does not know it there."""
    return DIRECTIVES.get((section, key))


def apply(ctx: Interpretation, a: Assignment, d: Directive) -> None:
    """Interpret one assignment through its row. # spec: unit-files.md §2"""
    KINDS[d.kind](ctx, d, a)

