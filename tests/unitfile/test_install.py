"""enable/disable/is-enabled planning, checked against `systemctl --root` (v252) when present.
# spec: unit-files.md §8
"""

import os
import shutil
import subprocess

import pytest

from sysvisor.unitfile.install import NO_INSTALL_INFO_252, Installer, apply

UNITS = {
    "foo.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
                   "RequiredBy=bar.target\nAlias=foo-alias.service\nAlso=helper.socket\n",
    "helper.socket": "[Socket]\nListenStream=/run/x\n[Install]\nWantedBy=sockets.target\n",
    "multi-user.target": "[Unit]\nDescription=multi\n",
    "sockets.target": "[Unit]\nDescription=s\n",
    "tmpl@.service": "[Service]\nExecStart=/bin/echo %i\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=default\n",
    "nodef@.service": "[Service]\nExecStart=/bin/echo %i\n[Install]\nWantedBy=multi-user.target\n",
    "static.service": "[Service]\nExecStart=/bin/true\n",
    "spec.service": "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nWantedBy=other.target %p-x.target\n",
    "alsoonly.service": "[Service]\nExecStart=/bin/true\n[Install]\nAlso=foo.service\n",
    "badalias.service": "[Service]\nExecStart=/bin/true\n[Install]\nAlias=wrong.target\n",
    "dropin.service": "[Service]\nExecStart=/bin/true\n",
}
DROPINS = {"dropin.service.d/install.conf": "[Install]\nWantedBy=multi-user.target\n"}

STEPS = [
    ("enable", ["foo.service"]), ("is-enabled", ["foo.service"]), ("is-enabled", ["foo-alias.service"]),
    ("is-enabled", ["helper.socket"]), ("is-enabled", ["alsoonly.service"]), ("enable", ["tmpl@.service"]),
    ("enable", ["tmpl@x.service"]), ("is-enabled", ["tmpl@.service"]), ("is-enabled", ["tmpl@y.service"]),
    ("is-enabled", ["tmpl@default.service"]), ("enable", ["static.service"]), ("is-enabled", ["static.service"]),
    ("enable", ["spec.service"]), ("enable", ["nonexist.service"]), ("enable", ["nodef@.service"]),
    ("enable", ["badalias.service"]), ("enable", ["dropin.service"]), ("is-enabled", ["dropin.service"]),
    ("enable", ["foo.service"]), ("disable", ["foo.service"]), ("is-enabled", ["foo.service"]),
    ("disable", ["tmpl@.service"]), ("is-enabled", ["tmpl@x.service"]), ("disable", ["dropin.service"]),
    ("is-enabled", ["spec.service"]), ("is-enabled", ["nonexist.service"]),
]


def make_root(base):
    lib = base / "usr/lib/systemd/system"
    lib.mkdir(parents=True)
    (base / "etc/systemd/system").mkdir(parents=True)
    for name, text in {**UNITS, **DROPINS}.items():
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_text(text)
    return base


def links(root):
    out = {}
    for d in ("etc", "run"):
        for dirpath, dirnames, filenames in os.walk(root / d):
            for f in filenames + dirnames:
                p = os.path.join(dirpath, f)
                if os.path.islink(p):
                    out[os.path.relpath(p, root)] = os.readlink(p)
    return out


def mine(root, verb, names):
    inst = Installer(str(root))
    if verb == "is-enabled":
        states = [inst.state(n) for n in names]
        lines = [s if s else f"Failed to get unit file state for {n}: No such file or directory"
                 for s, n in zip(states, names)]
        return lines, max(inst.is_enabled_rc(s) for s in states)
    plan = inst.plan_enable(names) if verb == "enable" else inst.plan_disable(names)
    apply(plan)
    return plan.lines(wording=252), plan.rc  # compared with the host's systemctl, 252: its words


def test_enable_writes_systemd_links(tmp_path):
    root = make_root(tmp_path)
    lines, rc = mine(root, "enable", ["foo.service"])
    r = str(root)
    assert rc == 0
    assert lines == [
        f"Created symlink {r}/etc/systemd/system/foo-alias.service \u2192 /usr/lib/systemd/system/foo.service.",
        f"Created symlink {r}/etc/systemd/system/multi-user.target.wants/foo.service \u2192 /usr/lib/systemd/system/foo.service.",
        f"Created symlink {r}/etc/systemd/system/bar.target.requires/foo.service \u2192 /usr/lib/systemd/system/foo.service.",
        f"Unit {r}/usr/lib/systemd/system/foo.service is added as a dependency to a non-existent unit bar.target.",
        f"Created symlink {r}/etc/systemd/system/sockets.target.wants/helper.socket \u2192 /usr/lib/systemd/system/helper.socket.",
    ]
    assert mine(root, "enable", ["static.service"]) == (NO_INSTALL_INFO_252.split("\n"), 0)
    assert mine(root, "enable", ["tmpl@.service"])[0] == [
        f"Created symlink {r}/etc/systemd/system/multi-user.target.wants/tmpl@default.service \u2192 /usr/lib/systemd/system/tmpl@.service."]
    assert Installer(r).state("tmpl@default.service") == "enabled"
    assert Installer(r).state("tmpl@other.service") == "disabled"
    lines, rc = mine(root, "disable", ["foo.service"])
    assert rc == 0 and len(lines) == 4 and all(l.startswith('Removed "') for l in lines)
    assert "etc/systemd/system/foo-alias.service" not in links(root)


def test_plan_does_not_touch_disk(tmp_path):
    root = make_root(tmp_path)
    Installer(str(root)).plan_enable(["foo.service"])
    assert links(root) == {}


def test_mask_blocks_enable(tmp_path):
    root = make_root(tmp_path)
    os.symlink("/dev/null", root / "etc/systemd/system/foo.service")
    lines, rc = mine(root, "enable", ["foo.service"])
    assert rc == 1 and lines == [f"Failed to enable unit, unit {root}/etc/systemd/system/foo.service is masked."]
    assert Installer(str(root)).state("foo.service") == "masked"


SYSTEMCTL = shutil.which("systemctl")


@pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl not installed")
def test_differential_against_systemctl_root(tmp_path):
    a = make_root(tmp_path / "a")
    b = make_root(tmp_path / "b")
    for verb, names in STEPS:
        got, rc = mine(a, verb, names)
        run = subprocess.run([SYSTEMCTL, f"--root={b}", verb, *names], capture_output=True, text=True)
        theirs = (run.stdout + run.stderr).splitlines()
        got = [l.replace(str(a), "ROOT") for l in got]
        theirs = [l.replace(str(b), "ROOT") for l in theirs]
        if verb == "disable":  # systemd prints removals in directory order
            got, theirs = sorted(got), sorted(theirs)
        assert (verb, names, got) == (verb, names, theirs)
        assert (verb, names, rc != 0) == (verb, names, run.returncode != 0)
        assert links(a) == links(b), (verb, names)


def _age(root, seconds: float = 60.0) -> None:
    """Every folder under etc/ as if last changed `seconds` ago: a walk of them may be kept."""
    then = os.stat(root).st_mtime - seconds
    for dirpath, _dirs, _files in os.walk(root / "etc"):
        os.utime(dirpath, (then, then))


def test_a_kept_walk_of_the_links_never_hides_a_change(tmp_path):
    # the manager asks for the enablement of each unit `status` shows: the walk of the link
    # folders is kept while none of them changed
    root = make_root(tmp_path)
    config = str(root / "etc/systemd/system")
    mine(root, "enable", ["foo.service"])
    _age(root)
    first = Installer._links(config)
    assert Installer._links(config) is first  # kept: nothing changed
    assert Installer(str(root)).state("foo.service") == "enabled"
    mine(root, "disable", ["foo.service"])  # links removed: their folders' mtimes change
    assert Installer(str(root)).state("foo.service") == "disabled"
    mine(root, "enable", ["foo.service"])  # changed again within the same second: seen too
    assert Installer(str(root)).state("foo.service") == "enabled"
    recent = Installer._links(config)
    assert Installer._links(config) is not recent  # folders changed < 2 s ago: walked each time
    mine(root, "enable", ["dropin.service"])  # one link: multi-user.target.wants/dropin.service
    _age(root)
    kept = Installer._links(config)
    assert Installer._links(config) is kept
    assert Installer(str(root)).state("dropin.service") == "enabled"
    wants = root / "etc/systemd/system/multi-user.target.wants"
    os.unlink(wants / "dropin.service")  # only a subfolder changes
    assert Installer(str(root)).state("dropin.service") == "disabled"
    _age(root)
    assert Installer(str(root)).state("dropin.service") == "disabled"
    os.symlink("/usr/lib/systemd/system/dropin.service", wants / "dropin.service")
    os.utime(wants, (0, 0))  # even set back in time: any other mtime than the kept one counts
    assert Installer(str(root)).state("dropin.service") == "enabled"
