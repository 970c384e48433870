"""The native spawn helper (`exec_helper.c`): building it, finding it, and its requests.

A plain spawn (no User=/Group=/SupplementaryGroups=, RootDirectory=, passed fds or Type=idle
wait: almost every restart) is cloned by a small C program instead of the Python helper:
`clone3()` of a 10 MiB interpreter and `execve()` from its copy cost ~1.5 ms of the ~4 ms
from a crash to the new process, from a few hundred KiB about 0.1 ms, and the C helper
answers in microseconds where the Python one takes ~0.4 ms (docs/benchmarks.md). The
child runs the same steps as `execsetup._setup_and_exec()` for such a spawn, in the same
order, with the same exit statuses and error-pipe records; tests/daemon/test_spawner.py
compares what the processes of both see.

It is built from source where a C compiler exists (`./install.sh`, `./test.sh`, or
`python3 -m sysvisor.daemon.exec_helper`); its file name carries a checksum of the source,
so a binary left from another version is never run. Without it the Python helper does
everything, as before.
# spec: service-lifecycle.md §5, §8.3
"""

from __future__ import annotations

import os
import struct
import sys

from sysvisor.daemon.execsetup import (
    EXEC_SEARCH_PATH, child_process_name, is_plain_spawn, rlimit_resource, rlimit_value, working_directory_target,
)

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exec_helper.c")

# the layout of exec_helper.c; MAGIC changes with it
MAGIC = 0x53565832
_HEADER = struct.Struct("=IIiI3i7I")
_LIMIT = struct.Struct("=iIqq")  # RLIM_INFINITY is -1 in Python, all ones in C
F_NEW_SESSION, F_NICE, F_WD_MISSING_OK, F_CLONE_INTO_CGROUP, F_AWAIT_EXEC = 1, 2, 4, 8, 16
_STDIO_NULL, _STDIO_INHERIT = -1, -2

_FS_ENCODING = sys.getfilesystemencoding()


class BuildError(Exception):
    """The helper could not be built (no compiler, a compiler error, a read-only folder)."""


def binary_path() -> str:
    """Where the helper built from the current source is (whether it exists or not)."""
    import zlib

    with open(SOURCE, "rb") as f:
        checksum = zlib.crc32(f.read())
    return os.path.join(os.path.dirname(SOURCE), f"sysvisor-exec-{checksum:08x}")


def find() -> str | None:
    """The helper's path if it was built from the current source, else None."""
    try:
        path = binary_path()
    except OSError:
        return None
    return path if os.access(path, os.X_OK) else None


def find_or_build() -> str:
    """The helper built from the current source, built now if it is not. Raises BuildError."""
    return find() or build()


def build(compiler: str | None = None) -> str:
    """Compile the helper next to its source (atomically); its path. Raises BuildError."""
    import shlex
    import shutil
    import subprocess

    compiler = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise BuildError("no C compiler found (cc, gcc; or set $CC)")
    try:
        target = binary_path()
    except OSError as e:
        raise BuildError(f"cannot read {SOURCE}: {e.strerror or e}") from None
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        result = subprocess.run([*shlex.split(compiler), "-O2", "-Wall", "-Wextra", "-std=gnu11", "-o", temporary, SOURCE],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"{compiler} failed on {SOURCE}:\n{result.stderr.strip()}")
        os.chmod(temporary, 0o755)
        os.replace(temporary, target)
    except OSError as e:
        raise BuildError(f"cannot build {target}: {e.strerror or e}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    folder, own = os.path.split(target)
    for name in os.listdir(folder):  # binaries of other versions of the source
        if name.startswith("sysvisor-exec-") and name != own:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
    return target


def encode_request(req, plan, error_fd: int, await_exec: bool = False) -> tuple[bytes, list[int]] | None:
    """The datagram and fds (error pipe first) of `req` (an ExecRequest, resolved into
    `plan`) for the native helper; None when the spawn needs more than it does (the Python
    helper's full setup then reports anything that fails, as the fork path would).
    `await_exec`: the helper answers once the child exec'd (2 ms at most; exec_helper.c).
    # spec: service-lifecycle.md §5"""
    if not is_plain_spawn(plan, req.root_directory, req.pass_fds, req.idle_fd) or not req.argv or not req.argv[0]:
        return None
    fds = [error_fd]
    stdio = []
    for spec in (req.stdin, req.stdout, req.stderr):
        if isinstance(spec, int):
            if spec not in fds:
                fds.append(spec)
            stdio.append(fds.index(spec))
        elif spec == "null":
            stdio.append(_STDIO_NULL)
        elif spec == "inherit":
            stdio.append(_STDIO_INHERIT)
        else:
            return None
    limits = []
    limit_names = []
    for name, (soft, hard) in req.limits.items():
        resource = rlimit_resource(name)
        if resource is None:
            return None
        limits.append(_LIMIT.pack(resource, 0, rlimit_value(soft), rlimit_value(hard)))
        limit_names.append(name.removeprefix("Limit").upper())
    env = req.env
    if any("=" in key for key in env):
        return None  # os.execve() refuses it: the full setup reports it
    wd, missing_ok = working_directory_target(req.working_directory, plan.home)
    strings = [req.path, child_process_name(req.path), wd, req.cgroup or "", *req.argv,
               *[f"{key}={value}" for key, value in env.items()], *limit_names, *req.pid_variables,
               *req.extra_cgroups, *EXEC_SEARCH_PATH]
    text = "\0".join(strings)
    if text.count("\0") != len(strings) - 1:
        return None  # an embedded NUL: os.execve() refuses it
    body = b"".join(limits) + text.encode(_FS_ENCODING, "surrogateescape") + b"\0"
    flags = ((F_NEW_SESSION if req.new_session else 0) | (F_NICE if req.nice is not None else 0)
             | (F_WD_MISSING_OK if missing_ok else 0) | (F_CLONE_INTO_CGROUP if req.clone_into_cgroup else 0)
             | (F_AWAIT_EXEC if await_exec else 0))
    header = _HEADER.pack(MAGIC, flags, req.nice or 0, req.umask, *stdio, len(req.argv), len(env), len(limits),
                          len(req.pid_variables), len(req.extra_cgroups), len(EXEC_SEARCH_PATH),
                          _HEADER.size + len(body))
    return header + body, fds


def main(argv: list[str] | None = None) -> int:
    """`python3 -m sysvisor.daemon.exec_helper`: build the helper; 1 with the reason if not."""
    try:
        path = build()
    except BuildError as e:
        print(f"sysvisor: native exec helper not built: {e}", file=sys.stderr)
        print("sysvisor: units will be started by the Python spawn helper (slower restarts).", file=sys.stderr)
        return 1
    print(f"built {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
