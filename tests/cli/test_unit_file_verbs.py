"""Unit-file verbs with no manager running (a Dockerfile's `RUN sysvisor enable web`),
checked against what `systemctl --root` does on the same tree where it is installed.

# spec: unit-files.md §8; systemctl-and-journal.md §1 (cat, is-enabled, mask)
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = "[Unit]\nDescription=Web\n[Service]\nExecStart=/bin/sleep 60\n[Install]\nWantedBy=multi-user.target\nAlias=www.service\n"
HELPER = "[Service]\nExecStart=/bin/true\n"


def sysvisor(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET="/nonexistent/sysvisor.sock", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.fixture
def root(tmp_path):
    tmp_path = tmp_path / "ours"
    etc = tmp_path / "etc/systemd/system"
    etc.mkdir(parents=True)
    (etc / "web.service").write_text(WEB)
    (etc / "helper.service").write_text(HELPER)
    (etc / "web.service.d").mkdir()
    (etc / "web.service.d/override.conf").write_text("[Service]\nEnvironment=A=1\n")
    return tmp_path


def test_enable_is_enabled_disable_roundtrip(root):
    r = sysvisor("enable", "--root", str(root), "web")
    assert r.returncode == 0, r.stderr
    wants = root / "etc/systemd/system/multi-user.target.wants/web.service"
    assert os.readlink(wants) == "/etc/systemd/system/web.service"
    assert os.readlink(root / "etc/systemd/system/www.service") == "/etc/systemd/system/web.service"
    assert f"Created symlink '{wants}' \u2192 '/etc/systemd/system/web.service'." in r.stderr  # systemd 257's words
    r = sysvisor("is-enabled", "--root", str(root), "web", "helper")
    assert (r.returncode, r.stdout) == (0, "enabled\nstatic\n")
    assert sysvisor("is-enabled", "--root", str(root), "nope").returncode == 4
    r = sysvisor("disable", "--root", str(root), "web")
    assert r.returncode == 0 and not os.path.lexists(wants)
    r = sysvisor("is-enabled", "--root", str(root), "web")
    assert (r.returncode, r.stdout) == (1, "disabled\n")


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="differential part needs systemctl")
def test_enable_makes_the_same_links_as_systemctl(root, tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(root / "etc", twin / "etc", symlinks=True)
    ours = sysvisor("enable", "--root", str(root), "web")
    theirs = subprocess.run(["systemctl", "--root", str(twin), "enable", "web.service"], capture_output=True, text=True, timeout=30)
    assert ours.returncode == theirs.returncode == 0

    def links(base):
        out = {}
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                p = os.path.join(dirpath, f)
                if os.path.islink(p):
                    out[os.path.relpath(p, base)] = os.readlink(p)
        return out

    assert links(root) == links(twin)
    # the host's systemctl is 252; 257 (what sysvisor prints) quotes both paths of a link
    theirs_257 = re.sub("^Created symlink (\\S+) \u2192 (\\S+)\\.$", "Created symlink '\\1' \u2192 '\\2'.", theirs.stderr, flags=re.M)
    assert ours.stderr.replace(str(root), "ROOT") == theirs_257.replace(str(twin), "ROOT")


def test_cat_prints_fragment_and_dropins_with_headers(root):
    r = sysvisor("cat", "--root", str(root), "web")
    etc = root / "etc/systemd/system"
    assert r.returncode == 0
    assert r.stdout == f"# {etc}/web.service\n{WEB}\n# {etc}/web.service.d/override.conf\n[Service]\nEnvironment=A=1\n"
    missing = sysvisor("cat", "--root", str(root), "nope")
    assert (missing.returncode, missing.stderr) == (1, "No files found for nope.service.\n")


def test_mask_and_unmask(root):
    r = sysvisor("mask", "--root", str(root), "other")
    link = root / "etc/systemd/system/other.service"
    assert r.returncode == 0 and os.readlink(link) == "/dev/null"
    assert sysvisor("is-enabled", "--root", str(root), "other").stdout == "masked\n"
    refused = sysvisor("mask", "--root", str(root), "web")
    assert refused.returncode == 1 and "already exists" in refused.stderr
    assert sysvisor("unmask", "--root", str(root), "other").returncode == 0
    assert not os.path.lexists(link)


def test_list_unit_files(root):
    sysvisor("enable", "--root", str(root), "web")
    r = sysvisor("list-unit-files", "--root", str(root), "--no-legend", "*.service")
    rows = [line.split()[:2] for line in r.stdout.splitlines()]
    assert ["web.service", "enabled"] in rows and ["helper.service", "static"] in rows


def test_edit_writes_a_drop_in_through_the_editor(root, tmp_path):
    editor = tmp_path / "editor.sh"
    # a scripted "editor": inserts a line right after the header block
    editor.write_text('#!/bin/sh\nsed -i "3a [Service]\\nEnvironment=EDITED=1" "$1"\n')
    editor.chmod(0o755)
    r = sysvisor("edit", "--root", str(root), "web", env_extra={"EDITOR": str(editor)})
    assert r.returncode == 0, r.stderr
    # the existing override.conf is what the editor got, with the new lines on top
    override = root / "etc/systemd/system/web.service.d/override.conf"
    assert override.read_text() == "[Service]\nEnvironment=EDITED=1\n[Service]\nEnvironment=A=1\n"
    cat = sysvisor("cat", "--root", str(root), "web").stdout
    assert f"# {override}\n[Service]\nEnvironment=EDITED=1\n" in cat


def test_edit_with_an_editor_that_writes_nothing_cancels(root, tmp_path):
    r = sysvisor("edit", "--root", str(root), "helper", env_extra={"EDITOR": "true"})
    assert r.returncode == 0
    assert "canceled: temporary file is empty" in r.stderr
    assert not (root / "etc/systemd/system/helper.service.d").exists()


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl is not installed")
def test_list_unit_files_shows_aliases_like_systemctl(root, tmp_path):
    """enable writes `www.service -> /etc/systemd/system/web.service`; under --root that
    absolute target lies in the root (the loader re-roots it), so www.service is an alias."""
    assert sysvisor("enable", "--root", str(root), "web").returncode == 0
    ours = sysvisor("list-unit-files", "--root", str(root), "--no-legend", "w*")
    theirs = subprocess.run(["systemctl", "--root", str(root), "list-unit-files", "--no-legend", "w*"],
                            capture_output=True, text=True, timeout=30)
    states = lambda text: sorted(line.split()[:2] for line in text.splitlines())  # noqa: E731
    assert states(ours.stdout) == states(theirs.stdout) == [["web.service", "enabled"], ["www.service", "alias"]]
    cat = sysvisor("cat", "--root", str(root), "www")
    assert cat.returncode == 0 and cat.stdout.startswith(f"# {root}/etc/systemd/system/web.service\n")
