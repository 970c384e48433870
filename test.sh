#!/bin/sh
# Run the whole test suite: installs what the tests need (a venv with pytest and hypothesis,
# systemd-analyze for the differential tests, a C compiler for the native exec helper) and
# then runs pytest. Extra args go to pytest.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
is_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
    if is_root && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "test.sh: please install: $*" >&2; exit 1
    fi
}
if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        apt_install python3-venv
        python3 -m venv .venv
    fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
command -v systemd-analyze >/dev/null || apt_install systemd
command -v systemd-notify >/dev/null || apt_install systemd
# the native exec helper (optional at run time; tested here)
command -v cc >/dev/null || command -v gcc >/dev/null || apt_install gcc libc6-dev
PYTHONPATH=src .venv/bin/python -m sysvisor.daemon.exec_helper >/dev/null
exec .venv/bin/python -m pytest "$@"
