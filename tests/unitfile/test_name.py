"""Unit names: validity, templates, escaping (against systemd-escape when installed).
# spec: unit-files.md §3, §4.3
"""

import shutil
import subprocess

import pytest

from sysvisor.unitfile import name as n

ESCAPE = shutil.which("systemd-escape")
SAMPLES = ["foo-bar/baz", "/dev/sda1", ".hidden", "a b", "ümlaut", "x:y_z.w", "tab\there", "--", "a\\b"]


def test_validity():
    assert n.is_valid("foo.service") and n.is_valid("foo@bar.service") and n.is_valid("foo@.service")
    assert n.is_valid("a@b@c.service")  # the instance may contain '@'
    for bad in ("foo", ".service", "@x.service", "foo.bogus", "bad!name.service", "x" * 256 + ".service"):
        assert not n.is_valid(bad), bad
    assert not n.is_valid("foo@.service", n.PLAIN | n.INSTANCE)
    assert n.instance("foo@a@b.service") == "a@b" and n.prefix("foo@a@b.service") == "foo"
    assert n.template_of("getty@tty1.service") == "getty@.service"
    assert n.replace_instance("getty@.service", "tty2") == "getty@tty2.service"


def test_dropin_dirs_most_specific_first():
    assert n.dropin_dir_names("foo-bar-baz@inst.service") == [
        "foo-bar-baz@inst.service.d", "foo-bar-baz@.service.d", "foo-bar-.service.d", "foo-.service.d", "service.d"]


@pytest.mark.skipif(ESCAPE is None, reason="systemd-escape not installed")
@pytest.mark.parametrize("text", SAMPLES)
def test_escape_matches_systemd_escape(text):
    expected = subprocess.run([ESCAPE, "--", text], capture_output=True, text=True).stdout.strip()
    assert n.escape(text) == expected
    assert n.unescape(expected) == text


@pytest.mark.skipif(ESCAPE is None, reason="systemd-escape not installed")
@pytest.mark.parametrize("path", ["/dev/sda1", "/", "/a//b/", "/foo-bar/baz"])
def test_path_unescape_matches_systemd_escape(path):
    escaped = subprocess.run([ESCAPE, "--path", "--", path], capture_output=True, text=True).stdout.strip()
    back = subprocess.run([ESCAPE, "--unescape", "--path", "--", escaped], capture_output=True, text=True).stdout.strip()
    assert n.unescape_path(escaped) == back
