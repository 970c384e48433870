"""Raising a process's own open-files limit (the manager and the journal relay)."""

from __future__ import annotations


def raise_open_files_limit() -> None:
    """The soft RLIMIT_NOFILE up to the hard one (the kernel's per-process ceiling,
    /proc/sys/fs/nr_open, if the hard one is infinite), as systemd raises its own: the
    manager keeps a read end of each unit's output pipe, the relay four fds per stream, and
    Debian's soft 1024 ran out with a few hundred units. Units still get 1024
    (executor.SYSTEMD_DEFAULT_LIMITS). # systemd: main.c bump_rlimit_nofile()"""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                target = int(f.read())
        except (OSError, ValueError):
            return
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            pass  # what we have is what we work with
