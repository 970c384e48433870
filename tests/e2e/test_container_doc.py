"""docs/container.md's Dockerfile, run as documented: its `COPY`, `RUN sysvisor enable` and
`ENTRYPOINT` lines in a new PID and mount namespace (fresh /run, /var/lib and
/etc/systemd/system, as in an image), then its `STOPSIGNAL`, as `docker stop` sends it.
# spec: issue 5 "Document a Dockerfile that uses sysvisor as its ENTRYPOINT" """

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from harness import ROOT, children

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="PID and mount namespaces need root (CI runs as root)")
DOC = ROOT / "docs" / "container.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


def _dockerfile() -> list[tuple[str, str]]:
    [text] = _blocks("Dockerfile")
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line and not line.startswith("#")]


def _unit_file(name: str) -> str:
    [text] = [b for b in _blocks("ini") if b.startswith(f"# {name}\n")]
    return text.split("\n", 1)[1]


def _signal(spec: str) -> int:
    if spec.startswith("SIGRTMIN+"):
        return signal.SIGRTMIN + int(spec[len("SIGRTMIN+"):])
    return getattr(signal, spec)


def test_the_documented_dockerfile_runs_and_stops(tmp_path):
    lines = _dockerfile()
    build = tmp_path / "build"
    build.mkdir()
    steps = []
    for instruction, rest in lines:
        if instruction == "COPY" and rest.split()[0].endswith(".service"):
            src, dest = rest.split()
            (build / src).write_text(_unit_file(src))
            steps.append(f"cp {shlex.quote(str(build / src))} {shlex.quote(dest)}")
        elif instruction == "RUN" and rest.startswith("sysvisor "):
            steps.append(rest)
    entrypoint = json.loads(dict(lines)["ENTRYPOINT"])
    stop_signal = _signal(dict(lines)["STOPSIGNAL"])
    assert entrypoint == ["sysvisor", "up"] and any("enable" in s for s in steps)

    # `sysvisor` on PATH: the launcher install.sh writes, pointing at this checkout
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "sysvisor"
    launcher.write_text(f"#!{sys.executable} -IS\nimport sys\nsys.path.insert(0, {str(ROOT / 'src')!r})\n"
                        "from sysvisor.cli.main import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    # the image's file system: nothing of the host's /run, /var/lib or units (a slim image has no
    # systemd package, so no units in /usr/lib/systemd/system either)
    unit_dirs = [d for d in ("/etc/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd/system") if os.path.isdir(d)]
    script = " && ".join([
        "mount --make-rprivate /",
        "mount -t tmpfs tmpfs /run", "mount -t tmpfs tmpfs /var/lib",
        *(f"mount -t tmpfs tmpfs {d}" for d in unit_dirs), "mkdir -p /etc/systemd/system",
        *steps,
        "exec " + shlex.join(entrypoint),
    ])
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    env.pop("SYSVISOR_SOCKET", None)
    env.pop("PYTHONPATH", None)
    log = open(tmp_path / "container.log", "w+")
    container = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--net", "--mount-proc", "/bin/sh", "-c", script],
                                 env=env, stdout=log, stderr=subprocess.STDOUT)

    def output() -> str:
        log.flush()
        log.seek(0)
        return log.read()

    def wait(what, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert container.poll() is None, f"the container ended while waiting for {what}:\n{output()}"
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}:\n{output()}")

    try:
        init = wait("PID 1", lambda: children(container.pid)[:1])[0]
        # `docker exec … systemctl status web`: the socket as seen inside the container
        socket_path = f"/proc/{init}/root/run/sysvisor/control"

        def status() -> subprocess.CompletedProcess:
            return subprocess.run([str(launcher), "--socket", socket_path, "show", "web", "-p", "ActiveState,SubState",
                                   "--value"], env=env, capture_output=True, text=True, timeout=30)

        wait("web running", lambda: status().stdout.split() == ["active", "running"])
        with open(f"/proc/{init}/cmdline", "rb") as f:
            assert b"keeper.py" in f.read()  # sysvisor up became the keeper, PID 1
        os.kill(init, stop_signal)  # docker stop
        assert container.wait(timeout=30) == 0
        assert "Stopped web.service - A small web server." in output()
        assert output().count("Started ") == 1, "web.service is the only unit of the image"
    finally:
        if container.poll() is None:
            container.kill()
            container.wait()
        log.close()


