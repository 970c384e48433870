"""A fake executor: carries out the engine's actions against scripted processes.

A *behaviour* says what a spawned process does: exit with a code after a delay, die by a
signal, hang until killed, send READY=1 after a delay, ignore or handle signals. The
script maps spawns to behaviours, so tests read as transcripts:

    script = {"flaky.service": Behaviour.exits(1)}
    script = {("web.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1))}
    script = {"/usr/bin/daemon": [Behaviour.exits(1), Behaviour.hangs()]}  # 1st, then 2nd+

Lookup order: (unit, phase), unit, command line, command path, "*"; the default
is "hangs until killed". A list is consumed one per spawn; its last entry repeats.
# spec: ARCHITECTURE.md "Tests"
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Callable, NamedTuple, Union

from sysvisor.core.actions import Action, Kill, Log, ReadPidFile, Spawn, WarnLeftoverProcesses
from sysvisor.core.events import (
    Event,
    ExecSucceeded,
    NotifyReceived,
    PidFileRead,
    ProcessExited,
    Spawned,
    SpawnFailed,
    UnitEmptied,
)
from sysvisor.core.exit_status import SIGCONT, SIGKILL, signal_name
from sysvisor.core.types import ExitCode, Priority

@dataclass(frozen=True)
class Behaviour:
    """What one fake process does on its own and when signalled."""

    exit_code: int | None = None  # exit(code) after `after` µs
    signal: int | None = None  # or die by this signal after `after` µs
    dumped: bool = False  # a signal death dumps core (code=dumped)
    after: int = 0
    ready_after: int | None = None  # send READY=1 after this many µs
    notify: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = ()  # (delay, fields) datagrams
    ignore: frozenset[int] = frozenset()  # signals without effect (SIGCONT always)
    on_signal: tuple[tuple[int, int], ...] = ()  # (signal, exit code): handled by exiting
    signal_delay: int = 0  # how long dying/handling a signal takes
    # (signal, delay, fields): datagrams sent in reaction to a signal; "$NOW" in a value
    # becomes the monotonic time of sending (for MONOTONIC_USEC=)
    reacts: tuple[tuple[int, int, tuple[tuple[str, str], ...]], ...] = ()
    spawn_error: str | None = None  # the shell cannot even fork (SpawnFailed)
    exec_ok: bool = True  # execve() succeeds (ExecSucceeded is reported at once)
    unkillable: bool = False  # not even SIGKILL ends it (a process stuck in D state)
    forks: "Behaviour | None" = None  # Type=forking: the daemon child left behind
    writes_pid_file: bool = True  # the forked child's pid is found by ReadPidFile
    comm: str | None = None  # process name for log lines (default: the command's basename)

    @classmethod
    def exits(cls, code: int, after: int = 0, **kw) -> "Behaviour":
        return cls(exit_code=code, after=after, **kw)

    @classmethod
    def killed(cls, signal: int, after: int = 0, dumped: bool = False, **kw) -> "Behaviour":
        return cls(signal=signal, after=after, dumped=dumped, **kw)

    @classmethod
    def hangs(cls, **kw) -> "Behaviour":
        return cls(**kw)

    @classmethod
    def ready(cls, after: int = 0, **kw) -> "Behaviour":
        return cls(ready_after=after, **kw)

    @classmethod
    def exec_fails(cls, status: int = 203) -> "Behaviour":
        """execve() (or a step before it) fails: exit 203/EXEC etc. at once."""
        return cls(exit_code=status, exec_ok=False)

    @classmethod
    def forking(cls, daemon: "Behaviour", after: int = 0, **kw) -> "Behaviour":
        """A forking parent that leaves `daemon` behind and exits 0 after `after`."""
        return cls(exit_code=0, after=after, forks=daemon, **kw)

    @classmethod
    def fails_to_spawn(cls, message: str = "Cannot allocate memory") -> "Behaviour":
        return cls(spawn_error=message)


Script = Union[dict, Callable[[Spawn], Behaviour]]


@dataclass
class FakeProcess:
    pid: int
    unit: str
    spawn: Spawn
    behaviour: Behaviour
    started: int
    alive: bool = True
    exit_scheduled: int | None = None
    forked_by: int = 0  # Type=forking daemons: the parent's pid
    behaviour_writes_pid_file: bool = True

    @property
    def comm(self) -> str:
        return self.behaviour.comm or self.spawn.command.path.rsplit("/", 1)[-1][:15]


class _Scheduled(NamedTuple):
    """A fact due at `time`; rank 0 notify, 1 exit, 2 cgroup empty: notify datagrams are
    read before child exits within one instant."""

    time: int
    rank: int
    seq: int
    event: Event
    pid: int = 0


class FakeExecutor:
    """Turns actions into scheduled facts. No processes, no clock: `now` comes in."""

    def __init__(self, script: Script | None = None, *, first_pid: int = 1000,
                 cgroup_events: bool = False, keep_history: bool = True) -> None:
        self.keep_history = keep_history  # keep dead processes and the spawn/kill lists
        self.script: Script = script if script is not None else {}
        self.next_pid = first_pid
        self.cgroup_events = cgroup_events
        self.processes: dict[int, FakeProcess] = {}
        self.spawns: list[tuple[int, Spawn]] = []  # (time, action) of every spawn
        self.kills: list[tuple[int, Kill]] = []
        self._queue: list[_Scheduled] = []
        self._seq = 0
        self._consumed: dict[object, int] = {}
        self.n_spawns = 0
        self.shell_logs: list[Log] = []
        self._alive_by_unit: dict[str, dict[int, FakeProcess]] = {}  # what the shell logs itself (drained by Simulation)

    # -------------------------------------------------------------- lookup

    def behaviour_for(self, spawn: Spawn) -> Behaviour:
        if callable(self.script):
            return self.script(spawn)
        for key in ((spawn.unit, spawn.phase), spawn.unit, spawn.command.command_line(),
                    spawn.command.path, "*"):
            if key in self.script:
                value = self.script[key]
                if isinstance(value, (list, tuple)) and value and isinstance(value[0], Behaviour):
                    n = self._consumed.get(key, 0)
                    self._consumed[key] = n + 1
                    return value[min(n, len(value) - 1)]
                return value
        return Behaviour.hangs()

    # -------------------------------------------------------------- actions

    def execute(self, actions: list[Action], now: int) -> list[Event]:
        """Carry out actions; return the immediate answers (Spawned/SpawnFailed)."""
        answers: list[Event] = []
        for action in actions:
            if isinstance(action, Spawn):
                answers.append(self._spawn(action, now))
            elif isinstance(action, Kill):
                if self.keep_history:
                    self.kills.append((now, action))
                self._kill(action, now)
            elif isinstance(action, WarnLeftoverProcesses):
                self._warn_leftovers(action)
            elif isinstance(action, ReadPidFile):
                answers.append(PidFileRead(action.unit, self._daemon_pid(action.unit)))
        return answers

    def _daemon_pid(self, unit: str) -> int | None:
        """The pid a forking unit's daemon wrote (or the only process left, guessing)."""
        for proc in sorted(self.processes.values(), key=lambda p: -p.pid):
            if proc.unit == unit and proc.alive and proc.forked_by and proc.behaviour_writes_pid_file:
                return proc.pid
        return None

    def _spawn(self, spawn: Spawn, now: int) -> Event:
        if self.keep_history:
            self.spawns.append((now, spawn))
        self.n_spawns += 1
        b = self.behaviour_for(spawn)
        if b.spawn_error is not None:
            return SpawnFailed(spawn.spawn_id, 12, b.spawn_error)
        pid = self.next_pid
        self.next_pid += 1
        proc = FakeProcess(pid, spawn.unit, spawn, b, now)
        self.processes[pid] = proc
        self._alive_by_unit.setdefault(spawn.unit, {})[pid] = proc
        self._start_behaviour(proc, now)
        if b.exec_ok:
            self._push(now, 0, ExecSucceeded(pid), pid)
        if b.forks is not None:
            child = FakeProcess(self.next_pid, spawn.unit, spawn, b.forks, now, forked_by=pid,
                                behaviour_writes_pid_file=b.writes_pid_file)
            self.next_pid += 1
            self.processes[child.pid] = child
            self._alive_by_unit.setdefault(spawn.unit, {})[child.pid] = child
            self._start_behaviour(child, now)
        return Spawned(spawn.spawn_id, pid)

    def _start_behaviour(self, proc: FakeProcess, now: int) -> None:
        b, pid = proc.behaviour, proc.pid
        if b.exit_code is not None:
            self._schedule_exit(proc, now + b.after, ExitCode.EXITED, b.exit_code)
        elif b.signal is not None:
            self._schedule_exit(proc, now + b.after, ExitCode.DUMPED if b.dumped else ExitCode.KILLED, b.signal)
        if b.ready_after is not None:
            self._push(now + b.ready_after, 0, NotifyReceived(pid, {"READY": "1"}), pid)
        for delay, fields in b.notify:
            self._push(now + delay, 0, NotifyReceived(pid, dict(fields)), pid)

    def _warn_leftovers(self, action: WarnLeftoverProcesses) -> None:
        procs = self.alive(action.unit)
        for p in procs:
            if action.starting:
                self.shell_logs.append(Log(f"{p.unit}: Found left-over process {p.pid} ({p.comm}) in control group "
                                           f"while starting unit. Ignoring.", p.unit, Priority.WARNING))
            else:
                self.shell_logs.append(Log(f"{p.unit}: Unit process {p.pid} ({p.comm}) remains running after unit "
                                           f"stopped.", p.unit, Priority.INFO))
        if procs and action.starting:
            self.shell_logs.append(Log(f"{action.unit}: This usually indicates unclean termination of a previous "
                                       f"run, or service implementation deficiencies.", action.unit, Priority.WARNING))

    def _kill(self, kill: Kill, now: int) -> None:
        targets = set(kill.pids)
        if kill.whole_unit:
            targets |= set(self._alive_by_unit.get(kill.unit, ()))
        for pid in sorted(targets):
            proc = self.processes.get(pid)
            if proc is None or not proc.alive:
                continue
            if kill.log_others and pid not in kill.pids:
                self.shell_logs.append(Log(f"{proc.unit}: Killing process {pid} ({proc.comm}) with signal "
                                           f"SIG{signal_name(kill.signal)}.", proc.unit, Priority.NOTICE))
            b = proc.behaviour
            if kill.signal == SIGCONT or kill.signal == 0:
                continue
            if b.unkillable or (kill.signal in b.ignore and kill.signal != SIGKILL):
                continue
            for signo, delay, fields in b.reacts:
                if signo == kill.signal:
                    sent = {k: (str(now + delay) if v == "$NOW" else v) for k, v in fields}
                    self._push(now + delay, 0, NotifyReceived(pid, sent), pid)
            if any(signo == kill.signal for signo, _, _ in b.reacts) and kill.signal not in dict(b.on_signal):
                continue  # handled by the reaction
            handled = dict(b.on_signal)
            when = now + (0 if kill.signal == SIGKILL else b.signal_delay)
            if kill.signal in handled and kill.signal != SIGKILL:
                self._schedule_exit(proc, when, ExitCode.EXITED, handled[kill.signal])
            else:
                code = ExitCode.DUMPED if (b.dumped and kill.signal in (3, 4, 6, 7, 8, 11)) else ExitCode.KILLED
                self._schedule_exit(proc, when, code, kill.signal)

    def _schedule_exit(self, proc: FakeProcess, when: int, code: ExitCode, status: int) -> None:
        if proc.exit_scheduled is not None and proc.exit_scheduled <= when:
            return
        proc.exit_scheduled = when
        self._push(when, 1, ProcessExited(proc.pid, code, status), proc.pid)

    def _push(self, when: int, rank: int, event: Event, pid: int) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Scheduled(when, rank, self._seq, event, pid))

    # -------------------------------------------------------------- time

    def next_time(self) -> int | None:
        self._drop_stale()
        return self._queue[0].time if self._queue else None

    def pop_due(self, now: int) -> Event | None:
        """The next fact due at or before `now` (notify before exits), or None."""
        self._drop_stale()
        if not self._queue or self._queue[0].time > now:
            return None
        item = heapq.heappop(self._queue)
        proc = self.processes.get(item.pid)
        if isinstance(item.event, ProcessExited) and proc is not None:
            proc.alive = False
            if not self.keep_history:
                del self.processes[proc.pid]
            alive = self._alive_by_unit.get(proc.unit, {})
            alive.pop(proc.pid, None)
            if self.cgroup_events and not alive:
                self._push(item.time, 2, UnitEmptied(proc.unit), 0)
        return item.event

    def _drop_stale(self) -> None:
        while self._queue:
            item = self._queue[0]
            proc = self.processes.get(item.pid)
            if item.pid and (proc is None or not proc.alive):
                heapq.heappop(self._queue)
                continue
            if isinstance(item.event, ProcessExited) and proc is not None and proc.exit_scheduled != item.time:
                heapq.heappop(self._queue)  # superseded by an earlier exit
                continue
            break

    def alive(self, unit: str | None = None) -> list[FakeProcess]:
        if unit is not None:
            return sorted(self._alive_by_unit.get(unit, {}).values(), key=lambda p: p.pid)
        return [p for p in self.processes.values() if p.alive]

