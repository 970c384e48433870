import os, signal, subprocess, sys, time
sys.path.insert(0, "/tmp/wiring/src")
from sysvisor.cli.client import request
T = "/tmp/wiring/run2"
sock = T + "/run/control"
env = dict(os.environ, PYTHONPATH="/tmp/wiring/src", SYSVISOR_SOCKET=sock)
m = subprocess.Popen([sys.executable, "-m", "sysvisor", "up", "--units", T + "/units", "--runtime-dir", T + "/run", "--state-dir", T + "/state"],
                     env=env, stdout=open(T + "/manager.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
def cli(*a): return subprocess.run([sys.executable, "-m", "sysvisor", *a], env=env, capture_output=True, text=True, timeout=30)
def prop(u, p): return cli("show", u, "-p", p, "--value").stdout.strip()
def wait(f, t=20):
    d = time.monotonic() + t
    while time.monotonic() < d:
        v = f()
        if v: return v
        time.sleep(0.05)
    raise SystemExit("timeout")
wait(lambda: prop("web.service", "SubState") == "running" and prop("late.service", "SubState") == "running")
web = prop("web.service", "MainPID"); late = prop("late.service", "MainPID")
pid1 = request(sock, {"verb": "ping"})["pid"]
print("before:", pid1, "web", web, "late", late)
print("reexec reply:", request(sock, {"verb": "daemon-reexec"}, timeout=10))
pid2 = wait(lambda: (lambda r: r["pid"])(request(sock, {"verb": "ping"}, timeout=5)) if os.path.exists(sock) else None)
r = cli("show", "web.service", "-p", "SubState"); print("show:", r.returncode, r.stdout, r.stderr[-800:])
print("after: same manager pid", pid2 == pid1 == m.pid, "web", prop("web.service", "SubState"), prop("web.service", "MainPID") == web)
print("late:", wait(lambda: prop("late.service", "ActiveState") == "failed" and (prop("late.service", "Result"), prop("late.service", "ExecMainStatus"), prop("late.service", "ExecMainPID") == late)))
n0 = cli("logs", "-u", "web.service", "--no-pager").stdout.count("tick")
time.sleep(0.6)
n1 = cli("logs", "-u", "web.service", "--no-pager").stdout.count("tick")
print("web output still captured after reexec:", n1 > n0, n0, n1)
cli("stop", "web.service")
print("web stopped:", prop("web.service", "SubState"))
m.send_signal(signal.SIGTERM); print("exit", m.wait(timeout=30))
