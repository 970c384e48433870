"""Control verbs: what each request asks of the engine and what the client gets back.

Replies carry data (raw property values, job results); the CLI renders them in systemctl's
words. Unit names arrive already mangled by the client (`web` → `web.service`).
# spec: systemctl-and-journal.md §1, §2
"""

from __future__ import annotations

import fnmatch
import os
import signal as signal_module

from sysvisor.core import actions as A
from sysvisor.core import events as E
from sysvisor.core.properties import load_error
from sysvisor.core.types import JobMode, JobResult, LoadState
from sysvisor.daemon.control_server import Connection, ControlServer
from sysvisor.protocol.control import error_reply
from sysvisor.unitfile import name as unit_name

JOB_VERBS = {
    "start": lambda unit, rid, mode: E.StartRequested(unit, rid, mode),
    "isolate": lambda unit, rid, mode: E.StartRequested(unit, rid, JobMode.ISOLATE),
    "stop": lambda unit, rid, mode: E.StopRequested(unit, rid, mode),
    "restart": lambda unit, rid, mode: E.RestartRequested(unit, rid, mode=mode),
    "try-restart": lambda unit, rid, mode: E.RestartRequested(unit, rid, only_if_active=True, mode=mode),
    "reload": lambda unit, rid, mode: E.ReloadRequested(unit, rid),
}
READ_ONLY_VERBS = {"ping", "manager-info", "units", "list-units", "manager", "list-jobs"}
# the verb word systemctl uses in "Failed to start x: …"
_VERB_WORDS = {"try-restart": "try-restart", "reset-failed": "reset failed state of", "isolate": "start",
               "try-reload-or-restart": "reload-or-try-restart"}


class RequestHandler:
    """Turns decoded requests into engine events and replies."""

    def __init__(self, shell, server_ref, info: dict) -> None:
        self.shell = shell
        self._server_ref = server_ref  # callable returning the ControlServer (built after us)
        self.info = info
        self.manager_uid = os.getuid()

    @property
    def server(self) -> ControlServer:
        return self._server_ref()

    def __call__(self, conn: Connection, request: dict) -> dict | None:
        verb = request.get("verb")
        if not isinstance(verb, str):
            return error_reply("malformed request: 'verb' must be a string")
        if verb not in READ_ONLY_VERBS and conn.uid not in (0, self.manager_uid):
            return error_reply(f"Access denied: uid {conn.uid} may not '{verb}' units of this manager.", 4)
        method = getattr(self, "verb_" + verb.replace("-", "_"), None)
        if method is None:
            return error_reply(f"Unknown command verb '{verb}'.")
        units = request.get("units", [])
        if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
            return error_reply("malformed request: 'units' must be a list of strings")
        self.shell.write_pending()  # what was logged before the request is in the journal
        return method(conn, request, units)

    # --- read-only ---

    def verb_ping(self, conn, request, units) -> dict:
        return {"ok": True, "pid": os.getpid()}

    def verb_manager_info(self, conn, request, units) -> dict:
        builtin = sorted(n for n, u in self.shell.units.items() if not u.fragment_path and u.load_state == LoadState.LOADED)
        return {"ok": True, **self.info, "pid": os.getpid(), "boot_id": self.shell.boot_id, "builtin_units": builtin}

    def verb_units(self, conn, request, units) -> dict:
        """Properties of each named unit (globs match loaded units), not-found ones included.
        `"journal": true` adds where the journal is and this boot's id, so `status` needs one
        round trip, not two (issue 6: status p99 during a crash loop)."""
        found = []
        enablement = _UnitFileStates(self.info.get("search_paths") or [], user=bool(self.info.get("user_manager")),
                                     enabled_dirs=self.info.get("enabled_dirs") or [])
        for name in self._expand(units, keep_unmatched=True):
            name = name if name in self.shell.units else self.shell.manager.graph.canonical(name)  # default.target
            if name in self.shell.units:
                props = self.shell.properties(name)
                if props.get("FragmentPath"):
                    props.update(enablement.of(name))
                found.append(props)
            else:
                found.append(_not_found_properties(name))
        reply = {"ok": True, "units": found}
        if request.get("journal") is True:
            reply.update(journal_dir=self.info["journal_dir"], boot_id=self.shell.boot_id)
        return reply

    def verb_manager(self, conn, request, units) -> dict:
        """The manager's own properties (`status`/`show` with no unit, is-system-running)."""
        return {"ok": True, "properties": self.shell.manager_properties()}

    def verb_list_jobs(self, conn, request, units) -> dict:
        jobs = [
            {"id": job.id, "unit": name, "type": str(job.type), "state": job.state}
            for name, job in sorted(self.shell.manager.jobs.by_unit.items(), key=lambda kv: kv[1].id)
        ]
        return {"ok": True, "jobs": jobs}

    def verb_list_units(self, conn, request, units) -> dict:
        names = self._expand(units) if units else sorted(self.shell.units)
        rows = []
        for name in names:
            props = self.shell.properties(name)
            rows.append({k: props.get(k, "") for k in ("Id", "LoadState", "ActiveState", "SubState", "Description", "Job", "JobType")})
        return {"ok": True, "units": rows}

    # --- changing things ---

    def verb_reset_failed(self, conn, request, units) -> dict:
        """Each named unit that is not loaded is an error; the others are reset all the same.
        # systemd 257: "Failed to reset failed state of unit X: Unit X not loaded.", exit 1"""
        if not units:
            self.shell.feed(E.ResetFailedRequested(None))
            return {"ok": True}
        errors = []
        for name in self._expand(units, keep_unmatched=True):
            if name in self.shell.units:
                self.shell.feed(E.ResetFailedRequested(name))
            else:
                errors.append(f"Failed to reset failed state of unit {name}: Unit {name} not loaded.")
        return error_reply("\n".join(errors)) if errors else {"ok": True}

    def verb_kill(self, conn, request, units) -> dict:
        sig = request.get("signal", signal_module.SIGTERM)
        whom = request.get("whom", "all")
        if not isinstance(sig, int) or not 0 < sig < signal_module.NSIG or whom not in ("main", "control", "all"):
            return error_reply("malformed request: bad 'signal' or 'whom'")
        errors: list[str] = []
        for name in self._expand(units, keep_unmatched=True):
            if name not in self.shell.units:
                return error_reply(f"Failed to kill unit {name}: Unit {name} not loaded.", 5)
            # the engine answers synchronously, and only when it could not kill
            rid = self.shell.new_request_id(lambda failed, name=name: errors.append(f"Failed to kill unit {name}: {failed.error}"))
            self.shell.feed(E.KillRequested(name, sig, whom, request_id=rid))
            self.shell.job_listeners.pop(rid, None)
        if errors:
            return error_reply("\n".join(errors))
        return {"ok": True}

    def verb_daemon_reexec(self, conn, request, units) -> dict:
        self.shell.reexec_requested = True  # carried out after this iteration, once the reply is sent
        return {"ok": True}

    def verb_daemon_reload(self, conn, request, units) -> dict:
        self.shell.reload_units(self.info["search_paths"])
        return {"ok": True}

    def verb_exit(self, conn, request, units) -> dict:
        status = request.get("exit_status", 0)
        self.shell.feed(E.ShutdownRequested(status if isinstance(status, int) else 0))
        return {"ok": True}

    verb_poweroff = verb_exit

    def verb_start(self, conn, request, units):
        return self._job(conn, request, units)

    verb_stop = verb_restart = verb_try_restart = verb_reload = verb_isolate = verb_start

    def verb_reload_or_restart(self, conn, request, units):
        """Reload where the unit can reload and is running, else restart (try-: only if
        running). # systemd: JOB_RELOAD_OR_START / job_type_collapse()"""
        return self._job(conn, request, units, collapse=self._reload_or_restart(request["verb"].startswith("try-")))

    verb_try_reload_or_restart = verb_reload_or_restart

    def _reload_or_restart(self, only_if_active: bool):
        def collapse(name: str) -> str:
            props = self.shell.properties(name)
            active = props.get("ActiveState") in ("active", "reloading")
            can_reload = bool(props.get("ExecReload")) or props.get("Type") == "notify-reload"
            if active and can_reload:
                return "reload"
            return "try-restart" if only_if_active else "restart"

        return collapse

    def _job(self, conn: Connection, request: dict, units: list[str], collapse=None) -> dict | None:
        verb = request["verb"]
        try:
            mode = JobMode(request.get("mode") or "replace")
        except ValueError:
            return error_reply(f"Invalid job mode: {request.get('mode')}")
        names = [self.shell.manager.graph.canonical(n) for n in self._expand(units, keep_unmatched=True)]
        for name in names:
            if name not in self.shell.units:
                word = _VERB_WORDS.get(verb, verb)
                see_logs = f"\nSee system logs and 'sysvisor status {name}' for details."
                if unit_name.is_valid(name, unit_name.TEMPLATE):
                    return error_reply(f"Failed to {word} {name}: Unit name {name} is missing the instance name.{see_logs}")
                if not unit_name.is_valid(name):
                    return error_reply(f"Failed to {word} {name}: Unit name {name} is not valid.{see_logs}")
                # (systemd loads a unit to start it; one to stop that is not there is not loaded)
                return error_reply(f"Failed to {word} {name}: Unit {name} {'not loaded' if verb == 'stop' else 'not found'}.", 5)
        verbs = {name: collapse(name) if collapse else verb for name in names}
        if request.get("no_block"):
            for name in names:
                self.shell.feed(JOB_VERBS[verbs[name]](name, None, mode))
            return {"ok": True}
        outstanding: dict[int, str] = {}
        failures: list[dict] = []

        def done(job: A.JobCompleted) -> None:
            outstanding.pop(job.request_id, None)
            if job.result is not JobResult.DONE:
                props = self.shell.manager.runtime_properties(job.unit)
                failures.append({"unit": job.unit, "job_type": str(job.job_type), "result": str(job.result), "unit_result": props.get("Result", ""),
                                 "error": job.error, "bus_error": job.bus_error, "verb": _VERB_WORDS.get(verb, verb)})
            if not outstanding:
                self.server.reply(conn, {"ok": not failures, "failures": failures, "exit": 1 if failures else 0})

        rids = [self.shell.new_request_id(done) for _ in names]
        outstanding.update(zip(rids, names))
        for rid, name in zip(rids, names):
            self.shell.feed(JOB_VERBS[verbs[name]](name, rid, mode))
        return None  # answered from `done`, possibly already

    def _expand(self, patterns: list[str], keep_unmatched: bool = False) -> list[str]:
        """Glob patterns match loaded unit names (systemctl's rule); plain names pass through."""
        names: list[str] = []
        for pattern in patterns:
            if any(c in pattern for c in "*?["):
                names.extend(n for n in sorted(self.shell.units) if fnmatch.fnmatchcase(n, pattern))
            elif keep_unmatched or pattern in self.shell.units:
                names.append(pattern)
        return list(dict.fromkeys(names))


class _UnitFileStates:
    """UnitFileState=/UnitFilePreset= of unit files, as `is-enabled` and presets say (read from
    the unit path when asked: links change without the manager hearing of it).
    # spec: systemctl-and-journal.md §3 ("Loaded:" line); systemd: unit_get_unit_file_state()"""

    def __init__(self, search_paths: list[str], *, user: bool, enabled_dirs: list[str] = ()) -> None:
        self.search_paths, self.user, self.enabled_dirs = search_paths, user, enabled_dirs
        self._installer = self._rules = None

    def of(self, name: str) -> dict:
        from sysvisor.unitfile.install import Installer
        from sysvisor.unitfile.preset import NO_PRESET_STATES, preset_of, read_rules

        if self._installer is None:
            self._installer = Installer(scope="user" if self.user else "system", search_paths=self.search_paths,
                                        config_dir=self.search_paths[0] if self.search_paths else None,
                                        enabled_dirs=self.enabled_dirs)  # as cli/unitfiles.py Context
            self._rules = read_rules(user=self.user)
        try:
            state = self._installer.state(name) or ""
        except OSError:
            return {}
        preset = "" if not state or state in NO_PRESET_STATES else preset_of(name, self._rules)
        return {"UnitFileState": state, "UnitFilePreset": preset}


def _not_found_properties(name: str) -> dict:
    return {
        "Id": name,
        "Names": [name],
        "Description": name,  # systemd: a unit without a file is described by its name
        "LoadState": "not-found",
        "ActiveState": "inactive",
        "SubState": "dead",
        "Result": "success",
        "LoadError": load_error(LoadState.NOT_FOUND, name),  # (bus error, message): `show` prints both
    }
