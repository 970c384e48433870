"""Exec lines split exactly as systemd 257 splits them: argv, executable path, prefix flags and
warnings for 150 units of random command lines (quotes anywhere in a word, C escapes, unknown
escapes, `;` and `\\;`, `$`-words, specifiers, every prefix), recorded with systemd-oracle.
# spec: service-lifecycle.md §5; unit-files.md §1.2
"""

import json
import pathlib

import pytest

from sysvisor.unitfile.errors import NOTICE
from sysvisor.unitfile.loader import UnitLoader
from sysvisor.unitfile.specifier import HostFacts

DATA = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "oracle257-exec"
RECORDED = json.loads((DATA / "show-parsed.json").read_text())["units"]
FIELDS = {"ExecStart": "exec_start", "ExecStartPre": "exec_start_pre", "ExecStop": "exec_stop"}
INSIDE = "/etc/systemd/system/"


def _flags(cmd):
    names = (("ignore-failure", cmd.ignore_failure), ("privileged", cmd.full_privileges),
             ("no-setuid", cmd.no_setuid), ("ambient", cmd.ambient_only), ("no-env-expand", cmd.no_env_expand))
    return sorted(n for n, on in names if on)


def _dedup(lines):
    return [line for k, line in enumerate(lines) if line not in lines[:k]]


@pytest.fixture(scope="module")
def loader():
    return UnitLoader([str(DATA / "units")], host=HostFacts(), release=257, wording=257)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_exec_lines_like_systemd_257(loader, name):
    rec = RECORDED[name]
    unit = loader.load(name)
    assert unit.load_state.value == rec["props"]["LoadState"]
    mine = [str(d).replace(str(DATA / "units") + "/", INSIDE) for d in loader.diagnostics(name)
            if d.severity != NOTICE and d.path]
    assert _dedup(mine) == _dedup(rec["warnings"])
    if unit.load_state.value != "loaded":
        return
    for prop, fld in FIELDS.items():
        cmds = getattr(unit.service, fld)
        assert [list(c.argv) for c in cmds] == rec["exec_argv"].get(prop, []), prop
        ex = rec["props"].get(prop + "Ex") or []
        ex = [ex] if isinstance(ex, str) else ex
        assert [c.path for c in cmds] == [e.split(" ; ")[0][len("{ path="):] for e in ex]
        assert [_flags(c) for c in cmds] == [sorted(f for f in e.split(" ; flags=")[1].split(" ; ")[0].split() if f)
                                             for e in ex]
