"""Watch the wall clock and the local time zone, as systemd's manager does.

* Clock: a timerfd on CLOCK_REALTIME, armed with TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET
  for the farthest time it takes, never expires; the kernel makes it readable (read() fails
  with ECANCELED) whenever CLOCK_REALTIME is set (settimeofday, NTP step, `date -s`).
  # systemd: time-util.c time_change_fd(); manager.c manager_setup_time_change(),
  # manager_dispatch_time_change_fd()
* Time zone: inotify on /etc/localtime (IN_ATTRIB|IN_MOVE_SELF|IN_CLOSE_WRITE|
  IN_DONT_FOLLOW), or on /etc while it does not exist; an event counts only if the file's
  mtime, inode or existence changed. # systemd: manager_setup_timezone_change(),
  # manager_dispatch_timezone_change(), manager_read_timezone_stat()

The engine hears `ClockChanged(realtime)` and `TimezoneChanged(name)`; both watches re-arm
after each event. Python 3.11 has no os.timerfd_*/inotify: both are called through ctypes
on libc (daemon/libc.py; os.timerfd_* is used when present, 3.13+). Where neither works the watch logs why
and the manager runs without it, as systemd does when the timerfd cannot be created.
# spec: timers.md §2 ("Realtime timers are recomputed when the clock jumps or the time
# zone changes")
"""

from __future__ import annotations

import errno
import os
import selectors
import struct
from collections.abc import Callable
from typing import Protocol

from sysvisor.core import events as E
from sysvisor.core.timer import TimerContext
from sysvisor.core.timer_accuracy import perturb_from_id128
from sysvisor.core.types import Priority
from sysvisor.daemon.clock import realtime_usec
from sysvisor.daemon.libc import CLOCK_REALTIME, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET, LibcError, call as _call
from sysvisor.daemon.libc import timerfd_create, timerfd_gettime_ns, timerfd_settime_ns

TIME_T_MAX = (1 << 63) - 1  # systemd arms at TIME_T_MAX seconds, falling back to INT32_MAX
INT32_MAX = (1 << 31) - 1

IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_MOVE_SELF = 0x800
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_IGNORED = 0x8000
_INOTIFY_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len

PRIORITY = 1  # with signals and child exits: before control requests and due timers

Logger = Callable[..., None]  # log(message, priority=Priority)


# ---------------------------------------------------------------------- the clock


class TimeChangeSource(Protocol):
    """What the watch needs of a clock-change fd (the real timerfd, or a test's fake)."""

    def fileno(self) -> int: ...

    def consume(self) -> bool:
        """Read the fd after it became readable: True if the clock was set. Re-arms."""

    def close(self) -> None: ...


class _WatchFd:
    """An fd that is armed once it exists, closed again if arming fails."""

    fd = -1

    def _take(self, fd: int) -> None:
        self.fd = fd
        try:
            self.arm()
        except OSError:
            self.close()
            raise

    def arm(self) -> None:
        raise NotImplementedError

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class RealtimeCancelTimer(_WatchFd):
    """A CLOCK_REALTIME timerfd that only ever reports that the clock was set.
    # systemd: time_change_fd()"""

    def __init__(self) -> None:
        self._take(timerfd_create(CLOCK_REALTIME))

    def arm(self) -> None:
        """Expire at the end of time, cancel on a clock set. Where the kernel refuses a 64-bit
        time_t (EOPNOTSUPP, EOVERFLOW, EINVAL), INT32_MAX as systemd does."""
        last: OSError | None = None
        for seconds in (TIME_T_MAX, INT32_MAX):
            try:
                timerfd_settime_ns(self.fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, seconds * 1_000_000_000)
                return
            except OSError as e:
                last = e
                if e.errno not in (errno.EOPNOTSUPP, errno.EOVERFLOW, errno.EINVAL):
                    break
        assert last is not None
        raise last

    def armed_seconds(self) -> int:
        """Seconds until expiry as the kernel reports it (timerfd_gettime; for tests)."""
        return timerfd_gettime_ns(self.fd) // 1_000_000_000

    def consume(self) -> bool:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            return False  # spurious wake-up
        except OSError as e:
            if e.errno != errno.ECANCELED:
                raise
            self.arm()
            return True
        self.arm()  # expired (the end of time came): arm again
        return False


# ---------------------------------------------------------------------- the time zone


def zone_name(localtime_path: str = "/etc/localtime", environ: dict[str, str] | None = None) -> str | None:
    """The local zone as glibc picks it: $TZ, else the zone /etc/localtime links to, else the
    name in /etc/timezone next to it; None (UTC) when nothing names one.
    # systemd: get_timezone() (readlink of /etc/localtime)"""
    env = os.environ if environ is None else environ
    tz = env.get("TZ", "").lstrip(":")
    if tz:
        return None if tz in ("UTC", "Etc/UTC", "UTC0") else tz
    try:
        target = os.readlink(localtime_path)
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        name = target.split("zoneinfo/", 1)[1].lstrip("/")
    else:
        try:
            with open(os.path.join(os.path.dirname(localtime_path), "timezone")) as f:
                name = f.read().strip()
        except OSError:
            return None
        if not name or not os.path.exists(localtime_path):
            return None
    return None if name in ("UTC", "Etc/UTC") else name


class LocaltimeWatch(_WatchFd):
    """inotify on /etc/localtime (or on its directory while it is missing).
    # systemd: manager_setup_timezone_change()"""

    def __init__(self, path: str = "/etc/localtime") -> None:
        self.path = path
        self.wd = -1
        self.stat = self._read_stat()
        self._take(_call("inotify_init1", os.O_NONBLOCK | os.O_CLOEXEC))

    def arm(self) -> None:
        """Watch the file itself; watch its directory while it does not exist."""
        if self.wd >= 0:
            try:
                _call("inotify_rm_watch", self.fd, self.wd)
            except OSError:
                pass  # the kernel dropped it with the inode
        try:
            self.wd = _call("inotify_add_watch", self.fd, os.fsencode(self.path),
                            IN_ATTRIB | IN_MOVE_SELF | IN_CLOSE_WRITE | IN_DONT_FOLLOW)
        except LibcError as e:
            if e.errno != errno.ENOENT:
                raise
            self.wd = _call("inotify_add_watch", self.fd, os.fsencode(os.path.dirname(self.path) or "."),
                            IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

    def _read_stat(self) -> tuple[bool, int, int]:
        """(exists, mtime ns, inode) without following the link. systemd compares only the
        first two; the inode also catches a link renamed over within the file system's
        timestamp granularity. # systemd: manager_read_timezone_stat()"""
        try:
            st = os.lstat(self.path)
        except OSError:
            return (False, 0, 0)
        return (True, st.st_mtime_ns, st.st_ino)

    def consume(self) -> bool:
        """Drain the events; True if the zone file changed (existence, mtime, inode). Re-arms then."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        del data  # which event does not matter: the stat decides, as in systemd
        new = self._read_stat()
        if new == self.stat:
            return False
        self.stat = new
        self.arm()  # a replaced file is a new inode: watch that one
        return True


# ---------------------------------------------------------------------- timers' host facts


def host_timer_context(facts, *, user_manager: bool, startup_monotonic: int | None = None,
                       boot_id: str | None = None) -> TimerContext:
    """What the timers need to know of this host and this manager (`facts`: the Manager's
    condition facts): the manager's start (base of OnStartupSec=, and of OnBootSec= in a
    container), whether this is a container, the event loop's wake-up perturbation (from the
    kernel's boot ID) and FixedRandomDelay='s hash inputs (machine ID, manager kind, uid).
    # systemd: timer_enter_waiting() TIMER_BOOT/TIMER_STARTUP; sd-event initialize_perturb();
    # timer.c add_random() → siphash of machine ID, manager scope, uid, unit name"""
    from sysvisor.daemon.clock import monotonic_usec
    from sysvisor.daemon.persist import kernel_boot_id

    boot = (boot_id or kernel_boot_id() or "").replace("-", "")
    machine = getattr(facts, "machine_id", "") or ""
    return TimerContext(
        startup_monotonic=monotonic_usec() if startup_monotonic is None else startup_monotonic,
        in_container=getattr(facts, "virtualization", "none") not in ("none", ""),
        perturb=perturb_from_id128(_id128(boot)),
        machine_id=_id128(machine),
        system_manager=not user_manager,
        uid=getattr(facts, "uid", os.getuid()),
    )


def _id128(text: str) -> bytes:
    """The 16 bytes of a printed ID128; zeros for a missing or malformed one."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        return bytes(16)
    return raw if len(raw) == 16 else bytes(16)


# ---------------------------------------------------------------------- the watch


class ClockWatch:
    """Registers both watches in the loop's selector and feeds their events to the engine.

    `feed(event)` hands an event to the engine (Shell.feed). `clock_source`/`zone_source`
    replace the real timerfd/inotify (tests pass fakes); `realtime()` reads the wall clock;
    `zone()` names the local zone.
    """

    def __init__(self, selector: selectors.BaseSelector, feed: Callable[[E.Event], None], log: Logger, *,
                 clock_source: TimeChangeSource | None = None, zone_source: TimeChangeSource | None = None,
                 realtime: Callable[[], int] = realtime_usec, localtime_path: str = "/etc/localtime",
                 zone: Callable[[], str | None] | None = None) -> None:
        self.selector = selector
        self.feed = feed
        self.log = log
        self.realtime = realtime
        self.zone = zone or (lambda: zone_name(localtime_path))
        self.clock_source = clock_source
        self.zone_source = zone_source
        if clock_source is None:
            try:
                self.clock_source = RealtimeCancelTimer()
                log("Set up TFD_TIMER_CANCEL_ON_SET timerfd.", priority=Priority.DEBUG)
            except OSError as e:
                log(f"Failed to create timerfd: {e.strerror or e}; wall-clock changes go unnoticed.",
                    priority=Priority.WARNING)
        if zone_source is None:
            try:
                self.zone_source = LocaltimeWatch(localtime_path)
            except OSError as e:
                log(f"Failed to create timezone change event source: {e.strerror or e}",
                    priority=Priority.WARNING)
        for source, callback in ((self.clock_source, self._on_clock), (self.zone_source, self._on_zone)):
            if source is not None:
                selector.register(source.fileno(), selectors.EVENT_READ,
                                  (PRIORITY, lambda mask, now, cb=callback: cb()))

    def start(self) -> None:
        """Tell the engine the wall clock and the zone now (before any timer starts)."""
        self.feed(E.ClockChanged(self.realtime()))
        self.feed(E.TimezoneChanged(self.zone()))

    def _on_clock(self) -> None:
        """# systemd: manager_dispatch_time_change_fd()"""
        if not self.clock_source.consume():
            return
        self.log("Time has been changed", priority=Priority.DEBUG)
        self.feed(E.ClockChanged(self.realtime()))

    def _on_zone(self) -> None:
        """# systemd: manager_dispatch_timezone_change()"""
        self.log("inotify event for /etc/localtime", priority=Priority.DEBUG)
        if not self.zone_source.consume():
            return
        name = self.zone()
        self.log(f"Timezone has been changed (now: {_daylight_name(name)}).", priority=Priority.DEBUG)
        self.feed(E.TimezoneChanged(name))

    def close(self) -> None:
        for source in (self.clock_source, self.zone_source):
            if source is not None and source.fileno() >= 0:
                try:
                    self.selector.unregister(source.fileno())
                except (KeyError, ValueError):
                    pass
                source.close()


def _daylight_name(name: str | None) -> str:
    """glibc's tzname[daylight]: the DST abbreviation if the zone has DST at all."""
    from sysvisor.core.calendar import local_tzname

    try:
        std, dst = local_tzname(name)
    except Exception:  # noqa: BLE001 - an unknown zone name: say it as it is
        return name or "UTC"
    return dst or std
