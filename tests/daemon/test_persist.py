"""The state file on a real filesystem, with real processes. # spec: issue 5"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time

import pytest

from sysvisor.core.manager import Manager
from sysvisor.core.snapshot import export_all
from sysvisor.daemon import persist
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

BOOT = "0123456789abcdef0123456789abcdef"


def running_sim() -> Simulation:
    sim = Simulation([service("foo.service"), service("bar.service")], {})
    sim.start("foo.service")
    return sim


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


class Lines(list):
    def __call__(self, line: str) -> None:
        self.append(line)


def test_kernel_boot_id_and_own_start_time():
    assert len(persist.kernel_boot_id().replace("-", "")) == 32
    st = persist.proc_stat(os.getpid())
    assert st is not None and st.ppid == os.getppid() and st.state in "RS"
    assert persist.process_start_time(os.getpid()) == st.start_time
    assert persist.proc_stat(2 ** 22 + 7) is None


def test_flush_writes_only_when_changed_into_alternating_slots(tmp_path):
    path = str(tmp_path / persist.STATE_FILE_NAME)
    sim = running_sim()
    log = Lines()
    sf = persist.StateFile(path, log, boot_id=BOOT, start_time=lambda pid: 42)
    assert sf.flush(sim.manager) is True
    assert sf.flush(sim.manager) is False  # not marked dirty
    sf.mark_dirty()
    assert sf.flush(sim.manager) is False  # dirty but unchanged: no write
    assert sf.writes == 1
    first = persist.read_slot(path + ".b")
    assert first is not None and first[0] == 1 and persist.read_slot(path + ".a") is None
    sim.stop("foo.service")
    sf.mark_dirty()
    assert sf.flush(sim.manager) is True
    assert persist.read_slot(path + ".a")[0] == 2 and persist.read_slot(path + ".b") == first  # the older slot kept
    assert sorted(os.listdir(tmp_path)) == [persist.STATE_FILE_NAME + ".a", persist.STATE_FILE_NAME + ".b"]
    record = json.loads(persist.read_slot(path + ".a")[1])
    assert record["boot_id"] == BOOT and record["snapshot"] == export_all(sim.manager)
    assert record["processes"] == {"1000": 42}
    assert persist.load(path, log, boot_id=BOOT).snapshot == export_all(sim.manager)
    assert log == []
    sf.remove()
    assert os.listdir(tmp_path) == []


def _two_states(path: str) -> tuple[dict, dict]:
    """Write a running and then a stopped state; returns both snapshots."""
    sim = running_sim()
    sf = persist.StateFile(path, print, boot_id=BOOT, start_time=lambda pid: 42)
    sf.flush(sim.manager)
    running = export_all(sim.manager)
    sim.stop("foo.service")
    sf.mark_dirty()
    sf.flush(sim.manager)
    return running, export_all(sim.manager)


@pytest.mark.parametrize("cut", [1, 30, -1])
def test_a_write_cut_short_by_a_kill_leaves_the_previous_state(tmp_path, cut):
    path = str(tmp_path / persist.STATE_FILE_NAME)
    running, stopped = _two_states(path)
    assert persist.load(path, print, boot_id=BOOT).snapshot == stopped
    newest = path + ".a"  # a fatal signal can end a write between pages: the slot's end is missing
    data = open(newest, "rb").read()
    open(newest, "wb").write(data[:cut])
    log = Lines()
    assert persist.load(path, log, boot_id=BOOT).snapshot == running and log == []


def test_a_flipped_byte_is_caught_and_both_slots_torn_say_so_once(tmp_path):
    path = str(tmp_path / persist.STATE_FILE_NAME)
    running, _stopped = _two_states(path)
    data = bytearray(open(path + ".a", "rb").read())
    data[-5] ^= 1
    open(path + ".a", "wb").write(bytes(data))
    assert persist.load(path, print, boot_id=BOOT).snapshot == running
    open(path + ".b", "wb").write(b"sysvisor-manager-state 1 10 0\n{}")
    log = Lines()
    fresh = Manager({"foo.service": service("foo.service")})
    assert persist.restore(fresh, path, 0, log, boot_id=BOOT) is None
    assert len(log) == 1 and "torn" in log[0] and log[0].startswith(f"Ignoring saved manager state {path}.")


def test_a_new_state_file_goes_on_from_the_newest_slot(tmp_path):
    """A restarted manager's first write must win over what its predecessor left."""
    path = str(tmp_path / persist.STATE_FILE_NAME)
    _running, stopped = _two_states(path)
    sim = running_sim()
    sf = persist.StateFile(path, print, boot_id=BOOT, start_time=lambda pid: 42)
    sf.flush(sim.manager)
    assert persist.load(path, print, boot_id=BOOT).snapshot == export_all(sim.manager) != stopped


def test_a_plain_state_file_from_before_the_slots_is_read_and_replaced(tmp_path):
    path = str(tmp_path / persist.STATE_FILE_NAME)
    sim = running_sim()
    open(path, "wb").write(persist.encode(export_all(sim.manager), BOOT, lambda pid: 42))
    assert persist.load(path, print, boot_id=BOOT).snapshot == export_all(sim.manager)
    persist.StateFile(path, print, boot_id=BOOT, start_time=lambda pid: 42).flush(sim.manager)
    assert not os.path.exists(path) and persist.load(path, print, boot_id=BOOT).snapshot == export_all(sim.manager)


def test_roundtrip_restores_into_a_fresh_manager(tmp_path):
    path = str(tmp_path / "state.json")
    sim = running_sim()
    persist.StateFile(path, print, boot_id=BOOT, start_time=lambda pid: 7).flush(sim.manager)
    saved = persist.load(path, print, boot_id=BOOT)
    assert saved.start_times == {1000: 7}
    fresh = Manager(copy.deepcopy(sim.manager.units))
    log = Lines()
    # pid 1000 does not run here: the restored unit sees its main process vanish
    actions = persist.restore(fresh, path, sim.manager.now, log, boot_id=BOOT)
    assert actions is not None and log == []
    assert fresh.runtime_properties("foo.service")["SubState"] == "dead"


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[]", "not a sysvisor state file"),
    (json.dumps({"format": persist.FORMAT, "version": 99}).encode(), "unsupported version 99"),
    (json.dumps({"format": persist.FORMAT, "version": 1, "boot_id": "other"}).encode(),
     f"written during boot other, this is boot {BOOT}"),
    (json.dumps({"format": persist.FORMAT, "version": 1, "boot_id": BOOT}).encode(), "snapshot or process table missing"),
    (json.dumps({"format": persist.FORMAT, "version": 1, "boot_id": BOOT, "snapshot": {},
                 "processes": {"x": 1}}).encode(), "malformed process table"),
    (json.dumps({"format": persist.FORMAT, "version": 1, "boot_id": BOOT, "snapshot": {"version": 1},
                 "processes": {}}).encode(), "malformed snapshot"),
])
def test_bad_file_is_ignored_with_one_clear_line(tmp_path, content, reason):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    fresh = Manager({"foo.service": service("foo.service")})
    log = Lines()
    assert persist.restore(fresh, str(path), 0, log, boot_id=BOOT) is None
    assert len(log) == 1 and log[0].startswith(f"Ignoring saved manager state {path}: ") and reason in log[0]
    assert fresh.runtime_properties("foo.service")["SubState"] == "dead"


def test_missing_file_is_silent(tmp_path):
    log = Lines()
    assert persist.restore(Manager({}), str(tmp_path / "nope.json"), 0, log, boot_id=BOOT) is None
    assert log == []


def test_unwritable_directory_logs_once(tmp_path):
    path = str(tmp_path / "missing-dir" / "state.json")
    log = Lines()
    sf = persist.StateFile(path, log, boot_id=BOOT)
    sim = running_sim()
    assert sf.flush(sim.manager) is False
    sf.mark_dirty()
    assert sf.flush(sim.manager) is False
    assert len(log) == 1 and log[0].startswith(f"Failed to save manager state to {path}: ")


def test_alive_checker_tells_reused_pids_and_zombies_apart():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = persist.process_start_time(child.pid)
        assert persist.alive_checker({child.pid: start})(child.pid)
        assert not persist.alive_checker({child.pid: start + 1})(child.pid)  # pid reused
        assert not persist.alive_checker({})(child.pid)  # never recorded
        child.kill()
        wait_for(lambda: persist.proc_stat(child.pid).state == "Z")
        # our own zombie: its status still waits for our reaper
        assert persist.alive_checker({child.pid: start}, own_pid=os.getpid())(child.pid)
        # someone else's zombie (after a crash the services are no longer our children)
        assert not persist.alive_checker({child.pid: start}, own_pid=None)(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not persist.alive_checker({child.pid: start})(child.pid)


def test_real_process_survives_restore(tmp_path):
    """A unit whose (real) main process still runs continues with the same pid."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        sim = Simulation([service("foo.service")], {})
        sim.executor.next_pid = child.pid  # the fake spawn gets the real child's pid
        sim.start("foo.service")
        path = str(tmp_path / "state.json")
        persist.StateFile(path, print).flush(sim.manager)
        fresh = Manager(copy.deepcopy(sim.manager.units))
        log = Lines()
        assert persist.restore(fresh, path, sim.manager.now, log) == []
        p = fresh.runtime_properties("foo.service")
        assert (p["SubState"], p["MainPID"]) == ("running", child.pid)
    finally:
        child.kill()
        child.wait()


def test_adopted_non_child_exit_is_seen_through_its_pidfd():
    import select
    import signal

    # a process that is not our child: the shell that started it has exited
    sh = subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True)
    pid = int(sh.stdout)
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = persist.process_start_time(pid)
        assert persist.proc_stat(pid).ppid != os.getpid()
        watch = persist.AdoptedProcesses(
            {pid: "foo.service", ours.pid: "bar.service", 2 ** 22 + 9: "gone.service"},
            {pid: start, ours.pid: persist.process_start_time(ours.pid)}, own_pid=os.getpid())
        assert watch.pids() == {pid: "foo.service"}  # our child and the vanished pid are not watched
        [fd] = watch.fds()
        assert select.select([fd], [], [], 0)[0] == []
        assert watch.send_signal(pid, signal.SIGTERM)
        assert select.select([fd], [], [], 10)[0] == [fd]
        assert watch.exited(fd) == (pid, "foo.service")
        assert watch.fds() == [] and not watch.send_signal(pid, signal.SIGTERM)
        watch.close()
    finally:
        ours.kill()
        ours.wait()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_adopted_processes_skip_reused_pids():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = persist.process_start_time(child.pid)
        watch = persist.AdoptedProcesses({child.pid: "foo.service"}, {child.pid: start + 5})
        assert watch.fds() == []
    finally:
        child.kill()
        child.wait()


def test_incremental_state_equals_a_full_export_at_every_step(tmp_path):
    """Only the services the engine touched are exported again at a flush: after every
    step of a busy simulation the file holds exactly what a full export holds."""
    from sysvisor.core.types import RestartPolicy
    from sysvisor.testing.executor import Behaviour

    units = [service("crash.service", restart=RestartPolicy.ALWAYS, restart_usec=200_000),
             service("steady.service"), service("later.service"), service("oneshot.service")]
    sim = Simulation(units, {"crash.service": Behaviour.exits(1, after=300_000)})
    path = str(tmp_path / persist.STATE_FILE_NAME)
    sf = persist.StateFile(path, print, boot_id=BOOT, start_time=lambda pid: pid * 7)
    sf._full_due = float("inf")  # never the safety net: every step checks the increments
    sim.start("crash.service")
    sim.start("steady.service")
    for step in range(40):
        if step == 10:
            sim.start("later.service")
        if step == 20:
            sim.stop("steady.service")
        if step == 30:
            sim.kill("later.service", 9)
        sim.run_for(100_000)
        sf.mark_dirty()
        sf.flush(sim.manager)
        got = json.loads(persist.read_slot(path + (".a" if sf._seq % 2 == 0 else ".b"))[1])
        want = json.loads(persist.encode(export_all(sim.manager), BOOT, lambda pid: pid * 7))
        assert got == want, f"step {step}"
    assert sim.props("crash.service")["NRestarts"] >= 5  # (then the start limit)
