"""The relay's write-behind: stored output goes to the disk and out of the page cache from a
thread of its own, never from the writer's own calls (journal/writeback.py)."""

import ctypes
import mmap
import os
import threading

import pytest

from sysvisor.journal.reader import JournalReader
from sysvisor.journal.store import JournalWriter
from sysvisor.journal.writeback import CACHE_KEEP, WRITE_BEHIND, WriteBehind

FIELDS = {"_SYSTEMD_UNIT": "web.service", "_PID": "42", "SYSLOG_IDENTIFIER": "web", "_TRANSPORT": "stdout"}
LINE = b"x" * 99 + b"\n"
CHUNK = LINE * 10_000  # 1 MB: one record, written with one writev()


class _Recorder:
    """sync_range/drop stand-ins; `gate` holds the thread inside sync_range."""

    def __init__(self):
        self.synced, self.dropped, self.fds = [], [], []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def sync_range(self, fd, offset, nbytes):
        self.fds.append(fd)
        self.entered.set()
        assert self.gate.wait(10)
        self.synced.append((offset, offset + nbytes))

    def drop(self, fd, offset, length, advice):
        assert advice == os.POSIX_FADV_DONTNEED
        self.dropped.append((offset, offset + length))


def _closed(fd):
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _segments(tmp_path, *names):
    paths = []
    for name in names:
        (tmp_path / name).write_bytes(b"")
        paths.append(str(tmp_path / name))
    return paths


def test_ranges_of_an_open_segment_are_written_back_then_dropped_but_its_end(tmp_path):
    rec = _Recorder()
    wb = WriteBehind(rec.sync_range, rec.drop)
    (seg,) = _segments(tmp_path, "seg")
    wb.note(seg, 0, WRITE_BEHIND)
    assert wb.wait_idle(10)
    wb.note(seg, WRITE_BEHIND, CACHE_KEEP + 3 * WRITE_BEHIND)
    assert wb.wait_idle(10)
    assert rec.synced == [(0, WRITE_BEHIND), (WRITE_BEHIND, CACHE_KEEP + 3 * WRITE_BEHIND)]
    assert rec.dropped == [(0, 3 * WRITE_BEHIND)]  # the last CACHE_KEEP bytes stay cached
    assert all(_closed(f) for f in rec.fds)  # its own files, closed after


def test_a_closed_segment_is_dropped_whole(tmp_path):
    rec = _Recorder()
    wb = WriteBehind(rec.sync_range, rec.drop)
    (seg,) = _segments(tmp_path, "seg")
    wb.note(seg, 0, WRITE_BEHIND, closed=True)
    assert wb.wait_idle(10)
    assert rec.dropped == [(0, WRITE_BEHIND)]


def test_ranges_noted_while_the_disk_is_slow_merge_and_the_writer_never_waits(tmp_path):
    rec = _Recorder()
    rec.gate.clear()  # the disk "hangs" inside the first sync
    wb = WriteBehind(rec.sync_range, rec.drop)
    seg, nxt = _segments(tmp_path, "seg", "next")
    wb.note(seg, 0, 1)
    assert rec.entered.wait(10)
    for i in range(1, 100):  # returns at once although the thread is stuck
        wb.note(seg, i * WRITE_BEHIND, (i + 1) * WRITE_BEHIND)
    wb.note(nxt, 0, 5, closed=True)
    assert not wb.wait_idle(0.05)
    rec.gate.set()
    assert wb.wait_idle(10)
    assert rec.synced == [(0, 1), (WRITE_BEHIND, 100 * WRITE_BEHIND), (0, 5)]
    assert all(_closed(f) for f in rec.fds)


def test_the_thread_does_not_hold_the_writers_lock_on_a_segment(tmp_path):
    # vacuuming spares a segment whose flock is held; the thread opens the file afresh
    import fcntl

    rec = _Recorder()
    rec.gate.clear()
    wb = WriteBehind(rec.sync_range, rec.drop)
    (seg,) = _segments(tmp_path, "seg")
    fd = os.open(seg, os.O_WRONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    wb.note(seg, 0, 1, closed=True)
    assert rec.entered.wait(10)
    os.close(fd)  # the writer closes the segment while the thread still has it
    probe = os.open(seg, os.O_RDONLY)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the lock lived on
    finally:
        os.close(probe)
        rec.gate.set()
    assert wb.wait_idle(10)


def test_the_managers_writer_has_no_write_behind_thread(tmp_path):
    w = JournalWriter(str(tmp_path / "j"), name="manager")
    try:
        assert w.write_behind is None
    finally:
        w.close()


def _resident(path, start, end):
    """Pages of [start, end) of `path` in the page cache (mincore(2) on a private mapping)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        mm = mmap.mmap(fd, end, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    try:
        anchor = ctypes.c_char.from_buffer(mm)
        pages = (end + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = (ctypes.c_ubyte * pages)()
        r = libc.mincore(ctypes.c_void_p(ctypes.addressof(anchor)), ctypes.c_size_t(end), vec)
        assert r == 0, os.strerror(ctypes.get_errno())
        del anchor
    finally:
        mm.close()
    first, last = start // mmap.PAGESIZE, (end - 1) // mmap.PAGESIZE
    return sum(vec[i] & 1 for i in range(first, last + 1))


def _page_cache_can_be_dropped(directory):
    # tmpfs (and some others) keep their pages whatever we advise
    path = os.path.join(directory, "probe")
    with open(path, "wb") as f:
        f.write(b"p" * (1 << 20))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    try:
        return _resident(path, 0, 1 << 20) < 16
    finally:
        os.unlink(path)


def test_the_relays_writer_leaves_only_the_end_of_its_segment_in_the_page_cache(tmp_path):
    if not _page_cache_can_be_dropped(str(tmp_path)):
        pytest.skip("this file system keeps its pages in the cache whatever is advised")
    w = JournalWriter(str(tmp_path / "j"), name="relay", write_behind=True, max_file_bytes=1 << 30)
    prepared = w.prepare_fields(FIELDS)
    total = CACHE_KEEP + 4 * WRITE_BEHIND + len(CHUNK)
    try:
        for _ in range(total // len(CHUNK)):
            w.append_raw(prepared, CHUNK, lines=10_000)
            w.flush()
        path, size = w._path, w._size
        assert w.write_behind.wait_idle(60)
        # handed over up to the last multiple of WRITE_BEHIND; all but its last CACHE_KEEP dropped
        dropped_end = w._behind - CACHE_KEEP
        assert dropped_end >= 3 * WRITE_BEHIND
        assert _resident(path, 0, dropped_end) <= dropped_end // mmap.PAGESIZE // 50
        assert _resident(path, size - WRITE_BEHIND, size) > 0  # the newest part is still there
    finally:
        w.close()
    # nothing lost: every line reads back (from the disk now)
    entries = list(JournalReader(str(tmp_path / "j")).entries())
    assert len(entries) == (total // len(CHUNK)) * 10_000
    assert all(e["MESSAGE"] == LINE[:-1].decode() for e in entries[:: 9_973])


def test_a_rotated_segment_leaves_the_page_cache_entirely(tmp_path):
    if not _page_cache_can_be_dropped(str(tmp_path)):
        pytest.skip("this file system keeps its pages in the cache whatever is advised")
    w = JournalWriter(str(tmp_path / "j"), name="relay", write_behind=True, max_file_bytes=4 * len(CHUNK))
    prepared = w.prepare_fields(FIELDS)
    try:
        for _ in range(6):
            w.append_raw(prepared, CHUNK, lines=10_000)
            w.flush()
        assert w.write_behind.wait_idle(60)
        closed = [os.path.join(str(tmp_path / "j"), n) for n in sorted(os.listdir(tmp_path / "j"))
                  if n.endswith(".jseg") and os.path.join(str(tmp_path / "j"), n) != w._path]
        assert closed
        for path in closed:
            size = os.path.getsize(path)
            assert _resident(path, 0, size) <= size // mmap.PAGESIZE // 50
    finally:
        w.close()
