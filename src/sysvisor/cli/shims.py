"""`sysvisor install-shims`: `systemctl` and `journalctl` commands that forward to sysvisor.

Tools and scripts inside a container that call systemctl/journalctl then just work. On a host
where systemd itself is PID 1, shadowing its tools would be wrong: refused unless --force.
"""

from __future__ import annotations

import argparse
import os
import sys

_SHIM = """#!{python} -IS
# {name} shim installed by `sysvisor install-shims`: forwards to sysvisor.
import sys
sys.path.insert(0, {src!r})
from sysvisor.cli.main import main
sys.exit(main({prefix}sys.argv[1:]))
"""
SHIMS = {"systemctl": "", "journalctl": '["logs"] + '}


def shim_text(name: str, python: str, src: str) -> str:
    """The script for `name` (systemctl → verbs, journalctl → `logs`)."""
    return _SHIM.format(python=python, name=name, src=src, prefix=SHIMS[name])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="sysvisor install-shims", description="Install systemctl and journalctl commands that forward to sysvisor.")
    p.add_argument("--prefix", default="/usr/local", help="installs into PREFIX/bin (default /usr/local)")
    p.add_argument("--force", action="store_true", help="install even though systemd is running on this machine")
    args = p.parse_args(argv)
    if os.path.isdir("/run/systemd/system") and not args.force:
        print("systemd is running on this machine (/run/systemd/system exists); refusing to shadow its systemctl and journalctl. Use --force to install anyway.", file=sys.stderr)
        return 1
    bindir = os.path.join(args.prefix, "bin")
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        os.makedirs(bindir, exist_ok=True)
        for name in SHIMS:
            path = os.path.join(bindir, name)
            tmp = path + ".sysvisor-tmp"
            with open(tmp, "w") as f:
                f.write(shim_text(name, sys.executable, src))
            os.chmod(tmp, 0o755)
            os.replace(tmp, path)
            print(f"installed {path}")
    except OSError as e:
        print(f"Failed to install shims into {bindir}: {e.strerror}", file=sys.stderr)
        return 1
    return 0
