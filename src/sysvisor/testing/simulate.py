"""Run the engine at virtual time against scripted processes.

`Simulation` wires a `Manager`, a `FakeClock` and a `FakeExecutor` together and delivers
facts in systemd's order within one instant: notify datagrams, then child exits, then
requests, then due timers. `simulate()` is the one-call form behind `sysvisor simulate`.
# spec: ARCHITECTURE.md "Tests"; restart-and-failure.md §6
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterable

from sysvisor.core import events as ev
from sysvisor.core.actions import Action, JobCompleted, Log, StateChanged
from sysvisor.core.condition import Facts
from sysvisor.core.manager import Manager
from sysvisor.core.types import Priority
from sysvisor.core.units import Unit
from sysvisor.testing.clock import FakeClock
from sysvisor.testing.executor import Behaviour, FakeExecutor, Script


class Simulation:
    """A manager, a fake clock and a fake executor in one loop."""

    def __init__(
        self,
        units: Iterable[Unit] | dict[str, Unit],
        script: Script | None = None,
        *,
        start: int = 0,
        cgroup_events: bool = False,
        record: bool = True,
        paths: set[str] | None = None,
        booted: bool = True,
        **manager_kwargs,
    ) -> None:
        """`booted`: the scenario begins on a booted system — basic.target (and so sysinit.target)
        already active, as in the systemd-oracle's container — so a service's default
        dependencies pull in nothing new; the boot itself is not traced."""
        if not isinstance(units, dict):
            units = {u.name: u for u in units}
        self.clock = FakeClock(start)
        self.executor = FakeExecutor(script, cgroup_events=cgroup_events, keep_history=record)
        # a fake file system for Condition*=/Assert*= path tests: these paths exist
        self.paths = set(paths or ())
        if paths is not None and "condition_facts" not in manager_kwargs:
            manager_kwargs["condition_facts"] = Facts(fs=lambda test, path: path in self.paths)
        self.record = record  # keep the trace (benchmarks of long runs turn it off)
        self.manager = Manager(units, cgroup_events=cgroup_events, **manager_kwargs)
        self.trace: list[tuple[int, Action]] = []
        self._next_request = 1
        if booted and "basic.target" in self.manager.targets:
            record, self.record = self.record, False
            self.send(ev.StartRequested("basic.target"))
            self.record = record

    @property
    def now(self) -> int:
        return self.clock.now

    # -------------------------------------------------------------- feeding

    def send(self, event: ev.Event) -> list[Action]:
        """Feed one fact now; spawn answers are fed back before anything else."""
        now = self.clock.now
        actions = self.manager.handle(event, now)
        out: list[Action] = []
        answers: list[ev.Event] = []
        for action in actions:  # one by one, so the shell's own lines land in order
            out.append(action)
            answers.extend(self.executor.execute([action], now))
            if self.executor.shell_logs:  # lines the shell logs itself (kills, leftovers)
                out.extend(self.executor.shell_logs)
                self.executor.shell_logs = []
        if self.record:
            self.trace.extend((now, a) for a in out)
        for answer in answers:
            out.extend(self.send(answer))
        return out

    def request(self, event_type, unit: str, **kw) -> int:
        rid = self._next_request
        self._next_request += 1
        self.send(event_type(unit, request_id=rid, **kw))
        return rid

    def start(self, unit: str, **kw) -> int:
        return self.request(ev.StartRequested, unit, **kw)

    def stop(self, unit: str, **kw) -> int:
        return self.request(ev.StopRequested, unit, **kw)

    def restart(self, unit: str, **kw) -> int:
        return self.request(ev.RestartRequested, unit, **kw)

    def reload(self, unit: str) -> int:
        return self.request(ev.ReloadRequested, unit)

    def reset_failed(self, unit: str | None = None) -> None:
        self.send(ev.ResetFailedRequested(unit))

    def kill(self, unit: str, signal: int, whom: str = "all") -> None:
        self.send(ev.KillRequested(unit, signal, whom))

    def notify(self, pid: int, **fields: str) -> None:
        self.send(ev.NotifyReceived(pid, dict(fields)))

    # -------------------------------------------------------------- time

    def step(self, until: int) -> bool:
        """Deliver everything due at the next instant ≤ `until`; False if nothing was."""
        candidates = [t for t in (self.executor.next_time(), self.manager.next_deadline()) if t is not None]
        if not candidates or min(candidates) > until:
            return False
        self.clock.set(max(self.clock.now, min(candidates)))
        while (event := self.executor.pop_due(self.clock.now)) is not None:
            self.send(event)
        deadline = self.manager.next_deadline()
        if deadline is not None and deadline <= self.clock.now:
            self.send(ev.TimePassed())
        return True

    def run_until(self, t: int, *, max_steps: int = 10_000_000) -> None:
        for _ in range(max_steps):
            if not self.step(t):
                break
        else:  # pragma: no cover
            raise RuntimeError("simulation does not settle")
        self.clock.set(max(self.clock.now, t))

    def run_for(self, d: int) -> None:
        self.run_until(self.clock.now + d)

    # -------------------------------------------------------------- reading the trace

    def props(self, unit: str) -> dict:
        return self.manager.runtime_properties(unit)

    def logs(self, unit: str | None = None, *, min_priority: Priority = Priority.INFO) -> list[str]:
        """Log messages (journal MESSAGE) at priority `min_priority` or more important."""
        return [a.message for _, a in self.trace
                if isinstance(a, Log) and a.priority <= min_priority and (unit is None or a.unit == unit)]

    def states(self, unit: str) -> list[tuple[int, str, str]]:
        return [(t, str(a.active_state), a.sub_state) for t, a in self.trace
                if isinstance(a, StateChanged) and a.unit == unit]

    def jobs(self, request_id: int | None = None) -> list[JobCompleted]:
        return [a for _, a in self.trace
                if isinstance(a, JobCompleted) and (request_id is None or a.request_id == request_id)]

    def spawns(self, unit: str | None = None, phase: str | None = None):
        return [(t, s) for t, s in self.executor.spawns
                if (unit is None or s.unit == unit) and (phase is None or s.phase == phase)]


# ------------------------------------------------------------------ simulate()


@dataclass
class TimelineEntry:
    """One line of a simulated timeline."""

    t_usec: int
    kind: str  # state | log | spawn | kill | job | exit | emergency
    unit: str | None
    text: str
    data: dict = field(default_factory=dict)


def simulate(unit: Unit, behaviour: Behaviour, duration_usec: int, *, extra_units: Iterable[Unit] = (),
             min_priority: Priority = Priority.INFO) -> list[TimelineEntry]:
    """Start `unit` at t=0, let every process of it behave as `behaviour`, and record
    what the engine does for `duration_usec` of virtual time. Processes of `extra_units`
    (e.g. OnFailure= handlers) exit 0 at once.
    # spec: restart-and-failure.md §6 (the seed scenario is `simulate(foo, exits(1), 30 s)`)
    """
    from sysvisor.core import actions as ac

    units = {unit.name: unit, **{u.name: u for u in extra_units}}
    script = {unit.name: behaviour, "*": Behaviour.exits(0)}  # other units (handlers) just succeed
    sim = Simulation(units, script)
    sim.start(unit.name)
    sim.run_until(duration_usec)
    out: list[TimelineEntry] = []
    for t, a in sim.trace:
        if isinstance(a, ac.StateChanged):
            out.append(TimelineEntry(t, "state", a.unit, f"{a.active_state} ({a.sub_state})",
                                     {"active_state": str(a.active_state), "sub_state": a.sub_state,
                                      "result": a.result}))
        elif isinstance(a, ac.Log):
            if a.priority <= min_priority:
                out.append(TimelineEntry(t, "log", a.unit, a.message, {"priority": int(a.priority)}))
        elif isinstance(a, ac.Spawn):
            out.append(TimelineEntry(t, "spawn", a.unit, f"{a.phase}={a.command.command_line()}",
                                     {"phase": a.phase, "argv": list(a.command.argv),
                                      "environment": dict(a.environment)}))
        elif isinstance(a, ac.Kill):
            who = "unit" if a.whole_unit else ",".join(map(str, a.pids))
            out.append(TimelineEntry(t, "kill", a.unit, f"signal {a.signal} to {who}",
                                     {"signal": a.signal, "pids": list(a.pids), "whole_unit": a.whole_unit}))
        elif isinstance(a, ac.JobCompleted):
            out.append(TimelineEntry(t, "job", a.unit, f"{a.job_type} job {a.result}",
                                     {"job_type": str(a.job_type), "result": str(a.result)}))
        elif isinstance(a, ac.RunEmergencyAction):
            out.append(TimelineEntry(t, "emergency", None, f"{a.action}: {a.reason}",
                                     {"action": str(a.action), "exit_status": a.exit_status}))
    return out


def behaviour_from_options(*, exit_code: int | None = None, signal: int | None = None, after: int = 0,
                           ready_after: int | None = None, hang: bool = False) -> Behaviour:
    """The `sysvisor simulate` options as a behaviour (`--exit/--signal/--after/--ready-after/--hang`).

    Default (no option): the process exits 0 at once. `--hang` wins over `--exit/--signal`.
    """
    if exit_code is not None and signal is not None:
        raise ValueError("--exit and --signal are mutually exclusive")
    if hang:
        return Behaviour.hangs(ready_after=ready_after)
    if signal is not None:
        return Behaviour.killed(signal, after=after, ready_after=ready_after)
    return Behaviour.exits(0 if exit_code is None else exit_code, after=after, ready_after=ready_after)


def render_text(timeline: list[TimelineEntry]) -> str:
    """One line per entry: `+    5.000000s flaky.service    state     activating (auto-restart)`."""
    width = max((len(e.unit or "") for e in timeline), default=0)
    lines = []
    for e in timeline:
        secs = e.t_usec / 1_000_000
        lines.append(f"+{secs:12.6f}s {(e.unit or '-'):<{width}}  {e.kind:<9} {e.text}".rstrip())
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(timeline: list[TimelineEntry]) -> str:
    return json.dumps([asdict(e) for e in timeline], indent=2) + "\n"
