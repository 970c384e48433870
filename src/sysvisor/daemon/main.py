"""`sysvisor up`: build the shell around the engine and run the loop until told to exit."""

from __future__ import annotations

import hashlib
import os
import selectors
import signal
import sys

from sysvisor import __version__
from sysvisor.core import events as E
from sysvisor.core.actions import RunEmergencyAction
from sysvisor.core.types import EmergencyAction, ExitCode, Priority
from sysvisor.daemon import objective as obj
from sysvisor.daemon import persist, reexec
from sysvisor.daemon.boot import enablement, guard_systemd_own_services
from sysvisor.daemon.children import reap, wait_for_exit
from sysvisor.daemon.containment import set_child_subreaper
from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.keeper_link import KeeperError, KeeperLink
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.notify_socket import NotifySocket
from sysvisor.daemon.requests import READ_ONLY_VERBS, RequestHandler
from sysvisor.daemon.shell import Shell
from sysvisor.daemon.signals import SignalPipe
from sysvisor.fdlimit import raise_open_files_limit
from sysvisor.id128 import random_id128
from sysvisor.journal.console import WAIT_AT_EXIT as CONSOLE_WAIT_AT_EXIT
from sysvisor.journal.relay import RelayClient, RelayError, start_relay
from sysvisor.journal.store import JournalError, JournalWriter
from sysvisor.protocol import control
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

RELAY_DRAIN_WAIT = 2.0  # seconds a stopping relay may take to read its pipes empty


class Daemon:
    """One manager instance: directories, loop, shell, control socket."""

    def __init__(self, unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, console: bool = True, log_level: int = Priority.INFO, deserialize: str | None = None, journal_max_use: int | None = None,
                 keeper_fd: int | None = None, allow_host_reboot: bool = False) -> None:
        self.deserialize = deserialize
        self.keeper_fd = keeper_fd
        self.keeper: KeeperLink | None = None
        self.allow_host_reboot = allow_host_reboot
        self.objective: obj.Objective | None = None  # set when the loop stops to restart in place
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
        raise_open_files_limit()
        kept_exits, deaths = [], []
        if self.keeper_fd is not None:
            try:
                self.keeper = KeeperLink(self.keeper_fd)
                if not self.keeper.bind_lifetime():
                    raise KeeperError("the keeper is gone")
                kept_exits, deaths = self.keeper.hello()
            except (KeeperError, OSError) as e:
                print(f"sysvisor: cannot talk to the keeper: {e}", file=sys.stderr)
                return 1
        try:
            os.makedirs(self.runtime_dir, mode=0o755, exist_ok=True)
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
            journal = JournalWriter(os.path.join(self.state_dir, "journal"), self.journal_max_use, boot_id=random_id128())
        except (OSError, JournalError) as e:
            print(f"sysvisor: {e}", file=sys.stderr)
            return 1
        socket_path = os.path.join(self.runtime_dir, "control")
        loader = UnitLoader(self.search_paths)
        units = loader.load_all()
        systemd_own = guard_systemd_own_services(units)

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
        for d in deaths:
            how = f"exited with status {d.status}" if d.code == ExitCode.EXITED else f"was killed by signal {d.status} ({obj.signal_name(d.status)})"
            shell.log(f"The previous manager (PID {d.pid}) {how}; the keeper (PID {self.keeper.keeper_pid}) started this one.", priority=Priority.WARNING)
        self._start_relay(journal)
        keeper_pid = self.keeper.keeper_pid if self.keeper else None
        kept = shell.restore_after_reexec(self.deserialize, kept_exits, keeper_pid) if self.deserialize else {}
        notify_sockets = self._notify_sockets(notify_paths, kept)
        info = {
            "runtime_dir": self.runtime_dir,
            "state_dir": self.state_dir,
            "journal_dir": journal.directory,
            "search_paths": self.search_paths,
            "enabled_dirs": self.search_paths if self.explicit_units else [],  # daemon/boot.py
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
        # once after the manager's last messages: a flush then completes their tail index
        loop.add_deadline(lambda: _usec(shell.journal.index_due_at()), lambda now: shell.journal.flush())
        shell.reap_children = self._reap_children
        shell.serve_requests = lambda mid_turn: server.serve_ready(_read_only if mid_turn else None)
        loop.after_iteration.append(shell.write_pending)
        loop.after_iteration.append(server.serve_deferred)
        for ns in notify_sockets:
            loop.selector.register(ns, selectors.EVENT_READ, (0, lambda mask, now, ns=ns: self._on_notify(ns)))
        signals = SignalPipe(obj.MANAGER_SIGNALS)
        loop.selector.register(signals, selectors.EVENT_READ, (1, lambda mask, now: self._on_signals(signals.drain(), now)))
        reexec.release_signals(obj.MANAGER_SIGNALS)
        if self.keeper is not None:
            loop.selector.register(self.keeper, selectors.EVENT_READ, (1, lambda mask, now: self._on_keeper()))
        subreaper = set_child_subreaper()

        mode = "user" if self.user_manager else "system"
        shell.log(f"sysvisor {__version__} running in {mode} mode (unit path: {':'.join(self.search_paths)}; control socket: {socket_path}; containment: {shell.containment.kind}).")
        if not subreaper:
            shell.log("Failed to become a child subreaper; orphaned processes of units will escape.", priority=Priority.WARNING)
        for name in sorted(units):
            for d in loader.diagnostics(name):
                shell.log(str(d), unit=name, priority=Priority.ERR if getattr(d, "severity", "") == "error" else Priority.WARNING)
        if systemd_own:
            shell.log(f"systemd's own services are skipped unless systemd runs as PID 1 (ConditionPathIsDirectory=/run/systemd/system): "
                      f"{', '.join(systemd_own)}.")
        state_path = os.path.join(self.state_dir, persist.STATE_FILE_NAME)
        restored = bool(kept) or shell.restore(state_path, kept_exits, keeper_pid)
        shell.state_file = persist.StateFile(state_path, lambda m: shell.log(m, priority=Priority.WARNING))
        loop.after_iteration.append(lambda: shell.state_file is not None and shell.state_file.flush(shell.manager))
        if self.keeper is not None:  # what the keeper kept is safe to forget once the state is saved
            self.keeper.ack_later(kept_exits)
            loop.after_iteration.append(self.keeper.flush_acks)
        loop.after_iteration.append(lambda: shell.reexec_requested and self._reexec(server, notify_sockets))
        # boot: default.target and everything enabled into it, in dependency order. A manager
        # that continues from a saved state does not boot (a unit stopped on purpose stays
        # stopped, as after systemd's daemon-reexec) unless that state predates targets: then
        # it starts default.target without isolating, so what runs stays
        if not restored or not shell.manager.targets_restored:
            shell.feed(E.BootRequested(isolate=not restored))
        if self.keeper is not None:
            self.keeper.ready()
        try:
            loop.run()
        finally:
            shell.serve_requests = None
            server.shutdown()
            for ns in notify_sockets:
                ns.close()
            shell.close()
            if self.objective is None:  # restarting in place: the new image reuses the running relay
                self._stop_relay()
            journal.close()
            signals.close()
        return self.exit_status or 0

    # --- the journal relay: owns the units' output pipes, outlives a crashed manager ---

    def _start_relay(self, journal: JournalWriter) -> None:
        self.relay_socket = os.path.join(self.runtime_dir, "journal.sock")
        self.relay_pid = None
        # The relay's console prints our messages too, from the journal's position now on
        # (the messages still pending included; a relay that outlived an earlier manager
        # prints our segment from its start): a console nobody reads then never blocks this
        # loop, and its lines never interleave with the services'. Without it we print them.
        self.shell.console_by_relay = False
        try:
            self.relay_pid = start_relay(journal.directory, self.relay_socket, boot_id=journal.boot_id, max_use_bytes=self.journal_max_use,
                                         hostname=self.shell.hostname, echo=self.console, echo_manager=journal.position())
            client = RelayClient(self.relay_socket, boot_id=journal.boot_id)
            self.shell.console_by_relay = self.console and client.prints_manager()
        except RelayError as e:
            self.shell.log(f"{e} Reading unit output in the manager; it will not survive a manager crash.", priority=Priority.WARNING)
            return
        self.shell.relay_link.connect(client)

    def _stop_relay(self) -> None:
        """After a clean shutdown: the relay drains every pipe, waits for its console to
        print the rest (CONSOLE_WAIT_AT_EXIT at most), then exits; we wait as long, so that
        the console is complete when `up` returns (in a container, PID 1's exit would end a
        console still printing). Bounded: a relay still busy after that goes on alone."""
        self.shell.relay_link.disconnect()
        self.shell.write_pending()  # our last messages, for the relay's console to print
        pid = self.relay_pid
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        wait_for_exit(pid, RELAY_DRAIN_WAIT + (CONSOLE_WAIT_AT_EXIT if self.console else 0.0))
        self.shell.console_by_relay = False  # anything later we print ourselves


    def _reexec(self, server, notify_sockets) -> None:
        """daemon-reexec: same PID, same children, same sockets and output pipes."""
        shell = self.shell
        shell.reexec_requested = False
        fds = {"control": server.listener_fileno()}
        fds.update({f"notify:{ns.path}": ns.fileno() for ns in notify_sockets})
        shell.relay_link.take_waiting()  # streams the relay had no room for yet: passed on as ours
        out_fds, out_info = shell.output_fds()
        fds.update(out_fds)
        if self.keeper is not None:
            fds["keeper"] = self.keeper.fileno()  # same number: the command line names it
        path = os.path.join(self.runtime_dir, "reexec-state.json")
        shell.log("Reexecuting.")
        try:
            extra = {"output": out_info, "keeper_children": {str(p): t for p, t in shell.keeper_children.items()}}
            argv = reexec.prepare_reexec(shell.manager, path, fds, reexec.current_command(), extra=extra)
            shell.write_pending()
            shell.journal.flush()
            reexec.reexec(argv, fds, block=obj.MANAGER_SIGNALS)
        except Exception as e:  # noqa: BLE001 - keep running in the old image
            shell.log(f"Failed to reexecute: {e}", priority=Priority.ERR)

    def _notify_paths(self) -> list[str]:
        paths = [os.path.join(self.runtime_dir, "notify")]
        if self._pid1() and not os.path.exists("/run/systemd/system"):
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

    def _pid1(self) -> bool:
        """sysvisor is the init of its PID namespace: this process, or the keeper (our parent)."""
        return os.getpid() == 1 or (self.keeper is not None and self.keeper.keeper_pid == 1)

    def _exit(self, status: int) -> None:
        self.exit_status = status
        action = self.shell.emergency_action
        ending = obj.objective_of(action) if action is not None else None
        if ending is not None and (ending[0] in obj.IN_PLACE or self._host_reboot(ending[0]) is not None):
            self.objective = ending[0]  # run() restarts in place (or reboots the machine) after the cleanup
            if self._host_reboot(self.objective) is None:
                self.shell.log(f"All units stopped for {self.objective}; starting them again in place "
                               f"(sysvisor reboots the host only as PID 1 of a real machine with --allow-host-reboot).")
        sf = self.shell.state_file
        if sf is not None and (self.objective is not None or all(s.active_state in ("inactive", "failed") for s in self.shell.manager.services.values())):
            sf.remove()  # nothing left to continue; otherwise (second SIGTERM) a new manager adopts the units
            self.shell.state_file = None
        self.loop.stop()

    def _host_reboot(self, objective: obj.Objective) -> int | None:
        return obj.host_reboot_command(objective, pid1=self._pid1(), container=obj.in_container(), allowed=self.allow_host_reboot)

    def _on_keeper(self) -> None:
        """Exits the keeper reaped (processes re-parented to it when an earlier manager died)."""
        exits = self.keeper.receive()
        if self.relay_pid and any(e.pid == self.relay_pid for e in exits):
            self.shell.log("The journal relay died; starting a new one.", priority=Priority.WARNING)
            self._start_relay(self.shell.journal)
        self.shell.on_kept_exits(exits)
        self.keeper.ack_later(exits)
        if self.keeper.closed:
            self.loop.selector.unregister(self.keeper)

    def _on_signals(self, received: list[int], now: int) -> None:
        """# spec: issue 5 "container PID 1"; the table is daemon/objective.py meaning()."""
        self._reap_children()  # on every wake-up of the signal pipe: SIGCHLDs coalesce
        for signum in received:
            if signum != signal.SIGCHLD:
                self._on_signal(signum)

    def _reap_children(self) -> None:
        exited = reap()
        if self.relay_pid and any(pid == self.relay_pid for pid, _c, _s in exited):
            self.shell.log("The journal relay died; starting a new one.", priority=Priority.WARNING)
            self._start_relay(self.shell.journal)
        self.shell.on_children_exited(exited)

    def _on_signal(self, signum: int) -> None:
        shell = self.shell
        name = obj.signal_name(signum)
        what = obj.meaning(signum)
        if what.kind == "reload":  # systemd: SIGHUP → daemon-reload
            shell.reload_units(self.search_paths)
        elif what.kind == "reexec":
            shell.log(f"Received {name}, reexecuting.")
            shell.reexec_requested = True
        elif what.kind == "end":
            self._on_end_signal(name, what)
        elif what.kind == "dump":
            shell.log(f"Received {name}, dumping the manager state.")
            for unit in sorted(shell.manager.services):
                p = shell.manager.runtime_properties(unit)
                shell.log(f"-> Unit {unit}: {p.get('ActiveState')} ({p.get('SubState')}), MainPID={p.get('MainPID', 0)}, "
                          f"Result={p.get('Result', '')}, NRestarts={p.get('NRestarts', 0)}", unit=unit)
        elif what.kind == "log-level":
            shell.log_level = Priority.DEBUG if what.debug else self.log_level
            shell.log(f"Received {name}, log level set to {'debug' if what.debug else 'its configured value'}.")
        elif what.kind == "start":
            if what.target in shell.manager.units and shell.units[what.target].load_state == "loaded":
                shell.log(f"Received {name}, starting {what.target}.")
                shell.feed(E.StartRequested(what.target))
            else:
                shell.log(f"Received {name}, but {what.target} does not exist; ignoring.", priority=Priority.DEBUG)
        else:
            shell.log(f"Received {name}, ignoring: {what.why}.", priority=Priority.DEBUG)

    def _on_end_signal(self, name: str, what: obj.SignalMeaning) -> None:
        """SIGTERM/SIGINT and systemd's halt/poweroff/reboot/kexec/soft-reboot signals."""
        shell = self.shell
        action = EmergencyAction(f"{what.objective}-force" if what.force else str(what.objective))
        if shell.manager.shutting_down and not what.force:
            if what.objective is obj.Objective.EXIT:
                shell.log("Received second termination request, exiting without waiting for units.", priority=Priority.WARNING)
                shell.emergency_action = None
                self._exit(self.exit_status or 0)
            else:
                shell.emergency_action = action  # the newest request decides what follows the stop
            return
        verb = {obj.Objective.EXIT: "stopping all units", obj.Objective.HALT: "halting", obj.Objective.POWEROFF: "powering off",
                obj.Objective.REBOOT: "rebooting", obj.Objective.KEXEC: "rebooting via kexec",
                obj.Objective.SOFT_REBOOT: "soft-rebooting"}[what.objective]
        shell.log(f"Received {name}, {'immediately ' if what.force else ''}{verb}.")
        if what.objective is obj.Objective.EXIT and not what.force:
            shell.emergency_action = None
            shell.feed(E.ShutdownRequested(0))
        else:
            shell._carry_out_batch([RunEmergencyAction(action, f"received {name}", 0)])

    def restart_in_place(self) -> None:
        """After every unit stopped for reboot/kexec/soft-reboot: reboot(2) the machine when
        allowed (daemon/objective.py), else execute ourselves afresh, without the saved state:
        a boot in place. Returns only if that failed."""
        command = self._host_reboot(self.objective)
        if command is not None:
            print(f"sysvisor: {obj.reboot_host(command)}: reboot(2) failed.", file=sys.stderr)
            return
        _, rest = reexec.take_reexec_option(reexec.current_command()[1:])
        argv = [sys.executable, *rest]
        fds = {"keeper": self.keeper.fileno()} if self.keeper is not None else {}
        try:
            for fd in fds.values():
                os.set_inheritable(fd, True)  # the command line names it (--keeper-fd)
            reexec.reexec(argv, fds, block=obj.MANAGER_SIGNALS)
        except OSError as e:
            print(f"sysvisor: cannot restart in place: {e}", file=sys.stderr)


def _usec(monotonic_seconds: float | None) -> int | None:
    """A time.monotonic() instant as the loop's deadlines count (monotonic µs), rounded up:
    a deadline never comes before the instant."""
    return None if monotonic_seconds is None else int(monotonic_seconds * 1_000_000) + 1


def _read_only(request: dict) -> bool:
    """A request that only reads (status, show, is-active …): safe to answer while an
    engine turn's actions are half carried out."""
    return request.get("verb") in READ_ONLY_VERBS


def _containment_name(runtime_dir: str) -> str:
    """Managers with different runtime dirs (tests, users) must not share unit cgroups."""
    if runtime_dir in ("/run/sysvisor",):
        return "sysvisor"
    return "sysvisor-" + hashlib.sha1(os.path.abspath(runtime_dir).encode()).hexdigest()[:10]


def run(unit_dirs: list[str] | None, runtime_dir: str | None, state_dir: str | None, log_level: int = Priority.INFO, deserialize: str | None = None, journal_max_use: int | None = None,
        keeper_fd: int | None = None, allow_host_reboot: bool = False) -> int:
    """Entry point of the manager (`sysvisor up --no-keeper`, or the keeper's child)."""
    daemon = Daemon(unit_dirs, runtime_dir, state_dir, log_level=log_level, deserialize=deserialize, journal_max_use=journal_max_use,
                    keeper_fd=keeper_fd, allow_host_reboot=allow_host_reboot)
    status = daemon.run()
    if daemon.objective is not None:
        daemon.restart_in_place()  # returns only on failure: then exit
    if daemon.keeper is not None:
        daemon.keeper.goodbye(status)
    return status


def hold_runtime_lock(runtime_dir: str | None) -> str | None:
    """`up --no-keeper`: take the keeper's lock ourselves, so that no keeper starts a second
    manager beside us; the refusal message if someone else holds it."""
    from sysvisor.daemon import keeper

    path = os.path.join(runtime_dir or control.runtime_dir(), "keeper.pid")
    fd = keeper.take_lock(path)
    if fd is None:
        return keeper.refusal(path, keeper.lock_holder(path))
    _held_locks.append(fd)  # held until we exit (close-on-exec: never a unit's)
    return None


_held_locks: list[int] = []


def keeper_command(argv: list[str], runtime_dir: str | None) -> tuple[list[str], dict[str, str]]:
    """`sysvisor up ARGS` → the keeper's command line and environment (the keeper then runs
    `python -m sysvisor up ARGS --keeper-fd 3` as the manager). # daemon/keeper.py"""
    from sysvisor.daemon import keeper

    lock = os.path.join(runtime_dir or control.runtime_dir(), "keeper.pid")
    manager = [sys.executable, "-m", "sysvisor", "up", *argv, "--keeper-fd", str(keeper.MANAGER_FD)]
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the dir holding sysvisor/
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return [sys.executable, "-I", "-S", os.path.abspath(keeper.__file__), "--lock", lock, "--", *manager], env
