"""`sysvisor up`: build the shell around the engine and run the loop until told to exit."""

from __future__ import annotations

import hashlib
import os
import selectors
import signal
import sys
import uuid

from sysvisor import __version__
from sysvisor.core import events as E
from sysvisor.core.types import Priority
from sysvisor.daemon.children import reap
from sysvisor.daemon.containment import set_child_subreaper
from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.notify_socket import NotifySocket
from sysvisor.daemon.requests import RequestHandler
from sysvisor.daemon.shell import Shell
from sysvisor.daemon.signals import SignalPipe
from sysvisor.journal.store import JournalError, JournalWriter
from sysvisor.protocol import control
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

# Until targets and enablement land (issue 7) these [Install] targets mean "start at boot".
BOOT_TARGETS = ("default.target", "multi-user.target", "graphical.target")


class Daemon:
    """One manager instance: directories, loop, shell, control socket."""

    def __init__(self, unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, console: bool = True, log_level: int = Priority.INFO) -> None:
        self.log_level = log_level
        self.user_manager = os.getuid() != 0
        self.runtime_dir = runtime_dir or control.runtime_dir()
        self.state_dir = state_dir or control.state_dir()
        self.search_paths = [os.path.abspath(d) for d in unit_dirs] if unit_dirs else default_search_paths(user=self.user_manager)
        self.exit_status: int | None = None
        self.console = console

    def run(self) -> int:
        try:
            os.makedirs(self.runtime_dir, mode=0o755, exist_ok=True)
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
            journal = JournalWriter(os.path.join(self.state_dir, "journal"), boot_id=uuid.uuid4().hex)
        except (OSError, JournalError) as e:
            print(f"sysvisor: {e}", file=sys.stderr)
            return 1
        socket_path = os.path.join(self.runtime_dir, "control")
        loader = UnitLoader(self.search_paths)
        units = loader.load_all()

        loop = EventLoop()
        self.loop = loop
        notify_sockets = self._notify_sockets()
        shell = Shell(
            units,
            loop,
            journal,
            on_exit=self._exit,
            user_manager=self.user_manager,
            containment_name=_containment_name(self.runtime_dir),
            notify_socket_path=notify_sockets[0].path if notify_sockets else None,
            console=self.console,
            log_level=self.log_level,
        )
        self.shell = shell
        info = {
            "runtime_dir": self.runtime_dir,
            "state_dir": self.state_dir,
            "journal_dir": journal.directory,
            "search_paths": self.search_paths,
            "user_manager": self.user_manager,
        }
        handler = RequestHandler(shell, lambda: server, info)
        try:
            server = ControlServer(socket_path, loop.selector, handler)
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
        subreaper = set_child_subreaper()

        mode = "user" if self.user_manager else "system"
        shell.log(f"sysvisor {__version__} running in {mode} mode (unit path: {':'.join(self.search_paths)}; control socket: {socket_path}; containment: {shell.containment.kind}).")
        if not subreaper:
            shell.log("Failed to become a child subreaper; orphaned processes of units will escape.", priority=Priority.WARNING)
        for name in sorted(units):
            for d in loader.diagnostics(name):
                shell.log(str(d), unit=name, priority=Priority.ERR if getattr(d, "severity", "") == "error" else Priority.WARNING)
        for name in sorted(units):
            if set(units[name].install.wanted_by) & set(BOOT_TARGETS) and units[name].load_state == "loaded":
                shell.feed(E.StartRequested(name))
        try:
            loop.run()
        finally:
            server.shutdown()
            for ns in notify_sockets:
                ns.close()
            shell.close()
            journal.close()
            signals.close()
        return self.exit_status or 0

    def _notify_sockets(self) -> list[NotifySocket]:
        """Our own notify socket, plus systemd's well-known path as a container's PID 1 (D3)."""
        paths = [os.path.join(self.runtime_dir, "notify")]
        if os.getpid() == 1 and not os.path.exists("/run/systemd/system"):
            os.makedirs("/run/systemd", exist_ok=True)
            paths.append("/run/systemd/notify")
        sockets = []
        for path in paths:
            try:
                sockets.append(NotifySocket(path))
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
        self.loop.stop()

    def _on_signals(self, received: list[int], now: int) -> None:
        # Reap on every wake-up of the signal pipe: SIGCHLDs coalesce.
        self.shell.on_children_exited(reap())
        for signum in received:
            if signum in (signal.SIGTERM, signal.SIGINT):
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


def run(unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, log_level: int = Priority.INFO) -> int:
    """Entry point of `sysvisor up`."""
    return Daemon(unit_dirs, runtime_dir, state_dir, log_level=log_level).run()
