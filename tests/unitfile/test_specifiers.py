"""Every specifier expands as systemd 257 does (recorded with systemd-oracle show-parsed for a
template instance with an escaped instance string and for a plain unit).
# spec: unit-files.md §5
"""

import json
import pathlib

import pytest

from sysvisor.unitfile.loader import UnitLoader
from sysvisor.unitfile.specifier import HostFacts, SpecifierError, expand

DATA = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "oracle257-specifiers"
RECORDED = json.loads((DATA / "show-parsed.json").read_text())["units"]
INSIDE = "/etc/systemd/system"


def oracle_host(env):
    # the container's own facts, as the recording shows them
    get = dict(item.split("=", 1) for item in env)
    return HostFacts(architecture=get["S_a"], boot_id=get["S_b"], machine_id=get["S_m"], hostname=get["S_H"],
                     kernel_release=get["S_v"], os_release={"ID": get["S_o"], "VERSION_ID": get["S_w"]},
                     shell=get["S_s"])


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_specifiers_match_systemd_257(name):
    expected = RECORDED[name]["environment"]
    loader = UnitLoader([str(DATA)], host=oracle_host(expected))
    unit = loader.load(name)
    got = [item.replace(str(DATA), INSIDE) for item in unit.service.environment]
    assert got == expected
    assert unit.description == RECORDED[name]["Id"]


def test_unknown_and_disallowed_specifiers():
    with pytest.raises(SpecifierError):
        expand("%Z", {"n": "x"})
    with pytest.raises(SpecifierError):
        expand("%y", {"y": "/x"}, frozenset("n"))
    assert expand("100%", {}) == "100%"
    assert expand("a%%b", {"%": "%"}) == "a%b"
