"""The service managers the benchmarks compare: sysvisor and its installable peers.

Each peer runs the same services (the `stamp` helper, see stamp.c) from a private work
directory, is driven through its own command-line tool, and is torn down with every process it
started. A peer that cannot be installed says why (`Peer.missing`), and the tables print
"n/a (reason)". Peers are installed into the bench's own environment: supervisor and circus
into a venv (bench/.peers/venv, from PyPI), runit and s6 from Debian's packages (root only).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS_DIR = BENCH / ".peers"
VENV = PEERS_DIR / "venv"
PYCACHE = PEERS_DIR / "pycache"


def sysvisor_python() -> str:
    """The interpreter install.sh would pick on a fresh Debian 12: /usr/bin/python3 when it is
    >= 3.11, else this one. ($BENCH_PYTHON overrides.) A pyenv shim would add a bash start-up
    to every call, and this sandbox's pyenv interpreter imports certifi from a .pth file."""
    forced = os.environ.get("BENCH_PYTHON")
    if forced:
        return forced
    system = "/usr/bin/python3"
    if os.path.exists(system):
        r = subprocess.run([system, "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True)
        if r.stdout.strip() == "True":
            return system
    return sys.executable


def sysvisor_env(socket: Path | None = None, bytecode: bool = True) -> dict:
    """sysvisor's environment: bytecode cached outside src/ (as an installed package has it),
    unless `bytecode` is False (then every run compiles every module it imports)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if socket is not None:
        env["SYSVISOR_SOCKET"] = str(socket)
    return env


def warm_bytecode(python: str) -> None:
    """Compile sysvisor once (what an install's first run leaves behind): into the bench's
    bytecode cache for the manager, and beside the sources for the launcher, whose -I
    ignores PYTHONPYCACHEPREFIX."""
    for env in (sysvisor_env(), {k: v for k, v in sysvisor_env().items() if k != "PYTHONPYCACHEPREFIX"}):
        subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "src" / "sysvisor")], env=env, capture_output=True, timeout=300)


LAUNCHER_FLAGS = "-IS"  # install.sh's: no site-packages, no environment variables of Python's


def write_launcher(path: Path, python: str) -> Path:
    """The launcher install.sh writes (its flags too), so the CLI is timed as users run it."""
    path.write_text(f"#!{python} {LAUNCHER_FLAGS}\n# sysvisor launcher (as written by install.sh)\nimport sys\n"
                    f"sys.path.insert(0, {str(ROOT / 'src')!r})\nfrom sysvisor.cli.main import main\nsys.exit(main())\n")
    path.chmod(0o755)
    return path


@dataclass
class Service:
    """One service: `stamp LOG NAME MODE [MS]`, restarted always, after `restart_sec`."""

    name: str
    mode: str  # "wait" or "crash"
    crash_ms: int = 0
    restart_sec: float = 0.0


# --- the stamp helper -----------------------------------------------------------------------

def build_stamp() -> Path:
    """Compile bench/stamp.c once into bench/.peers/stamp (needs a C compiler)."""
    out = PEERS_DIR / "stamp"
    src = BENCH / "stamp.c"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    PEERS_DIR.mkdir(exist_ok=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("bench: a C compiler (cc) is needed to build bench/stamp.c (apt-get install gcc)")
    subprocess.run([cc, "-O2", "-o", str(out), str(src)], check=True)
    return out


def stamp_argv(stamp: Path, log: Path, svc: Service) -> list[str]:
    argv = [str(stamp), str(log), svc.name, svc.mode]
    if svc.mode == "crash":
        argv.append(str(svc.crash_ms))
    return argv


def read_stamps(log: Path) -> list[tuple[str, int, int, str]]:
    """Parse the stamp log into (kind, pid, monotonic ns, service) tuples; a torn last line is skipped."""
    try:
        data = log.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n"):
        parts = line.split()
        if len(parts) == 4:
            out.append((parts[0].decode(), int(parts[1]), int(parts[2]), parts[3].decode()))
    return out


class StampTail:
    """Reads the stamp lines appended since the last call (complete lines only)."""

    def __init__(self, log: Path) -> None:
        self.log, self.offset, self.rest = log, 0, b""

    def new(self) -> list[tuple[str, int, int, str]]:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        out = []
        for line in data[:cut].split(b"\n"):
            parts = line.split()
            if len(parts) == 4:
                out.append((parts[0].decode(), int(parts[1]), int(parts[2]), parts[3].decode()))
        return out


# --- processes ------------------------------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def proc_usage(pids: list[int]) -> dict[str, int]:
    """Summed CPU ticks, context switches, RSS and PSS (KiB) of `pids`.

    PSS splits shared pages among the processes that map them, so it can be summed over the
    hundreds of supervisor processes of runit or s6; RSS would count libc 500 times."""
    total = {"cpu_ticks": 0, "vol_cs": 0, "invol_cs": 0, "rss_kib": 0, "pss_kib": 0}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total["cpu_ticks"] += int(fields[11]) + int(fields[12])
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total["rss_kib"] += int(line.split()[1])
                    elif line.startswith("voluntary_ctxt_switches:"):
                        total["vol_cs"] += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        total["invol_cs"] += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total["pss_kib"] += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


def wait_until(predicate, timeout: float, interval: float = 0.005):
    """Poll `predicate` until it returns a true value or `timeout` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --- peers ----------------------------------------------------------------------------------

class Peer:
    """A service manager under test. Subclasses fill in the manager-specific parts."""

    name = "?"
    restart_delay = True  # has an equivalent of RestartSec=
    has_restart_counter = False
    note = ""

    def __init__(self) -> None:
        self.missing: str | None = None
        self.proc: subprocess.Popen | None = None
        self.work: Path | None = None
        self.log: Path | None = None
        self.services: list[Service] = []
        self.launched_ns = 0

    # lifecycle
    def setup(self, work: Path, stamp: Path, services: list[Service]) -> None:
        self.work, self.services = work, services
        work.mkdir(parents=True, exist_ok=True)
        self.log = work / "stamps.log"
        self.log.write_bytes(b"")
        self.write_config(work, stamp, services)

    def launch(self) -> None:
        argv, env = self.manager_argv()
        self.out = open(self.work / "manager.out", "wb")
        self.launched_ns = time.monotonic_ns()
        self.proc = subprocess.Popen(argv, env=env, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def main_pid(self) -> int:
        """The manager's main process (whose RSS the tables report)."""
        return self.proc.pid

    def manager_pids(self) -> list[int]:
        """The manager's own processes: its process tree minus the services' processes."""
        if not self.proc:
            return []
        service_pids = {pid for _, pid, _, _ in read_stamps(self.log)}
        return [p for p in process_tree(self.proc.pid) if p not in service_pids]

    def teardown(self) -> None:
        """Stop the manager the peer's documented way, then make sure nothing it started survives."""
        if self.proc is None:
            return
        tree = set(process_tree(self.proc.pid))
        try:
            self.shutdown()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            # supervisors that outlive their parent (runsv after runsvdir) get a bounded grace
            wait_until(lambda: not any(alive(p) for p in self._ours(tree)), 10, 0.02)
        finally:
            for pid in self._ours(tree):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            wait_until(lambda: not any(alive(p) for p in self._ours(tree)), 5, 0.02)
            self.out.close()
            self.proc = None

    def _ours(self, tree: set[int]) -> list[int]:
        """Live processes this peer started: its tree as seen before shutdown (checked to be
        still ours: our work directory in its command line or as its cwd) plus stamped services whose command line names our log."""
        out = []
        for pid in tree | {pid for _, pid, _, _ in read_stamps(self.log)}:
            if pid == self.proc.pid or not alive(pid):
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read()
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if str(self.work).encode() in cmdline or cwd.startswith(str(self.work)):
                out.append(pid)
        return out

    # to override
    def write_config(self, work: Path, stamp: Path, services: list[Service]) -> None:
        raise NotImplementedError

    def manager_argv(self) -> tuple[list[str], dict]:
        raise NotImplementedError

    def ready(self) -> bool:
        """True once the control tool can talk to the manager."""
        raise NotImplementedError

    def shutdown(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def status_argv(self, name: str) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return dict(os.environ)



class SysvisorPeer(Peer):
    name = "sysvisor"
    has_restart_counter = True

    def write_config(self, work, stamp, services):
        units = work / "units"
        units.mkdir(exist_ok=True)
        for s in services:
            (units / f"{s.name}.service").write_text(
                "[Unit]\nStartLimitIntervalSec=0\n\n[Service]\n"
                f"ExecStart={' '.join(stamp_argv(stamp, self.log, s))}\n"
                f"Restart=always\nRestartSec={int(s.restart_sec * 1000)}ms\n\n"
                "[Install]\nWantedBy=multi-user.target\n")
        self.launcher = write_launcher(work / "sysvisor", sysvisor_python())

    def env(self):
        return sysvisor_env(self.work / "run" / "control")

    def main_pid(self):
        """`sysvisor up` is the keeper; the manager is its child started with --keeper-fd."""
        for pid in process_tree(self.proc.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if b"--keeper-fd" in argv and not any(a.endswith(b"keeper.py") for a in argv):
                    return pid
            except OSError:
                continue
        return self.proc.pid

    def manager_argv(self):
        w = self.work
        return [str(self.launcher), "up", "--units", str(w / "units"), "--runtime-dir", str(w / "run"), "--state-dir", str(w / "state")], self.env()

    def ready(self):
        return (self.work / "run" / "control").exists()

    def status_argv(self, name):
        return [str(self.launcher), "status", name]

    def is_active_argv(self, name):
        return [str(self.launcher), "is-active", name]

    def show_argv(self, names, prop):
        return [str(self.launcher), "show", *names, "-p", prop, "--value"]

    def stop_units(self, names):
        subprocess.run([str(self.launcher), "stop", *names], env=self.env(), capture_output=True, timeout=60)


class SysvisorForkPeer(SysvisorPeer):
    """sysvisor with its spawn helper off: every process is a fork of the manager, as before
    the helper existed (the A/B comparison for daemon/spawner.py)."""

    name = "sysvisor-fork"
    note = "spawn helper off (SYSVISOR_SPAWN_HELPER=0): fork of the manager per spawn"

    def env(self):
        return dict(super().env(), SYSVISOR_SPAWN_HELPER="0")


def _venv_bin(tool: str) -> Path:
    return VENV / "bin" / tool


def ensure_venv(packages: list[str]) -> str | None:
    """Install `packages` into bench/.peers/venv; return None or why it failed."""
    if all(_venv_bin(t).exists() for t in ("supervisord", "circusd")):
        return None
    try:
        if not _venv_bin("pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=120)
        r = subprocess.run([str(_venv_bin("pip")), "install", "-q", *packages], capture_output=True, text=True, timeout=300)
        if r.returncode:
            return (r.stderr.strip().splitlines() or ["pip failed"])[-1][:80]
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)[:80]
    return None


class SupervisordPeer(Peer):
    name = "supervisord"
    restart_delay = False
    note = "startsecs=0, autorestart=true"

    def __init__(self):
        super().__init__()
        if not _venv_bin("supervisord").exists():
            self.missing = "supervisor not installed"

    def write_config(self, work, stamp, services):
        w = work
        lines = [
            "[supervisord]", "nodaemon=true", f"logfile={w}/supervisord.log", f"pidfile={w}/supervisord.pid", f"childlogdir={w}", "user=root" if os.getuid() == 0 else "",
            "[unix_http_server]", f"file={w}/supervisor.sock",
            "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "[supervisorctl]", f"serverurl=unix://{w}/supervisor.sock",
        ]
        for s in services:
            lines += [f"[program:{s.name}]", f"command={' '.join(stamp_argv(stamp, self.log, s))}", "autostart=true", "autorestart=true",
                      "startsecs=0", "startretries=1000000", "stdout_logfile=NONE", "stderr_logfile=NONE"]
        self.conf = w / "supervisord.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def manager_argv(self):
        return [str(_venv_bin("supervisord")), "-c", str(self.conf)], self.env()

    def ready(self):
        return (self.work / "supervisor.sock").exists()

    def status_argv(self, name):
        return [str(_venv_bin("supervisorctl")), "-c", str(self.conf), "status", name]


class CircusPeer(Peer):
    name = "circus"
    restart_delay = False
    note = "respawn, max_retry=-1"

    def __init__(self):
        super().__init__()
        if not _venv_bin("circusd").exists():
            self.missing = "circus not installed"

    def write_config(self, work, stamp, services):
        w = work
        self.endpoint = f"ipc://{w}/circus.sock"
        lines = ["[circus]", f"endpoint = {self.endpoint}", f"pubsub_endpoint = ipc://{w}/pubsub.sock", f"stats_endpoint = ipc://{w}/stats.sock",
                 "statsd = False", "warmup_delay = 0"]
        for s in services:
            argv = stamp_argv(stamp, self.log, s)
            lines += [f"[watcher:{s.name}]", f"cmd = {argv[0]}", f"args = {' '.join(argv[1:])}", "numprocesses = 1", "respawn = True",
                      "max_retry = -1", "warmup_delay = 0", "copy_env = True"]
        self.conf = w / "circus.ini"
        self.conf.write_text("\n".join(lines) + "\n")

    def manager_argv(self):
        return [str(_venv_bin("circusd")), str(self.conf)], self.env()

    def ready(self):
        return (self.work / "circus.sock").exists()

    def status_argv(self, name):
        return [str(_venv_bin("circusctl")), "--endpoint", self.endpoint, "status", name]


def _service_dirs(root: Path, stamp: Path, log: Path, services: list[Service]) -> None:
    """runit/s6 service directories; ./run is a two-line exec script, as both document."""
    root.mkdir(exist_ok=True)
    for s in services:
        d = root / s.name
        d.mkdir()
        run = d / "run"
        run.write_text("#!/bin/sh\nexec " + " ".join(stamp_argv(stamp, log, s)) + "\n")
        run.chmod(0o755)


class RunitPeer(Peer):
    name = "runit"
    restart_delay = False
    note = "runsvdir; ./run = sh exec"

    def __init__(self):
        super().__init__()
        if not shutil.which("runsvdir"):
            self.missing = "runit not installed (apt-get install runit, as root)"

    def write_config(self, work, stamp, services):
        self.scan = work / "service"
        _service_dirs(self.scan, stamp, self.log, services)

    def manager_argv(self):
        return ["runsvdir", "-P", str(self.scan)], self.env()

    def ready(self):
        return all((self.scan / s.name / "supervise" / "ok").exists() for s in self.services[:1])

    def shutdown(self):
        # runsvdir: HUP makes it TERM its runsv's and exit; then tell each runsv to stop and exit
        self.proc.send_signal(signal.SIGHUP)
        for s in self.services:
            try:
                fd = os.open(self.scan / s.name / "supervise" / "control", os.O_WRONLY | os.O_NONBLOCK)
                os.write(fd, b"dx")
                os.close(fd)
            except OSError:
                pass

    def status_argv(self, name):
        return ["sv", "status", str(self.scan / name)]


class S6Peer(Peer):
    name = "s6"
    restart_delay = False
    note = "s6-svscan; ./run = sh exec"

    def __init__(self):
        super().__init__()
        if not shutil.which("s6-svscan"):
            self.missing = "s6 not installed (apt-get install s6, as root)"

    def write_config(self, work, stamp, services):
        self.scan = work / "service"
        _service_dirs(self.scan, stamp, self.log, services)

    def manager_argv(self):
        return ["s6-svscan", str(self.scan)], self.env()

    def ready(self):
        return all((self.scan / s.name / "supervise" / "status").exists() for s in self.services[:1])

    def shutdown(self):
        subprocess.run(["s6-svscanctl", "-t", str(self.scan)], capture_output=True, timeout=30)

    def status_argv(self, name):
        return ["s6-svstat", str(self.scan / name)]


def install_peers(quiet: bool = False) -> None:
    """Best effort: supervisor and circus from PyPI into the venv; runit and s6 via apt (root)."""
    err = ensure_venv(["supervisor", "circus"])
    if err and not quiet:
        print(f"bench: could not install supervisor/circus: {err}", file=sys.stderr)
    missing = [pkg for pkg, tool in (("runit", "runsvdir"), ("s6", "s6-svscan")) if not shutil.which(tool)]
    if missing and os.getuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], capture_output=True, env=env, timeout=600)
        if r.returncode:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], capture_output=True, env=env, timeout=600)


def all_peers() -> list[Peer]:
    return [SysvisorPeer(), SysvisorForkPeer(), SupervisordPeer(), CircusPeer(), RunitPeer(), S6Peer()]


# --- real systemd, through the project's oracle (root only) --------------------------------

ORACLE = Path("/work/shared/tools/systemd-oracle")


def systemd_oracle(stamp: Path, crash_iters: int, kill_iters: int, delay_iters: int, many: int, idle_s: float,
                   loop_window_s: float, release: str = "257", cli_calls: int = 0) -> tuple[dict | None, str]:
    """bench_daemon's scenarios under real systemd (PID 1 of a throw-away container booted by
    shared/tools/systemd-oracle), measured inside it by bench/oracle_driver.py. Returns
    (results or None, why not / what ran)."""
    if not ORACLE.exists():
        return None, "systemd-oracle not found"
    if os.getuid() != 0:
        return None, "systemd-oracle needs root"
    d = PEERS_DIR / "oracle"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    shutil.copy2(stamp, d / "stamp")
    shutil.copy2(BENCH / "oracle_driver.py", d / "oracle_driver.py")
    log = "/tmp/stamps.log"

    def unit(name, mode, ms=0, restart_sec="0"):
        args = f"{d}/stamp {log} {name} {mode}" + (f" {ms}" if mode == "crash" else "")
        (d / f"{name}.service").write_text(f"[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nExecStart={args}\nRestart=always\nRestartSec={restart_sec}\n")
    unit("crash", "crash", 20)
    unit("delay", "crash", 20, "100ms")
    unit("victim", "wait")
    for i in range(50):
        unit(f"loop{i:02d}", "crash", 0)
    for i in range(many):
        unit(f"svc{i:03d}", "wait")
    plan = (("crash", crash_iters, []), ("delay", delay_iters, []), ("kill", kill_iters, []),
            ("loop", int(loop_window_s * 20), []), ("many", many, [str(idle_s)]), ("cli", cli_calls, []))
    steps = [{"do": "exec", "argv": ["python3", f"{d}/oracle_driver.py", str(d), what, str(n), *extra], "timeout_s": 120, "label": what}
             for what, n, extra in plan if n]
    scenario = d / "scenario.json"
    scenario.write_text(json.dumps(steps))
    out = d / "result.json"
    r = subprocess.run([str(ORACLE), "run", "--release", release, "--units", str(d), "--scenario", str(scenario), "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0 or not out.exists():
        return None, f"systemd-oracle failed ({r.returncode}): {(r.stderr.strip().splitlines() or [''])[-1][:80]}"
    result = json.loads(out.read_text())
    res: dict = {}
    for step in result["scenarios"][0]["steps"]:
        try:
            res[step["label"]] = json.loads(step.get("stdout") or "null")
        except (KeyError, ValueError):
            res[step.get("label", "?")] = None
    return res, result.get("environment", {}).get("systemd_version", f"systemd {release}")
