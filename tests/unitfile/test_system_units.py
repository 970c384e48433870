"""Every unit shipped on this machine (and in the systemd 257 tree of the oracle) loads without
an exception; templates are tried with an instance. # spec: unit-files.md §4"""

import os

import pytest

from sysvisor.core.types import LoadState
from sysvisor.unitfile import name as unit_name
from sysvisor.unitfile.loader import UnitLoader
from sysvisor.unitfile.specifier import HostFacts

DIRS = [d for d in ("/lib/systemd/system", "/usr/lib/systemd/system",
                    "/var/lib/sysvisor-oracle/trixie/usr/lib/systemd/system") if os.path.isdir(d)]


@pytest.mark.skipif(not DIRS, reason="no systemd unit directories here")
@pytest.mark.parametrize("directory", DIRS)
def test_every_shipped_unit_loads(directory):
    loader = UnitLoader([directory], host=HostFacts())
    units = loader.load_all()
    assert units
    for name, unit in units.items():
        assert unit.load_state in (LoadState.LOADED, LoadState.MASKED), (name, unit.load_error)
        assert not any(d.fatal for d in loader.diagnostics(name)), name
    for name in loader.unit_files():
        if unit_name.is_template(name):
            inst = loader.load(unit_name.replace_instance(name, "test_instance"))
            assert inst.load_state in (LoadState.LOADED, LoadState.MASKED, LoadState.BAD_SETTING), name
