#!/bin/sh
# Install the `sysvisor` command: a launcher onto this checkout (sysvisor needs nothing but
# Python >= 3.11 at run time). With --demo, then run the manager on the bundled examples.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=$(command -v python3 || true)
if [ -z "$py" ]; then echo "install.sh: python3 is required" >&2; exit 1; fi
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "install.sh: sysvisor needs Python >= 3.11 (found $("$py" --version 2>&1))" >&2; exit 1
fi
py=$("$py" -c 'import sys; print(sys.executable)')  # the interpreter itself, not a wrapper
if [ "$(id -u)" = 0 ]; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; fi
mkdir -p "$bindir"
cat > "$bindir/sysvisor.tmp" <<EOF
#!$py -IS
# sysvisor launcher, written by $here/install.sh (-IS: no site-packages, nothing to import at start-up)
import sys
sys.path.insert(0, "$here/src")
from sysvisor.cli.main import main
sys.exit(main())
EOF
# the native exec helper: faster restarts where a C compiler exists, the Python one otherwise
if command -v cc >/dev/null || command -v gcc >/dev/null || [ -n "${CC:-}" ]; then
    PYTHONPATH="$here/src" "$py" -m sysvisor.daemon.exec_helper || true
else
    echo "note: no C compiler: units are started by the Python spawn helper (install gcc and re-run for faster restarts)"
fi
chmod 755 "$bindir/sysvisor.tmp"
mv "$bindir/sysvisor.tmp" "$bindir/sysvisor"
echo "installed $bindir/sysvisor"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "note: $bindir is not on your PATH; add it to use 'sysvisor' from other terminals" ;; esac
if [ "${1:-}" = "--demo" ]; then
    echo "running: sysvisor up --units $here/examples   (Ctrl-C stops all units and exits)"
    exec "$bindir/sysvisor" up --units "$here/examples"
fi
