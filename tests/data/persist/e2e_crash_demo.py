import os, signal, subprocess, sys, time
T = "/tmp/wiring/run1"
env = dict(os.environ, PYTHONPATH="/tmp/wiring/src", SYSVISOR_SOCKET=T + "/run/control")
def up():
    return subprocess.Popen([sys.executable, "-m", "sysvisor", "up", "--units", T + "/units", "--runtime-dir", T + "/run", "--state-dir", T + "/state"],
                            env=env, stdout=open(T + "/manager.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
def cli(*a):
    return subprocess.run([sys.executable, "-m", "sysvisor", *a], env=env, capture_output=True, text=True, timeout=30)
def prop(u, p): return cli("show", u, "-p", p, "--value").stdout.strip()
def wait(f, t=20):
    d = time.monotonic() + t
    while time.monotonic() < d:
        v = f()
        if v: return v
        time.sleep(0.05)
    raise SystemExit("timeout")
m1 = up()
pid = wait(lambda: prop("web.service", "MainPID") not in ("", "0") and prop("web.service", "MainPID"))
inv = prop("web.service", "InvocationID")
print("first manager", m1.pid, "web pid", pid, "inv", inv)
wait(lambda: os.path.exists(T + "/state/manager-state.json.b"))  # the first slot written
os.kill(m1.pid, signal.SIGKILL); m1.wait()
print("killed manager; web alive:", os.path.exists(f"/proc/{pid}"))
m2 = up()
wait(lambda: prop("web.service", "SubState"))
print("second manager:", prop("web.service", "SubState"), prop("web.service", "MainPID"), prop("web.service", "InvocationID") == inv, "NRestarts", prop("web.service", "NRestarts"))
os.kill(int(pid), signal.SIGSEGV)   # crashes while adopted: exit status unknown
print("after kill:", wait(lambda: prop("web.service", "SubState") != "running" and (prop("web.service", "SubState"), prop("web.service", "Result"), prop("web.service", "MainPID"))))
cli("stop", "web.service")
m2.send_signal(signal.SIGTERM); print("m2 exit", m2.wait(timeout=30))
print("state file left:", any(os.path.exists(T + "/state/manager-state.json" + s) for s in ("", ".a", ".b")))
