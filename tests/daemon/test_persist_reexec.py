"""daemon-reexec with real processes: exit statuses survive the exec. # spec: issue 5"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from sysvisor.core.manager import Manager
from sysvisor.daemon import reexec

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")

# One program, two images. Image 1 runs two units with real children: a.service's child
# exits (status 7) before the exec and stays an unreaped zombie; b.service's child blocks
# on a pipe whose write end only the manager holds, kept across the exec. Image 2 restores
# the engine, closes the pipe (b's child then exits 3) and reaps both.
SCRIPT = textwrap.dedent(r"""
    import json, os, signal, sys, time
    from sysvisor.core import events as ev
    from sysvisor.core.actions import Spawn
    from sysvisor.core.manager import Manager
    from sysvisor.core.units import ExecCommand, ServiceSection, Unit
    from sysvisor.daemon import reexec
    from sysvisor.daemon.children import reap
    from sysvisor.daemon.clock import monotonic_usec
    from sysvisor.daemon.persist import proc_stat

    def units():
        def svc(name, code):
            argv = (sys.executable, "-c", code)
            return Unit(name=name, service=ServiceSection(exec_start=[ExecCommand(sys.executable, argv)]))
        return {"a.service": svc("a.service", "raise SystemExit(7)"),
                "b.service": svc("b.service", "import sys; sys.stdin.read(); raise SystemExit(3)")}

    def wait(cond):
        deadline = time.monotonic() + 20
        while not cond():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.002)

    path, rest = reexec.take_reexec_option(sys.argv[1:])
    out = rest[0]
    if path is None:
        m = Manager(units())
        r, w = os.pipe()
        pids = {}
        for name in ("a.service", "b.service"):
            for action in m.handle(ev.StartRequested(name), monotonic_usec()):
                if isinstance(action, Spawn):
                    stdin = [(os.POSIX_SPAWN_DUP2, r, 0)] if name == "b.service" else []
                    pid = os.posix_spawn(action.command.path, list(action.command.argv), dict(os.environ),
                                         file_actions=stdin)
                    pids[name] = pid
                    m.handle(ev.Spawned(action.spawn_id, pid), monotonic_usec())
        os.close(r)
        wait(lambda: proc_stat(pids["a.service"]).state == "Z")  # exited, not reaped
        with open(out + ".before", "w") as f:
            json.dump({"pid": os.getpid(), "children": pids}, f)
        argv = reexec.prepare_reexec(m, out + ".state", {"hold": w}, reexec.current_command(),
                                     extra={"note": "from image 1"})
        reexec.reexec(argv, {"hold": w})
    else:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the mask reexec() left us
        os.kill(os.getpid(), signal.SIGTERM)  # as if sent during the exec: stays pending
        got = []
        signal.signal(signal.SIGTERM, lambda *a: got.append("SIGTERM"))
        reexec.release_signals()
        m = Manager(units())
        logs = []
        restored = reexec.restore_after_reexec(m, path, monotonic_usec(), logs.append)
        running = {n: m.runtime_properties(n)["SubState"] for n in ("a.service", "b.service")}
        inheritable = os.get_inheritable(restored.fds["hold"])
        os.close(restored.fds["hold"])  # b's child reads EOF and exits 3
        exited = []
        def collect():
            for pid, code, status in reap():
                exited.append([pid, int(code), status])
                if pid in restored.pids:
                    m.handle(ev.ProcessExited(pid, code, status), monotonic_usec())
            return len(exited) == 2
        wait(collect)
        props = {n: {k: m.runtime_properties(n)[k] for k in ("SubState", "Result", "ExecMainCode", "ExecMainStatus")}
                 for n in ("a.service", "b.service")}
        with open(out + ".after", "w") as f:
            json.dump({"pid": os.getpid(), "logs": logs, "extra": restored.extra, "running_after_restore": running,
                       "routes": sorted(restored.pids.items()), "exited": exited, "props": props,
                       "state_file_left": os.path.exists(path), "hold_inheritable": inheritable,
                       "held": sorted(int(x) for x in held), "delivered": got}, f)
""")


def test_child_exit_statuses_arrive_after_the_exec(tmp_path):
    script = tmp_path / "manager.py"
    script.write_text(SCRIPT)
    out = str(tmp_path / "result")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    proc = subprocess.run([sys.executable, str(script), out], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    before = json.loads(open(out + ".before").read())
    after = json.loads(open(out + ".after").read())
    assert after["pid"] == before["pid"]  # the same process, a new image
    assert after["logs"] == [] and after["extra"] == {"note": "from image 1"}
    # restored as running: a's zombie still counts as alive until the reaper collects it
    assert after["running_after_restore"] == {"a.service": "running", "b.service": "running"}
    children = before["children"]
    assert after["routes"] == sorted([[children["a.service"], "a.service"], [children["b.service"], "b.service"]])
    assert sorted(after["exited"]) == sorted([[children["a.service"], 1, 7], [children["b.service"], 1, 3]])
    assert after["props"] == {
        "a.service": {"SubState": "failed", "Result": "exit-code", "ExecMainCode": 1, "ExecMainStatus": 7},
        "b.service": {"SubState": "failed", "Result": "exit-code", "ExecMainCode": 1, "ExecMainStatus": 3},
    }
    assert not after["state_file_left"]
    assert after["hold_inheritable"] is False  # close-on-exec again: units do not inherit it
    # the manager's signals stay blocked across the exec: a SIGTERM sent before the new
    # image has its handler neither kills it nor gets lost
    assert {int(s) for s in reexec.HELD_SIGNALS} <= set(after["held"])
    assert after["delivered"] == ["SIGTERM"]


def test_take_reexec_option():
    assert reexec.take_reexec_option(["up", "--deserialize", "/x", "-v"]) == ("/x", ["up", "-v"])
    assert reexec.take_reexec_option(["up", "--deserialize=/y"]) == ("/y", ["up"])
    assert reexec.take_reexec_option(["up"]) == (None, ["up"])


def test_prepare_replaces_old_option_and_marks_fds_inheritable(tmp_path):
    r, w = os.pipe()
    try:
        assert not os.get_inheritable(w)
        argv = reexec.prepare_reexec(Manager({}), str(tmp_path / "s"), {"w": w},
                                     ["/usr/bin/python3", "-m", "sysvisor", "up", "--deserialize", "/old"])
        assert argv == ["/usr/bin/python3", "-m", "sysvisor", "up", "--deserialize", str(tmp_path / "s")]
        assert os.get_inheritable(w)
        record = json.loads((tmp_path / "s").read_text())
        assert (record["format"], record["pid"], record["fds"]) == ("sysvisor-reexec", os.getpid(), {"w": w})
    finally:
        os.close(r)
        os.close(w)


def test_restore_refuses_a_file_of_another_process(tmp_path):
    path = tmp_path / "s"
    reexec.prepare_reexec(Manager({}), str(path), {}, ["/bin/true"])
    record = json.loads(path.read_text())
    record["pid"] = os.getpid() + 1
    path.write_text(json.dumps(record))
    logs = []
    assert reexec.restore_after_reexec(Manager({}), str(path), 0, logs.append) is None
    assert logs == [f"Ignoring reexec state {path}: written by PID {os.getpid() + 1}, this is PID {os.getpid()}."]
    assert not path.exists()


def test_restore_of_garbage_never_raises(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(b"\x00garbage")
    logs = []
    assert reexec.restore_after_reexec(Manager({}), str(path), 0, logs.append) is None
    assert len(logs) == 1 and logs[0].startswith(f"Ignoring reexec state {path}: ")
