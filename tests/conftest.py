"""Session-wide hygiene: the cgroups the tests' managers create are removed afterwards.

A manager removes a unit's cgroup when the unit stops and its base cgroup when it exits
cleanly; tests also SIGKILL managers and drive shells directly, which leaves empty
`sysvisor-*` directories behind (thousands after a few runs on a shared machine). Only
directories that appeared during the session and are empty are removed (rmdir refuses a
populated cgroup), so a manager running beside the tests is never touched."""

import os

import pytest

from sysvisor.daemon.containment import find_cgroup1_mounts, find_cgroup2_mount


def _roots() -> list[str]:
    roots = [find_cgroup2_mount()] + list(find_cgroup1_mounts().values())
    return sorted({r for r in roots if r and os.path.isdir(r)})


def _ours(roots: list[str]) -> set[str]:
    found = set()
    for root in roots:
        for dirpath, dirs, _files in os.walk(root):
            for d in dirs:
                if d.startswith("sysvisor"):
                    found.add(os.path.join(dirpath, d))
            dirs[:] = [d for d in dirs if not d.startswith("sysvisor")]  # not inside ours
    return found


@pytest.fixture(autouse=True, scope="session")
def _remove_test_cgroups():
    roots = _roots()
    before = _ours(roots)
    yield
    for base in sorted(_ours(roots) - before):
        for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
