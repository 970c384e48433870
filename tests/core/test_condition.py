"""Condition*=/Assert*=: order, short-circuit, triggers, negation, every test, messages.
# spec: dependencies-and-jobs.md §5

The differential part replays `systemd-analyze condition` runs recorded inside the systemd 257
container (tests/data/oracle/deps/conditions) against the facts recorded there.
"""

from __future__ import annotations

import json
import pathlib
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.condition import (
    Condition,
    Facts,
    check_start,
    evaluate,
    evaluate_one as condition_test,
    skip_message,
    status_lines,
    strverscmp_improved,
)
from sysvisor.core.types import JobResult, Priority

DATA = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "deps"


def C(spec: str) -> Condition:
    """'ConditionPathExists=|!/x' -> Condition."""
    name, _, value = spec.partition("=")
    trigger = value.startswith("|")
    value = value[1:] if trigger else value
    negate = value.startswith("!")
    value = value[1:] if negate else value
    return Condition.from_config((name, trigger, negate, value))


def fs_of(existing: set[str]):
    return lambda test, path: test == "exists" and path in existing


# ---------------------------------------------------------------- list semantics

def test_reverse_file_order_and_short_circuit():
    f = Facts(fs=fs_of({"/etc"}))
    ev = evaluate([C("ConditionPathExists=/etc"), C("ConditionPathExists=/nonexistent")], f)
    assert not ev.ok
    # the last line of the file is tested first and ends it: /etc stays untested
    assert [t.result for t in ev.tested] == ["untested", "failed"]
    assert ev.logs == ((Priority.DEBUG, "ConditionPathExists=/nonexistent failed."),)


def test_triggers_are_all_tested_and_one_must_hold():
    f = Facts(fs=fs_of({"/etc"}))
    ev = evaluate([C("ConditionPathExists=|/nope"), C("ConditionPathExists=|/etc"), C("ConditionPathExists=/etc")], f)
    assert ev.ok and [t.result for t in ev.tested] == ["failed", "succeeded", "succeeded"]
    ev = evaluate([C("ConditionPathExists=|/nope"), C("ConditionPathExists=|!/etc")], f)
    assert not ev.ok and ev.failed is None
    assert evaluate([], f).ok


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), max_size=8))
def test_list_result_is_and_of_plain_and_or_of_triggers(items):
    """(trigger, negate, path exists) triples: the documented boolean semantics hold."""
    existing = {f"/p{i}" for i, (_, _, e) in enumerate(items) if e}
    conds = [Condition("Condition", "PathExists", t, n, f"/p{i}") for i, (t, n, _) in enumerate(items)]
    holds = [(e != n) for (_, n, e) in items]
    plain = [h for (t, _, _), h in zip(items, holds) if not t]
    trig = [h for (t, _, _), h in zip(items, holds) if t]
    expected = all(plain) and (not trig or any(trig))
    assert evaluate(conds, Facts(fs=fs_of(existing))).ok == expected


def test_error_counts_as_failed_with_warning():
    ev = evaluate([C("ConditionPathExists=relative/path")], Facts())
    assert not ev.ok and ev.tested[0].result == "error"
    assert ev.logs[0] == (Priority.WARNING, "Couldn't determine result for ConditionPathExists=relative/path, "
                                            "assuming failed: Invalid argument")


def test_check_start_condition_skips_assert_fails():
    f = Facts(fs=fs_of({"/etc"}))
    r = check_start([C("ConditionPathExists=/nope")], [C("AssertPathExists=/nope")], f)
    assert (r.job_result, r.condition_result, r.assert_result) == (JobResult.DONE, False, True)
    assert r.asserts is None  # asserts are not tested after a failed condition
    assert r.logs[-1] == (Priority.DEBUG, "Starting requested but condition not met. Not starting unit.")
    r = check_start([C("ConditionPathExists=/etc")], [C("AssertPathExists=/nope")], f)
    assert (r.job_result, r.condition_result, r.assert_result) == (JobResult.ASSERT, True, False)
    assert r.logs[-1] == (Priority.NOTICE, "Starting requested but asserts failed.")
    r = check_start([C("ConditionPathExists=/etc")], [], f)
    assert r.job_result is None and r.condition_result and r.assert_result
    assert check_start([C("ConditionPathExists=/nope")], [], f, activating=True).job_result is None


def test_messages_and_status_lines():
    f = Facts(fs=fs_of({"/etc/machine-id"}))
    ev = evaluate([C("ConditionPathExists=/nonexistent"), C("ConditionPathExists=|/etc/machine-id")], f)
    assert skip_message("cond.service - Cond", ev) == \
        "cond.service - Cond skipped, unmet condition check ConditionPathExists=/nonexistent"
    assert status_lines(ev, "Thu 2026-11-26 07:34:57 UTC; 156ms ago") == [
        "  Condition: start condition unmet at Thu 2026-11-26 07:34:57 UTC; 156ms ago",
        "             └─ ConditionPathExists=/nonexistent was not met"]
    ev = evaluate([C("AssertPathExists=!/etc/machine-id")], f)
    assert status_lines(ev, "X") == ["     Assert: start assertion failed at X",
                                     "             AssertPathExists=!/etc/machine-id was not met"]
    ev = evaluate([C("AssertPathExists=|/nope")], f)
    assert status_lines(ev, "X")[1] == "             none of the trigger assertions were met"
    assert status_lines(evaluate([], f), "X") == []


# ---------------------------------------------------------------- single tests

def test_each_condition_kind():
    f = Facts(virtualization="docker", hostname="Box-1", machine_id="0" * 31 + "1", kernel_release="6.1.0-18-amd64",
              kernel_command_line="quiet root=/dev/sda1 debug", architecture="arm64", native_architecture="arm64",
              os_release={"ID": "debian", "VERSION_ID": "12"}, environment={"FOO": "bar"}, uid=1000, euid=1000,
              user_name="me", gids=frozenset({1000, 27}), lookup_user={"me": 1000, "root": 0}.get,
              lookup_group={"sudo": 27}.get, memory_bytes=2 << 30, cpus=4, capabilities=frozenset({"cap_chown"}),
              security=frozenset({"apparmor"}), firmware=frozenset({"uefi"}), cgroup_version=2,
              cgroup_controllers=frozenset({"cpu", "memory"}), credentials=frozenset({"tok"}),
              cpu_features=frozenset({"avx2"}), kernel_modules=frozenset({"nf_tables"}), first_boot=True,
              pressure=lambda res, sl, win: 12.5 if res == "memory" else None)
    ok = ["ConditionVirtualization=container", "ConditionVirtualization=docker", "ConditionVirtualization=yes",
          "ConditionVirtualization=!vm", "ConditionHost=box-*", "ConditionHost=" + "0" * 31 + "1",
          "ConditionKernelCommandLine=debug", "ConditionKernelCommandLine=root", "ConditionKernelCommandLine=root=/dev/sda1",
          "ConditionKernelVersion=>=6", "ConditionKernelVersion=6.1.*", "ConditionKernelVersion=<6.1.1",
          "ConditionArchitecture=native", "ConditionArchitecture=arm64", "ConditionOSRelease=ID=debian VERSION_ID>=11",
          "ConditionEnvironment=FOO", "ConditionEnvironment=FOO=bar", "ConditionEnvironment=!FOO=baz",
          "ConditionUser=me", "ConditionUser=1000", "ConditionUser=!@system", "ConditionGroup=sudo", "ConditionGroup=1000",
          "ConditionMemory=>=1G", "ConditionMemory=2G", "ConditionCPUs=4", "ConditionCPUs=<=4", "ConditionCPUFeature=AVX2",
          "ConditionCapability=CAP_CHOWN", "ConditionSecurity=apparmor", "ConditionFirmware=uefi",
          "ConditionControlGroupController=v2", "ConditionControlGroupController=cpu memory", "ConditionCredential=tok",
          "ConditionKernelModuleLoaded=nf-tables", "ConditionFirstBoot=yes", "ConditionACPower=true",
          "ConditionMemoryPressure=20%", "ConditionCPUPressure=1%/10sec", "ConditionPathExists=!/x"]
    bad = ["ConditionVirtualization=vm", "ConditionVirtualization=kvm", "ConditionHost=other",
           "ConditionKernelCommandLine=roo", "ConditionKernelCommandLine=root=/dev/sdb", "ConditionKernelVersion=<6",
           "ConditionArchitecture=x86-64", "ConditionOSRelease=ID=ubuntu", "ConditionEnvironment=BAR",
           "ConditionUser=root", "ConditionGroup=0", "ConditionMemory=>4G", "ConditionCPUs=>4",
           "ConditionCapability=CAP_SYS_ADMIN", "ConditionSecurity=selinux", "ConditionControlGroupController=io",
           "ConditionFirstBoot=no", "ConditionMemoryPressure=10%"]
    for spec in ok:
        assert condition_test(C(spec), f) == "succeeded", spec
    for spec in bad:
        assert condition_test(C(spec), f) == "failed", spec
    for spec in ["ConditionMemory=lots", "ConditionFirstBoot=maybe", "ConditionOSRelease=ID", "ConditionFoo=1",
                 "ConditionCapability=chown", "ConditionMemoryPressure=abc"]:
        assert condition_test(C(spec), f) == "error", spec


def test_path_conditions_ask_the_injected_filesystem():
    seen = []

    def fs(test, path):
        seen.append((test, path))
        return True
    f = Facts(fs=fs)
    for name, test in [("PathExists", "exists"), ("PathExistsGlob", "exists-glob"), ("PathIsDirectory", "is-directory"),
                       ("PathIsSymbolicLink", "is-symbolic-link"), ("PathIsMountPoint", "is-mount-point"),
                       ("PathIsReadWrite", "is-read-write"), ("PathIsEncrypted", "is-encrypted"),
                       ("DirectoryNotEmpty", "directory-not-empty"), ("FileNotEmpty", "file-not-empty"),
                       ("FileIsExecutable", "file-is-executable"), ("NeedsUpdate", "needs-update")]:
        assert condition_test(Condition("Assert", name, False, False, "/x"), f) == "succeeded"
        assert seen[-1] == (test, "/x")


def test_strverscmp_improved():
    assert strverscmp_improved("1.2", "1.10") < 0
    assert strverscmp_improved("1.0~rc1", "1.0") < 0
    assert strverscmp_improved("123-9", "123.1") < 0
    assert strverscmp_improved("010", "10") == 0
    assert strverscmp_improved("6.1.0-18-amd64", "6.1") > 0
    assert strverscmp_improved("1.0a", "1.0") > 0
    assert strverscmp_improved("", "1") < 0


@given(st.from_regex(r"[0-9a-z.~^-]{0,8}", fullmatch=True), st.from_regex(r"[0-9a-z.~^-]{0,8}", fullmatch=True))
def test_strverscmp_is_antisymmetric(a, b):
    assert strverscmp_improved(a, b) == -strverscmp_improved(b, a)


# ---------------------------------------------------------------- differential (systemd 257)

def _recorded():
    steps = json.loads((DATA / "conditions" / "result.json").read_text())["scenarios"][0]["steps"]
    asked = json.loads((DATA / "conditions" / "scenario.json").read_text())["steps"]
    for step in steps:  # the result does not repeat an exec step's argv
        step.setdefault("argv", asked[step["i"]].get("argv"))
    by_label = {s.get("label"): s for s in steps if s["do"] == "exec"}
    facts = json.loads(by_label["facts"]["stdout"])
    virt = by_label["virt"]["stdout"].strip()
    sets = [s for s in steps if s["do"] == "exec" and s.get("label", "").startswith("set")]
    return facts, virt, sets, steps


def _oracle_facts(facts, virt) -> Facts:
    fs = facts["fs"]
    return Facts(fs=lambda test, path: fs[f"{test} {path}"], virtualization=virt, hostname=facts["hostname"],
                 machine_id=facts["machine_id"], kernel_release=facts["uname_r"],
                 architecture=facts["machine"].replace("_", "-"), native_architecture=facts["machine"].replace("_", "-"),
                 os_release=facts["os_release"], uid=0, euid=0, user_name="root", gids=frozenset({0}),
                 lookup_user={"root": 0, "nobody": 65534}.get, lookup_group={"root": 0}.get,
                 memory_bytes=facts["memtotal_kb"] * 1024, cpus=facts["cpus"], kernel_command_line=facts["cmdline"],
                 cgroup_version=1)  # the oracle host is a v1/v2 hybrid: not "v2"


@pytest.mark.parametrize("index", range(21))
def test_systemd_analyze_condition_replays(index):
    facts, virt, sets, _ = _recorded()
    step = sets[index]
    conds = [C(arg) for arg in step["argv"][2:]]
    ev = evaluate(conds, _oracle_facts(facts, virt))
    lines = [f"test.service: {msg}" for _, msg in ev.logs] + [f"Conditions {'succeeded' if ev.ok else 'failed'}."]
    assert lines == step["stderr"].strip().splitlines(), shlex.join(step["argv"])  # it logs to stderr
    assert (step["rc"] == 0) == ev.ok


def test_trigger_only_skip_and_assert_in_the_journal_and_status():
    facts, virt, _, steps = _recorded()
    f = _oracle_facts({**facts, "fs": {**facts["fs"]}}, virt)
    journal = [e.split("systemd[1]: ", 1)[1] for e in next(s for s in steps if s["do"] == "journal")["entries"]]
    probe = [C("ConditionPathExists=|/nonexistent-a"), C("ConditionPathExists=|/nonexistent-b")]
    r = check_start(probe, [], f)
    assert r.job_result is JobResult.DONE and not r.condition_result
    expected = [f"cond-probe.service: {m}" for _, m in r.logs]
    assert [m for m in journal if m.startswith("cond-probe.service: Condition") or "Not starting" in m] == expected
    assert skip_message("cond-probe.service - Cond probe", r.conditions) in journal
    status = next(s for s in steps if s["do"] == "status")["stdout"].splitlines()
    when = status[3].split(" at ", 1)[1]
    assert status_lines(r.conditions, when) == status[3:6]
    asserts = [C("AssertPathExists=|/nonexistent-a"), C("AssertPathExists=|!/etc")]
    r = check_start([], asserts, f)
    assert r.job_result is JobResult.ASSERT
    expected = [f"assert-trigger.service: {m}" for _, m in r.logs]
    assert [m for m in journal if m.startswith("assert-trigger.service: Assert") or "asserts failed" in m] == expected
    show = next(s for s in steps if s["do"] == "show")["props"]
    assert show["cond-probe.service"]["ConditionResult"] == "no"
    assert show["assert-trigger.service"]["AssertResult"] == "no"


def test_conditions_from_parsed_unit_files_reproduce_the_recorded_skip():
    from sysvisor.core.condition import unit_conditions
    from sysvisor.unitfile.loader import UnitLoader
    units = UnitLoader([str(DATA / "requisite-condition" / "units")]).load_all()
    conds, asserts = unit_conditions(units["cond.service"].unit)
    facts, virt, _, _ = _recorded()
    f = _oracle_facts(facts, virt)
    r = check_start(conds, asserts, f)
    steps = json.loads((DATA / "requisite-condition" / "result.json").read_text())["scenarios"][0]["steps"]
    journal = [e.split("systemd[1]: ", 1)[1] for e in next(s for s in steps if s["do"] == "journal")["entries"]]
    got = [f"cond.service: {m}" for _, m in r.logs]
    assert [m for m in journal if m.startswith("cond.service: Condition") or "Not starting" in m] == got
    assert skip_message("cond.service - Cond", r.conditions) in journal
    status = next(s for s in steps if s["do"] == "status" and "cond.service" in s["stdout"])["stdout"].splitlines()
    assert status_lines(r.conditions, status[3].split(" at ", 1)[1]) == status[3:5]
    conds, asserts = unit_conditions(units["asserted.service"].unit)
    r = check_start(conds, asserts, f)
    assert r.job_result is JobResult.ASSERT
    assert [f"asserted.service: {m}" for _, m in r.logs] == [
        m for m in journal if m.startswith("asserted.service: Assert") or "asserts failed" in m]
