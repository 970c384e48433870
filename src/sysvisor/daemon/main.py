"""`sysvisor up`: build the shell around the engine and run the loop until told to exit."""

from __future__ import annotations

import os
import signal
import sys

from sysvisor import __version__
from sysvisor.core import events as E
from sysvisor.core.types import Priority
from sysvisor.daemon.children import become_subreaper, reap
from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.requests import RequestHandler
from sysvisor.daemon.shell import Shell
from sysvisor.daemon.signals import SignalPipe
from sysvisor.journal.store import JournalWriter
from sysvisor.protocol import control
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

# Until targets and enablement land (issue 7) these [Install] targets mean "start at boot".
BOOT_TARGETS = ("default.target", "multi-user.target", "graphical.target")


class Daemon:
    """One manager instance: directories, loop, shell, control socket."""

    def __init__(self, unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, console: bool = True) -> None:
        self.user_manager = os.getuid() != 0
        self.runtime_dir = runtime_dir or control.runtime_dir()
        self.state_dir = state_dir or control.state_dir()
        self.search_paths = unit_dirs or default_search_paths(user=self.user_manager)
        self.exit_status: int | None = None
        self.console = console

    def run(self) -> int:
        os.makedirs(self.runtime_dir, mode=0o755, exist_ok=True)
        os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
        socket_path = os.path.join(self.runtime_dir, "control")
        loader = UnitLoader(self.search_paths)
        units = loader.load_all()

        loop = EventLoop()
        self.loop = loop
        journal = JournalWriter(os.path.join(self.state_dir, "journal"))
        shell = Shell(units, loop, journal, console=self.console, on_exit=self._exit, user_manager=self.user_manager)
        self.shell = shell
        info = {"runtime_dir": self.runtime_dir, "state_dir": self.state_dir, "journal_dir": os.path.join(self.state_dir, "journal"), "search_paths": self.search_paths, "user_manager": self.user_manager}
        handler = RequestHandler(shell, lambda: server, info)
        try:
            server = ControlServer(socket_path, loop.selector, handler)
        except (RuntimeError, OSError) as e:
            print(f"sysvisor: cannot listen on {socket_path}: {e}", file=sys.stderr)
            journal.close()
            return 1
        loop.add_deadline(server.next_deadline, server.expire)
        signals = SignalPipe()
        loop.selector.register(signals, 1 << 0, (1, lambda mask, now: self._on_signals(signals.drain(), now)))
        subreaper = become_subreaper()

        mode = "user" if self.user_manager else "system"
        shell.log(f"sysvisor {__version__} running in {mode} mode (unit path: {':'.join(self.search_paths)}; control socket: {socket_path}).")
        if not subreaper:
            shell.log("Failed to become a child subreaper; orphaned processes of units will escape.", priority=Priority.WARNING)
        for name, diagnostics in sorted(loader.all_diagnostics().items()):
            for d in diagnostics:
                shell.log(str(d), unit=name, priority=Priority.WARNING if d.severity != "error" else Priority.ERR)
        for name in sorted(units):
            if set(units[name].install.wanted_by) & set(BOOT_TARGETS) and units[name].load_state == "loaded":
                shell.feed(E.StartRequested(name))
        try:
            loop.run()
        finally:
            server.shutdown()
            shell.close()
            journal.close()
            signals.close()
        return self.exit_status or 0

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


def run(unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None) -> int:
    """Entry point of `sysvisor up`."""
    return Daemon(unit_dirs, runtime_dir, state_dir).run()
