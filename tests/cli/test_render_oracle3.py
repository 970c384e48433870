"""Third systemd 257 recording: list-unit-files colours, is-enabled exit codes, several units."""

from __future__ import annotations

import re

from render_snapshot import GOLDEN, load_oracle

from sysvisor.cli.listing import is_enabled_exit_code, render_list_timers, render_list_unit_files

O3 = load_oracle(GOLDEN / "oracle" / "render3-257.json")
ANSI = re.compile(r"\x1b\[[0-9;:]*m")


def test_is_enabled_exit_codes() -> None:
    for unit in ("acct.service", "foo.service", "dis.service", "nope.service", "web.service"):
        step = O3[f"is-enabled:{unit}"]
        assert is_enabled_exit_code([step["stdout"].strip()]) == step["rc"], unit


def test_list_unit_files_colors() -> None:
    text = O3["list-unit-files-color"]["stdout"]
    rows = []
    for line in ANSI.sub("", text).split("\n\n")[0].splitlines()[1:]:
        name, state, preset = line.split()
        rows.append((name, state, None if preset == "-" else preset))
    assert render_list_unit_files(list(reversed(rows)), color=True) == text


def test_list_timers_empty() -> None:
    assert render_list_timers([], 10**15) == O3["list-timers-none"]["stdout"]
    assert render_list_timers([], 10**15, all_=True) == O3["list-timers-none-all"]["stdout"]


def test_status_sub_cgroup_tree_and_several_units() -> None:
    from render_snapshot import fix_realtime_from_monotonic, normalize, parse_show, snapshot_now, split_status

    from sysvisor.cli.render import render_status, status_many_exit_code

    text = O3["status-sub-cgroup"]["stdout"]
    props = parse_show(O3["show-sub-cgroup"]["stdout"])
    fix_realtime_from_monotonic(props)
    props.update(
        MainPIDComm="sleep",
        CGroupTree={
            "path": "/system.slice/sub.service",
            "processes": [(80, "sleep infinity")],
            "children": [{"path": "/system.slice/sub.service/inner", "processes": [(88, "sleep infinity")]}],
        },
    )
    _head, journal = split_status(text)
    assert normalize(render_status(props, journal, snapshot_now(props))) == normalize(text)
    missing = {"Id": "nope.service", "LoadState": "not-found", "ActiveState": "inactive"}
    assert status_many_exit_code([props, missing, props]) == O3["status-multi-missing"]["rc"]
    assert status_many_exit_code([missing, missing]) == O3["status-multi-all-missing"]["rc"]


def test_manager_overview() -> None:
    from render_snapshot import normalize, parse_show

    from sysvisor.cli.render import render_manager_status

    props = parse_show(O3["show-manager"]["stdout"])
    init = "/usr/lib/systemd/systemd systemd.firstboot=off systemd.unit=systemd-oracle.target systemd.mask=timers.target systemd.mask=systemd-machine-id-commit.service"

    def svc(name: str, procs: list, children: list | None = None) -> dict:
        return {"path": f"/system.slice/{name}", "processes": procs, "children": children or []}

    props["CGroupTree"] = {
        "path": "/",
        "processes": [],
        "children": [
            {"path": "/init.scope", "processes": [(1, init)]},
            {
                "path": "/system.slice",
                "processes": [],
                "children": [
                    svc("web.service", [(83, "/usr/bin/sleep infinity")]),
                    svc("acct.service", [(82, "sleep infinity"), (77, '/bin/sh -c "sleep infinity & sleep infinity"'), (81, "sleep infinity")]),
                    svc("ctl.service", [(89, "/usr/bin/sleep 10")]),
                    svc("longdesc.service", [(79, "/usr/bin/sleep infinity")]),
                    svc("sub.service", [(80, "sleep infinity")], [{"path": "/system.slice/sub.service/inner", "processes": [(88, "sleep infinity")]}]),
                    svc("systemd-journald.service", [(20, "/usr/lib/systemd/systemd-journald")]),
                ],
            },
        ],
    }
    got = render_manager_status(props, props["UserspaceTimestamp"] + 1_500_000, hostname="oracle")
    assert normalize(got) == normalize(O3["status-manager"]["stdout"])


def test_status_exit_codes_of_several_units() -> None:
    from sysvisor.cli.render import status_exit_code, status_many_exit_code

    o = load_oracle(GOLDEN / "oracle" / "exit-codes-257.json")
    running = {"Id": "ok.service", "LoadState": "loaded", "ActiveState": "active"}
    dead = {"Id": "pidf.service", "LoadState": "loaded", "ActiveState": "inactive", "PIDFile": "/run/pidf.pid"}
    assert status_exit_code(dead) == o["status-stale-pidfile"]["rc"]  # 3: a stale PID file does not make it 1
    assert status_many_exit_code([running, dead]) == o["status-ok-then-inactive"]["rc"]
    assert status_many_exit_code([dead, running]) == o["status-inactive-then-ok"]["rc"]
