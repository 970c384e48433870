"""Diagnostics equal to recorded `systemd-analyze verify` (v252) output, byte for byte.

Each tests/data/unitfile/verify252/NAME.service has NAME.expected recorded from v252 (paths made
relative). Lines only `systemd-analyze verify` prints (its own summary) are mapped from the load
state. # spec: unit-files.md §7
"""

import pathlib

import pytest

from sysvisor.core.types import LoadState
from sysvisor.unitfile.loader import UnitLoader
from sysvisor.unitfile.specifier import HostFacts

DATA = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "verify252"


@pytest.mark.parametrize("unit", sorted(p.name for p in DATA.glob("*.service")))
def test_matches_systemd_analyze_verify(unit):
    loader = UnitLoader([str(DATA)], host=HostFacts())
    u = loader.load(unit)
    got = [str(d).replace(str(DATA) + "/", "") for d in loader.diagnostics(unit)]
    if u.load_state is LoadState.BAD_SETTING:
        got.append(f"Unit {unit} has a bad unit file setting.")
    elif u.load_state is LoadState.ERROR:
        got.append(f"Unit {unit} failed to load properly, please adjust/correct and reload service manager: {u.load_error}")
    expected = (DATA / unit.replace(".service", ".expected")).read_text().splitlines()
    assert got == expected
