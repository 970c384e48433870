"""systemctl's unit-name mangling (cli/main.py mangle()), examples from systemctl 257
(tests/data/oracle/cli/bad-names-257.json) and its rules as properties.
# systemd: unit_name_mangle_with_suffix()"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.cli.main import BadUnitName, mangle
from sysvisor.unitfile import name as unit_name


@pytest.mark.parametrize(("given_name", "mangled"), [
    ("web", "web.service"),
    ("web.service", "web.service"),
    ("x.foo", "x.foo.service"),           # not a unit type: a suffix is added
    ("a b", "a\\x20b.service"),
    ("bad/name", "bad-name.service"),
    ("web*", "web*"),                     # a glob stays a glob
    ("a@.service", "a@.service"),         # a template is a valid name (starting it is refused)
    ("/", "-.mount"),
    ("/nonexistent/path/", "nonexistent-path.mount"),
    ("/dev/sda", "dev-sda.device"),
    ("/home/a b", "home-a\\x20b.mount"),
])
def test_mangle_as_systemctl(given_name, mangled):
    assert mangle(given_name) == mangled


def test_the_empty_name_cannot_be_mangled():
    with pytest.raises(BadUnitName):
        mangle("")


def test_a_notice_when_a_name_was_escaped(capsys):
    mangle("a b", warn=True)
    mangle("web", warn=True)
    assert capsys.readouterr().err == 'Invalid unit name "a b" escaped as "a\\x20b" (maybe you should use systemd-escape?).\n'


@given(st.text(min_size=1, max_size=40))
def test_mangling_twice_changes_nothing_and_gives_a_name_or_a_glob(text):
    once = mangle(text)
    assert mangle(once) == once
    # what stays invalid is refused by the manager with systemctl's words: a glob that
    # matched nothing, an empty prefix (".service", "@x.service"), a name grown too long
    assert (unit_name.is_valid(once) or any(c in once for c in "*?[") or once[0] in ".@"
            or len(once) >= unit_name.UNIT_NAME_MAX)
