"""`systemctl status` text (the list verbs are in listing.py).

Pure functions of the snapshot (a dict of raw properties under systemd's names, see
`sysvisor.protocol.properties`), the current time and the journal lines, so they are tested
against golden files recorded from real systemd 257 (tests/data/golden/oracle).
Ported from systemd's src/systemctl/systemctl-show.c `print_status_info()`. Stdlib only:
the CLI imports this for `status`.

Snapshot keys besides systemd's properties (the CLI or daemon fills them; all optional):
  MainPIDComm, ControlPIDComm  process names shown as `Main PID: 65 (sleep)`
  CGroupProcesses              [(pid, cmdline), ...] of the unit's cgroup, for the `CGroup:` tree
  CGroupTree                   or the whole tree: {"path", "processes", "children": [...]}
# spec: systemctl-and-journal.md §3, §5; service-lifecycle.md §8.3 (trap 30)
"""

from __future__ import annotations

import os
TYPE_CHECKING = False  # annotations only: `status` imports this module, and collections costs it ~2 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

from sysvisor.cli.format import (
    ANSI_GREY,
    ANSI_HIGHLIGHT_CYAN,
    ANSI_HIGHLIGHT_GREEN,
    ANSI_HIGHLIGHT_RED,
    ANSI_HIGHLIGHT_YELLOW,
    Style,
    active_state_color,
    active_state_glyph,
    ellipsize,
    format_bytes,
    unit_file_state_color,
)
from sysvisor.core.exit_status import STATUS_DISPLAY_CLASSES, code_number, code_word, exit_status_name, is_clean_exit, signal_name
from sysvisor.protocol.properties import EXEC_PROPERTIES, UINT64_MAX
from sysvisor.timefmt import (
    USEC_PER_MSEC,
    format_timespan,
    format_timestamp,
    format_timestamp_relative,
    timestamp_is_set,
)

# exit codes of `systemctl status` (LSB) # spec: systemctl-and-journal.md §2
EXIT_OK = 0
EXIT_NOT_RUNNING = 3
EXIT_UNKNOWN = 4

_INDENT = " " * 13  # continuation lines: past the 12-column label and its space


def _label(name: str) -> str:
    """`name:` right-aligned so its colon sits in column 12, plus one space."""
    return f"{name + ':':>12} "


def _int(props: Mapping[str, object], key: str) -> int:
    v = props.get(key)
    return int(v) if v else 0


def _set(v: object) -> bool:
    return v is not None and v != UINT64_MAX


def status_unit_missing(props: Mapping[str, object]) -> bool:
    """True when `status` prints `Unit X could not be found.` (stderr, exit 4) instead.

    # systemd: systemctl-show.c show_one(): not-found and inactive
    """
    return props.get("LoadState") == "not-found" and props.get("ActiveState") in (None, "inactive") and not props.get("Job")


def status_exit_code(props: Mapping[str, object]) -> int:
    """`systemctl status` exit code for one unit: 0 active/reloading, 4 unknown, else 3."""
    if status_unit_missing(props):
        return EXIT_UNKNOWN
    if props.get("ActiveState") in ("active", "reloading"):
        return EXIT_OK
    return EXIT_NOT_RUNNING


def status_warning(props: Mapping[str, object], user: bool = False) -> str | None:
    """The daemon-reload warning systemctl logs to stderr after the status text, or None.

    # systemd: warn_unit_file_changed()
    """
    if not props.get("NeedDaemonReload"):
        return None
    return (
        f"Warning: The unit file, source configuration file or drop-ins of {props.get('Id')} changed on disk. "
        f"Run 'systemctl{' --user' if user else ''} daemon-reload' to reload units."
    )


def _exit_text(code: int, status: int) -> str:
    """`code=exited, status=1/FAILURE` / `code=exited, status=2` / `code=killed, signal=KILL` (trap 30)."""
    word = code_word(code) or "(null)"
    if code == 1:
        name = exit_status_name(status, STATUS_DISPLAY_CLASSES)
        return f"code={word}, status={status}" + (f"/{name}" if name else "")
    return f"code={word}, signal={signal_name(status)}"


def _since(timestamp: int, now: int, style: str) -> str:
    if not timestamp_is_set(timestamp):
        return ""
    rel = format_timestamp_relative(timestamp, now)
    return f" since {format_timestamp(timestamp, style=style)}; {rel}"


def _dropin_lines(paths: Sequence[str], st: Style) -> list[str]:
    """`Drop-In: DIR` then `└─a.conf, b.conf` per directory. # systemd: print_status_info()"""
    lines: list[str] = []
    current_dir: str | None = None
    buf = ""
    for i, path in enumerate(paths):
        d, base = os.path.split(path)
        if current_dir is None or d != current_dir:
            if current_dir is not None:
                lines.append(buf)
            head = _label("Drop-In") if current_dir is None else _INDENT
            lines.append(f"{head}{d}")
            buf = f"{_INDENT}{st.glyph('tree-right')}"
            current_dir = d
        nxt = paths[i + 1] if i + 1 < len(paths) else None
        last = nxt is None or os.path.dirname(nxt) != d
        buf += st.link_path(path, base) + ("" if last else ", ")
    if current_dir is not None:
        lines.append(buf)
    return lines


def _loaded_line(props: Mapping[str, object], st: Style) -> str:
    load_state = props.get("LoadState") or "n/a"
    bad = load_state in ("error", "not-found", "bad-setting")
    state = st.paint(load_state, ANSI_HIGHLIGHT_RED if bad else "")
    load_error = props.get("LoadError")
    message = load_error[1] if isinstance(load_error, (list, tuple)) and len(load_error) == 2 else load_error
    path = props.get("SourcePath") or props.get("FragmentPath")
    ufs = props.get("UnitFileState")
    preset = props.get("UnitFilePreset")
    if message:
        return f"{_label('Loaded')}{state} (Reason: {message})"
    if path:
        path = st.link_path(path)
    if path and ufs:
        # systemd: show_preset_for_state()
        show_preset = bool(preset) and ufs not in ("alias", "static", "generated", "transient")
        # the preset's colour codes are printed even when the preset is not (observed)
        p_color = unit_file_state_color(preset)
        return (
            f"{_label('Loaded')}{state} ({path}; {st.paint(ufs, unit_file_state_color(ufs))}"
            + ("; preset: " if show_preset else "")
            + st.on(p_color)
            + (preset if show_preset else "")
            + st.off(p_color)
            + ")"
        )
    if path:
        return f"{_label('Loaded')}{state} ({path})"
    return f"{_label('Loaded')}{state}"


def _active_line(props: Mapping[str, object], now: int, st: Style, style: str) -> str:
    active = props.get("ActiveState") or "n/a"
    sub = props.get("SubState")
    color = active_state_color(active)
    text = f"{active} ({sub})" if sub and sub != active else active
    line = _label("Active") + st.paint(text, color)
    freezer = props.get("FreezerState")
    if freezer and freezer != "running":
        line += " " + st.paint(f"({freezer})", ANSI_HIGHLIGHT_YELLOW)
    result = props.get("Result")
    if result and result != "success":
        line += f" (Result: {result})"
    if active in ("active", "reloading"):
        ts = _int(props, "ActiveEnterTimestamp")
    elif active in ("inactive", "failed"):
        ts = _int(props, "InactiveEnterTimestamp")
    elif active == "activating":
        ts = _int(props, "InactiveExitTimestamp")
    else:
        ts = _int(props, "ActiveExitTimestamp")
    return line + _since(ts, now, style)


def _condition_lines(props: Mapping[str, object], now: int, st: Style, style: str) -> list[str]:
    """`Condition:`/`Assert:` lines after a failed check. # systemd: print_status_info()"""
    lines: list[str] = []
    cts = _int(props, "ConditionTimestamp")
    if not props.get("ConditionResult") and cts > 0:
        rel = format_timestamp_relative(cts, now)
        lines.append(
            f"{_label('Condition')}start {st.paint('condition unmet', ANSI_HIGHLIGHT_YELLOW)} at "
            f"{format_timestamp(cts, style=style)}" + (f"; {rel}" if rel else "")
        )
        failed = [c for c in props.get("Conditions") or () if int(c.get("state", 0)) < 0]
        for i, c in enumerate(failed):
            glyph = st.glyph("tree-right" if i == len(failed) - 1 else "tree-branch")
            mark = ("|" if c.get("trigger") else "") + ("!" if c.get("negate") else "")
            lines.append(f"{_INDENT}{glyph} {c['name']}={mark}{c['param']} was not met")
    ats = _int(props, "AssertTimestamp")
    if not props.get("AssertResult") and ats > 0:
        rel = format_timestamp_relative(ats, now)
        lines.append(
            f"{_label('Assert')}start {st.paint('assertion failed', ANSI_HIGHLIGHT_RED)} at "
            f"{format_timestamp(ats, style=style)}" + (f"; {rel}" if rel else "")
        )
        # systemd: map_asserts(): the first failed one, a trigger one only if nothing else
        failed_assert = None
        for a in props.get("Asserts") or ():
            if int(a.get("state", 0)) < 0 and (not a.get("trigger") or failed_assert is None):
                failed_assert = a
        if failed_assert is not None:
            if failed_assert.get("trigger"):
                lines.append(f"{_INDENT}none of the trigger assertions were met")
            else:
                neg = "!" if failed_assert.get("negate") else ""
                lines.append(f"{_INDENT}{failed_assert['name']}={neg}{failed_assert['param']} was not met")
    return lines


def _timer_trigger(props: Mapping[str, object], now: int, now_monotonic: int | None, style: str) -> str:
    """`Trigger:` of a timer: its next elapse, or `n/a`. # systemd: print_status_info()"""
    nxt = timer_next_elapse(props, now, now_monotonic)
    if not nxt:
        return f"{_label('Trigger')}n/a"
    return f"{_label('Trigger')}{format_timestamp(nxt, style=style)}; {format_timestamp_relative(nxt, now)}"


def _process_lines(props: Mapping[str, object], st: Style) -> tuple[list[str], int, int]:
    """`Process:` lines for exited exec commands; returns (lines, main_pid, control_pid) after dedup."""
    main_pid = _int(props, "ExecMainPID") or _int(props, "MainPID")
    control_pid = _int(props, "ControlPID")
    main_start = _int(props, "ExecMainStartTimestamp")
    main_exit = _int(props, "ExecMainExitTimestamp")
    lines = []
    for name in EXEC_PROPERTIES:
        for cmd in props.get(name) or ():
            code = code_number(cmd.get("code"))
            if code == 0:
                continue
            status = int(cmd.get("status") or 0)
            pid = int(cmd.get("pid") or 0)
            argv = " ".join(cmd.get("argv") or ()) or "n/a"
            color = "" if is_clean_exit(code, status) else ANSI_HIGHLIGHT_RED
            lines.append(f"{_label('Process')}{pid} {name}={argv} " + st.paint(f"({_exit_text(code, status)})", color))
            start = int(cmd.get("start_time") or 0)
            # systemd's own (odd) dedup test, kept verbatim
            if main_pid == pid and main_start == start and main_exit == start:
                main_pid = 0
            if pid == control_pid:
                control_pid = 0
    return lines, main_pid, control_pid


def _pid_line(props: Mapping[str, object], main_pid: int, control_pid: int) -> str | None:
    if main_pid <= 0 and control_pid <= 0:
        return None
    line = ""
    if main_pid > 0:
        line = f"{_label('Main PID')}{main_pid}"
        running = _int(props, "MainPID") > 0
        exit_code = _int(props, "ExecMainCode")
        if running:
            comm = props.get("MainPIDComm")
            if comm:
                line += f" ({comm})"
        elif exit_code > 0:
            line += f" ({_exit_text(exit_code, _int(props, 'ExecMainStatus'))})"
    if control_pid > 0:
        # "Cntrl PID:" when first in the column, abbreviated so it fits the alignment
        line += "; Control PID: " if main_pid > 0 else "  Cntrl PID: "
        line += str(control_pid)
        comm = props.get("ControlPIDComm")
        if comm:
            line += f" ({comm})"
    return line


def _memory_line(props: Mapping[str, object]) -> str | None:
    """`Memory: 21.3M (max: 100.0M peak: 22.0M)`: limits, then peak and swap when non-zero.

    Order and blanks as in systemd's print_status_info() (from the source; the oracle
    container has no memory accounting to observe it).
    """
    cur = props.get("MemoryCurrent")
    if not _set(cur):
        return None
    extras = []
    for key, label in (("MemoryMin", "min"), ("MemoryLow", "low"), ("MemoryHigh", "high"), ("MemoryMax", "max"),
                       ("MemorySwapMax", "swap max")):
        v = props.get(key)
        if _set(v) and (key not in ("MemoryMin", "MemoryLow") or v):
            extras.append(f"{label}: {format_bytes(int(v))}")
    peak, swap_peak = props.get("MemoryPeak"), props.get("MemorySwapPeak")
    if _set(peak) and peak:
        extras.append(f"peak: {format_bytes(int(peak))}")
    if _set(swap_peak) and swap_peak:
        extras.append(f"swap: {format_bytes(int(props.get('MemorySwapCurrent') or 0))} swap peak: {format_bytes(int(swap_peak))}")
    return f"{_label('Memory')}{format_bytes(int(cur))}" + (f" ({' '.join(extras)})" if extras else "")


def cgroup_tree_lines(
    node: Mapping[str, object], prefix: str, st: Style, columns: int | None = None
) -> list[str]:
    """A cgroup's processes, then its child cgroups, as systemd draws the `CGroup:` tree.

    `node`: {"path": str, "processes": [(pid, cmdline)], "children": [node, ...]}. PIDs are
    right-aligned to the widest PID of their own cgroup; with `columns` the command lines
    are ellipsized to fit.
    # systemd: cgroup-show.c show_cgroup_by_path(), show_pid_array()
    """
    lines: list[str] = []
    procs = sorted((int(p), str(c)) for p, c in node.get("processes") or ())
    children = sorted(node.get("children") or (), key=lambda c: str(c.get("path", "")))
    width = len(str(procs[-1][0])) if procs else 0
    total = len(procs) + len(children)
    for i, (pid, cmdline) in enumerate(procs):
        last = i == total - 1
        glyph = st.glyph("tree-right" if last else "tree-branch")
        text = f"{pid:>{width}} {cmdline}"
        if columns:
            text = ellipsize(text, max(columns - len(prefix) - 2, 1))
        lines.append(prefix + glyph + st.paint(text, ANSI_GREY))
    for j, child in enumerate(children):
        last = len(procs) + j == total - 1
        glyph = st.glyph("tree-right" if last else "tree-branch")
        lines.append(prefix + glyph + os.path.basename(str(child.get("path", "")).rstrip("/")))
        deeper = prefix + ("  " if last else st.glyph("tree-vertical"))
        lines.extend(cgroup_tree_lines(child, deeper, st, columns))
    return lines


def _cgroup_lines(props: Mapping[str, object], st: Style, columns: int | None) -> list[str]:
    cg = props.get("ControlGroup")
    if not cg:
        return []
    tree = props.get("CGroupTree") or {"path": cg, "processes": props.get("CGroupProcesses") or ()}
    return [f"{_label('CGroup')}{cg}"] + cgroup_tree_lines(tree, _INDENT, st, columns)


def render_status(
    props: Mapping[str, object],
    journal_lines: Sequence[str],
    now_realtime_usec: int,
    *,
    color: bool = False,
    full: bool = True,
    now_monotonic_usec: int | None = None,
    unit_states: Mapping[str, str] | None = None,
    timestamp_style: str = "pretty",
    utf8: bool = True,
    columns: int | None = None,
    urlify_host: str | None = None,
) -> str:
    """The `systemctl status UNIT` text for one unit snapshot (ends with "\\n").

    `journal_lines` are the already formatted log lines (`-n`, `-o` applied by the caller);
    `unit_states` gives the ActiveState of TriggeredBy=/Triggers= units for their glyphs;
    `now_monotonic_usec` is needed only for a timer's monotonic `Trigger:`. With `full=False`
    and `columns` (a TTY without -l), the cgroup's command lines are ellipsized to the width;
    other lines never are (observed v257; journal lines are the journal formatter's business).
    Several units: join the texts with "\\n" (a blank line), exit with `status_many_exit_code`.
    Missing units (`status_unit_missing`) print `Unit X could not be found.` to stderr instead.
    With `color` and `urlify_host` (the host name), paths and URLs are OSC-8 hyperlinks.
    # spec: systemctl-and-journal.md §3; systemd: systemctl-show.c print_status_info()
    """
    st = Style(color=color, utf8=utf8, urlify_host=urlify_host)
    now = now_realtime_usec
    unit_id = props.get("Id") or "n/a"
    active = props.get("ActiveState")
    states = unit_states or {}
    out: list[str] = []

    glyph = st.paint(st.glyph(active_state_glyph(active)), active_state_color(active))
    desc = props.get("Description")
    out.append(f"{glyph} {unit_id}" + (f" - {desc}" if desc and desc != unit_id else ""))
    if props.get("Following"):
        out.append(f"{_label('Follows')}unit currently follows state of {props['Following']}")
    out.append(_loaded_line(props, st))
    if props.get("Transient"):
        out.append(f"{_label('Transient')}yes")
    out.extend(_dropin_lines(list(props.get("DropInPaths") or ()), st))
    out.append(_active_line(props, now, st, timestamp_style))

    # Until: the RuntimeMaxSec= deadline of an active unit (v256+)
    runtime_max = props.get("RuntimeMaxUSec")
    enter = _int(props, "ActiveEnterTimestamp")
    if active in ("active", "reloading") and runtime_max and timestamp_is_set(runtime_max) and timestamp_is_set(enter):
        until = enter + int(runtime_max)
        out.append(f"{_label('Until')}{format_timestamp(until, style=timestamp_style)}; {format_timestamp_relative(until, now)}")
    # Duration: how long the last activation lasted (inactive/failed units only)
    exit_ts = _int(props, "ActiveExitTimestamp")
    if (
        not unit_id.endswith(".device")
        and active in ("inactive", "failed")
        and timestamp_is_set(enter)
        and timestamp_is_set(exit_ts)
        and exit_ts >= enter
    ):
        out.append(f"{_label('Duration')}{format_timespan(exit_ts - enter, USEC_PER_MSEC)}")
    job = props.get("Job")
    if isinstance(job, int) and not isinstance(job, bool) and job > 0:  # the job id; a type word is list-units'
        out.append(f"{_label('Job')}{job}")
    if props.get("InvocationID"):
        out.append(f"{_label('Invocation')}{props['InvocationID']}")

    for i, t in enumerate(props.get("TriggeredBy") or ()):
        s = states.get(t)
        g = st.paint(st.glyph(active_state_glyph(s)), active_state_color(s))
        out.append(f"{'TriggeredBy:' if i == 0 else ' ' * 12} {g} {t}")
    if unit_id.endswith(".timer"):
        out.append(_timer_trigger(props, now, now_monotonic_usec, timestamp_style))
    for i, t in enumerate(props.get("Triggers") or ()):
        s = states.get(t)
        g = st.paint(st.glyph("black-circle"), active_state_color(s))
        out.append(f"{'   Triggers:' if i == 0 else ' ' * 12} {g} {t}")

    out.extend(_condition_lines(props, now, st, timestamp_style))

    for i, doc in enumerate(props.get("Documentation") or ()):
        out.append(f"{_label('Docs') if i == 0 else _INDENT}{st.link(doc)}")

    proc_lines, main_pid, control_pid = _process_lines(props, st)
    out.extend(proc_lines)
    pid_line = _pid_line(props, main_pid, control_pid)
    if pid_line:
        out.append(pid_line)

    if props.get("StatusText"):
        out.append(f'{_label("Status")}"{st.paint(props["StatusText"], ANSI_HIGHLIGHT_CYAN)}"')
    errno = _int(props, "StatusErrno")
    if errno > 0:
        out.append(f"{_label('Error')}{errno} ({os.strerror(errno)})")
    tasks = props.get("TasksCurrent")
    if _set(tasks):
        line = f"{_label('Tasks')}{tasks}"
        tmax = props.get("TasksMax")
        if _set(tmax):
            line += f" (limit: {tmax})"
        out.append(line)
    mem = _memory_line(props)
    if mem:
        out.append(mem)
    cpu = props.get("CPUUsageNSec")
    if _set(cpu):
        out.append(f"{_label('CPU')}{format_timespan(int(cpu) // 1000, USEC_PER_MSEC)}")
    out.extend(_cgroup_lines(props, st, None if full else columns))

    text = "".join(line + "\n" for line in out)
    if journal_lines:
        text += "\n" + "".join(line + "\n" for line in journal_lines)
    return text


def status_many_exit_code(units: Iterable[Mapping[str, object]]) -> int:
    """`systemctl status A B …` exit code: the first non-zero per-unit code (observed v257)."""
    for props in units:
        rc = status_exit_code(props)
        if rc:
            return rc
    return EXIT_OK


def timer_next_elapse(props: Mapping[str, object], now_realtime_usec: int, now_monotonic_usec: int | None) -> int:
    """The realtime µs of a timer's next elapse: nearer of calendar and monotonic, 0 if none.

    # systemd: systemctl-list-timers.c calc_next_elapse()
    """
    real = _int(props, "NextElapseUSecRealtime")
    mono = _int(props, "NextElapseUSecMonotonic")
    if timestamp_is_set(mono) and now_monotonic_usec is not None:
        converted = now_realtime_usec + (mono - now_monotonic_usec)
        return min(converted, real) if timestamp_is_set(real) else converted
    return real if timestamp_is_set(real) else 0


# ---------------------------------------------------------------- manager overview


def render_manager_status(
    props: Mapping[str, object],
    now_realtime_usec: int,
    *,
    hostname: str,
    color: bool = False,
    timestamp_style: str = "pretty",
    columns: int | None = None,
) -> str:
    """`systemctl status` with no unit: the manager's overview and its whole cgroup tree.

    `props` are manager properties: SystemState, NNames, NJobs, NFailedUnits,
    UserspaceTimestamp (realtime µs), Version, Tainted, ControlGroup and the optional
    CGroupTree ({"path", "processes", "children"}).
    # systemd: systemctl-show.c show_system_status()
    """
    st = Style(color=color)
    state = str(props.get("SystemState") or "")
    if state == "degraded":
        on = ANSI_HIGHLIGHT_RED
    elif state == "running":
        on = ANSI_HIGHLIGHT_GREEN
    else:
        on = ANSI_HIGHLIGHT_YELLOW
    since = _int(props, "UserspaceTimestamp")
    out = [
        f"{st.paint(st.glyph('black-circle'), on)} {hostname}",
        f"    State: {st.paint(state or 'n/a', on)}",
        f"    Units: {_int(props, 'NNames')} loaded (incl. loaded aliases)",
        f"     Jobs: {_int(props, 'NJobs')} queued",
        f"   Failed: {_int(props, 'NFailedUnits')} units",
        f"    Since: {format_timestamp(since, style=timestamp_style) or 'n/a'}; {format_timestamp_relative(since, now_realtime_usec) or 'n/a'}",
        f"  systemd: {props.get('Version') or ''}",
    ]
    if props.get("Tainted"):
        out.append(f"  Tainted: {st.paint(str(props['Tainted']), ANSI_HIGHLIGHT_YELLOW)}")
    cg = str(props.get("ControlGroup") or "") or "/"
    out.append(f"   CGroup: {cg}")
    tree = props.get("CGroupTree")
    if tree:
        out.extend(cgroup_tree_lines(tree, " " * 11, st, columns))
    return "".join(line + "\n" for line in out)
