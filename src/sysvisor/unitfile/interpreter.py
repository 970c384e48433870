"""From lexed files to a typed `Unit`: section checks, the directive table, load-time verification.

Pure: takes the texts of the fragment and its drop-ins (in application order) and returns the
unit and its diagnostics. The loader does the file-system part.
# spec: unit-files.md §2, §6, §7; systemd: unit_load_fragment(), service_add_extras(),
#       service_verify()
"""

from __future__ import annotations

from collections.abc import Mapping

from sysvisor.core.types import USEC_INFINITY, EmergencyAction, LoadState, RestartPolicy, ServiceType
from sysvisor.core.units import ServiceSection, TimerSection, Unit
from sysvisor.unitfile import schema
from sysvisor.unitfile.errors import FATAL_SUFFIX, Diagnostic, error, warning
from sysvisor.unitfile.known import is_known
from sysvisor.unitfile.syntax import Assignment, Header, lex

# Unit types sysvisor runs; the type sections of the others are accepted without notices.
_RUN_TYPES = frozenset({"service", "target", "timer"})


def bad_setting_error(name: str) -> str:
    return f"Unit {name} has a bad unit file setting."


def interpret(name: str, sources: list[tuple[str, str]], *, specifiers: Mapping[str, str],
              user_manager: bool = False, release: int = 257,
              wording: int = 252) -> tuple[Unit, list[Diagnostic]]:
    """Build the unit `name` from `sources` = [(path, text)], fragment first, then drop-ins.

    Never raises. Load state is `loaded`, `bad-setting` (fatal setting or refused by the
    service checks) or `error` (file syntax, e.g. an invalid section header).
    # spec: unit-files.md §7
    """
    kind = name.rsplit(".", 1)[-1]
    unit = Unit(name=name)
    if kind == "service":
        unit.service = ServiceSection()
    elif kind == "timer":
        unit.timer = TimerSection()
    ctx = schema.Interpretation(unit, specifiers, user_manager, release, wording)
    sections = schema.SECTIONS.get(kind, ("Unit", "Install"))
    for path, text in sources:
        failure = _interpret_file(ctx, sections, path, text)
        if failure:
            unit.load_state = LoadState.ERROR
            unit.load_error = failure
            return unit, ctx.diagnostics
        if ctx.fatal:
            ctx.diagnostics.append(error(name, 0, FATAL_SUFFIX))
            unit.load_state = LoadState.BAD_SETTING
            unit.load_error = bad_setting_error(name)
            return unit, ctx.diagnostics
    refusal = None
    if unit.service is not None:
        refusal = _verify_service(unit, ctx.diagnostics)
    elif unit.timer is not None and not unit.timer.has_trigger():
        refusal = "Timer unit lacks value setting. Refusing."  # systemd: timer_verify()
    if refusal:
        ctx.diagnostics.append(error(name, 0, refusal))
        unit.load_state = LoadState.BAD_SETTING
        unit.load_error = bad_setting_error(name)
    return unit, ctx.diagnostics


def _interpret_file(ctx: schema.Interpretation, sections: tuple[str, ...], path: str, text: str) -> str | None:
    """Apply one file; returns systemd's errno text if the file cannot be used at all."""
    lexed = lex(text, path)
    pending = sorted(lexed.diagnostics, key=lambda d: d.line)
    out = ctx.diagnostics

    def flush(upto: int) -> None:
        while pending and pending[0].line <= upto:
            out.append(pending.pop(0))

    known = False
    extension = False
    for item in lexed.items:
        flush(item.line - 1)
        if isinstance(item, Header):
            extension = item.name.startswith("X-")
            known = item.name in sections
            if extension:
                ctx.unit.extensions.setdefault(item.name, [])
            elif not known:
                out.append(warning(path, item.line, f"Unknown section '{item.name}'. Ignoring."))
            continue
        _interpret_assignment(ctx, item, known, extension)
        if ctx.fatal:
            return None
    flush(1 << 62)
    return lexed.failure


def _interpret_assignment(ctx: schema.Interpretation, a: Assignment, known: bool, extension: bool) -> None:
    if extension:
        ctx.unit.extensions[a.section].append((a.key, a.value))
        return
    if not known:
        return  # inside an unknown section: already warned once at the header
    if a.key.startswith("X-"):
        ctx.unit.extensions.setdefault(a.section, []).append((a.key, a.value))
        return
    if not is_known(a.section, a.key, ctx.release):
        ctx.warn(a, f"Unknown key '{a.key}' in section [{a.section}], ignoring.")
        return
    directive = schema.lookup(a.section, a.key)
    if directive is not None:
        schema.apply(ctx, a, directive)
    elif ctx.unit.kind in _RUN_TYPES:
        ctx.notice(a, schema.not_supported(a.key))


def effective_service_type(svc: ServiceSection) -> ServiceType:
    """Type= after defaulting, keeping dbus. # systemd: service_add_extras()"""
    if svc.type is not None:
        return svc.type
    if svc.bus_name:
        return ServiceType.DBUS
    return ServiceType.SIMPLE if svc.exec_start else ServiceType.ONESHOT


def _verify_service(unit: Unit, out: list[Diagnostic]) -> str | None:
    """Load-time checks; returns the refusal message, appends warnings.

    # spec: unit-files.md §7.3; restart-and-failure.md §3; systemd: service_verify() (v257)
    """
    svc = unit.service
    assert svc is not None
    name = unit.name
    kind = effective_service_type(svc)
    success_action = unit.unit.success_action is not EmergencyAction.NONE
    if not svc.exec_start and not svc.exec_stop and not success_action:
        return "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing."
    if kind is not ServiceType.ONESHOT and not svc.exec_start:
        return "Service has no ExecStart= setting, which is only allowed for Type=oneshot services. Refusing."
    if not svc.remain_after_exit and not svc.exec_start and not success_action:
        return ("Service has no ExecStart= and no SuccessAction= settings and does not have "
                "RemainAfterExit=yes set. Refusing.")
    if kind is not ServiceType.ONESHOT and len(svc.exec_start) > 1:
        return ("Service has more than one ExecStart= setting, which is only allowed for "
                "Type=oneshot services. Refusing.")
    if kind is ServiceType.ONESHOT and svc.restart in (RestartPolicy.ALWAYS, RestartPolicy.ON_SUCCESS):
        return ("Service has Restart= set to either always or on-success, which isn't allowed for "
                "Type=oneshot services. Refusing.")
    if kind is ServiceType.DBUS and not svc.bus_name:
        return "Service is of type D-Bus but no D-Bus service name has been specified. Refusing."
    for label, cmds in (("ExecStart", svc.exec_start),):
        if any(not c.argv for c in cmds):
            return f"Service has an empty argv in {label}=. Refusing."
    if svc.runtime_max_usec != USEC_INFINITY and kind is ServiceType.ONESHOT:
        out.append(warning(name, 0, "RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring."))
    if svc.restart_max_delay_usec == USEC_INFINITY and svc.restart_steps > 0:
        out.append(warning(name, 0, "Service has RestartSteps= but no RestartMaxDelaySec= setting. Ignoring."))
    if svc.restart_max_delay_usec != USEC_INFINITY and svc.restart_steps == 0:
        out.append(warning(name, 0, "Service has RestartMaxDelaySec= but no RestartSteps= setting. Ignoring."))
    if svc.restart_max_delay_usec < svc.restart_usec:
        out.append(warning(name, 0, "RestartMaxDelaySec= has a value smaller than RestartSec=, "
                                    "resetting RestartSec= to RestartMaxDelaySec=."))
        svc.restart_usec = svc.restart_max_delay_usec
    return None
