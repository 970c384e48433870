"""`systemctl list-units`, `list-timers`, `list-unit-files` and `is-enabled` text.

Pure functions of the rows the manager (or the unit-file scan) returns, so they are tested
against output recorded from real systemd 257 (tests/data/golden/oracle). Ported from
systemd's src/systemctl/systemctl-list-units.c `output_units_list()`,
`output_timers_list()`, systemctl-list-unit-files.c and systemctl-is-enabled.c. Stdlib only.
The `status` text is in render.py.
# spec: systemctl-and-journal.md §5
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence

from sysvisor.cli.format import (
    ANSI_GREY,
    ANSI_HIGHLIGHT,
    ANSI_HIGHLIGHT_GREEN,
    ANSI_HIGHLIGHT_RED,
    ANSI_HIGHLIGHT_YELLOW,
    Style,
    format_table,
    type_group_ends,
    underlined_grey,
    unit_sort_key,
)
from sysvisor.cli.render import timer_next_elapse
from sysvisor.timefmt import format_timestamp, format_timestamp_relative, timestamp_is_set


def _int(props: Mapping[str, object], key: str) -> int:
    v = props.get(key)
    return int(v) if v else 0

# ---------------------------------------------------------------- list-units

LIST_UNITS_LEGEND = (
    "Legend: LOAD   {arrow} Reflects whether the unit definition was properly loaded.",
    "        ACTIVE {arrow} The high-level unit activation state, i.e. generalization of SUB.",
    "        SUB    {arrow} The low-level unit activation state, values depend on unit type.",
)
LIST_UNITS_LEGEND_JOB = "        JOB    {arrow} Pending job for the unit."


def select_units(
    rows: Iterable[Mapping[str, object]],
    patterns: Sequence[str] = (),
    *,
    all_: bool = False,
    states: Sequence[str] = (),
    types: Sequence[str] = (),
) -> list[Mapping[str, object]]:
    """The units `list-units` shows. # systemd: systemctl-util.c output_show_unit()

    Glob `patterns` on the name; `types` (`--type=`) on the suffix; `states` (`--state=`,
    `--failed`) match the load, active or sub state. Without `--all` units that follow
    another or are inactive without a pending job are hidden (unless `--state=` is given).
    """
    out = []
    for r in rows:
        uid = str(r.get("Id", ""))
        if patterns and not any(fnmatch.fnmatchcase(uid, p) for p in patterns):
            continue
        if types and uid.rpartition(".")[2] not in types:
            continue
        if states and not {r.get("LoadState"), r.get("ActiveState"), r.get("SubState")} & set(states):
            continue
        if not all_:
            if r.get("Following"):
                continue
            if not states and not r.get("Job") and not r.get("JobType") and r.get("ActiveState") == "inactive":
                continue
        out.append(r)
    return out


def render_list_units(
    rows: Iterable[Mapping[str, object]],
    all_: bool = False,
    plain: bool = False,
    legend: bool = True,
    *,
    color: bool = False,
    utf8: bool = True,
    states_filter: Sequence[str] | None = None,
    sort: bool = True,
) -> str:
    """`systemctl list-units` text (systemd 257 layout, ends with "\\n").

    `rows` are snapshots with at least Id, LoadState, ActiveState, SubState, Description and
    optionally JobType (the pending job's type word such as `stop`; `Job` is accepted too). The caller filters
    (default: active, with a job, or failed; `--all`; `--state=`); `states_filter` is the
    `--state=`/`--failed` list, which only changes the footer. A `●` marks units that did not
    load, failed ones and ones changing state; colours as observed with systemd 257.
    # spec: systemctl-and-journal.md §5; systemd: systemctl-list-units.c output_units_list()
    """
    st = Style(color=color, utf8=utf8)
    units = list(rows)
    if sort:
        units.sort(key=lambda r: unit_sort_key(str(r.get("Id", ""))))
    jobs = [_job_word(r.get("JobType") or r.get("Job")) for r in units]
    with_job = any(jobs)
    # the bullet column is one wide even when empty
    header = ([" "] if not plain else []) + ["UNIT", "LOAD", "ACTIVE", "SUB"] + (["JOB"] if with_job else []) + ["DESCRIPTION"]
    cells: list[list[str]] = []
    colors: list[list[str]] = []
    for r, job in zip(units, jobs):
        load = str(r.get("LoadState") or "")
        act = str(r.get("ActiveState") or "")
        sub = str(r.get("SubState") or "")
        circle_c = load_c = id_c = act_c = sub_c = ""
        circle = False
        if load in ("error", "not-found", "bad-setting", "masked"):
            # observed: not-found in yellow, masked (and the other load errors) in red
            circle, circle_c = True, ANSI_HIGHLIGHT_YELLOW
            load_c = ANSI_HIGHLIGHT_YELLOW if load == "not-found" else ANSI_HIGHLIGHT_RED
        if act == "failed":
            circle, circle_c = True, ANSI_HIGHLIGHT_RED
            id_c = act_c = sub_c = ANSI_HIGHLIGHT_RED
        elif act in ("reloading", "activating", "maintenance", "refreshing", "deactivating"):
            circle, circle_c = True, ANSI_HIGHLIGHT
            id_c = act_c = sub_c = ANSI_HIGHLIGHT
        elif act == "inactive":
            id_c = act_c = sub_c = ANSI_GREY
        elif sub == "exited":
            sub_c = ANSI_GREY
        row = [r.get("Id", ""), load, act, sub] + ([job] if with_job else []) + [r.get("Description") or r.get("Id", "")]
        rc = [id_c, load_c, act_c, sub_c] + ([""] if with_job else []) + [""]
        if not plain:
            row.insert(0, st.glyph("black-circle") if circle else "")
            rc.insert(0, circle_c if circle else "")
        cells.append([str(c) for c in row])
        colors.append(rc)
    out = format_table(
        header if legend else None, cells, st, colors, underline_rows=type_group_ends(units), underline=underlined_grey
    )
    if legend:
        arrow = st.glyph("arrow-right")
        n = len(units)
        if n > 0:
            out.append("")
            lines = [s.format(arrow=arrow) for s in LIST_UNITS_LEGEND]
            if with_job:
                lines.append(LIST_UNITS_LEGEND_JOB.format(arrow=arrow))
            out.extend(st.paint(line, ANSI_GREY) for line in lines)
        out.append("")
        count = f"{n} loaded units listed."
        count = st.paint(count, ANSI_HIGHLIGHT if n > 0 else ANSI_HIGHLIGHT_RED)
        hint = st.paint("To show all installed unit files use 'systemctl list-unit-files'.", ANSI_GREY)
        if all_ or (states_filter and "inactive" in states_filter):
            out += [count, hint]
        elif not states_filter:
            out += [count + " " + st.paint("Pass --all to see loaded but inactive units, too.", ANSI_GREY), hint]
        else:
            out.append(f"{n} loaded units listed.")
    return "".join(line + "\n" for line in out)


def _job_word(job: object) -> str:
    if not job:
        return ""
    if isinstance(job, Mapping):
        return str(job.get("type", ""))
    if isinstance(job, (list, tuple)) and len(job) >= 2:
        return str(job[1])
    return str(job)


# ---------------------------------------------------------------- list-timers


def render_list_timers(
    rows: Iterable[Mapping[str, object]],
    now_realtime_usec: int,
    now_monotonic_usec: int | None = None,
    *,
    all_: bool = False,
    legend: bool = True,
    color: bool = False,
    timestamp_style: str = "pretty",
) -> str:
    """`systemctl list-timers` text (systemd 257 layout, ends with "\\n").

    systemd 257 ignores `--timestamp=` here (observed), so leave `timestamp_style` alone.
    `rows` are timer snapshots: Id, NextElapseUSecRealtime, NextElapseUSecMonotonic (monotonic
    µs, needs `now_monotonic_usec`), LastTriggerUSec (realtime µs) and `Triggers` (or `Unit`):
    the activated unit(s). The caller filters (`--all`: include inactive timers).
    Sorted by next elapse, timers that will not elapse last.
    # spec: timers.md §6; systemd: systemctl-list-timers.c output_timers_list()
    """
    st = Style(color=color)
    now = now_realtime_usec
    items = []
    for r in rows:
        nxt = timer_next_elapse(r, now, now_monotonic_usec)
        items.append((nxt, str(r.get("Id", "")), r))
    items.sort(key=lambda t: (not timestamp_is_set(t[0]), t[0], t[1]))
    cells = []
    for nxt, unit_id, r in items:
        last = _int(r, "LastTriggerUSec")
        triggers = r.get("Triggers") or ([r["Unit"]] if r.get("Unit") else [])
        cells.append(
            [
                format_timestamp(nxt, style=timestamp_style) or "-",
                format_timestamp_relative(nxt, now, implicit_left=True) or "-",
                format_timestamp(last, style=timestamp_style) or "-",
                format_timestamp_relative(last, now) or "-",
                unit_id,
                ", ".join(triggers),
            ]
        )
    header = ["NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"]
    out = format_table(header if legend else None, cells, st, right=frozenset({1, 3}))
    if legend:
        n = len(cells)
        out.append("")
        out.append(st.paint(f"{n} timers listed.", ANSI_HIGHLIGHT if n else ANSI_HIGHLIGHT_RED))
        if not all_:
            out.append("Pass --all to see loaded but inactive timers, too.")
    return "".join(line + "\n" for line in out)


# ---------------------------------------------------------------- unit files


def render_list_unit_files(
    rows: Iterable[tuple[str, str, str | None]],
    *,
    legend: bool = True,
    color: bool = False,
    sort: bool = True,
) -> str:
    """`systemctl list-unit-files` text: rows of (unit file name, state, preset or None).

    The preset column shows `-` for states that have none (static, alias, ...), as the caller
    passes None. The caller exits 1 when nothing matched.
    # spec: unit-files.md §8; systemd: systemctl-list-unit-files.c output_unit_file_list()
    """
    st = Style(color=color)
    items = list(rows)
    if sort:
        items.sort(key=lambda r: unit_sort_key(r[0]))
    cells = [[name, state, preset or "-"] for name, state, preset in items]
    # observed v257: the state's colour also covers the gap after it; a missing preset is grey
    colors = [["", _unit_file_list_color(state), _unit_file_list_color(preset) if preset else ANSI_GREY] for _n, state, preset in items]
    gaps = [["", c[1], ""] for c in colors]
    out = format_table(
        ["UNIT FILE", "STATE", "PRESET"] if legend else None,
        cells,
        st,
        colors,
        gap_colors=gaps,
        underline_rows=type_group_ends([{"Id": r[0]} for r in items]),
    )
    if legend:
        out.append("")
        out.append(f"{len(cells)} unit files listed.")
    return "".join(line + "\n" for line in out)


def _unit_file_list_color(state: str | None) -> str:
    """list-unit-files colours (observed v257): enabled/alias green, disabled/masked/bad red."""
    if state in ("enabled", "enabled-runtime", "alias"):
        return ANSI_HIGHLIGHT_GREEN
    if state in ("disabled", "masked", "masked-runtime", "bad"):
        return ANSI_HIGHLIGHT_RED
    return ""


# systemd: systemctl-is-enabled.c: these states count as "enabled" for the exit status
IS_ENABLED_OK = frozenset({"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"})


def render_is_enabled(results: Iterable[tuple[str, Sequence[str]]], *, full: bool = False) -> str:
    """`systemctl is-enabled` stdout: one state per unit; with `--full` the install paths.

    `results` are (state, install symlink paths) per unit, in argument order.
    # spec: unit-files.md §8 (is-enabled states)
    """
    out = []
    for state, paths in results:
        out.append(state)
        if full:
            out.extend(f"  {p}" for p in paths)
    return "".join(line + "\n" for line in out)


def is_enabled_exit_code(states: Iterable[str]) -> int:
    """0 if any unit is enabled in the is-enabled sense (enabled, static, alias ...); else 4
    when a unit file was not found (observed v257: `not-found`, exit 4), else 1."""
    states = list(states)
    if any(s in IS_ENABLED_OK for s in states):
        return 0
    return 4 if "not-found" in states else 1
