"""The keeper: a tiny parent for the manager that outlives it.

`sysvisor up` becomes this process (execv, so in a container it is PID 1) and runs the
manager as its only child. The keeper is a child subreaper, so when the manager dies its
services are re-parented here instead of to init: the keeper reaps them and keeps their exit
statuses (wait status, start time, when reaped) until a manager acknowledges them. It then
starts the manager again; the new manager restores the state file and learns the exits it
missed, so Result=, ExecMainStatus= and Restart= come out as if it had seen them itself.

Rules:
- While the manager lives it reaps its own children; the keeper only waits for the manager
  and forwards signals (nothing here is on the manager's hot path).
- From a manager's start (or a re-executed image's `hello`) to its `ready` the keeper reaps
  nothing but the manager: an orphan that exits meanwhile stays a zombie whose /proc entry (and start time)
  the restoring manager can still see; its status follows after `ready`.
- Signals the manager handles are forwarded to it once it is ready (queued until then; a
  SIGTERM/SIGINT while no manager runs restarts one at once so that it can stop the units).
- A manager that said `bye N` and exited ends the keeper with N; any other death is a crash:
  restart with a short back-off, forever (the services still run and need a supervisor).
- If the keeper itself dies, the manager dies too (PR_SET_PDEATHSIG in the manager), so the
  pair behaves as the one process users started; the next `sysvisor up` re-adopts.

Runs as `python3 -I -S keeper.py --lock FILE -- MANAGER-COMMAND...`: stdlib only, no sysvisor
import, so nothing the manager loads can break it. The manager gets its end of a
SOCK_SEQPACKET socket pair as fd 3. Messages, one per packet, ASCII:
  keeper -> manager  `exit PID CODE STATUS START_TIME REALTIME_USEC MONOTONIC_USEC`
                     (CODE: 1 exited, 2 killed, 3 dumped; START_TIME: /proc/PID/stat field 22)
                     `manager PID CODE STATUS` (how the previous manager ended)
                     `backlog-end` (answers `hello` after the kept records)
  manager -> keeper  `hello`, `ready`, `ack PID START_TIME`, `bye STATUS`
# spec: issue 5 ("surviving its own crash", "container PID 1")
"""

import fcntl
import os
import selectors
import signal
import socket
import stat
import sys
import time

# The signals the manager handles (daemon/manager_signal.py MANAGER_SIGNALS without SIGCHLD).
FORWARDED = (
    signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGPWR,
    *(signal.SIGRTMIN + n for n in (0, 1, 2, 3, 4, 5, 6, 7, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25)),
)
MAX_RECORDS = 4096  # exit records kept for a future manager; the oldest go first
READY_TIMEOUT = 30.0  # a manager that never gets ready must not block reaping forever
BACKOFF = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)  # seconds before restart N
STABLE_AFTER = 10.0  # a manager that ran this long resets the back-off
PR_SET_CHILD_SUBREAPER = 36
MANAGER_FD = 3


_console = []  # our stderr for log(): a non-blocking description of it when it is a pipe or terminal


def log(message):
    """A line on stderr that is never waited for: a console nobody reads must not stop PID 1
    (reaping, restarting the manager). O_NONBLOCK goes on a description of our own, opened
    through /proc, not on the one the services share: sysvisor/daemon/console_out.py does the
    same for the manager (the keeper imports nothing of sysvisor)."""
    if not _console:
        fd = 2
        try:
            mode = os.fstat(2).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
                fd = os.open("/proc/self/fd/2", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            pass
        _console.append(fd)
    try:
        os.write(_console[0], f"sysvisor-keeper[{os.getpid()}]: {message}\n".encode())
    except OSError:  # full (the line is dropped) or gone
        pass


def start_time(pid):
    """/proc/PID/stat field 22, or None (a zombie keeps its entry until reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rfind(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def describe(code, status):
    if code == os.CLD_EXITED:
        return f"exited with status {status}"
    name = signal.Signals(status).name if status in signal.Signals._value2member_map_ else str(status)
    return f"was killed by signal {status} ({name})"


def take_lock(path):
    """One keeper per runtime directory: an flock held for life. None if another holds it."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def refusal(path, holder):
    return (f"sysvisor: a manager already runs for this runtime directory (PID {holder or '?'}, {path}); "
            f"not starting a second one.")


def lock_holder(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def become_subreaper():
    if os.getpid() == 1:
        return True  # init already inherits every orphan
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _noop(signum, frame):
    pass


class Keeper:
    def __init__(self, command, *, clock=time.monotonic):
        self.command = command
        self.clock = clock
        self.records = {}  # pid -> (start_time, message); insertion order = age
        self.manager = None
        self.conn = None
        self.out = []  # packets waiting for the socket to drain
        self.greeted = False  # the manager asked for the backlog
        self.ready = False
        self.ready_deadline = 0.0
        self.pending = []  # signals for the next ready manager
        self.delivered_stop = []  # SIGTERM/SIGINT the current manager got: re-sent if it crashes
        self.bye = None
        self.restart_at = 0.0
        self.crashes = 0
        self.started = 0.0
        self.note = None  # `manager …` packet for the next manager
        self.exit_status = None
        self.sel = selectors.DefaultSelector()

    # --- the manager ---

    def spawn(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        if fd == MANAGER_FD:  # dup2(3, 3) would keep close-on-exec
            fd = os.dup(fd)
        actions = [(os.POSIX_SPAWN_DUP2, fd, MANAGER_FD)]
        try:
            # own session: a terminal's ^C reaches the keeper only, which forwards it once
            pid = os.posix_spawn(self.command[0], self.command, os.environ, file_actions=actions, setsid=True)
        except OSError as e:
            log(f"cannot start the manager {self.command[0]}: {e.strerror}")
            ours.close()
            self.restart_at = self.clock() + BACKOFF[-1]
            return
        finally:
            if fd != theirs.fileno():
                os.close(fd)
            theirs.close()
        ours.setblocking(False)
        self.conn, self.manager, self.out = ours, pid, []
        self.greeted = self.ready = False
        self.bye = None
        self.delivered_stop = []
        self.started = self.clock()
        self.ready_deadline = self.started + READY_TIMEOUT
        self.sel.register(ours, selectors.EVENT_READ, "conn")

    def manager_exited(self, pid, code, status):
        self.receive()  # a `bye` may still wait in the socket
        self.drop_conn()
        self.manager = None
        if self.bye is not None:
            self.exit_status = self.bye
            return
        now = self.clock()
        if now - self.started >= STABLE_AFTER:
            self.crashes = 0
        delay = BACKOFF[min(self.crashes, len(BACKOFF) - 1)]
        self.pending = (self.delivered_stop + self.pending)[:64]  # a stop it never finished
        if any(s in (signal.SIGTERM, signal.SIGINT) for s in self.pending):
            delay = 0.0  # someone wants the units stopped: a manager must do it
        self.crashes += 1
        self.restart_at = now + delay
        self.note = f"manager {pid} {code} {status}".encode()
        log(f"the manager (PID {pid}) {describe(code, status)} without saying goodbye; restarting it"
            + (f" in {delay:g}s." if delay else "."))

    def drop_conn(self):
        if self.conn is not None:
            try:
                self.sel.unregister(self.conn)
            except (KeyError, ValueError):
                pass
            self.conn.close()
        self.conn, self.out = None, []
        self.greeted = self.ready = False

    # --- messages ---

    def send(self, packet):
        if self.conn is None:
            return
        if self.out:
            if len(self.out) < MAX_RECORDS + 16:
                self.out.append(packet)
            return
        try:
            self.conn.send(packet, socket.MSG_NOSIGNAL)
        except BlockingIOError:
            self.out.append(packet)
            self.sel.modify(self.conn, selectors.EVENT_READ | selectors.EVENT_WRITE, "conn")
        except OSError:
            pass  # the manager is going away; its exit is handled by the reaper

    def flush(self):
        while self.out and self.conn is not None:
            try:
                self.conn.send(self.out[0], socket.MSG_NOSIGNAL)
            except BlockingIOError:
                return
            except OSError:
                self.out = []
                break
            self.out.pop(0)
        if self.conn is not None:
            self.sel.modify(self.conn, selectors.EVENT_READ, "conn")

    def receive(self):
        while self.conn is not None:
            try:
                packet = self.conn.recv(256)
            except BlockingIOError:
                return
            except OSError:
                packet = b""
            if not packet:  # the manager closed its end: it is exiting
                self.sel.unregister(self.conn)
                self.conn.close()
                self.conn, self.out = None, []
                return
            self.handle(packet.split())

    def handle(self, words):
        if not words:
            return
        verb = words[0]
        if verb == b"hello":  # a manager image starts restoring: keep orphans as zombies
            self.greeted, self.ready = True, False
            self.ready_deadline = self.clock() + READY_TIMEOUT
            if self.note is not None:
                self.send(self.note)
                self.note = None
            for _start, packet in list(self.records.values()):
                self.send(packet)
            self.send(b"backlog-end")
        elif verb == b"ready":
            self.ready = True
            self.reap()
            pending, self.pending = self.pending, []
            for sig in pending:
                self.forward(sig)
        elif verb == b"ack" and len(words) == 3:
            try:
                pid, start = int(words[1]), (None if words[2] == b"-" else int(words[2]))
            except ValueError:
                return
            if pid in self.records and self.records[pid][0] == start:
                del self.records[pid]
        elif verb == b"bye" and len(words) == 2:
            try:
                self.bye = int(words[1]) & 0xFF
            except ValueError:
                pass

    # --- children ---

    def reaping(self):
        return self.manager is None or self.ready or self.clock() >= self.ready_deadline

    def reap(self):
        if self.manager is not None:
            try:
                info = os.waitid(os.P_PID, self.manager, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                info = None
            if info is not None and info.si_pid:
                self.manager_exited(info.si_pid, info.si_code, info.si_status)
        while self.reaping():
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            pid = info.si_pid
            started = start_time(pid)  # read before reaping: the zombie still has it
            try:
                os.waitid(os.P_PID, pid, os.WEXITED)
            except ChildProcessError:
                continue
            if pid == self.manager:
                self.manager_exited(pid, info.si_code, info.si_status)
            else:
                self.record(pid, info.si_code, info.si_status, started)

    def record(self, pid, code, status, started):
        realtime, monotonic = time.time_ns() // 1000, time.monotonic_ns() // 1000
        packet = f"exit {pid} {code} {status} {'-' if started is None else started} {realtime} {monotonic}".encode()
        self.records.pop(pid, None)
        self.records[pid] = (started, packet)
        while len(self.records) > MAX_RECORDS:
            del self.records[next(iter(self.records))]
        if self.greeted:
            self.send(packet)

    # --- signals ---

    def forward(self, sig):
        if self.manager is not None and self.ready:
            try:
                os.kill(self.manager, sig)
            except ProcessLookupError:
                pass
            if sig in (signal.SIGTERM, signal.SIGINT):
                self.delivered_stop.append(sig)
            return
        if len(self.pending) < 64:
            self.pending.append(sig)
        if self.manager is None and sig in (signal.SIGTERM, signal.SIGINT):
            self.restart_at = min(self.restart_at, self.clock())

    # --- the loop ---

    def run(self):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGCHLD, *FORWARDED):
            signal.signal(sig, _noop)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGCHLD, *FORWARDED))
        self.sel.register(wake_r, selectors.EVENT_READ, "signals")
        if not become_subreaper():
            log("failed to become a child subreaper: exit statuses of services are lost if the manager dies.")
        self.spawn()
        while self.exit_status is None:
            try:
                self.iterate(wake_r)
            except Exception as e:  # noqa: BLE001 - the keeper must not die of a bug
                log(f"internal error: {type(e).__name__}: {e}")
                time.sleep(0.1)
        return self.exit_status

    def iterate(self, wake_r):
        now = self.clock()
        deadlines = []
        if self.manager is None:
            deadlines.append(self.restart_at)
        elif not self.ready and now < self.ready_deadline:
            deadlines.append(self.ready_deadline)
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        received = []
        for key, mask in self.sel.select(timeout):
            if key.data == "signals":
                while True:
                    try:
                        data = os.read(wake_r, 512)
                    except (BlockingIOError, InterruptedError):
                        break
                    if not data:
                        break
                    received.extend(data)
            elif key.data == "conn" and self.conn is not None:
                if mask & selectors.EVENT_WRITE:
                    self.flush()
                if mask & selectors.EVENT_READ:
                    self.receive()
        self.reap()  # first: a signal for a manager that just died waits for the next one
        for sig in received:
            if sig != signal.SIGCHLD:
                self.forward(sig)
        if self.manager is None and self.exit_status is None and self.clock() >= self.restart_at:
            self.spawn()


def main(argv):
    if len(argv) < 4 or argv[0] != "--lock" or argv[2] != "--":
        log("usage: keeper.py --lock FILE -- MANAGER-COMMAND...")
        return 2
    lock_path, command = argv[1], argv[3:]
    if take_lock(lock_path) is None:
        holder = lock_holder(lock_path)
        print(refusal(lock_path, holder), file=sys.stderr)
        return 1
    return Keeper(command).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
