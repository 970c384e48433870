"""Unit properties on the wire and as `systemctl show` prints them.

The daemon sends the CLI a snapshot per unit: a dict of RAW values under systemd's property
names (µs ints for spans and timestamps: realtime for `XTimestamp`, monotonic for
`XTimestampMonotonic`; ints; bools; strings; lists of strings; exec commands as lists of dicts).
This module knows each property's kind and formats values exactly as systemd 257's
`systemctl show` does (bus-print-properties.c + systemctl-show.c `print_property()`), in
systemd's order. Stdlib only: the CLI imports it on every start.
# spec: systemctl-and-journal.md §4
"""

from __future__ import annotations

TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

from sysvisor.core.constants import EXEC_PHASES
from sysvisor.core.exit_status import code_number, code_word, signal_name
from sysvisor.timefmt import format_timespan, format_timestamp

UINT64_MAX = (1 << 64) - 1

# Property kinds. Anything not listed is inferred from its name and Python type.
TIMESPAN = "timespan"  # µs span: `100ms`, `1min 30s`, `infinity`, `0`
TIMESTAMP = "timestamp"  # realtime µs: `Thu 2026-11-26 07:00:01 UTC`, empty when unset
MONOTONIC = "monotonic"  # monotonic µs printed as an integer, `0` when unset
INT = "int"
SIGNAL = "signal"  # printed as a number (KillSignal=15)
BOOL = "bool"  # yes/no
STRING = "string"
LIST = "list"  # space-separated, each item shell-quoted when needed
EXEC = "exec"  # ExecStart=: list of command dicts
EXEC_EX = "exec-ex"  # ExecStartEx=: same data, flags= instead of ignore_errors=
EXIT_STATUS_SET = "exit-status-set"  # SuccessExitStatus=: {"statuses": [...], "signals": [...]}
ACTION_EXIT_STATUS = "action-exit-status"  # -1 is unset: omitted, `[not set]` with --all
LOAD_ERROR = "load-error"  # (bus error name, message) or None
UNPRINTABLE = "unprintable"  # Conditions=, Asserts=: `[unprintable]` with --all only
NOT_SET_UINT = "not-set-uint"  # None / UINT64_MAX -> `[not set]` (MemoryCurrent=, ...)
TIMERS_MONOTONIC = "timers-monotonic"  # [(base, usec, next_elapse_usec)]
TIMERS_CALENDAR = "timers-calendar"  # [(base, spec, next_elapse_realtime_usec)]
JOB = "job"  # pending job id, 0 or None for none

_BOOLS = """
RemainAfterExit GuessMainPID RootDirectoryStartOnly SendSIGKILL SendSIGHUP CanStart CanStop
CanReload CanIsolate CanFreeze CanLiveMount StopWhenUnneeded RefuseManualStart
RefuseManualStop AllowIsolate DefaultDependencies SurviveFinalKillSignal IgnoreOnIsolate
NeedDaemonReload ConditionResult AssertResult Transient Perpetual DebugInvocation Persistent
WakeSystem RemainAfterElapse OnClockChange OnTimezoneChange FixedRandomDelay DeferReactivation
SyslogLevelPrefix Delegate CPUAccounting IOAccounting MemoryAccounting TasksAccounting
IPAccounting DynamicUser RemoveIPC PrivateTmp PrivateDevices PrivateNetwork PrivateUsers
PrivateMounts NoNewPrivileges IgnoreSIGPIPE
""".split()

_SIGNALS = "KillSignal RestartKillSignal FinalKillSignal WatchdogSignal ReloadSignal".split()

_LISTS = """
Names Requires Requisite Wants BindsTo PartOf Upholds RequiredBy RequisiteOf WantedBy BoundBy
UpheldBy ConsistsOf Conflicts ConflictedBy Before After OnSuccess OnSuccessOf OnFailure
OnFailureOf Triggers TriggeredBy PropagatesReloadTo ReloadPropagatedFrom PropagatesStopTo
StopPropagatedFrom JoinsNamespaceOf SliceOf RequiresMountsFor WantsMountsFor Documentation
DropInPaths Markers Refs CanClean Environment PassEnvironment UnsetEnvironment SupplementaryGroups
""".split()

EXEC_PROPERTIES = EXEC_PHASES

PROPERTY_KINDS: dict[str, str] = {
    **{n: BOOL for n in _BOOLS},
    **{n: SIGNAL for n in _SIGNALS},
    **{n: LIST for n in _LISTS},
    **{n: EXEC for n in EXEC_PROPERTIES},
    **{n + "Ex": EXEC_EX for n in EXEC_PROPERTIES},
    "SuccessExitStatus": EXIT_STATUS_SET,
    "RestartPreventExitStatus": EXIT_STATUS_SET,
    "RestartForceExitStatus": EXIT_STATUS_SET,
    "FailureActionExitStatus": ACTION_EXIT_STATUS,
    "SuccessActionExitStatus": ACTION_EXIT_STATUS,
    "LoadError": LOAD_ERROR,
    "Conditions": UNPRINTABLE,
    "Asserts": UNPRINTABLE,
    "ActivationDetails": UNPRINTABLE,
    "MemoryCurrent": NOT_SET_UINT,
    "MemoryPeak": NOT_SET_UINT,
    "CPUUsageNSec": NOT_SET_UINT,
    "TasksCurrent": NOT_SET_UINT,
    "TimersMonotonic": TIMERS_MONOTONIC,
    "TimersCalendar": TIMERS_CALENDAR,
    "NextElapseUSecRealtime": TIMESTAMP,
    "LastTriggerUSec": TIMESTAMP,
    "Job": JOB,
    "StatusErrno": INT,
    "MainPID": INT,
    "ControlPID": INT,
    "ExecMainPID": INT,
    "ExecMainCode": INT,
    "ExecMainStatus": INT,
    "NRestarts": INT,
    "StartLimitBurst": INT,
}


def property_kind(name: str, value: object = None) -> str:
    """The kind of property `name` (table first, then systemd's naming conventions)."""
    kind = PROPERTY_KINDS.get(name)
    if kind is not None:
        return kind
    if name.endswith("TimestampMonotonic"):
        return MONOTONIC
    if name.endswith("Timestamp"):
        return TIMESTAMP
    if name.endswith("USec") or name.endswith("USecMonotonic") or name.endswith("USecNext"):
        return TIMESPAN
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, (list, tuple)):
        return LIST
    return STRING


# systemd: SHELL_NEED_QUOTES (escape.h): SHELL_NEED_ESCAPE GLOB_CHARS "'()<>|&;!" + blanks
_SHELL_NEED_ESCAPE = '"\\`$'
_SHELL_NEED_QUOTES = _SHELL_NEED_ESCAPE + "*?[" + "'()<>|&;!" + " "


def shell_maybe_quote(s: str) -> str:
    """Quote a list item as `systemctl show` does (`"man:sleep(1)"`). # systemd: shell_maybe_quote()"""
    for i, ch in enumerate(s):
        if ord(ch) < 32 or ord(ch) >= 127 or ch in _SHELL_NEED_QUOTES:
            break
    else:
        return s
    rest = "".join("\\" + c if c in _SHELL_NEED_ESCAPE else c for c in s[i:])
    return '"' + s[:i] + rest + '"'


def _exec_flags(cmd: Mapping[str, object]) -> str:
    """ExecXEx `flags=`: systemd: exec_command_flags_to_strv() order."""
    flags = cmd.get("flags")
    if flags is None:
        flags = ["ignore-failure"] if cmd.get("ignore_errors") else []
    return " ".join(str(f) for f in flags)  # type: ignore[union-attr]


def format_exec_command(cmd: Mapping[str, object], ex: bool = False, timestamp_style: str = "pretty") -> str:
    """`{ path=… ; argv[]=… ; ignore_errors=no ; start_time=[…] ; stop_time=[…] ; pid=N ; code=exited ; status=1 }`.

    `cmd` keys: path, argv (list), ignore_errors (bool), flags (list, Ex only), start_time and
    stop_time (realtime µs, 0 = never), pid, code (0..3 or the word), status.
    # systemd: systemctl-show.c print_property() "Exec" branch
    """
    argv = " ".join(str(a) for a in cmd.get("argv") or ())  # type: ignore[union-attr]
    start = format_timestamp(int(cmd.get("start_time") or 0), style=timestamp_style) or "n/a"  # type: ignore[arg-type]
    stop = format_timestamp(int(cmd.get("stop_time") or 0), style=timestamp_style) or "n/a"  # type: ignore[arg-type]
    code = code_number(cmd.get("code"))  # type: ignore[arg-type]
    status = int(cmd.get("status") or 0)  # type: ignore[arg-type]
    word = code_word(code) or "(null)"
    # exited: bare number; anything else: number/signal name (`9/KILL`, never-run `0/0`)
    status_text = str(status) if code == 1 else f"{status}/{signal_name(status)}"
    middle = f"flags={_exec_flags(cmd)}" if ex else f"ignore_errors={'yes' if cmd.get('ignore_errors') else 'no'}"
    return (
        f"{{ path={cmd.get('path') or 'n/a'} ; argv[]={argv or 'n/a'} ; {middle} ; start_time=[{start}] ; "
        f"stop_time=[{stop}] ; pid={int(cmd.get('pid') or 0)} ; code={word} ; status={status_text} }}"  # type: ignore[arg-type]
    )


def _values(name: str, value: object, show_empty: bool, timestamp_style: str) -> list[str] | None:
    """The value strings to print for one property (several for exec lists); None: print nothing."""
    kind = property_kind(name, value)
    if kind in (EXEC, EXEC_EX):
        return [format_exec_command(c, kind == EXEC_EX, timestamp_style) for c in value or ()]  # type: ignore[union-attr]
    if kind == ACTION_EXIT_STATUS:
        if value is not None and 0 <= int(value) <= 255:  # type: ignore[arg-type]
            return [str(value)]
        return ["[not set]"] if show_empty else None
    if kind == UNPRINTABLE:
        return ["[unprintable]"] if show_empty else None
    if kind == TIMERS_MONOTONIC:
        return [
            f"{{ {base}={format_timespan(v, 0)} ; next_elapse={format_timespan(n, 0)} }}"
            for base, v, n in value or ()  # type: ignore[union-attr]
        ]
    if kind == TIMERS_CALENDAR:
        return [
            # glibc prints a NULL string as "(null)": a next elapse not computed yet
            f"{{ {base}={spec} ; next_elapse={format_timestamp(n, style=timestamp_style) or '(null)'} }}"
            for base, spec, n in value or ()  # type: ignore[union-attr]
        ]
    return [format_property(name, value, timestamp_style=timestamp_style)]


def format_property(name: str, value: object, *, timestamp_style: str = "pretty") -> str:
    """One property value exactly as `systemctl show` prints it after `Name=`.

    Exec properties with several commands give one line per command joined by "\\n".
    # spec: systemctl-and-journal.md §4 (value formats); systemd: bus_print_property()
    """
    kind = property_kind(name, value)
    if value is None and kind not in (NOT_SET_UINT, ACTION_EXIT_STATUS, LOAD_ERROR, JOB):
        return ""
    if isinstance(value, str) and kind not in (LIST, EXEC, EXEC_EX, LOAD_ERROR):
        return value  # already formatted (e.g. `[not set]`, `0022`)
    if kind == BOOL:
        return "yes" if value else "no"
    if kind == TIMESPAN:
        return format_timespan(int(value))  # type: ignore[arg-type]
    if kind == TIMESTAMP:
        return format_timestamp(int(value), style=timestamp_style)  # type: ignore[arg-type]
    if kind in (MONOTONIC, INT, SIGNAL):
        return str(int(value))  # type: ignore[arg-type]
    if kind == LIST:
        return " ".join(shell_maybe_quote(str(v)) for v in value)  # type: ignore[union-attr]
    if kind == EXIT_STATUS_SET:
        v = value or {}
        statuses = [str(s) for s in v.get("statuses", ())]  # type: ignore[union-attr]
        signals = [signal_name(s) for s in v.get("signals", ())]  # type: ignore[union-attr]
        return " ".join(statuses + signals)
    if kind == NOT_SET_UINT:
        return "[not set]" if value is None or value == UINT64_MAX else str(value)
    if kind == LOAD_ERROR:
        if not value:
            return ""
        err, msg = value  # type: ignore[misc]
        return f'{err} "{msg}"' if err or msg else ""
    if kind == JOB:
        return str(value) if value else ""
    if kind in (EXEC, EXEC_EX, ACTION_EXIT_STATUS, UNPRINTABLE, TIMERS_MONOTONIC, TIMERS_CALENDAR):
        vals = _values(name, value, True, timestamp_style)
        return "\n".join(vals or ())
    return str(value)


def _show_order(props: Mapping[str, object]) -> list[str]:
    """Property names in systemd's D-Bus order (type interface first, then Unit), unknown last."""
    unit_id = str(props.get("Id") or "")
    # type-specific interface first; without an Id assume a service
    first = _TIMER_ORDER if unit_id.endswith(".timer") else _SERVICE_ORDER
    if unit_id and not unit_id.endswith((".timer", ".service")):
        first = ()
    known = [n for n in first if n in props] + [n for n in _UNIT_ORDER if n in props]
    seen = set(known)
    # Ex variants are derived from the plain exec properties
    extra = [n for n in props if n not in seen]
    return known + extra


def format_show(
    props: Mapping[str, object],
    names: Iterable[str] | None = None,
    value_only: bool = False,
    all_: bool = False,
    *,
    timestamp_style: str = "pretty",
    with_exec_ex: bool = True,
) -> str:
    """`systemctl show` text for one unit (each line ends with "\\n").

    Rules (systemd 257, bus_print_property_value()): empty values are omitted unless `all_`
    or the property was requested with `-p` (`names`); with `names` only those properties
    print, still in systemd's order; `value_only` (`--value`) drops `Name=`. Exec properties
    print one line per command and never when empty; their `…Ex` twins are derived when
    `with_exec_ex`. Several units are joined by the caller with a blank line.
    # spec: systemctl-and-journal.md §4
    """
    data = dict(props)
    if with_exec_ex:
        for n in EXEC_PROPERTIES:
            if n in data and n + "Ex" not in data:
                data[n + "Ex"] = data[n]
    wanted = None
    if names is not None:
        wanted = {w for n in names for w in n.split(",") if w}
    show_empty = all_ or wanted is not None
    order = _show_order(data)
    # keep Ex right after its plain twin when it was derived
    if with_exec_ex:
        order = [n for n in order if not (n.endswith("Ex") and n[:-2] in EXEC_PROPERTIES)]
        expanded: list[str] = []
        for n in order:
            expanded.append(n)
            if n in EXEC_PROPERTIES:
                expanded.append(n + "Ex")
        order = expanded
    out: list[str] = []
    for name in order:
        if wanted is not None and name not in wanted:
            continue
        vals = _values(name, data[name], show_empty, timestamp_style)
        if vals is None:
            continue
        for v in vals:
            if v == "" and not show_empty:
                continue
            out.append(v if value_only else f"{name}={v}")
    return "".join(line + "\n" for line in out)


def format_show_many(
    units: Iterable[Mapping[str, object]],
    names: Iterable[str] | None = None,
    value_only: bool = False,
    all_: bool = False,
    *,
    timestamp_style: str = "pretty",
) -> str:
    """`systemctl show A B`: each unit's block, separated by one blank line (observed v257)."""
    wanted = list(names) if names is not None else None
    blocks = [format_show(u, wanted, value_only, all_, timestamp_style=timestamp_style) for u in units]
    return "\n".join(blocks)


_SERVICE_ORDER: tuple[str, ...] = tuple(
    """
    Type ExitType Restart RestartMode PIDFile NotifyAccess RestartUSec RestartSteps
    RestartMaxDelayUSec RestartUSecNext TimeoutStartUSec TimeoutStopUSec TimeoutAbortUSec
    TimeoutStartFailureMode TimeoutStopFailureMode RuntimeMaxUSec RuntimeRandomizedExtraUSec
    WatchdogUSec WatchdogTimestamp WatchdogTimestampMonotonic RootDirectoryStartOnly
    RemainAfterExit GuessMainPID RestartPreventExitStatus RestartForceExitStatus
    SuccessExitStatus MainPID ControlPID BusName FileDescriptorStoreMax NFileDescriptorStore
    FileDescriptorStorePreserve StatusText StatusErrno StatusBusError StatusVarlinkError Result
    ReloadResult CleanResult LiveMountResult USBFunctionDescriptors USBFunctionStrings UID GID
    NRestarts OOMPolicy ExtraFileDescriptorNames ReloadSignal ExecMainStartTimestamp
    ExecMainStartTimestampMonotonic ExecMainExitTimestamp ExecMainExitTimestampMonotonic
    ExecMainHandoffTimestamp ExecMainHandoffTimestampMonotonic ExecMainPID ExecMainCode
    ExecMainStatus ExecCondition ExecConditionEx ExecStartPre ExecStartPreEx ExecStart
    ExecStartEx ExecStartPost ExecStartPostEx ExecReload ExecReloadEx ExecStop ExecStopEx
    ExecStopPost ExecStopPostEx Slice ControlGroup ControlGroupId MemoryCurrent MemoryPeak
    MemorySwapCurrent MemorySwapPeak MemoryZSwapCurrent MemoryAvailable EffectiveMemoryMax
    EffectiveMemoryHigh CPUUsageNSec EffectiveCPUs EffectiveMemoryNodes TasksCurrent
    EffectiveTasksMax IPIngressBytes IPIngressPackets IPEgressBytes IPEgressPackets IOReadBytes
    IOReadOperations IOWriteBytes IOWriteOperations Delegate DelegateControllers
    DelegateSubgroup CPUAccounting CPUWeight StartupCPUWeight CPUShares StartupCPUShares
    CPUQuotaPerSecUSec CPUQuotaPeriodUSec AllowedCPUs StartupAllowedCPUs AllowedMemoryNodes
    StartupAllowedMemoryNodes IOAccounting IOWeight StartupIOWeight BlockIOAccounting
    BlockIOWeight StartupBlockIOWeight MemoryAccounting DefaultMemoryLow DefaultStartupMemoryLow
    DefaultMemoryMin MemoryMin MemoryLow StartupMemoryLow MemoryHigh StartupMemoryHigh MemoryMax
    StartupMemoryMax MemorySwapMax StartupMemorySwapMax MemoryZSwapMax StartupMemoryZSwapMax
    MemoryZSwapWriteback MemoryLimit DevicePolicy TasksAccounting TasksMax IPAccounting
    IPAddressAllow IPAddressDeny IPIngressFilterPath IPEgressFilterPath DisableControllers
    ManagedOOMSwap ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit
    ManagedOOMMemoryPressureDurationUSec ManagedOOMPreference RestrictNetworkInterfaces
    MemoryPressureWatch MemoryPressureThresholdUSec NFTSet CoredumpReceive Environment
    PassEnvironment UnsetEnvironment UMask LimitCPU LimitCPUSoft LimitFSIZE LimitFSIZESoft
    LimitDATA LimitDATASoft LimitSTACK LimitSTACKSoft LimitCORE LimitCORESoft LimitRSS
    LimitRSSSoft LimitNOFILE LimitNOFILESoft LimitAS LimitASSoft LimitNPROC LimitNPROCSoft
    LimitMEMLOCK LimitMEMLOCKSoft LimitLOCKS LimitLOCKSSoft LimitSIGPENDING LimitSIGPENDINGSoft
    LimitMSGQUEUE LimitMSGQUEUESoft LimitNICE LimitNICESoft LimitRTPRIO LimitRTPRIOSoft
    LimitRTTIME LimitRTTIMESoft WorkingDirectory RootDirectory RootImage RootHash RootHashPath
    RootHashSignature RootHashSignaturePath RootVerity RootEphemeral ExtensionDirectories
    ExtensionImages MountImages OOMScoreAdjust CoredumpFilter Nice IOSchedulingClass
    IOSchedulingPriority CPUSchedulingPolicy CPUSchedulingPriority CPUAffinity
    CPUAffinityFromNUMA NUMAPolicy NUMAMask TimerSlackNSec CPUSchedulingResetOnFork NonBlocking
    StandardInput StandardInputFileDescriptorName StandardInputData StandardOutput
    StandardOutputFileDescriptorName StandardError StandardErrorFileDescriptorName TTYPath
    TTYReset TTYVHangup TTYVTDisallocate TTYRows TTYColumns SyslogPriority SyslogIdentifier
    SyslogLevelPrefix SyslogLevel SyslogFacility LogLevelMax LogRateLimitIntervalUSec
    LogRateLimitBurst LogExtraFields LogNamespace SecureBits CapabilityBoundingSet
    AmbientCapabilities User Group DynamicUser SetLoginEnvironment RemoveIPC SetCredential
    SetCredentialEncrypted LoadCredential LoadCredentialEncrypted ImportCredential
    ImportCredentialEx SupplementaryGroups PAMName ReadWritePaths ReadOnlyPaths
    InaccessiblePaths ExecPaths NoExecPaths ExecSearchPath MountFlags PrivateTmp PrivateTmpEx
    PrivateDevices ProtectClock ProtectKernelTunables ProtectKernelModules ProtectKernelLogs
    ProtectControlGroups ProtectControlGroupsEx PrivateNetwork PrivateUsers PrivateUsersEx
    PrivateMounts PrivateIPC PrivatePIDs ProtectHome ProtectSystem SameProcessGroup
    UtmpIdentifier UtmpMode SELinuxContext AppArmorProfile SmackProcessLabel IgnoreSIGPIPE
    NoNewPrivileges SystemCallFilter SystemCallArchitectures SystemCallErrorNumber SystemCallLog
    Personality LockPersonality RestrictAddressFamilies RuntimeDirectoryPreserve
    RuntimeDirectoryMode RuntimeDirectory StateDirectoryMode StateDirectory CacheDirectoryMode
    CacheDirectory LogsDirectoryMode LogsDirectory ConfigurationDirectoryMode
    ConfigurationDirectory TimeoutCleanUSec MemoryDenyWriteExecute RestrictRealtime
    RestrictSUIDSGID RestrictNamespaces RestrictFileSystems BindPaths BindReadOnlyPaths
    TemporaryFileSystem MountAPIVFS BindLogSockets KeyringMode ProtectProc ProcSubset
    ProtectHostname MemoryKSM NetworkNamespacePath IPCNamespacePath RootImagePolicy
    MountImagePolicy ExtensionImagePolicy KillMode KillSignal RestartKillSignal FinalKillSignal
    SendSIGKILL SendSIGHUP WatchdogSignal
    """.split()
)
_TIMER_ORDER: tuple[str, ...] = tuple(
    """
    Unit TimersMonotonic TimersCalendar OnClockChange OnTimezoneChange NextElapseUSecRealtime
    NextElapseUSecMonotonic LastTriggerUSec LastTriggerUSecMonotonic Result AccuracyUSec
    RandomizedDelayUSec FixedRandomDelay Persistent WakeSystem RemainAfterElapse
    DeferReactivation
    """.split()
)
_UNIT_ORDER: tuple[str, ...] = tuple(
    """
    Id Names Following Requires Requisite Wants BindsTo PartOf Upholds RequiredBy RequisiteOf
    WantedBy BoundBy UpheldBy ConsistsOf Conflicts ConflictedBy Before After OnSuccess
    OnSuccessOf OnFailure OnFailureOf Triggers TriggeredBy PropagatesReloadTo
    ReloadPropagatedFrom PropagatesStopTo StopPropagatedFrom JoinsNamespaceOf SliceOf
    RequiresMountsFor WantsMountsFor Documentation Description AccessSELinuxContext LoadState
    ActiveState FreezerState SubState FragmentPath SourcePath DropInPaths UnitFileState
    UnitFilePreset StateChangeTimestamp StateChangeTimestampMonotonic InactiveExitTimestamp
    InactiveExitTimestampMonotonic ActiveEnterTimestamp ActiveEnterTimestampMonotonic
    ActiveExitTimestamp ActiveExitTimestampMonotonic InactiveEnterTimestamp
    InactiveEnterTimestampMonotonic CanStart CanStop CanReload CanIsolate CanClean CanFreeze
    CanLiveMount Job StopWhenUnneeded RefuseManualStart RefuseManualStop AllowIsolate
    DefaultDependencies SurviveFinalKillSignal OnSuccessJobMode OnFailureJobMode IgnoreOnIsolate
    NeedDaemonReload Markers JobTimeoutUSec JobRunningTimeoutUSec JobTimeoutAction
    JobTimeoutRebootArgument ConditionResult AssertResult ConditionTimestamp
    ConditionTimestampMonotonic AssertTimestamp AssertTimestampMonotonic Conditions Asserts
    LoadError Transient Perpetual StartLimitIntervalUSec StartLimitBurst StartLimitAction
    FailureAction FailureActionExitStatus SuccessAction SuccessActionExitStatus RebootArgument
    InvocationID CollectMode Refs ActivationDetails DebugInvocation
    """.split()
)
