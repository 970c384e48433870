"""`sysvisor up`: build the shell around the engine and run the loop until told to exit."""

from __future__ import annotations

import hashlib
import os
import selectors
import signal
import sys
import time
import uuid

from sysvisor import __version__
from sysvisor.core import events as E
from sysvisor.core.types import Priority
from sysvisor.daemon import persist, reexec
from sysvisor.daemon.boot import enablement
from sysvisor.daemon.children import reap
from sysvisor.daemon.containment import set_child_subreaper
from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.notify_socket import NotifySocket
from sysvisor.daemon.requests import RequestHandler
from sysvisor.daemon.shell import Shell
from sysvisor.daemon.signals import SignalPipe
from sysvisor.journal.relay import RelayClient, RelayError, start_relay
from sysvisor.journal.store import JournalError, JournalWriter
from sysvisor.protocol import control
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

class Daemon:
    """One manager instance: directories, loop, shell, control socket."""

    def __init__(self, unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, console: bool = True, log_level: int = Priority.INFO, deserialize: str | None = None, journal_max_use: int | None = None) -> None:
        self.deserialize = deserialize
        self.journal_max_use = journal_max_use
        self.log_level = log_level
        self.user_manager = os.getuid() != 0
        self.runtime_dir = runtime_dir or control.runtime_dir()
        self.state_dir = state_dir or control.state_dir()
        self.explicit_units = bool(unit_dirs)
        self.search_paths = [os.path.abspath(d) for d in unit_dirs] if unit_dirs else default_search_paths(user=self.user_manager)
        self.exit_status: int | None = None
        self.console = console

    def run(self) -> int:
        try:
            os.makedirs(self.runtime_dir, mode=0o755, exist_ok=True)
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
            journal = JournalWriter(os.path.join(self.state_dir, "journal"), self.journal_max_use, boot_id=uuid.uuid4().hex)
        except (OSError, JournalError) as e:
            print(f"sysvisor: {e}", file=sys.stderr)
            return 1
        socket_path = os.path.join(self.runtime_dir, "control")
        loader = UnitLoader(self.search_paths)
        units = loader.load_all()

        loop = EventLoop()
        self.loop = loop
        notify_paths = self._notify_paths()
        shell = Shell(
            units,
            loop,
            journal,
            on_exit=self._exit,
            user_manager=self.user_manager,
            containment_name=_containment_name(self.runtime_dir),
            notify_socket_path=notify_paths[0] if notify_paths else None,
            console=self.console,
            log_level=self.log_level,
            timer_stamp_dir=os.path.join(self.state_dir, "timers"),
            enablement=lambda units: enablement(self.search_paths, units, explicit=self.explicit_units),
        )
        self.shell = shell
        self._start_relay(journal)
        kept = shell.restore_after_reexec(self.deserialize) if self.deserialize else {}
        notify_sockets = self._notify_sockets(notify_paths, kept)
        info = {
            "runtime_dir": self.runtime_dir,
            "state_dir": self.state_dir,
            "journal_dir": journal.directory,
            "search_paths": self.search_paths,
            "user_manager": self.user_manager,
        }
        handler = RequestHandler(shell, lambda: server, info)
        try:
            server = ControlServer(socket_path, loop.selector, handler, listener_fd=kept.get("control"))
        except (RuntimeError, OSError) as e:
            print(f"sysvisor: cannot listen on {socket_path}: {e}", file=sys.stderr)
            shell.close()
            journal.close()
            return 1
        loop.add_deadline(server.next_deadline, server.expire)
        for ns in notify_sockets:
            loop.selector.register(ns, selectors.EVENT_READ, (0, lambda mask, now, ns=ns: self._on_notify(ns)))
        signals = SignalPipe()
        loop.selector.register(signals, selectors.EVENT_READ, (1, lambda mask, now: self._on_signals(signals.drain(), now)))
        reexec.release_signals()
        subreaper = set_child_subreaper()

        mode = "user" if self.user_manager else "system"
        shell.log(f"sysvisor {__version__} running in {mode} mode (unit path: {':'.join(self.search_paths)}; control socket: {socket_path}; containment: {shell.containment.kind}).")
        if not subreaper:
            shell.log("Failed to become a child subreaper; orphaned processes of units will escape.", priority=Priority.WARNING)
        for name in sorted(units):
            for d in loader.diagnostics(name):
                shell.log(str(d), unit=name, priority=Priority.ERR if getattr(d, "severity", "") == "error" else Priority.WARNING)
        state_path = os.path.join(self.state_dir, persist.STATE_FILE_NAME)
        restored = bool(kept) or shell.restore(state_path)
        shell.state_file = persist.StateFile(state_path, lambda m: shell.log(m, priority=Priority.WARNING))
        loop.after_iteration.append(lambda: shell.state_file is not None and shell.state_file.flush(shell.manager))
        loop.after_iteration.append(lambda: shell.reexec_requested and self._reexec(server, notify_sockets))
        # boot: default.target and everything enabled into it, in dependency order. A manager
        # that continues from saved state starts it without isolating (what runs stays; the
        # saved state holds no timers and targets, so those come up afresh)
        shell.feed(E.BootRequested(isolate=not restored))
        try:
            loop.run()
        finally:
            server.shutdown()
            for ns in notify_sockets:
                ns.close()
            shell.close()
            self._stop_relay()
            journal.close()
            signals.close()
        return self.exit_status or 0

    # --- the journal relay: owns the units' output pipes, outlives a crashed manager ---

    def _start_relay(self, journal: JournalWriter) -> None:
        self.relay_socket = os.path.join(self.runtime_dir, "journal.sock")
        self.relay_pid = None
        try:
            self.relay_pid = start_relay(journal.directory, self.relay_socket, boot_id=journal.boot_id, max_use_bytes=self.journal_max_use,
                                         hostname=self.shell.hostname, echo=self.console)
            client = RelayClient(self.relay_socket, boot_id=journal.boot_id)
        except RelayError as e:
            self.shell.log(f"{e} Reading unit output in the manager; it will not survive a manager crash.", priority=Priority.WARNING)
            return
        if self.shell.relay is None:
            self.shell.relay = client
        else:
            self.shell.reattach_relay(client)

    def _stop_relay(self) -> None:
        """After a clean shutdown: the relay drains every pipe, then exits."""
        if self.shell.relay is not None:
            self.shell.relay.close()
        pid = self.relay_pid
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):  # bounded: the relay exits as soon as its pipes are empty
                done, _status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return
                time.sleep(0.01)
        except (ProcessLookupError, ChildProcessError):
            pass


    def _reexec(self, server, notify_sockets) -> None:
        """daemon-reexec: same PID, same children, same sockets and output pipes."""
        shell = self.shell
        shell.reexec_requested = False
        fds = {"control": server.listener_fileno()}
        fds.update({f"notify:{ns.path}": ns.fileno() for ns in notify_sockets})
        out_fds, out_info = shell.output_fds()
        fds.update(out_fds)
        path = os.path.join(self.runtime_dir, "reexec-state.json")
        shell.log("Reexecuting.")
        try:
            argv = reexec.prepare_reexec(shell.manager, path, fds, reexec.current_command(), extra={"output": out_info})
            shell.journal.flush()
            reexec.reexec(argv, fds)
        except Exception as e:  # noqa: BLE001 - keep running in the old image
            shell.log(f"Failed to reexecute: {e}", priority=Priority.ERR)

    def _notify_paths(self) -> list[str]:
        paths = [os.path.join(self.runtime_dir, "notify")]
        if os.getpid() == 1 and not os.path.exists("/run/systemd/system"):
            os.makedirs("/run/systemd", exist_ok=True)
            paths.append("/run/systemd/notify")
        return paths

    def _notify_sockets(self, paths: list[str], kept: dict[str, int]) -> list[NotifySocket]:
        """Our own notify socket, plus systemd's well-known path as a container's PID 1 (D3)."""
        sockets = []
        for path in paths:
            try:
                sockets.append(NotifySocket(path, kept.get(f"notify:{path}")))
            except OSError as e:
                print(f"sysvisor: cannot bind notify socket {path}: {e.strerror}", file=sys.stderr)
        return sockets

    def _on_notify(self, ns: NotifySocket) -> None:
        messages, warnings = ns.receive()
        for warning in warnings:
            self.shell.log(warning, priority=Priority.WARNING)
        for message in messages:
            try:
                self.shell.feed(E.NotifyReceived(message.pid, message.fields, unit=self.shell.unit_of_pid(message.pid)))
            finally:
                message.close_fds()  # after handling: this answers BARRIER=1

    def _exit(self, status: int) -> None:
        self.exit_status = status
        sf = self.shell.state_file
        if sf is not None and all(s.active_state in ("inactive", "failed") for s in self.shell.manager.services.values()):
            sf.remove()  # nothing left to continue; otherwise (second SIGTERM) a new manager adopts the units
            self.shell.state_file = None
        self.loop.stop()

    def _on_signals(self, received: list[int], now: int) -> None:
        # Reap on every wake-up of the signal pipe: SIGCHLDs coalesce.
        exited = reap()
        if self.relay_pid and any(pid == self.relay_pid for pid, _c, _s in exited):
            self.shell.log("The journal relay died; starting a new one.", priority=Priority.WARNING)
            self._start_relay(self.shell.journal)
        self.shell.on_children_exited(exited)
        for signum in received:
            if signum == signal.SIGHUP:  # systemd: SIGHUP → daemon-reload
                self.shell.reload_units(self.search_paths)
            elif signum in (signal.SIGTERM, signal.SIGINT):
                if self.shell.manager.shutting_down:
                    self.shell.log("Received second termination request, exiting without waiting for units.", priority=Priority.WARNING)
                    self._exit(self.exit_status or 0)
                else:
                    self.shell.log(f"Received {signal.Signals(signum).name}, stopping all units.")
                    self.shell.feed(E.ShutdownRequested(0))


def _containment_name(runtime_dir: str) -> str:
    """Managers with different runtime dirs (tests, users) must not share unit cgroups."""
    if runtime_dir in ("/run/sysvisor",):
        return "sysvisor"
    return "sysvisor-" + hashlib.sha1(os.path.abspath(runtime_dir).encode()).hexdigest()[:10]


def run(unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, log_level: int = Priority.INFO, deserialize: str | None = None, journal_max_use: int | None = None) -> int:
    """Entry point of `sysvisor up`."""
    return Daemon(unit_dirs, runtime_dir, state_dir, log_level=log_level, deserialize=deserialize, journal_max_use=journal_max_use).run()
