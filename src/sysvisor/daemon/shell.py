"""The imperative shell around the pure engine: feeds it facts, carries out its actions.

This is the only place where engine actions meet the OS. Events produced while carrying out
actions (`Spawned` answers, exits found on the way) are fed back before anything else, so the
engine always sees a consistent order of facts.
# spec: ARCHITECTURE.md "The one idea"
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import uuid
from collections import deque
from collections.abc import Callable

from sysvisor.core import actions as A
from sysvisor.core import events as E
from sysvisor.core.manager import Manager
from sysvisor.core.types import Priority
from sysvisor.core.units import Unit
from sysvisor.daemon.clock import monotonic_usec, realtime_offset_usec, realtime_usec
from sysvisor.daemon.exec_context import spawn_command
from sysvisor.daemon.output import OutputCapture, OutputStream
from sysvisor.journal.format import format_entry
from sysvisor.journal.store import JournalWriter

MANAGER_IDENTIFIER = "sysvisor"  # decision D5


class Shell:
    """Owns the engine, the journal writer and every process the engine asked for."""

    def __init__(
        self,
        units: dict[str, Unit],
        loop,
        journal: JournalWriter,
        *,
        console: bool = True,
        on_exit: Callable[[int], None],
        user_manager: bool,
    ) -> None:
        self.units = units
        self.loop = loop
        self.journal = journal
        self.console = console
        self.on_exit = on_exit
        self.user_manager = user_manager
        self.boot_id = uuid.uuid4().hex
        self.hostname = socket.gethostname()
        self.manager = Manager(units)
        self.output = OutputCapture(loop.selector, self._on_output_line)
        self._events: deque[E.Event] = deque()
        self._pid_unit: dict[int, str] = {}
        self._unit_pgids: dict[str, set[int]] = {}
        self.job_listeners: dict[int, Callable[[A.JobCompleted], None]] = {}
        self._next_request_id = 1
        loop.add_deadline(self.manager.next_deadline, lambda now: self.feed(E.TimePassed(), now))

    # --- feeding the engine ---

    def feed(self, event: E.Event, now: int | None = None) -> None:
        """Hand `event` (and whatever carrying out its actions produces) to the engine."""
        self._events.append(event)
        while self._events:
            ev = self._events.popleft()
            for action in self.manager.handle(ev, monotonic_usec() if now is None else now):
                self._carry_out(action)
            now = None
        self.journal.flush()

    def new_request_id(self, listener: Callable[[A.JobCompleted], None]) -> int:
        rid = self._next_request_id
        self._next_request_id += 1
        self.job_listeners[rid] = listener
        return rid

    def on_children_exited(self, exited) -> None:
        for pid, code, status in exited:
            self.output.drain(pid)
            unit = self._pid_unit.pop(pid, None)
            if unit is None:
                continue  # an orphan re-parented to us: reaped, nothing to tell
            self.feed(E.ProcessExited(pid, code, status))

    # --- carrying out actions ---

    def _carry_out(self, action: A.Action) -> None:
        handler = getattr(self, "_do_" + type(action).__name__, None)
        if handler is None:
            self.log(f"Ignoring unsupported engine action {type(action).__name__}.", priority=Priority.DEBUG)
            return
        handler(action)

    def _do_Spawn(self, action: A.Spawn) -> None:
        unit = self.units[action.unit]
        service = unit.service
        read_fd, write_fd = OutputCapture.pipe()
        try:
            pid = spawn_command(
                action.command,
                service,
                manager_vars=action.environment,
                invocation_id=action.invocation_id,
                stdout_fd=write_fd,
                user_manager=self.user_manager,
            )
        except OSError as e:
            os.close(read_fd)
            os.close(write_fd)
            self.log(f"Failed to spawn '{action.phase}' task: {e.strerror}", unit=action.unit, priority=Priority.ERR)
            self._events.appendleft(E.SpawnFailed(action.spawn_id, e.errno or errno.EIO, str(e)))
            return
        os.close(write_fd)
        identifier = (service.syslog_identifier if service and service.syslog_identifier else None) or os.path.basename(action.command.argv[0] if action.command.argv else action.command.path)
        level_prefix = service.syslog_level_prefix if service else True
        self.output.attach(read_fd, action.unit, pid, action.invocation_id, identifier, level_prefix)
        self._pid_unit[pid] = action.unit
        self._unit_pgids.setdefault(action.unit, set()).add(pid)  # setsid(): pid == pgid
        self._events.appendleft(E.Spawned(action.spawn_id, pid))

    def _do_Kill(self, action: A.Kill) -> None:
        if action.whole_unit:
            for pgid in list(self._unit_pgids.get(action.unit, ())):
                try:
                    os.killpg(pgid, action.signal)
                except ProcessLookupError:
                    self._unit_pgids[action.unit].discard(pgid)
                except PermissionError:
                    pass
        for pid in action.pids:
            try:
                os.kill(pid, action.signal)
            except (ProcessLookupError, PermissionError):
                pass

    def _do_Log(self, action: A.Log) -> None:
        self.log(action.message, unit=action.unit, priority=action.priority, invocation_id=action.invocation_id)

    def _do_StateChanged(self, action: A.StateChanged) -> None:
        pass  # status is read from the engine on demand

    def _do_JobCompleted(self, action: A.JobCompleted) -> None:
        listener = self.job_listeners.pop(action.request_id, None) if action.request_id is not None else None
        if listener is not None:
            listener(action)

    def _do_RunEmergencyAction(self, action: A.RunEmergencyAction) -> None:
        verb = action.action.value
        if verb == "none":
            return
        self.log(f"{_ACTION_VERBS.get(verb.split('-')[0], 'Exiting')}: {action.reason}", priority=Priority.NOTICE)
        if verb.endswith("-force") or verb.endswith("-immediate"):
            self._kill_everything()
            self.on_exit(action.exit_status)
        else:
            self.feed(E.ShutdownRequested(action.exit_status))

    def _do_ExitManager(self, action: A.ExitManager) -> None:
        self.on_exit(action.exit_status)

    def _kill_everything(self) -> None:
        for unit in list(self._unit_pgids):
            self._do_Kill(A.Kill(unit, signal.SIGKILL, whole_unit=True))

    # --- journal ---

    def log(self, message: str, *, unit: str | None = None, priority: Priority = Priority.INFO, invocation_id: str | None = None) -> None:
        """A manager message, into the journal (and onto the console in the foreground)."""
        entry = self._entry(message, priority)
        entry.update(SYSLOG_IDENTIFIER=MANAGER_IDENTIFIER, _PID=str(os.getpid()), _COMM=MANAGER_IDENTIFIER, _TRANSPORT="journal")
        if unit is not None:
            entry["UNIT"] = unit
            if invocation_id:
                entry["INVOCATION_ID"] = invocation_id
        self._write(entry)

    def _on_output_line(self, stream: OutputStream, priority: int, text: str) -> None:
        entry = self._entry(text, priority)
        entry.update(
            SYSLOG_IDENTIFIER=stream.identifier,
            _PID=str(stream.pid),
            _COMM=stream.identifier[:15],
            _SYSTEMD_UNIT=stream.unit,
            _SYSTEMD_INVOCATION_ID=stream.invocation_id,
            _TRANSPORT="stdout",
        )
        self._write(entry)

    def _entry(self, message: str, priority: int) -> dict:
        return {
            "MESSAGE": message,
            "PRIORITY": str(int(priority)),
            "__REALTIME_TIMESTAMP": str(realtime_usec()),
            "__MONOTONIC_TIMESTAMP": str(monotonic_usec()),
            "_BOOT_ID": self.boot_id,
            "_HOSTNAME": self.hostname,
        }

    def _write(self, entry: dict) -> None:
        self.journal.append(entry)
        if self.console:
            try:
                sys.stdout.write(format_entry(entry, "short") + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                self.console = False  # the terminal went away; the journal keeps everything

    # --- properties for status/show ---

    def properties(self, name: str) -> dict:
        """Config + runtime properties of `name` with realtime timestamps filled in."""
        from sysvisor.core.properties import unit_properties

        props = dict(unit_properties(self.units[name]))
        props.update(self.manager.runtime_properties(name))
        offset = realtime_offset_usec()
        for key, value in list(props.items()):
            if key.endswith("TimestampMonotonic"):
                props[key[: -len("Monotonic")]] = value + offset if value else 0
        for key, value in props.items():
            if isinstance(value, list) and value and isinstance(value[0], dict) and "start_time_monotonic" in value[0]:
                for record in value:
                    for which in ("start_time", "stop_time"):
                        mono = record.get(which + "_monotonic") or 0
                        record[which] = mono + offset if mono else 0
        return props

    def close(self) -> None:
        self.output.close_all()
        self.journal.flush()


_ACTION_VERBS = {"reboot": "Rebooting", "poweroff": "Powering off", "halt": "Halting", "kexec": "Rebooting with kexec", "soft": "Soft-rebooting", "exit": "Exiting"}
