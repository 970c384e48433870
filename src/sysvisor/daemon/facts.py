"""The host facts Condition*=/Assert*= ask about, read once at manager start (paths live).

The engine evaluates conditions purely (`core/condition.py`); this is the shell's side: the
filesystem queries run at evaluation time, everything else is read here.
# spec: dependencies-and-jobs.md §5 (condition table)
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import socket

from sysvisor.core.condition import Facts

_ARCH = {"x86_64": "x86-64", "aarch64": "arm64", "i686": "x86", "i386": "x86", "armv7l": "arm", "ppc64le": "ppc64-le", "s390x": "s390x", "riscv64": "riscv64"}


def path_test(test: str, path: str) -> bool:
    """The filesystem half of the path conditions. # systemd: condition.c condition_test_path*()"""
    try:
        if test == "exists":
            return os.path.exists(path)
        if test == "exists-glob":
            return bool(glob.glob(path))
        if test == "is-directory":
            return os.path.isdir(path)
        if test == "is-symbolic-link":
            return os.path.islink(path)
        if test == "is-mount-point":
            return os.path.ismount(path)
        if test == "is-read-write":
            return os.path.exists(path) and not (os.statvfs(path).f_flag & os.ST_RDONLY)
        if test == "directory-not-empty":
            return os.path.isdir(path) and any(True for _ in os.scandir(path))
        if test == "file-not-empty":
            return os.path.isfile(path) and os.path.getsize(path) > 0
        if test == "file-is-executable":
            return os.path.isfile(path) and os.access(path, os.X_OK)
        if test == "needs-update":
            return False  # no /usr update tracking here: "not needed" is systemd's answer without stamps
        if test == "is-encrypted":
            return False
    except OSError:
        return False
    return False


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _os_release() -> dict[str, str]:
    out = {}
    for line in (_read("/etc/os-release") or _read("/usr/lib/os-release")).splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            out[key.strip()] = value.strip().strip("\"'")
    return out


def _virtualization() -> str:
    """Containers as systemd-detect-virt names them (best effort, no DMI probing)."""
    if os.path.exists("/.dockerenv"):
        return "docker"
    container = os.environ.get("container") or _read("/run/systemd/container").strip()
    if container:
        return container
    if "podman" in _read("/run/.containerenv") or os.path.exists("/run/.containerenv"):
        return "podman"
    return "none"


def _lookup_user(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _lookup_group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def host_facts() -> Facts:
    """Facts of this host and this manager process."""
    machine = os.uname().machine
    in_container = _virtualization() != "none"
    cmdline = _read("/proc/1/cmdline").replace("\0", " ").strip() if in_container else _read("/proc/cmdline").strip()
    meminfo = _read("/proc/meminfo").split()
    try:
        memory = int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024
    except (ValueError, IndexError):
        memory = 0
    uid = os.getuid()
    try:
        user_name = pwd.getpwuid(uid).pw_name
    except KeyError:
        user_name = str(uid)
    return Facts(
        fs=path_test,
        architecture=_ARCH.get(machine, machine),
        native_architecture=_ARCH.get(machine, machine),
        virtualization=_virtualization(),
        hostname=socket.gethostname(),
        machine_id=_read("/etc/machine-id").strip(),
        kernel_command_line=cmdline,
        kernel_release=os.uname().release,
        os_release=_os_release(),
        environment=dict(os.environ),
        uid=uid,
        euid=os.geteuid(),
        user_name=user_name,
        gids=frozenset({os.getgid(), os.getegid(), *os.getgroups()}),
        lookup_user=_lookup_user,
        lookup_group=_lookup_group,
        first_boot=False,
        memory_bytes=memory,
        cpus=len(os.sched_getaffinity(0)),
    )
