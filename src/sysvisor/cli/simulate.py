"""`sysvisor simulate UNIT_FILE …`: the real engine at virtual time against a scripted process.

"What will systemd do with this unit if it crashes every 30 s for an hour?" — answered in
milliseconds, with the timeline and a summary (restarts, OnFailure= triggers, final Result).
Units named in OnFailure=/OnSuccess= are loaded from the unit file's directory when present.
# spec: restart-and-failure.md; issue 4 "sysvisor simulate"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from sysvisor.core.types import Priority


def _timespan(text: str) -> int:
    from sysvisor.unitfile.values import parse_timespan

    try:
        return parse_timespan(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid time span '{text}' (examples: 500ms, 30s, 5min, 1h)") from None


def _signal(text: str) -> int:
    from sysvisor.unitfile.values import signal_from_string

    try:
        return signal_from_string(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown signal '{text}'") from None


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="sysvisor simulate", description="Run the engine at virtual time against a scripted process.")
    p.add_argument("unit_file")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--exit", type=int, metavar="CODE", dest="exit_code", help="each process exits with CODE (default 0)")
    how.add_argument("--signal", type=_signal, metavar="SIG", help="each process is killed by SIG")
    p.add_argument("--after", type=_timespan, default=0, metavar="DURATION", help="… this long after it started (default at once)")
    p.add_argument("--ready-after", type=_timespan, metavar="DURATION", help="Type=notify: send READY=1 after this long")
    p.add_argument("--hang", action="store_true", help="the process never exits by itself")
    p.add_argument("--for", type=_timespan, default=_timespan("1min"), dest="duration", metavar="DURATION", help="virtual time to simulate (default 1min)")
    p.add_argument("--json", action="store_true", help="the timeline as JSON")
    p.add_argument("--debug", action="store_true", help="include the manager's debug messages")
    args = p.parse_args(argv)

    from sysvisor.testing.simulate import behaviour_from_options, render_json, render_text, simulate
    from sysvisor.unitfile.loader import UnitLoader

    path = os.path.abspath(args.unit_file)
    if not os.path.isfile(path):
        print(f"sysvisor simulate: {args.unit_file}: no such unit file", file=sys.stderr)
        return 1
    loader = UnitLoader([os.path.dirname(path)])
    unit = loader.load(os.path.basename(path))
    for d in loader.diagnostics(unit.name):
        print(str(d), file=sys.stderr)
    if str(unit.load_state) != "loaded" or unit.service is None:
        print(f"sysvisor simulate: {unit.name} cannot run: {unit.load_error or 'not a service unit'}", file=sys.stderr)
        return 1
    extra = []
    for name in dict.fromkeys(unit.unit.on_failure + unit.unit.on_success):
        other = loader.load(name)
        if str(other.load_state) == "loaded":
            extra.append(other)
    behaviour = behaviour_from_options(exit_code=args.exit_code, signal=args.signal, after=args.after, ready_after=args.ready_after, hang=args.hang)
    timeline = simulate(unit, behaviour, args.duration, extra_units=extra, min_priority=Priority.DEBUG if args.debug else Priority.INFO)
    summary = summarize(unit.name, timeline)
    if args.json:
        sys.stdout.write(json.dumps({"timeline": json.loads(render_json(timeline)), "summary": summary}, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(timeline))
        sys.stdout.write("\n" + "\n".join(f"{k}: {v}" for k, v in summary.items()) + "\n")
    return 0


def summarize(name: str, timeline) -> dict:
    """The questions people ask of a timeline, answered from it."""
    states = [e for e in timeline if e.kind == "state" and e.unit == name]
    counters = [int(m.group(1)) for e in timeline if e.kind == "log" and e.unit == name
                for m in [re.search(r"restart counter is at (\d+)\.", e.text)] if m]
    last = states[-1] if states else None
    return {
        "unit": name,
        "final state": f"{last.data['active_state']} ({last.data['sub_state']})" if last else "inactive (dead)",
        "final result": last.data["result"] if last else "success",
        "at": f"{last.t_usec / 1e6:.6f}s" if last else "0s",
        "processes started": sum(1 for e in timeline if e.kind == "spawn" and e.unit == name and e.data.get("phase") == "ExecStart"),
        "restarts scheduled (NRestarts)": counters[-1] if counters else 0,
        "OnFailure= triggered": sum(1 for e in timeline if e.kind == "log" and e.unit == name and e.text.endswith("Triggering OnFailure= dependencies.")),
        "start limit hit": any(e.kind == "log" and e.unit == name and e.text.endswith("Start request repeated too quickly.") for e in timeline),
    }
