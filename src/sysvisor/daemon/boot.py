"""What is enabled into which target: the file-system half of the dependency graph.

The loader attaches `NAME.wants/`, `NAME.requires/` and `NAME.upholds/` entries to the units it
loads; the standard targets usually have no unit file here (the engine has them built in), so
their folders are read here. A folder given with `--units` counts as enabled as a whole: a
unit in it with `WantedBy=`/`RequiredBy=`/`UpheldBy=` a target is wanted by it, so dropping a
file in is enough.
# spec: dependencies-and-jobs.md §1 (`.wants/`), §4; unit-files.md §4.2
# systemd: unit_load_dropin() → unit_file_process_dir(), install.c (what `enable` links)
"""

from __future__ import annotations

import os

from sysvisor.core.units import Unit
from sysvisor.unitfile import name as unit_name

_SUFFIXES = ((".wants", "wants_dirs"), (".requires", "requires_dirs"), (".upholds", "upholds_dirs"))


def enablement(search_paths: list[str], units: dict[str, Unit], *, explicit: bool) -> dict[str, dict[str, list[str]]]:
    """`Manager(wants_dirs=…, requires_dirs=…, upholds_dirs=…)` for `units` loaded from
    `search_paths`; `explicit`: the path was given with --units (see the module docstring)."""
    out: dict[str, dict[str, list[str]]] = {key: {} for _, key in _SUFFIXES}
    loaded = set(units)
    for u in units.values():
        loaded.update(u.aliases)

    def add(key: str, owner: str, dep: str) -> None:
        lst = out[key].setdefault(owner, [])
        if dep not in lst and dep != owner:
            lst.append(dep)

    for path in search_paths:
        try:
            entries = sorted(os.listdir(path))
        except OSError:
            continue
        for entry in entries:
            for suffix, key in _SUFFIXES:
                owner = entry[: -len(suffix)]
                if not entry.endswith(suffix) or owner in loaded or not unit_name.is_valid(owner):
                    continue
                try:
                    names = sorted(os.listdir(os.path.join(path, entry)))
                except OSError:
                    continue
                for dep in names:
                    if unit_name.is_valid(dep) and not unit_name.is_template(dep):
                        add(key, owner, dep)
    if explicit:
        for name, u in sorted(units.items()):
            if u.load_state.value != "loaded":
                continue
            for targets, key in ((u.install.wanted_by, "wants_dirs"), (u.install.required_by, "requires_dirs"),
                                 (u.install.upheld_by, "upholds_dirs")):
                for target in targets:
                    add(key, target, name)
    return out


# systemd's private executables: a service running one of them (journald, logind, udevd,
# networkd, timesyncd, firstboot, …) is part of systemd itself and needs systemd as PID 1
_SYSTEMD_LIBEXEC = ("/lib/systemd/", "/usr/lib/systemd/")
# what sd_booted() tests: only systemd as PID 1 creates it (sysvisor never does)
SYSTEMD_RUNNING = ("ConditionPathIsDirectory", False, False, "/run/systemd/system")


def is_systemd_own_service(unit: Unit) -> bool:
    """A service of systemd itself: named systemd-*.service and running an executable from
    systemd's private directory (a user's service elsewhere is never matched)."""
    svc = unit.service
    if svc is None or not unit.name.startswith("systemd-"):
        return False
    commands = svc.exec_start + svc.exec_start_pre
    return bool(commands) and all(c.path.startswith(_SYSTEMD_LIBEXEC) for c in commands)


def guard_systemd_own_services(units: dict[str, Unit]) -> list[str]:
    """Give each of systemd's own services the condition "systemd runs as PID 1" and return
    their names. An image built for systemd enables them into sysinit.target and
    multi-user.target; started under sysvisor they would fail or fight it (journald takes
    /run/systemd/journal, logind needs D-Bus and systemd's API). A failed condition skips a
    unit without failing the boot and shows in `status` why, so nothing is hidden; where
    systemd does run, the condition holds and nothing changes.
    # spec: issue 5 ("images built for systemd work unchanged"); systemd: sd_booted()"""
    guarded = []
    for name, unit in sorted(units.items()):
        if is_systemd_own_service(unit) and SYSTEMD_RUNNING not in unit.unit.conditions:
            unit.unit.conditions.insert(0, SYSTEMD_RUNNING)
            guarded.append(name)
    return guarded
