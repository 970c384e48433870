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
