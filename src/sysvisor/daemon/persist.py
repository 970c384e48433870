"""The manager's state file: written atomically, loaded with validation.

After every loop iteration in which the engine handled something, the shell calls
`StateFile.flush(manager)`; the engine snapshot (core/snapshot.py) is written only when it
differs from what is on disk. The file carries the kernel boot ID and the start time
(/proc/PID/stat field 22) of every process it names, so the manager that reads it can tell
a process that still runs from a reused pid, and ignores a file from an earlier boot.

Atomic without a rename: the state lives in two slot files, `<path>.a` and `<path>.b`, each
a header line `sysvisor-manager-state SEQ LENGTH CRC32` and the JSON record. A write goes to
the slot not holding the newest state, in place, in one pwrite(2); the reader takes the valid
slot (length and checksum match) with the higher sequence number. A manager killed in the
middle of a write (a fatal signal can cut a write between pages) leaves that slot torn and
the other one whole, so the reader sees the old state or the new one, never a mix — what
`write tmp + rename` gives, for 2 µs instead of 0.24 ms on this ext4 (the state is written
about twice per restart of a crash-looping service; measured, docs/benchmarks.md). A plain
JSON file at `<path>` itself (written before the slots existed, or by hand) is still read
when no slot is.

Loading never raises: a missing file is normal (first start); a corrupt, foreign, other-boot
or unrestorable file is ignored with one log line saying why.
# spec: issue 5 ("surviving its own crash")
"""

from __future__ import annotations

import json
import os
import signal
import time
import zlib
from dataclasses import dataclass
from typing import Callable

from sysvisor.core.actions import Action
from sysvisor.core.snapshot import SnapshotError, export_all, export_unit, import_all
from sysvisor.id128 import random_id128

FORMAT = "sysvisor-manager-state"
VERSION = 1
STATE_FILE_NAME = "manager-state.json"
SLOTS = (".a", ".b")  # the two slot files beside STATE_FILE_NAME
SLOT_MAGIC = b"sysvisor-manager-state"
FULL_EXPORT_INTERVAL = 1.0  # seconds: every service is exported again at least this often
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"

Logger = Callable[[str], None]


def kernel_boot_id(path: str = BOOT_ID_PATH) -> str | None:
    """The kernel's boot ID (changes on every boot), or None where /proc lacks it."""
    try:
        with open(path) as f:
            return f.read().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/PID/stat we need."""

    state: str  # R, S, D, Z, …
    ppid: int
    start_time: int  # clock ticks since boot (field 22): unique per pid within a boot


def proc_stat(pid: int) -> ProcStat | None:
    """Read /proc/PID/stat; None if there is no such process (or it is unreadable)."""
    try:  # os.open/read, not open(): read after every spawn
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    end = data.rfind(b")")
    if end < 0:
        return None
    fields = data[end + 2:].split()
    try:
        return ProcStat(fields[0].decode(), int(fields[1]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def process_start_time(pid: int) -> int | None:
    st = proc_stat(pid)
    return st.start_time if st is not None else None


def snapshot_pids(snapshot: dict) -> list[int]:
    """Every pid a snapshot names (main, control, and routed pids)."""
    pids: set[int] = set()
    for unit in snapshot.get("units", {}).values():
        for key in ("MainPID", "ControlPID"):
            if unit.get(key):
                pids.add(unit[key])
    pids.update(int(p) for p in snapshot.get("pid_owner", {}))
    return sorted(pids)


def alive_checker(start_times: dict[int, int | None], *, own_pid: int | None = None,
                  keeper_pid: int | None = None, kept: dict[int, int | None] | None = None,
                  stat: Callable[[int], ProcStat | None] = proc_stat) -> Callable[[int], bool]:
    """`alive(pid)` for `import_all`: the pid runs and is the process that was saved.

    A process counts as alive when /proc/PID exists with the recorded start time. A zombie
    counts only if it is our own child (`own_pid`, after daemon-reexec) or the keeper's
    (`keeper_pid`, which holds orphans as zombies while we restore): its exit status is then
    still to come. Anyone else's zombie is gone for us. `kept` (pid → start time): processes
    the keeper already reaped; they count as alive so that their real exit status, fed right
    after the restore, decides what happens (daemon/keeper.py).
    """

    def alive(pid: int) -> bool:
        recorded = start_times.get(pid)
        if kept and recorded is not None and kept.get(pid) == recorded:
            return True  # the keeper reaped the saved process: its status is known
        st = stat(pid)
        if st is None:
            return False
        if recorded is None or st.start_time != recorded:
            return False  # a different process now has this pid
        if st.state in ("Z", "X"):
            return st.ppid in (own_pid, keeper_pid) and st.ppid is not None
        return True

    return alive


@dataclass
class SavedState:
    """A validated state file."""

    snapshot: dict
    boot_id: str
    start_times: dict[int, int | None]


def encode(snapshot: dict, boot_id: str | None,
           start_time: Callable[[int], int | None] = process_start_time) -> bytes:
    """The state file's record: the snapshot, the boot it belongs to and the start time of
    every process it names."""
    return _encode_record(snapshot, boot_id, {pid: start_time(pid) for pid in snapshot_pids(snapshot)})


def _encode_record(snapshot: dict, boot_id: str | None, start_times: dict[int, int | None]) -> bytes:
    record = {
        "format": FORMAT,
        "version": VERSION,
        "boot_id": boot_id,
        "processes": {str(pid): start_times[pid] for pid in sorted(start_times)},
        "snapshot": snapshot,
    }
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


def write_atomically(path: str, data: bytes) -> None:
    """tmp file in the same directory, renamed over `path` (daemon-reexec's hand-over file;
    the state file itself is written into slots, see the module's doc, with the same reasoning
    for having no fsync).

    No fsync: the file only matters while the kernel that ran the manager still runs (a
    manager crash, kill -9, re-exec: the next reader sees the page cache, and rename is
    atomic there). After a host crash the services are gone too and the file names the old
    boot ID, so it is ignored. An fsync per loop turn cost the restart path ~3 ms
    (docs/benchmarks.md)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except BaseException:
        os.close(fd)
        _unlink(tmp)
        raise
    os.close(fd)
    try:
        os.rename(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def read_slot(path: str) -> tuple[int, bytes] | None:
    """(sequence number, record) of a slot file if it is whole; None if absent or torn."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head, newline, rest = data.partition(b"\n")
    fields = head.split()
    if not newline or len(fields) != 4 or fields[0] != SLOT_MAGIC:
        return None
    try:
        seq, length, crc = int(fields[1]), int(fields[2]), int(fields[3], 16)
    except ValueError:
        return None
    record = rest[:length]
    if len(record) != length or zlib.crc32(record) != crc:
        return None
    return seq, record


def _newest(path: str) -> tuple[str, bytes | None]:
    """The newest whole slot of `path` → (its file, record); else the plain file at `path`
    (record None when there is nothing to read, or only torn slots: then the file is named)."""
    found = [(slot, read_slot(path + slot)) for slot in SLOTS]
    whole = [(got[0], path + slot, got[1]) for slot, got in found if got is not None]
    if whole:
        _seq, where, record = max(whole)
        return where, record
    torn = [path + slot for slot, _ in found if os.path.exists(path + slot)]
    return (torn[0] if torn else path), None


def load(path: str, log: Logger, *, boot_id: str | None = None) -> SavedState | None:
    """Read and validate the state (the newest whole slot, else the plain file at `path`);
    None (with one log line unless simply absent)."""
    where, data = _newest(path)
    if data is None and where != path:
        log(f"Ignoring saved manager state {where}: torn (the manager was killed while writing it, "
            f"and the other slot is torn or missing too).")
        return None
    if data is None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            log(f"Ignoring saved manager state {path}: cannot read it: {e.strerror or e}.")
            return None
    else:
        path = where
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        log(f"Ignoring saved manager state {path}: not valid JSON ({e}).")
        return None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        log(f"Ignoring saved manager state {path}: not a sysvisor state file.")
        return None
    if record.get("version") != VERSION:
        log(f"Ignoring saved manager state {path}: unsupported version {record.get('version')!r} "
            f"(expected {VERSION}).")
        return None
    current = boot_id if boot_id is not None else kernel_boot_id()
    saved = record.get("boot_id")
    if not isinstance(saved, str) or current is None or saved != current:
        log(f"Ignoring saved manager state {path}: written during boot {saved}, this is boot {current}; "
            f"the processes it names are gone.")
        return None
    snapshot, processes = record.get("snapshot"), record.get("processes")
    if not isinstance(snapshot, dict) or not isinstance(processes, dict):
        log(f"Ignoring saved manager state {path}: snapshot or process table missing.")
        return None
    try:
        start_times = {int(pid): (None if t is None else int(t)) for pid, t in processes.items()}
    except (TypeError, ValueError):
        log(f"Ignoring saved manager state {path}: malformed process table.")
        return None
    return SavedState(snapshot, saved, start_times)


@dataclass
class Recovered:
    """The outcome of restoring a state file after the manager died."""

    actions: list[Action]  # carry these out
    start_times: dict[int, int | None]  # of the processes the file named


def recover(manager, path: str, now: int, log: Logger, *, own_pid: int | None = None,
            keeper_pid: int | None = None, kept: dict[int, int | None] | None = None,
            boot_id: str | None = None,
            carry_out: Callable[[list[Action]], None] | None = None) -> Recovered | None:
    """Load `path` and restore it into the fresh `manager`. None when there was nothing
    usable (the manager then starts from scratch). After a crash, then watch the restored
    processes with `AdoptedProcesses(tracked_pids(manager), recovered.start_times)`.
    `own_pid`: set after daemon-reexec, when the units' processes are still our children.
    `keeper_pid`, `kept`: as for `alive_checker()`.
    `carry_out`: as for `import_all()` (the shell passes its executor)."""
    saved = load(path, log, boot_id=boot_id)
    if saved is None:
        return None
    alive = alive_checker(saved.start_times, own_pid=own_pid, keeper_pid=keeper_pid, kept=kept)
    try:
        actions = import_all(manager, saved.snapshot, now, alive, carry_out=carry_out)
    except SnapshotError as e:
        log(f"Ignoring saved manager state {path}: {e}.")
        return None
    return Recovered(actions, saved.start_times)


def restore(manager, path: str, now: int, log: Logger, *, own_pid: int | None = None,
            boot_id: str | None = None) -> list[Action] | None:
    """`recover()` when only the actions matter."""
    recovered = recover(manager, path, now, log, own_pid=own_pid, boot_id=boot_id)
    return None if recovered is None else recovered.actions


class StateFile:
    """The manager's state: `flush()` once per loop iteration.

    `mark_dirty()` after the engine handled anything; `flush()` then exports the engine
    and writes only if the bytes differ from the last write, into the older of the two
    slots (see the module's doc).
    """

    def __init__(self, path: str, log: Logger, *, boot_id: str | None = None,
                 start_time: Callable[[int], int | None] = process_start_time) -> None:
        self.path = path
        self.log = log
        self.boot_id = boot_id if boot_id is not None else kernel_boot_id()
        self._start_time = start_time
        self._last: bytes | None = None
        self._dirty = True
        self.writes = 0
        self._failed = False
        self._fds: list[int] = []
        # incremental export: per service (its object, exported dict, JSON), and the start
        # times of the processes named (a pid's start time is fixed while it is named)
        self._units: dict[str, tuple[object, dict, str]] = {}
        self._changed: set[str] = set()
        self._full_due = 0.0
        self._start_times: dict[int, int | None] = {}
        self._placeholder = "units:" + random_id128()
        # go on from the newest slot on disk, or a reader would prefer it to ours
        self._seq = max((got[0] for got in (read_slot(path + slot) for slot in SLOTS) if got), default=0)

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self, manager) -> bool:
        """Write the state if it changed since the last write; True if written."""
        if not self._dirty:
            return False
        self._dirty = False
        try:
            data = self._encode(manager)
        except SnapshotError as e:  # a spawn is pending: try again next iteration
            self._dirty = True
            self.log(f"Not saving manager state now: {e}.")
            return False
        if data == self._last:
            return False
        try:
            self._write(data)
        except OSError as e:
            self._dirty = True
            if not self._failed:  # one line, not one per iteration
                self.log(f"Failed to save manager state to {self.path}: {e.strerror or e}.")
            self._failed = True
            return False
        self._failed = False
        self._last = data
        self.writes += 1
        return True

    def _encode(self, manager) -> bytes:
        """What `encode(export_all(manager))` gives, exporting and encoding only the services
        the engine touched since the last flush (a 500-service boot exported all 500 on each
        of its ~60 loop turns: most of the boot's time), and all of them at least every
        FULL_EXPORT_INTERVAL as a safety net."""
        self._changed |= manager.take_changed_services()
        now = time.monotonic()
        full = now >= self._full_due
        services, cache = manager.services, self._units
        for name in [n for n, (svc, _d, _j) in cache.items() if services.get(n) is not svc]:
            del cache[name]  # removed, or replaced by a reload
        for name in (services if full else [n for n in services if n not in cache or n in self._changed]):
            exported = export_unit(manager, name)  # raises while a spawn is pending: retried
            cache[name] = (services[name], exported, json.dumps(exported, sort_keys=True, separators=(",", ":")))
        self._changed.clear()
        if full:
            self._full_due = now + FULL_EXPORT_INTERVAL
        snapshot = export_all(manager, units=self._placeholder)
        units = "{" + ",".join(json.dumps(name) + ":" + cache[name][2] for name in sorted(cache)) + "}"
        pids = set(snapshot_pids({"units": {n: d for n, (_svc, d, _j) in cache.items()}, "pid_owner": snapshot["pid_owner"]}))
        times = self._start_times
        for pid in [p for p in times if p not in pids]:
            del times[pid]  # no longer named: a later process may get the number
        for pid in pids:
            if pid not in times:
                times[pid] = self._start_time(pid)
        text = _encode_record(snapshot, self.boot_id, times).decode()
        return text.replace(json.dumps(self._placeholder), units, 1).encode()

    def _write(self, data: bytes) -> None:
        if not self._fds:
            fds = []
            try:
                for slot in SLOTS:
                    fds.append(os.open(self.path + slot, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            except OSError:
                for fd in fds:
                    os.close(fd)
                raise
            self._fds = fds
            _unlink(self.path)  # a plain file from before the slots would hide nothing, but mislead
        seq = self._seq + 1
        record = b"%s %d %d %08x\n%s" % (SLOT_MAGIC, seq, len(data), zlib.crc32(data), data)
        fd = self._fds[seq % 2]
        view = memoryview(record)
        offset = 0
        while offset < len(record):
            offset += os.pwrite(fd, view[offset:], offset)
        self._seq = seq

    def remove(self) -> None:
        """After a clean shutdown nothing is left to continue."""
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        for name in (self.path, *(self.path + slot for slot in SLOTS)):
            _unlink(name)
        self._last = None


class AdoptedProcesses:
    """pidfd watches for restored processes that are not our children.

    After the manager itself died, its services were re-parented (to the nearest subreaper
    or init): the new manager's waitid() never reports them. Their exit is still visible:
    a pidfd polls readable once the process has exited (pidfd_open(2)), but the status is
    not. The shell registers `fds()` in its selector and, when one is readable, calls
    `exited(fd)` and feeds `ProcessExited(pid, ExitCode.EXITED, 0)` — the same "exit status
    unknown, treated as success" rule as `core.snapshot.import_all()` — after logging
    "Process PID exited while not our child; its exit status is unknown."
    With `keeper_pid`, processes that are the keeper's children get no watch: the keeper
    reaps them and reports the real status (`keeper_children`: pid → start time).
    """

    def __init__(self, pids: dict[int, str], start_times: dict[int, int | None], *,
                 own_pid: int | None = None, keeper_pid: int | None = None) -> None:
        self._by_fd: dict[int, tuple[int, str]] = {}
        self.keeper_children: dict[int, int | None] = {}  # pid → start time: the keeper reports their exit
        for pid, unit in sorted(pids.items()):
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                continue  # already gone: the restore handled it as vanished
            # checked after opening: the pidfd now pins whichever process has the pid
            st = proc_stat(pid)
            if st is None or st.start_time != start_times.get(pid) or st.ppid == own_pid:
                os.close(fd)  # reused pid, or our own child (waitid reports it)
                continue
            if keeper_pid is not None and st.ppid == keeper_pid:
                os.close(fd)  # the keeper reaps it and sends us its real exit status
                self.keeper_children[pid] = st.start_time
                continue
            self._by_fd[fd] = (pid, unit)

    def fds(self) -> list[int]:
        return sorted(self._by_fd)

    def pids(self) -> dict[int, str]:
        return {pid: unit for pid, unit in self._by_fd.values()}

    def exited(self, fd: int) -> tuple[int, str] | None:
        """The watched process behind readable `fd` exited: stop watching, return (pid, unit)."""
        entry = self._by_fd.pop(fd, None)
        if entry is not None:
            os.close(fd)
        return entry

    def send_signal(self, pid: int, sig: int) -> bool:
        """Signal an adopted process through its pidfd (no pid-reuse race); False if not ours."""
        for fd, (p, _) in self._by_fd.items():
            if p == pid:
                try:
                    signal.pidfd_send_signal(fd, sig)
                except ProcessLookupError:
                    return False
                return True
        return False

    def close(self) -> None:
        for fd in self._by_fd:
            os.close(fd)
        self._by_fd.clear()
