"""Presets: first matching rule across *.preset files ordered by name; none → enabled.
Checked against `systemctl --root` 252 (list-unit-files PRESET column)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sysvisor.unitfile.preset import preset_of, read_rules


def _root(tmp_path):
    for d in ("etc/systemd/system-preset", "usr/lib/systemd/system-preset", "etc/systemd/system"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "usr/lib/systemd/system-preset/90-default.preset").write_text("# vendor\ndisable *\n")
    (tmp_path / "usr/lib/systemd/system-preset/20-web.preset").write_text("enable web.service\nignore cache*\n")
    # the same file name in /etc masks the vendor's
    (tmp_path / "etc/systemd/system-preset/90-default.preset").write_text("; local\nenable db.service\n")
    for name in ("web", "db", "cache-a", "other"):
        (tmp_path / f"etc/systemd/system/{name}.service").write_text(
            "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
    return tmp_path


def test_first_matching_rule_in_file_name_order_and_enabled_by_default(tmp_path):
    rules = read_rules(str(_root(tmp_path)))
    assert [preset_of(n, rules) for n in ("web.service", "cache-a.service", "db.service", "other.service")] == \
        ["enabled", "ignored", "enabled", "enabled"]
    assert preset_of("x.service", []) == "enabled"


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="no systemctl to compare with")
def test_list_unit_files_preset_column_equals_systemctl(tmp_path):
    root = _root(tmp_path)
    # `ignore` is newer than the installed systemctl (252 logs "Couldn't parse line")
    (root / "usr/lib/systemd/system-preset/20-web.preset").write_text("enable web.service\ndisable cache*\n")
    want = subprocess.run(["systemctl", "--root", str(root), "list-unit-files", "--no-pager", "--no-legend", "*.service"],
                          capture_output=True, text=True).stdout.split()
    import os
    import sys
    got = subprocess.run([sys.executable, "-m", "sysvisor", "list-unit-files", "--root", str(root), "--no-legend", "*.service"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.abspath("src"))).stdout.split()
    assert got == want
