"""The wall-clock and time-zone watch: a real CLOCK_REALTIME timerfd and a real inotify
watch registered in the loop, fakes for what this machine must not do (set its clock).

Not testable here: a real TFD_TIMER_CANCEL_ON_SET cancel, since that needs CLOCK_REALTIME
to be set on this shared host (a time namespace offsets only CLOCK_MONOTONIC/BOOTTIME, and
settime needs CAP_SYS_TIME in the initial user namespace). The fake clock source stands in
for the kernel's ECANCELED; everything from the selector on is real.
# spec: timers.md §2   # systemd: time_change_fd(), manager_dispatch_time_change_fd()
"""

from __future__ import annotations

import os
import selectors
import uuid

import pytest

from sysvisor.core import events as E
from sysvisor.core.manager import Manager
from sysvisor.core.types import Priority, ServiceType
from sysvisor.daemon.clock import realtime_usec
from sysvisor.daemon.clock_watch import ClockWatch, LocaltimeWatch, RealtimeCancelTimer, zone_name
from sysvisor.daemon.loop import EventLoop
from tests.core.helpers import service
from tests.core.test_timer_harness import REAL_BASE, SEC, timer_unit

ZONEINFO = "/usr/share/zoneinfo"


class FakeClockSource:
    """A pipe that plays the timerfd: a written byte is a clock set (ECANCELED)."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.rearmed = 0

    def fileno(self) -> int:
        return self.r

    def set_clock(self) -> None:
        os.write(self.w, b"x")

    def consume(self) -> bool:
        try:
            changed = bool(os.read(self.r, 64))
        except BlockingIOError:
            return False
        self.rearmed += 1
        return changed

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)
        self.r = -1


class Recorder:
    def __init__(self) -> None:
        self.events: list[E.Event] = []
        self.logs: list[tuple[str, Priority]] = []

    def feed(self, event: E.Event) -> None:
        self.events.append(event)

    def log(self, message: str, priority: Priority = Priority.INFO, **_) -> None:
        self.logs.append((message, priority))


def _run_until(loop: EventLoop, cond, rounds: int = 50) -> None:
    for _ in range(rounds):  # bounded: each round waits at most 0.1 s for an fd
        if cond():
            return
        loop.run_once(max_wait=0.1)
    assert cond()


# ---------------------------------------------------------------------- the real timerfd


def test_real_timerfd_is_armed_far_away_and_quiet():
    t = RealtimeCancelTimer()
    try:
        assert t.armed_seconds() > 100 * 365 * 86400  # "never" (TIME_T_MAX, clamped by the kernel)
        assert t.consume() is False  # nothing happened: EAGAIN
        sel = selectors.DefaultSelector()
        sel.register(t, selectors.EVENT_READ)
        assert sel.select(0) == []
        sel.close()
    finally:
        t.close()


def test_watch_registers_a_real_timerfd_and_inotify_in_the_loop(tmp_path):
    os.symlink(f"{ZONEINFO}/Europe/Berlin", tmp_path / "localtime")
    loop, rec = EventLoop(), Recorder()
    watch = ClockWatch(loop.selector, rec.feed, rec.log, localtime_path=str(tmp_path / "localtime"))
    try:
        assert isinstance(watch.clock_source, RealtimeCancelTimer)
        assert isinstance(watch.zone_source, LocaltimeWatch)
        registered = {key.fd for key in loop.selector.get_map().values()}
        assert {watch.clock_source.fileno(), watch.zone_source.fileno()} <= registered
        assert ("Set up TFD_TIMER_CANCEL_ON_SET timerfd.", Priority.DEBUG) in rec.logs
        loop.run_once(max_wait=0)
        assert rec.events == []  # the clock was not set
    finally:
        watch.close()
    assert [key.fileobj for key in loop.selector.get_map().values()] == [loop.timer]  # the loop's own


# ---------------------------------------------------------------------- clock changes


def test_a_clock_set_feeds_clock_changed_with_the_new_wall_clock_and_rearms():
    loop, rec, fake = EventLoop(), Recorder(), FakeClockSource()
    wall = [REAL_BASE]
    watch = ClockWatch(loop.selector, rec.feed, rec.log, clock_source=fake, zone_source=FakeClockSource(),
                       realtime=lambda: wall[0], zone=lambda: "Europe/Berlin")
    watch.start()
    assert rec.events == [E.ClockChanged(REAL_BASE), E.TimezoneChanged("Europe/Berlin")]
    for jump in (3 * 3600 * SEC, -7200 * SEC):
        rec.events.clear()
        wall[0] += jump
        fake.set_clock()
        _run_until(loop, lambda: rec.events)
        assert rec.events == [E.ClockChanged(wall[0])]
    assert fake.rearmed == 2
    assert rec.logs.count(("Time has been changed", Priority.DEBUG)) == 2
    watch.close()


def test_engine_reacts_to_the_watch_calendar_timer_fires_once_after_a_jump():
    """The plumbing end to end at the engine: watch → feed → Manager → timers."""
    t = timer_unit("t.timer", on_calendar=["*-*-* 14:00:00"], accuracy_usec=1)
    svc = service("t.service", exec_start="/bin/job", type=ServiceType.ONESHOT)
    mono = [5_000 * SEC]
    wall = [REAL_BASE]  # Wed 2025-06-04 12:00:00 UTC
    manager = Manager({"t.timer": t, "t.service": svc}, seed=1)
    actions = []
    feed = lambda event: actions.extend(manager.handle(event, mono[0]))  # noqa: E731
    loop, rec, fake = EventLoop(), Recorder(), FakeClockSource()
    watch = ClockWatch(loop.selector, feed, rec.log, clock_source=fake, zone_source=FakeClockSource(),
                       realtime=lambda: wall[0] + (mono[0] - 5_000 * SEC), zone=lambda: None)
    watch.start()
    feed(E.StartRequested("t.timer"))
    assert manager.next_deadline() == mono[0] + 2 * 3600 * SEC
    mono[0] += SEC
    wall[0] += 3 * 3600 * SEC  # someone set the clock to 15:00:01
    fake.set_clock()
    _run_until(loop, lambda: any(getattr(a, "message", "") == "t.timer: Time change, recalculating next elapse."
                                 for a in actions))
    assert manager.realtime_offset == (wall[0] + SEC) - mono[0]  # the new wall clock − monotonic
    # the 14:00 elapse now lies in the past: due at once, fires once, then tomorrow
    assert manager.next_deadline() <= mono[0]
    actions.extend(manager.handle(E.TimePassed(), mono[0]))
    assert manager.runtime_properties("t.timer")["SubState"] == "running"
    watch.close()


# ---------------------------------------------------------------------- time-zone changes


def test_replacing_localtime_feeds_the_new_zone(tmp_path):
    link = tmp_path / "localtime"
    os.symlink(f"{ZONEINFO}/Europe/Berlin", link)
    loop, rec = EventLoop(), Recorder()
    watch = ClockWatch(loop.selector, rec.feed, rec.log, clock_source=FakeClockSource(),
                       localtime_path=str(link))
    watch.start()
    assert rec.events[-1] == E.TimezoneChanged("Europe/Berlin")
    rec.events.clear()
    tmp = tmp_path / f"localtime.{uuid.uuid4().hex}"  # as timedatectl does: a new link renamed over
    os.symlink(f"{ZONEINFO}/Asia/Tokyo", tmp)
    os.replace(tmp, link)
    _run_until(loop, lambda: rec.events)
    assert rec.events == [E.TimezoneChanged("Asia/Tokyo")]
    assert ("Timezone has been changed (now: JST).", Priority.DEBUG) in rec.logs
    # and the new link is watched in turn
    rec.events.clear()
    os.symlink(f"{ZONEINFO}/Europe/Berlin", tmp)
    os.replace(tmp, link)
    _run_until(loop, lambda: rec.events)
    assert rec.events == [E.TimezoneChanged("Europe/Berlin")]
    assert ("Timezone has been changed (now: CEST).", Priority.DEBUG) in rec.logs
    watch.close()


def test_a_missing_localtime_is_waited_for_in_its_directory(tmp_path):
    link = tmp_path / "localtime"
    loop, rec = EventLoop(), Recorder()
    watch = ClockWatch(loop.selector, rec.feed, rec.log, clock_source=FakeClockSource(),
                       localtime_path=str(link))
    watch.start()
    assert rec.events[-1] == E.TimezoneChanged(None)  # no zone: UTC
    rec.events.clear()
    (tmp_path / "unrelated").write_text("x")  # another file in the directory: no change
    loop.run_once(max_wait=0.05)
    assert rec.events == []
    os.symlink(f"{ZONEINFO}/America/New_York", link)
    _run_until(loop, lambda: rec.events)
    assert rec.events == [E.TimezoneChanged("America/New_York")]
    watch.close()


@pytest.mark.parametrize("environ, link, expected", [
    ({}, "Etc/UTC", None),
    ({}, "Europe/Berlin", "Europe/Berlin"),
    ({"TZ": ":Asia/Tokyo"}, "Europe/Berlin", "Asia/Tokyo"),
    ({"TZ": "UTC"}, "Europe/Berlin", None),
    ({}, None, None),
])
def test_zone_name(tmp_path, environ, link, expected):
    path = tmp_path / "localtime"
    if link:
        os.symlink(f"{ZONEINFO}/{link}", path)
    assert zone_name(str(path), environ) == expected


def test_zone_name_of_a_copied_zone_file_comes_from_etc_timezone(tmp_path):
    (tmp_path / "localtime").write_bytes(open(f"{ZONEINFO}/Europe/Berlin", "rb").read())
    (tmp_path / "timezone").write_text("Europe/Berlin\n")
    assert zone_name(str(tmp_path / "localtime"), {}) == "Europe/Berlin"


def test_real_wall_clock_is_what_start_feeds():
    loop, rec = EventLoop(), Recorder()
    watch = ClockWatch(loop.selector, rec.feed, rec.log, clock_source=FakeClockSource(),
                       zone_source=FakeClockSource())
    before = realtime_usec()
    watch.start()
    assert before <= rec.events[0].realtime <= realtime_usec()
    watch.close()


# ---------------------------------------------------------------------- host context for timers


def test_host_timer_context_from_the_managers_facts():
    from types import SimpleNamespace

    from sysvisor.core.timer_accuracy import perturb_from_id128
    from sysvisor.daemon.clock_watch import host_timer_context

    boot = "4f3c2b1a-0000-4000-8000-123456789abc"
    facts = SimpleNamespace(virtualization="docker", machine_id="0123456789abcdef0123456789abcdef", uid=1000)
    ctx = host_timer_context(facts, user_manager=True, startup_monotonic=77, boot_id=boot)
    assert ctx.startup_monotonic == 77 and ctx.in_container and not ctx.system_manager and ctx.uid == 1000
    assert ctx.machine_id == bytes.fromhex("0123456789abcdef0123456789abcdef")
    assert ctx.perturb == perturb_from_id128(bytes.fromhex(boot.replace("-", "")))
    bare = host_timer_context(SimpleNamespace(virtualization="none", machine_id="", uid=0), user_manager=False,
                              boot_id="not-an-id")
    assert not bare.in_container and bare.system_manager and bare.machine_id == bytes(16) and bare.perturb == 0
    assert bare.startup_monotonic > 0  # this process's monotonic clock, read now


# ---------------------------------------------------------------------- wired into the shell


def test_the_shell_registers_the_watch_and_feeds_its_events_to_the_manager(tmp_path):
    from sysvisor.daemon.shell import Shell
    from sysvisor.journal.store import JournalWriter

    loop = EventLoop()
    journal = JournalWriter(str(tmp_path / "journal"), boot_id=uuid.uuid4().hex)
    shell = Shell({}, loop, journal, on_exit=lambda status: None, user_manager=True,
                  containment_name=f"sysvisor-test-{uuid.uuid4().hex[:8]}", console=False)
    try:
        watch = shell.clock_watch
        assert isinstance(watch.clock_source, RealtimeCancelTimer)
        registered = {key.fd for key in loop.selector.get_map().values()}
        assert watch.clock_source.fileno() in registered and watch.zone_source.fileno() in registered
        assert abs(shell.manager.realtime_offset - (realtime_usec() - shell.manager.now)) < 60 * SEC
        assert shell.manager.timers.ctx.startup_monotonic > 0
        # the kernel's ECANCELED stands in as a fake source on the same shell
        fake, wall = FakeClockSource(), REAL_BASE
        test_watch = ClockWatch(loop.selector, shell.feed, shell.log, clock_source=fake,
                                zone_source=FakeClockSource(), realtime=lambda: wall)
        fake.set_clock()
        _run_until(loop, lambda: abs(shell.manager.realtime_offset - (REAL_BASE - shell.manager.now)) < SEC)
        test_watch.close()
    finally:
        shell.close()
        journal.close()
    assert watch.clock_source.fileno() == -1  # closed with the shell
