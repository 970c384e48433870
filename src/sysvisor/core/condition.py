"""Combining Condition*=/Assert*= results the way systemd does.

The shell evaluates each entry (it needs the file system, the environment, …) and
answers with one boolean per entry, negation already applied. This module applies
systemd's rules to those answers:
  * entries are tested in *reverse* file order (systemd prepends them to its list),
  * testing stops at the first failing non-trigger entry,
  * trigger (`|`) entries: at least one must hold, if there are any,
  * the entry named in the "skipped" message is the first non-trigger entry (in that
    order) that did not succeed, else the first failed trigger.
Observed with systemd 257: tests/data/oracle/d6/r-conds.json.
# spec: dependencies-and-jobs.md §5   # systemd: condition_test_list(), unit_find_failed_condition()
"""

from __future__ import annotations

from dataclasses import dataclass, field

Entry = tuple[str, bool, bool, str]  # (ConditionPathExists, trigger "|", negate "!", value)


def entry_text(entry: Entry) -> str:
    """`ConditionPathExists=|!/x` as systemd prints it."""
    name, trigger, negate, value = entry
    return f"{name}={'|' if trigger else ''}{'!' if negate else ''}{value}"


@dataclass
class Verdict:
    """The outcome of one condition (or assert) list."""

    ok: bool
    lines: list[str] = field(default_factory=list)  # debug lines, without the unit prefix
    failed: Entry | None = None  # what the "skipped" message names
    no_trigger_met: bool = False


def evaluate_list(entries: list[Entry], results: tuple[bool | None, ...]) -> Verdict:
    """# systemd: condition_test_list() + unit_find_failed_condition()"""
    if not entries:
        return Verdict(True)
    verdict = Verdict(True)
    tested: dict[int, bool] = {}
    triggered: bool | None = None
    for i in reversed(range(len(entries))):
        entry = entries[i]
        r = results[i] if i < len(results) else None
        if r is None:
            verdict.lines.append(f"Couldn't determine result for {entry_text(entry)}, assuming failed.")
            r = False
        else:
            verdict.lines.append(f"{entry_text(entry)} {'succeeded' if r else 'failed'}.")
        tested[i] = r
        if not entry[1] and not r:
            verdict.ok = False
            break
        if entry[1] and not triggered:
            triggered = r
    else:
        verdict.ok = triggered is not False
    if not verdict.ok:
        failed_trigger = None
        has_succeeded_trigger = False
        for i in reversed(range(len(entries))):
            entry, r = entries[i], tested.get(i)
            if entry[1]:
                if r:
                    has_succeeded_trigger = True
                elif failed_trigger is None:
                    failed_trigger = entry
            elif r is not True:
                verdict.failed = entry
                break
        else:
            if failed_trigger is not None and not has_succeeded_trigger:
                verdict.failed = failed_trigger
                verdict.no_trigger_met = True
    return verdict
