"""The imperative shell around the pure engine: feeds it facts, carries out its actions.

This is the only place where engine actions meet the OS. Events produced while carrying out
actions (`Spawned` answers) are fed back before anything else, so the engine always sees a
consistent order of facts.
# spec: ARCHITECTURE.md "The one idea"
"""

from __future__ import annotations

import errno
import os
import selectors
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable

from sysvisor.core import actions as A
from sysvisor.core import events as E
from sysvisor.core.manager import Manager
from sysvisor.core.types import ExitCode, Priority
from sysvisor.core.units import Unit
from sysvisor.core.snapshot import awaiting_exec, tracked_pids
from sysvisor.daemon import persist, reexec
from sysvisor.daemon.children import reap
from sysvisor.daemon.clock import monotonic_usec, realtime_offset_usec, realtime_usec
from sysvisor.daemon.clock_watch import ClockWatch, host_timer_context
from sysvisor.daemon.containment import open_containment, process_comm
from sysvisor.daemon.environment import EnvironmentFileError, SpawnEnvironments, notify_variables, pid_variables
from sysvisor.daemon.executor import SYSTEMD_DEFAULT_LIMITS, SpawnedProcess, exec_request, read_exec_outcome, spawn
from sysvisor.daemon.spawner import Spawner, SpawnerUnavailable
from sysvisor.daemon.output import OutputCapture, OutputStream
from sysvisor.daemon.relay_link import RelayLink
from sysvisor.id128 import random_id128
from sysvisor.journal.format import format_entry
from sysvisor.journal.store import JournalWriter
from sysvisor.journal.stream import StreamLines

MANAGER_IDENTIFIER = "sysvisor"  # decision D5
PENDING_ENTRIES_MAX = 1000  # manager messages held at most before they are written anyway
# child exits handled per loop turn; enough for a burst, small enough that a control request
# waits for at most one batch of restarts (~10-20 ms) in a crash loop of many units
EXITS_PER_TURN = 8
EXIT_BATCH_USEC = 10_000
# spawns sent to the helper before its answers are read: enough to keep it busy, few enough
# that requests and answers never fill the socket pair's buffers (no deadlock on a full pipe)
SPAWNS_IN_FLIGHT = 8
SPAWNER_RESTARTS = 3  # a spawn helper that keeps dying is given up for the fork path


class Shell:
    """Owns the engine, the journal writer and every process the engine asked for."""

    def __init__(
        self,
        units: dict[str, Unit],
        loop,
        journal: JournalWriter,
        *,
        on_exit: Callable[[int], None],
        user_manager: bool,
        containment_name: str = "sysvisor",
        notify_socket_path: str | None = None,
        console: bool = True,
        log_level: int = Priority.INFO,
        timer_stamp_dir: str | None = None,
        enablement: Callable[[dict[str, Unit]], dict] | None = None,
        use_spawner: bool | None = None,
    ) -> None:
        """`enablement(units)`: the `.wants/`/`.requires/`/`.upholds/` folders of targets that
        have no unit file, as `Manager(wants_dirs=…, requires_dirs=…, upholds_dirs=…)` takes
        them (daemon/boot.py)."""
        self.log_level = log_level
        # Persistent= timer stamps: <dir>/stamp-<unit>, mtime = last trigger (spec decision D4)
        self.timer_stamp_dir = timer_stamp_dir  # like systemd's LogLevel=: more verbose messages are dropped
        self.units = units
        self.loop = loop
        self.journal = journal
        self._pending_entries: list[dict] = []  # manager messages not yet written (write_pending)
        self.console = console
        # the relay's console follower prints our messages (one writer, never a blocked loop)
        self.console_by_relay = False
        self._console_out = None  # ConsoleOut: how we print them ourselves
        self.on_exit = on_exit
        self.user_manager = user_manager
        self.environments = SpawnEnvironments(os.environ, user_manager=user_manager)  # made anew by daemon-reload
        self.notify_socket_path = notify_socket_path
        self.boot_id = journal.boot_id or random_id128()
        self.hostname = socket.gethostname()
        self.containment = open_containment(containment_name)
        self.spawner: Spawner | None = None
        self._spawner_restarts = 0
        if use_spawner is None:  # SYSVISOR_SPAWN_HELPER=0: always fork the manager (diagnosis, benchmarks)
            use_spawner = os.environ.get("SYSVISOR_SPAWN_HELPER", "1") != "0"
        if use_spawner:
            try:
                self.spawner = Spawner.start()
            except SpawnerUnavailable as e:
                self.log(f"{e}; starting processes by forking the manager.", priority=Priority.WARNING)
            else:
                if self.spawner.native_unavailable:
                    self.log(f"{self.spawner.native_unavailable} (python3 -m sysvisor.daemon.exec_helper, or install.sh, "
                             "builds it with a C compiler); units are started by the Python spawn helper.")
        # both containments report UnitEmptied, so stops wait for leftover processes
        from sysvisor.daemon.facts import host_facts

        self.manager = Manager(units, seed=int.from_bytes(os.urandom(8), "little"), cgroup_events=True,
                               condition_facts=host_facts(), user_manager=user_manager,
                               **(enablement(units) if enablement else {}))
        self.units = self.manager.units  # with the built-in targets
        self.enablement = enablement
        self.output = OutputCapture(loop.selector, self._on_output)
        self._events: deque[E.Event] = deque()
        self._inflight: deque[_SpawnInFlight] = deque()  # sent to the helper, not yet answered
        self._serve_between = False  # read-only requests may be answered between spawns now
        # answers control requests already waiting (ControlServer.serve_ready), called before
        # each exit of a batch (mid_turn=False) and before each further spawn of one engine
        # turn (mid_turn=True: read-only requests only, the rest once the actions are done):
        # a `status` never waits behind a batch of restarts
        self.serve_requests: Callable[[bool], object] | None = None
        # reaps every exited child into on_children_exited() (the daemon's one reaper)
        self.reap_children: Callable[[], None] | None = None
        self._pid_unit: dict[int, str] = {}
        self.job_listeners: dict[int, Callable[[A.JobCompleted], None]] = {}
        self.started_realtime = realtime_usec()
        self.boot_finished = False  # set once the boot jobs have all completed
        self._next_request_id = 1
        self.state_file: persist.StateFile | None = None
        self.relay_link = RelayLink(loop, self.output, self.log)  # connected by the daemon once the relay runs
        self._idle_writers: list[int] = []
        self.adopted: persist.AdoptedProcesses | None = None
        self.keeper_children: dict[int, int | None] = {}  # pid → start time, see on_kept_exits()
        self.emergency_action = None  # the last FailureAction=-like action run (daemon/objective.py)
        self.reexec_requested = False
        self.clock_watch = ClockWatch(loop.selector, self.feed, self.log)  # wall-clock and time-zone changes
        self.manager.timers.set_context(host_timer_context(self.manager.condition_facts, user_manager=user_manager))
        self._read_timer_stamps()
        # queued exits first (due at once while any wait), then the engine's timers
        self._exits: deque[tuple[int, ExitCode, int]] = deque()
        loop.add_deadline(lambda: 0 if self._exits else None, lambda now: self._handle_exits(EXITS_PER_TURN))
        loop.add_deadline(self.manager.next_deadline, lambda now: self.feed(E.TimePassed(), now))
        events_fd = self.containment.events_fd()
        if events_fd is not None:
            # after the signal pipe (1); _on_cgroup_events() reaps first in case the
            # notification woke us before the SIGCHLD did
            loop.selector.register(events_fd, selectors.EVENT_READ, (1.5, lambda mask, now: self._on_cgroup_events()))

    # --- timers: the wall clock and Persistent= stamps ---

    def _stamp_path(self, unit: str) -> str | None:
        return os.path.join(self.timer_stamp_dir, "stamp-" + unit) if self.timer_stamp_dir else None

    def _read_timer_stamps(self) -> None:
        """Give the engine the wall clock and the stamps left by earlier runs.
        # spec: timers.md §5   # systemd: timer_start() reads the stamp's mtime"""
        self.clock_watch.start()  # ClockChanged, TimezoneChanged
        for name in self.manager.timers.timers:
            path = self._stamp_path(name)
            try:
                mtime = os.stat(path).st_mtime_ns // 1000 if path else None
            except OSError:
                continue
            if mtime:
                self.manager.timer_stamps[name] = mtime

    def _do_TouchTimerStamp(self, action: A.TouchTimerStamp) -> None:
        path = self._stamp_path(action.unit)
        self.manager.timer_stamps[action.unit] = action.realtime_usec
        if path is None:
            return
        try:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, "a"):
                pass
            ns = action.realtime_usec * 1000
            os.utime(path, ns=(ns, ns))
        except OSError as e:
            self.log(f"Failed to touch timer stamp {path}: {e.strerror}", unit=action.unit, priority=Priority.WARNING)

    def _do_RemoveTimerStamp(self, action: A.RemoveTimerStamp) -> None:
        path = self._stamp_path(action.unit)
        self.manager.timer_stamps.pop(action.unit, None)
        if path is None:
            return
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            self.log(f"Failed to remove timer stamp {path}: {e.strerror}", unit=action.unit, priority=Priority.WARNING)

    # --- feeding the engine ---

    def feed(self, event: E.Event, now: int | None = None) -> None:
        """Hand `event` (and whatever carrying out its actions produces) to the engine."""
        self._events.append(event)
        self._drain(now)

    def _drain(self, now: int | None = None) -> None:
        if self.state_file is not None:
            self.state_file.mark_dirty()
        while self._events:
            ev = self._events.popleft()
            try:
                actions = self.manager.handle(ev, monotonic_usec() if now is None else now)
            except Exception as e:  # an engine bug must not take every other unit down
                self.log(f"Internal error while handling {type(ev).__name__}: {type(e).__name__}: {e}", priority=Priority.CRIT)
                actions = []
            self._carry_out_list(actions, serve_between=True)
            now = None
        if not self.boot_finished and not self.manager.jobs.by_unit:
            self.boot_finished = True
        self._release_idle()
        self.journal.flush()

    # --- continuing after the manager died (issue 5) ---

    def restore(self, state_path: str, kept_exits=(), keeper_pid: int | None = None) -> bool:
        """Continue from the state file a killed manager left; False if there was none.
        `kept_exits`: what the keeper reaped meanwhile (daemon/keeper_link.py), fed to the
        engine as if we had seen it."""
        kept = {e.pid: e.start_time for e in kept_exits}
        recovered = persist.recover(self.manager, state_path, monotonic_usec(),
                                    lambda m: self.log(m, priority=Priority.WARNING), carry_out=self._carry_out_batch,
                                    own_pid=os.getpid(), keeper_pid=keeper_pid, kept=kept)
        if recovered is None:
            return False
        pids = tracked_pids(self.manager)
        self._pid_unit.update(pids)
        self.adopted = persist.AdoptedProcesses(pids, recovered.start_times, own_pid=os.getpid(), keeper_pid=keeper_pid)
        self.keeper_children.update(self.adopted.keeper_children)
        self.keeper_children.update({pid: t for pid, t in kept.items() if pid in pids and recovered.start_times.get(pid) == t})
        self.on_kept_exits(sorted(kept_exits, key=lambda e: e.monotonic_usec))
        for fd in self.adopted.fds():
            self.loop.selector.register(fd, selectors.EVENT_READ, (1, lambda mask, now, fd=fd: self._on_adopted_exit(fd)))
        for pid in awaiting_exec(self.manager):
            self.feed(E.ExecSucceeded(pid))
        for name, svc in self.manager.services.items():
            if svc.populated:
                self.containment.create(name)  # watch its cgroup again (the watch died with the old manager)
                if self.containment.is_empty(name):
                    self.feed(E.UnitEmptied(name))
        return True

    def restore_after_reexec(self, path: str, kept_exits=(), keeper_pid: int | None = None) -> dict[str, int]:
        """In the new image: continue the engine; returns the kept fds by name.
        `kept_exits`, `keeper_pid`: as for restore()."""
        kept = {e.pid: e.start_time for e in kept_exits}
        restored = reexec.restore_after_reexec(self.manager, path, monotonic_usec(),
                                               lambda m: self.log(m, priority=Priority.WARNING), carry_out=self._carry_out_batch,
                                               keeper_pid=keeper_pid, kept=kept)
        if restored is None:
            return {}
        self._pid_unit.update(restored.pids)
        self.keeper_children.update({int(pid): t for pid, t in restored.extra.get("keeper_children", {}).items()})
        self.on_kept_exits(sorted(kept_exits, key=lambda e: e.monotonic_usec))
        for name, fd in restored.fds.items():
            if name.startswith("output:"):
                info = restored.extra["output"][name]
                self.output.attach(fd, info["unit"], info["pid"], info["invocation_id"], info["identifier"], info["level_prefix"])
        for name, svc in self.manager.services.items():
            if svc.populated or svc.pids():
                self.containment.create(name)
        for pid in awaiting_exec(self.manager):
            self.feed(E.ExecSucceeded(pid))
        self.on_children_exited(reap(), budget=None)  # exits during the exec are zombies: reap them now
        for name, svc in self.manager.services.items():
            if svc.populated and self.containment.is_empty(name):
                self.feed(E.UnitEmptied(name))  # emptied while no watch was listening
        return restored.fds

    def output_fds(self) -> tuple[dict[str, int], dict]:
        fds, info = {}, {}
        for pid, stream in self.output._by_pid.items():
            fds[f"output:{pid}"] = stream.fd
            info[f"output:{pid}"] = {"unit": stream.unit, "pid": pid, "invocation_id": stream.invocation_id,
                                     "identifier": stream.identifier, "level_prefix": stream.splitter.level_prefix}
        return fds, info

    def _carry_out_batch(self, actions: list[A.Action]) -> None:
        self._carry_out_list(actions)
        self._drain()

    def _carry_out_list(self, actions: list[A.Action], serve_between: bool = False) -> None:
        """Carry out one engine turn's actions in order; spawns in a row are pipelined
        through the helper and all answered before any other action (`_complete_spawns`)."""
        spawns = 0
        outer, self._serve_between = self._serve_between, serve_between and self.serve_requests is not None
        try:
            for i, action in enumerate(actions):
                if type(action) is A.Spawn:
                    # a timer that restarts many units at once (RestartSec= of a crash loop)
                    # yields one list with a spawn for each: read-only requests go between
                    if spawns and self._serve_between:
                        self.serve_requests(True)
                    if i == 0 or type(actions[i - 1]) is not A.Spawn:
                        self._create_cgroups_of_row(actions, i)
                    spawns += 1
                    self._do_Spawn(action, last_of_row=i + 1 == len(actions) or type(actions[i + 1]) is not A.Spawn)
                    continue
                if self._inflight:
                    self._complete_spawns()
                self._carry_out(action)
        finally:
            self._complete_spawns()
            self._serve_between = outer

    def _create_cgroups_of_row(self, actions: list[A.Action], first: int) -> None:
        # The cgroups of a row of spawns (a boot) first, then the spawns: a mkdir waits for
        # the cgroup mutex, which the helper's v1 accounting joins hold across an RCU grace
        # period; interleaved with them a unit's mkdirs took ~0.3 ms, in one go ~0.1 ms.
        row = []
        for action in actions[first:]:
            if type(action) is not A.Spawn:
                break
            row.append(action.unit)
        if len(row) > 1:
            for unit in dict.fromkeys(row):
                try:
                    self.containment.create(unit)
                except OSError:
                    pass  # _do_Spawn meets it again, as it did before this step

    def on_kept_exits(self, exits) -> None:
        """Exits the keeper reaped: processes of ours that were re-parented to it when an
        earlier manager died. Their real status reaches the engine like our own reaper's."""
        for e in exits:
            if e.pid not in self.keeper_children or self.keeper_children[e.pid] != e.start_time:
                continue  # not one of ours (or an older process with that pid)
            del self.keeper_children[e.pid]
            self.log(f"Process {e.pid} exited while not our child; the keeper reaped it.", unit=self._pid_unit.get(e.pid),
                     priority=Priority.DEBUG)
            self.on_children_exited([(e.pid, e.code, e.status)])

    def _on_adopted_exit(self, fd: int) -> None:
        self.loop.selector.unregister(fd)
        entry = self.adopted.exited(fd)
        if entry is None:
            return
        pid, unit = entry
        self._pid_unit.pop(pid, None)
        self.log(f"Process {pid} exited while not our child; its exit status is unknown.", unit=unit, priority=Priority.NOTICE)
        self.feed(E.ProcessExited(pid, ExitCode.EXITED, 0))

    def reload_units(self, search_paths: list[str]) -> None:
        """daemon-reload: re-read every unit file; runtime state stays. # spec: systemctl-and-journal.md §1"""
        from sysvisor.core.reload import reload_units
        from sysvisor.unitfile.loader import UnitLoader

        from sysvisor.daemon.boot import guard_systemd_own_services

        loader = UnitLoader(search_paths)
        units = loader.load_all()
        guard_systemd_own_services(units)
        self.log("Reloading requested from client, reloading units.", priority=Priority.INFO)
        self.environments = SpawnEnvironments(os.environ, user_manager=self.user_manager)  # the locale, read again
        self._carry_out_batch(reload_units(self.manager, units))
        self.manager.rebuild_graph(**(self.enablement(units) if self.enablement else {}))
        self.manager.now = monotonic_usec()
        self._carry_out_batch(self.manager.sync_timers())
        for name in sorted(units):
            for d in loader.diagnostics(name):
                self.log(str(d), unit=name, priority=Priority.WARNING)
        if self.state_file is not None:
            self.state_file.mark_dirty()

    def new_request_id(self, listener: Callable[[A.JobCompleted], None]) -> int:
        rid = self._next_request_id
        self._next_request_id += 1
        self.job_listeners[rid] = listener
        return rid

    def on_children_exited(self, exited, budget: int | None = EXITS_PER_TURN) -> None:
        """Exits from the one reaper: drain each process's output, then tell the engine.

        At most `budget` exits are handled now (None: all); the rest wait in a queue that the
        loop works off `EXITS_PER_TURN` at a time, without sleeping, answering the control
        socket and the notify socket in between: a crash loop of many units must not hold a
        `status` back for a whole burst of restarts. None is lost or reordered."""
        self._exits.extend(exited)
        self._handle_exits(budget)

    def _handle_exits(self, budget: int | None) -> None:
        # a batch ends after `budget` exits or EXIT_BATCH_USEC, whichever comes first: on a
        # loaded machine one restart can take several ms, and requests wait for the batch
        until = monotonic_usec() + EXIT_BATCH_USEC
        while self._exits and (budget is None or budget > 0):
            if budget is not None:
                if budget < EXITS_PER_TURN and monotonic_usec() >= until:
                    break
                budget -= 1
            if budget is not None and self.serve_requests is not None:
                self.serve_requests(False)
                if not self._exits:  # a request's work (daemon-reexec's reap …) took them
                    break
            pid, code, status = self._exits.popleft()
            self.output.drain(pid)
            self.relay_link.process_exited(pid)
            unit = self._pid_unit.pop(pid, None)
            if unit is not None:
                if self.containment.kind == "cgroup":
                    self._check_emptied(unit)
                self.feed(E.ProcessExited(pid, code, status))
            if self.containment.kind != "cgroup":
                for name in {unit} if unit else set(self._tracked_units()):
                    if name and self.containment.is_empty(name):
                        self.feed(E.UnitEmptied(name))

    def _check_emptied(self, unit: str) -> None:
        """Tell the engine that the unit's cgroup is empty, unless it knows: right after an
        exit is reaped (not one loop turn later through inotify: the stop then needs no kill
        step and a restart is spawned in this same turn), and on a cgroup.events change.
        # systemd: unit_kill_context() checks cg_is_empty_recursive() synchronously"""
        svc = self.manager.services.get(unit)
        if svc is not None and svc.populated and self.containment.is_empty(unit):
            self.feed(E.UnitEmptied(unit))

    def _tracked_units(self) -> set[str]:
        return set(self._pid_unit.values())

    def unit_of_pid(self, pid: int) -> str | None:
        """The unit a process belongs to: a tracked main/control pid, else its cgroup."""
        unit = self._pid_unit.get(pid)
        if unit is not None or self.containment.kind != "cgroup":
            return unit
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                for line in f:
                    path = line.rstrip("\n").split(":", 2)[-1]
                    for name in self.units:
                        if path.endswith("/" + name) or f"/{name}/" in path:
                            return name
        except OSError:
            pass
        return None

    def _on_cgroup_events(self) -> None:
        # The cgroup empties before its last process is a zombie, and the inotify event often
        # wakes us first: reap now so the exit is handled before the emptiness, in this turn
        # (systemd dispatches SIGCHLD before its cgroup-empty queue).
        if self.reap_children is not None:
            self.reap_children()
        for unit in self.containment.read_events():
            self._check_emptied(unit)

    # --- carrying out actions ---

    def _carry_out(self, action: A.Action) -> None:
        handler = getattr(self, "_do_" + type(action).__name__, None)
        if handler is None:
            self.log(f"Ignoring unsupported engine action {type(action).__name__}.", priority=Priority.DEBUG)
            return
        handler(action)

    def _do_Spawn(self, action: A.Spawn, last_of_row: bool = True) -> None:
        """Prepare the process and send it to the spawn helper without waiting for the
        answer: the consecutive spawns of one engine turn (a restart timer firing for many
        units) are pipelined, the helper cloning one while the next is prepared. Each is
        answered (`Spawned`/`SpawnFailed`) by `_complete_spawns()` before the turn's next
        other action and before any other event, the contract of core/events.py."""
        unit = self.units[action.unit]
        service = unit.service
        notify_env, pid_names = notify_variables(
            service, is_main=action.is_main, notify_socket=self.notify_socket_path if action.notify_socket else None
        )
        try:
            env = self.environments.build(service, {**action.environment, **notify_env},
                                          warn=lambda msg: self.log(msg, unit=action.unit, priority=Priority.WARNING))
        except EnvironmentFileError as e:
            self.log(str(e), unit=action.unit, priority=Priority.ERR)
            self._spawn_failed(action, e.errno, e.strerror)
            return
        cgroup = self.containment.create(action.unit)
        identifier = service.syslog_identifier or os.path.basename(action.command.argv[0] if action.command.argv else action.command.path)
        stream, read_fd, write_fd = self._output_pipe(action, identifier, service.syslog_level_prefix)
        stderr = "null" if service.standard_error == "null" else write_fd
        stdout = "null" if service.standard_output == "null" else write_fd
        flight = _SpawnInFlight(action, service, identifier, stream, read_fd, write_fd)
        try:
            request = exec_request(
                service, action.command, env, user_manager=self.user_manager, stdout=stdout, stderr=stderr,
                cgroup=cgroup, extra_cgroups=self._accounting_paths(action.unit),
                pid_variables=pid_variables(env, service, pid_names), default_limits=SYSTEMD_DEFAULT_LIMITS,
            )
            born_inside_ok = getattr(self.containment, "born_inside_ok", None)
            request.clone_into_cgroup = bool(cgroup) and born_inside_ok is not None and born_inside_ok(action.unit)
            flight.request = request
            flight.idle_read = self._idle_gate(service, action, request)
        except OSError as e:
            self._spawn_done(flight, error=e)
            return
        if len(self._inflight) >= SPAWNS_IN_FLIGHT:
            self._complete_spawns()
        if self.spawner is not None:
            try:
                # the helper answers the last of a row once its child exec'd (the answers are
                # collected right after it): the child then has the CPU to itself
                flight.pending = self.spawner.submit(request, await_exec=last_of_row)
                flight.helper = self.spawner
            except SpawnerUnavailable as e:
                self._spawner_lost(e)  # this one then takes the fork path when completed
            except OSError as e:
                self._spawn_done(flight, error=e)
                return
        self._inflight.append(flight)

    def _complete_spawns(self) -> None:
        """Collect the helper's answers to the spawns sent, in order, and tell the engine."""
        if self._inflight:
            self.write_pending()  # while the helper clones
        first = True
        while self._inflight:
            if not first and self._serve_between:
                self.serve_requests(True)
            first = False
            flight = self._inflight.popleft()
            try:
                spawned = None
                if flight.pending is not None:
                    try:
                        spawned = flight.helper.collect(flight.pending)
                    except SpawnerUnavailable as e:
                        if flight.helper is self.spawner:
                            self._spawner_lost(e)
                if spawned is None:
                    spawned = self._spawn(flight.request)
            except OSError as e:
                self._spawn_done(flight, error=e)
            else:
                self._spawn_done(flight, spawned=spawned)

    def _spawn_done(self, flight: _SpawnInFlight, spawned: SpawnedProcess | None = None, error: OSError | None = None) -> None:
        action = flight.action
        if flight.idle_read is not None:
            os.close(flight.idle_read)
        os.close(flight.write_fd)  # the child (or the helper) has its own copy
        if spawned is None:
            if flight.read_fd is not None:
                os.close(flight.read_fd)
            if flight.stream is not None:
                flight.stream.close_read_end()
            self._spawn_failed(action, error.errno or errno.EIO, error.strerror or str(error))
            return
        for warning in flight.request.warnings:
            self.log(warning, unit=action.unit, priority=Priority.WARNING, invocation_id=action.invocation_id)
        pid = spawned.pid
        if self.containment.kind != "cgroup":  # a cgroup child joined its cgroups itself
            self.containment.adopt(action.unit, pid)
        level_prefix = flight.service.syslog_level_prefix
        if flight.stream is not None:  # the stream with its pid in one message (its output waited in the pipe)
            self.relay_link.hand_over(flight.stream, pid, action.unit, action.invocation_id, flight.identifier, level_prefix, monotonic_usec())
        elif flight.read_fd is not None:
            self.output.attach(flight.read_fd, action.unit, pid, action.invocation_id, flight.identifier, level_prefix)
        self._pid_unit[pid] = action.unit
        self._events.appendleft(E.Spawned(action.spawn_id, pid))
        self._watch_exec_outcome(action, pid, spawned.error_fd, flight.request.path)

    def _spawn(self, request) -> SpawnedProcess:
        """Through the spawn helper (daemon/spawner.py: clone3 into the unit's cgroup from a
        small process) whenever it runs; a fork of the manager (executor.spawn) otherwise.
        Both run the same setup in the child, so every unit setting takes either path."""
        if self.spawner is not None:
            try:
                return self.spawner.spawn(request)
            except SpawnerUnavailable as e:
                self._spawner_lost(e)
        return spawn(request)  # this request: the fork path (a new helper takes the next)

    def _spawner_lost(self, e: SpawnerUnavailable) -> None:
        if e.native and self.spawner is not None:  # the Python helper goes on
            if e.told:
                return
            if self._spawner_restarts < SPAWNER_RESTARTS:
                self._spawner_restarts += 1
                self.log(f"{e}; starting a new native exec helper.", priority=Priority.WARNING)
                try:
                    self.spawner.start_native()
                    return
                except SpawnerUnavailable as e2:
                    e = e2
            self.log(f"{e}; units are started by the Python spawn helper from now on.", priority=Priority.WARNING)
            return
        self.spawner = None
        if not e.permanent and self._spawner_restarts < SPAWNER_RESTARTS:
            self._spawner_restarts += 1  # the helper died (OOM killer, kill): a new one
            self.log(f"{e}; starting a new spawn helper.", priority=Priority.WARNING)
            try:
                self.spawner = Spawner.start()
            except SpawnerUnavailable as e2:
                e = e2
        if self.spawner is None:
            self.log(f"{e}; starting processes by forking the manager from now on.", priority=Priority.WARNING)

    def _idle_gate(self, service, action: A.Spawn, request) -> int | None:
        """Type=idle: the main process waits before exec until no job is left (5 s at most);
        our write end is closed when the job queue empties. # systemd: manager idle_pipe"""
        from sysvisor.core.types import ServiceType

        if not action.is_main or service.effective_type is not ServiceType.IDLE:
            return None
        if not any(u != action.unit for u in self.manager.jobs.by_unit):  # (O(jobs): idle units only)
            return None
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        self._idle_writers.append(write_fd)
        request.idle_fd = read_fd
        return read_fd

    def _release_idle(self) -> None:
        if self._idle_writers and not self.manager.jobs.by_unit:
            for fd in self._idle_writers:
                os.close(fd)
            self._idle_writers.clear()

    def _output_pipe(self, action: A.Spawn, identifier: str, level_prefix: bool):
        """(relay stream | None, our read end | None, the process's write end).

        Through the journal relay when it runs, so output survives this manager (issue 6);
        else a pipe this loop reads itself."""
        stream = self.relay_link.open_stream(action.unit, action.invocation_id, identifier, level_prefix)
        if stream is not None:
            return stream, None, stream.write_fd
        read_fd, write_fd = OutputCapture.pipe()
        return None, read_fd, write_fd

    def _spawn_failed(self, action: A.Spawn, err: int, text: str) -> None:
        # the engine logs "Failed to spawn '<task>' task: …" when it hears of it
        self._events.appendleft(E.SpawnFailed(action.spawn_id, err, text))

    def _accounting_paths(self, unit: str) -> tuple[str, ...]:
        paths = getattr(self.containment, "accounting_paths", None)
        return paths(unit) if paths else ()

    def _watch_exec_outcome(self, action: A.Spawn, pid: int, error_fd: int, path: str) -> None:
        """The child reports setup failures (203/EXEC …) on its error pipe, which closes
        empty once execve() succeeded (what Type=exec waits for). An outcome there already
        (the native helper answers the last spawn of a row after its exec) is handled in this
        turn, after the `Spawned` queued before it; else the loop watches the pipe."""

        def take_outcome() -> tuple[bool, E.Event | None]:
            """(whether the outcome is there, the event it gives); the fd is then closed."""
            outcome = read_exec_outcome(error_fd, path)
            if outcome is None:
                return False, None
            if outcome.failure is None:
                return True, E.ExecSucceeded(pid)
            for line in outcome.failure.messages():
                # systemd logs these as the child, e.g. "(nope)[1234]: Unable to locate …"
                self._write_entry(line, Priority.ERR, outcome.failure.ident, pid, unit=action.unit, invocation_id=action.invocation_id)
            return True, None

        def on_readable(mask: int, now: int) -> None:
            done, event = take_outcome()
            if not done:
                return
            # before the event: what it starts may get the closed fd's number and register it
            self.loop.selector.unregister(error_fd)
            if event is not None:
                self.feed(event)

        done, event = take_outcome()  # (the fd is non-blocking)
        if done:
            if event is not None:
                self._events.append(event)
            return
        self.loop.selector.register(error_fd, selectors.EVENT_READ, (0, on_readable))

    def _do_Kill(self, action: A.Kill) -> None:
        """The engine sends SIGCONT as its own Kill action, so none is added here.

        A PID whose exit is reaped but still queued (on_children_exited) is skipped: it is
        no longer ours, and the kernel may already have given the number to another
        process (the others are children not yet reaped, whose numbers cannot be reused,
        or processes a restored manager adopted)."""
        queued = {pid for pid, _code, _status in self._exits} if self._exits else ()
        for pid in action.pids:
            if pid in queued:
                continue
            try:
                os.kill(pid, action.signal)
            except (ProcessLookupError, PermissionError):
                pass
        if action.whole_unit:
            killed = self.containment.kill_all(action.unit, action.signal)
            if action.log_others:  # systemd: log_kill() for every other process of the unit
                name = signal.Signals(action.signal).name if action.signal in signal.Signals._value2member_map_ else str(action.signal)
                for proc in killed:
                    if proc.pid not in action.pids:
                        self.log(f"Killing process {proc.pid} ({proc.comm}) with signal {name}.", unit=action.unit, priority=Priority.NOTICE)

    def _do_WarnLeftoverProcesses(self, action: A.WarnLeftoverProcesses) -> None:
        """# systemd: unit_warn_leftover_processes()"""
        for pid in self.containment.pids(action.unit):
            comm = process_comm(pid)
            if action.starting:
                self.log(f"Found left-over process {pid} ({comm}) in control group while starting unit. Ignoring.", unit=action.unit, priority=Priority.WARNING)
                self.log("This usually indicates unclean termination of a previous run, or service implementation deficiencies.", unit=action.unit, priority=Priority.WARNING)
            else:
                self.log(f"Unit process {pid} ({comm}) remains running after unit stopped.", unit=action.unit, priority=Priority.INFO)

    def _do_RequestFailed(self, action: A.RequestFailed) -> None:
        listener = self.job_listeners.pop(action.request_id, None) if action.request_id is not None else None
        if listener is not None:
            listener(action)

    def _do_Log(self, action: A.Log) -> None:
        self.log(action.message, unit=action.unit, priority=action.priority, invocation_id=action.invocation_id)

    def _do_ReadPidFile(self, action: A.ReadPidFile) -> None:
        """PIDFile= (relative to /run) or, without one, the only process left in the unit."""
        pid = None
        if action.path is not None:
            path = action.path if action.path.startswith("/") else os.path.join("/run", action.path)
            try:
                with open(path) as f:
                    text = f.read().strip()
                pid = int(text) if text.isdigit() and int(text) > 1 else None
            except (OSError, ValueError):
                pid = None
        else:
            pids = self.containment.pids(action.unit)
            pid = pids[0] if len(pids) == 1 else None
        if pid is not None:
            self._pid_unit.setdefault(pid, action.unit)
        self._events.append(E.PidFileRead(action.unit, pid))

    def _do_StateChanged(self, action: A.StateChanged) -> None:
        """Status is read from the engine on demand; a service that has come to rest
        (dead or failed, not on its way to an automatic restart) with an empty cgroup loses
        its cgroup, as under systemd, instead of leaving one directory per unit behind.
        # systemd: unit_prune_cgroup()"""
        if (action.sub_state in ("dead", "failed") and self.containment.kind == "cgroup"
                and action.unit in self.manager.services and self.containment.is_empty(action.unit)):
            self.containment.remove(action.unit)

    def _do_JobCompleted(self, action: A.JobCompleted) -> None:
        listener = self.job_listeners.pop(action.request_id, None) if action.request_id is not None else None
        if listener is not None:
            listener(action)

    def _do_RunEmergencyAction(self, action: A.RunEmergencyAction) -> None:
        verb = action.action.value
        if verb == "none":
            return
        self.emergency_action = action.action  # the daemon's objective: exit, or restart in place
        status = max(action.exit_status, 0)  # the engine has logged "<Verb>: unit X failed"
        if verb.endswith("-force") or verb.endswith("-immediate"):
            for unit in self.units:
                self.containment.kill_all(unit, signal.SIGKILL)
            self.on_exit(status)
        else:
            self._events.append(E.ShutdownRequested(status))

    def _do_ExitManager(self, action: A.ExitManager) -> None:
        self.on_exit(action.exit_status)

    # --- journal ---

    def log(self, message: str, *, unit: str | None = None, priority: Priority = Priority.INFO, invocation_id: str | None = None) -> None:
        """A manager message, into the journal (and onto the console in the foreground)."""
        if priority > self.log_level:
            return
        self._write_entry(message, priority, MANAGER_IDENTIFIER, os.getpid(), unit=unit, invocation_id=invocation_id)

    def _write_entry(self, message: str, priority: int, identifier: str, pid: int, *, unit: str | None, invocation_id: str | None) -> None:
        entry = {
            "MESSAGE": message,
            "PRIORITY": str(int(priority)),
            "SYSLOG_IDENTIFIER": identifier,
            "_PID": str(pid),
            "_COMM": identifier[:15],
            "_TRANSPORT": "journal",
            "__REALTIME_TIMESTAMP": realtime_usec(),
            "__MONOTONIC_TIMESTAMP": monotonic_usec(),
        }
        if unit is not None:
            entry["UNIT"] = unit
            if invocation_id:
                entry["INVOCATION_ID"] = invocation_id
        self._pending_entries.append(entry)
        if len(self._pending_entries) >= PENDING_ENTRIES_MAX:
            self.write_pending()

    def write_pending(self) -> None:
        """Write the manager messages logged since the last call into the journal writer
        and onto the console, with the times they were logged.

        Messages wait for this rather than being written as they are logged because they
        are on the restart path: writing the "Main process exited", "Failed with result",
        "Scheduled restart job" lines of a crash before spawning its replacement cost that
        restart ~0.3 ms. The loop writes them after each iteration, the shell while the spawn
        helper clones, and requests see them before they are answered (control handler)."""
        entries, self._pending_entries = self._pending_entries, []
        if not entries:
            return
        for entry in entries:
            self.journal.append(entry)
        self.journal.flush()
        self._echo(*entries)

    def _on_output(self, stream: OutputStream, lines: StreamLines) -> None:
        fields = {
            "SYSLOG_IDENTIFIER": stream.identifier,
            "_PID": str(stream.pid),
            "_COMM": stream.identifier[:15],
            "_SYSTEMD_UNIT": stream.unit,
            "_SYSTEMD_INVOCATION_ID": stream.invocation_id,
            "_TRANSPORT": "stdout",
        }
        self.write_pending()  # earlier manager messages first, in the journal and on the console
        realtime = realtime_usec()
        self.journal.append_lines(fields, lines, realtime, monotonic_usec())
        if self.console and not self.console_by_relay:  # (formatting costs: only when we print)
            self._echo(*({**fields, "MESSAGE": message.decode("utf-8", "replace"), "PRIORITY": str(priority), "__REALTIME_TIMESTAMP": str(realtime)}
                         for message, priority in zip(lines.messages, lines.priorities)))

    def _echo(self, *entries: dict) -> None:
        """Our lines on the console when no relay console prints what we store: never waited for."""
        if not self.console or self.console_by_relay:
            return
        if self._console_out is None:
            from sysvisor.daemon.console_out import ConsoleOut  # noqa: PLC0415 - only without a relay console

            self._console_out = ConsoleOut(sys.stdout.fileno())
        try:
            self._console_out.write_lines([format_entry({k: str(v) for k, v in entry.items()} | {"_HOSTNAME": self.hostname}, "short")
                                           .encode("utf-8", "replace") for entry in entries])
        except (OSError, ValueError):
            self.console = False  # the terminal went away; the journal keeps everything

    # --- properties for status/show ---

    def properties(self, name: str) -> dict:
        """Config + runtime properties of `name`, realtime timestamps and process readings filled in."""
        from sysvisor.core.properties import unit_properties

        props = unit_properties(self.units[name])
        runtime = self.manager.runtime_properties(name)
        offset = realtime_offset_usec()
        for record in runtime.pop("ExecCommands", ()):
            configured = props.get(record["phase"])
            if configured and record["index"] < len(configured):
                start, stop = record["start_monotonic"], record["exit_monotonic"]
                configured[record["index"]].update(
                    pid=record["pid"], code=record["code"], status=record["status"],
                    start_time=start + offset if start else 0, stop_time=stop + offset if stop else 0,
                )
        props.update(runtime)
        job = self.manager.jobs.get(name)
        props["Job"] = job.id if job else 0  # status prints "Job: <id>", list-units the type
        props["JobType"] = str(job.type) if job else ""
        for key, value in list(props.items()):
            if key.endswith("TimestampMonotonic"):
                props[key[: -len("Monotonic")]] = value + offset if value else 0
        for pid_key in ("MainPID", "ControlPID"):
            pid = props.get(pid_key) or 0
            if pid > 0:
                props[pid_key + "Comm"] = process_comm(pid)
        c = self.containment
        if props.get("ActiveState") not in ("inactive", "failed") and name in self.manager.services:
            props["TasksCurrent"] = c.tasks(name)
            props["MemoryCurrent"] = c.memory(name)
            props["CPUUsageNSec"] = c.cpu_usage_nsec(name)
            props["ControlGroup"] = c.display_path(name)
            props["CGroupProcesses"] = [(pid, _cmdline(pid)) for pid in c.pids(name)]
        return props

    def manager_properties(self) -> dict:
        """`systemctl show` with no unit: the manager's state. # spec: systemctl-and-journal.md §1"""
        from sysvisor import __version__

        states = [self.manager.runtime_properties(n)["ActiveState"] for n in self.units if n in self.manager.services]
        failed = sum(1 for s in states if s == "failed")
        jobs = len(self.manager.jobs.by_unit)
        if self.manager.shutting_down:
            system_state = "stopping"
        elif failed:
            system_state = "degraded"
        elif jobs and not self.boot_finished:
            system_state = "starting"
        else:
            system_state = "running"
        base = getattr(self.containment, "base", None)
        tree = {"path": "/", "processes": [], "children": []}
        for name in sorted(self.units):
            pids = self.containment.pids(name) if name in self._tracked_units() or self.containment.kind == "cgroup" else []
            if pids:
                tree["children"].append({"path": name, "processes": [(pid, _cmdline(pid)) for pid in pids]})
        return {
            "Version": f"sysvisor {__version__}",
            "SystemState": system_state,
            "NNames": len(self.units),
            "NJobs": jobs,
            "NFailedUnits": failed,
            "UserspaceTimestamp": self.started_realtime,
            "ControlGroup": self.containment.display_path("").rstrip("/") if base else "",
            "CGroupTree": tree,
        }

    def close(self) -> None:
        if self.spawner is not None:
            self.spawner.close()
        self.relay_link.close()
        self.output.close_all()
        self.clock_watch.close()
        self.write_pending()
        self.journal.flush()
        self.containment.close()


class _SpawnInFlight:
    """One Spawn action between its preparation and the helper's answer."""

    __slots__ = ("action", "service", "identifier", "stream", "read_fd", "write_fd", "request", "idle_read", "helper", "pending")

    def __init__(self, action: A.Spawn, service, identifier: str, stream, read_fd: int | None, write_fd: int) -> None:
        self.action, self.service, self.identifier = action, service, identifier
        self.stream, self.read_fd, self.write_fd = stream, read_fd, write_fd
        self.request = None
        self.idle_read: int | None = None
        self.helper: Spawner | None = None
        self.pending = None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""
