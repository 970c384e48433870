"""Environment of spawned processes. # spec: service-lifecycle.md §5.4

Expected values come from real systemd 257 (tests/data/executor/oracle-257.json), with the
variables the manager sets per process (INVOCATION_ID, JOURNAL_STREAM, SYSTEMD_EXEC_PID)
left out, since they are the caller's `manager_vars`.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.types import NotifyAccess, ServiceType
from sysvisor.core.units import ServiceSection
from sysvisor.daemon import environment as environment_module
from sysvisor.daemon.environment import (
    DEFAULT_PATH,
    EnvironmentFileError,
    SpawnEnvironments,
    build_environment,
    load_environment_files,
    manager_environment,
    notify_variables,
    parse_environment_file,
    pid_variables,
    user_variables,
)
from sysvisor.daemon.executor import UserCredentials, resolve_user

DATA = Path(__file__).parent.parent / "data" / "executor"
UNITS = DATA / "oracle-units"
PER_PROCESS = {"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID"}


def oracle_file(path: str, release: str = "257"):
    recorded = json.loads((DATA / f"oracle-{release}.json").read_text())
    for step in recorded["scenarios"][0]["steps"]:
        if step.get("path") == path:
            return json.loads(step["content"])
    raise KeyError(path)


def without_per_process(env: dict) -> dict:
    return {k: v for k, v in env.items() if k not in PER_PROCESS}


def no_locale(tmp_path: Path) -> str:
    return str(tmp_path / "no-locale.conf")


def test_environment_file_syntax_matches_systemd(tmp_path):
    warnings: list[str] = []
    svc = ServiceSection(environment_files=[("/nonexistent.env", True), (str(UNITS / "envfile.env"), False)])
    env = build_environment(svc, {}, {}, user_manager=False, locale_conf=no_locale(tmp_path), warn=warnings.append)
    assert env == without_per_process(oracle_file("/tmp/envfile.out"))
    assert warnings == [f"Ignoring invalid environment assignment 'export E=1': {UNITS / 'envfile.env'}"]


def test_precedence_and_unset_match_systemd(tmp_path):
    # Environment=PATH=/mine K1=env K2=env K3=env; EnvironmentFile=K1..K3=file;
    # UnsetEnvironment=K3 K2=file LANG
    svc = ServiceSection(
        environment=["PATH=/mine", "K1=env", "K2=env", "K3=env"],
        environment_files=[(str(UNITS / "prec.env"), False)],
        unset_environment=["K3", "K2=file", "LANG"],
    )
    env = build_environment(svc, {}, {}, user_manager=False, locale_conf=no_locale(tmp_path))
    expected = without_per_process(oracle_file("/tmp/prec.out"))
    expected.pop("LC_CTYPE")  # python3's own C-locale coercion (PEP 538), not systemd's
    assert env == expected


def test_user_nobody_gets_user_and_logname_only(tmp_path):
    svc = ServiceSection(user="nobody")
    env = build_environment(svc, {}, {}, user_manager=False, locale_conf=no_locale(tmp_path))
    expected = without_per_process(oracle_file("/tmp/userenv.out")[0])
    assert env == expected


def test_user_root_gets_login_variables(tmp_path):
    recorded = json.loads((DATA / "oracle2-257.json").read_text())
    content = [s for s in recorded["scenarios"][0]["steps"] if s.get("path") == "/tmp/rootuser.out"][0]["content"]
    env = build_environment(ServiceSection(user="root"), {}, {}, user_manager=False, locale_conf=no_locale(tmp_path))
    assert env == without_per_process(json.loads(content)[0])


def test_unset_environment_value_form_only_matches_that_value(tmp_path):
    svc = ServiceSection(environment=["A=1", "B=2"], unset_environment=["A=2", "B=2"])
    env = build_environment(svc, {}, {}, user_manager=False, locale_conf=no_locale(tmp_path))
    assert env["A"] == "1" and "B" not in env


def test_layer_order(tmp_path):
    envfile = tmp_path / "e"
    envfile.write_text("L5=file\n")
    svc = ServiceSection(
        pass_environment=["L3", "L4", "MISSING"],
        environment=["L4=env", "L5=env"],
        environment_files=[(str(envfile), False)],
    )
    env = build_environment(
        svc,
        {"L2": "own", "L3": "own", "L4": "own"},
        {"L1": "var", "L2": "var", "L3": "var"},
        user_manager=False,
        default_environment={"L1": "default", "L0": "default"},
        locale_conf=no_locale(tmp_path),
    )
    assert env["L0"] == "default"
    assert env["L1"] == "var"  # manager vars over DefaultEnvironment
    assert env["L2"] == "var"  # system manager: own environment only via PassEnvironment=
    assert env["L3"] == "own"  # PassEnvironment= over manager vars
    assert env["L4"] == "env"  # Environment= over PassEnvironment=
    assert env["L5"] == "file"  # EnvironmentFile= over Environment=
    assert "MISSING" not in env
    assert env["PATH"] == DEFAULT_PATH and env["LANG"] == "C.UTF-8"


def test_locale_from_the_first_existing_file(tmp_path):
    conf = tmp_path / "locale"
    conf.write_text('LANG="de_DE.UTF-8"\nLC_TIME=C\nFOO=bar\n')
    env = manager_environment({}, user_manager=False, locale_conf=(str(tmp_path / "missing"), str(conf)))
    assert env == {"PATH": DEFAULT_PATH, "LANG": "de_DE.UTF-8", "LC_TIME": "C"}
    conf.write_text("# File generated by update-locale\n")  # Debian's empty default
    assert manager_environment({}, user_manager=False, locale_conf=str(conf))["LANG"] == "C.UTF-8"


def test_user_manager_passes_its_environment_but_not_private_variables():
    own = {"PATH": "/odd", "FOO": "bar", "NOTIFY_SOCKET": "/x", "XDG_SESSION_ID": "3", "MAINPID": "1"}
    env = manager_environment(own, user_manager=True)
    assert env == {"PATH": DEFAULT_PATH, "FOO": "bar"}


def test_user_manager_adds_managerpid_and_login_variables(tmp_path):
    env = build_environment(ServiceSection(), {"FOO": "1"}, {"INVOCATION_ID": "x"}, user_manager=True)
    me = resolve_user(os.geteuid())
    assert env["MANAGERPID"] == str(os.getpid())
    assert env["FOO"] == "1" and env["USER"] == me.name and env["LOGNAME"] == me.name
    system = build_environment(ServiceSection(), {"FOO": "1"}, {}, user_manager=False, locale_conf=no_locale(tmp_path))
    assert "MANAGERPID" not in system and "FOO" not in system


def test_user_manager_sets_login_variables():
    creds = UserCredentials("alice", 1000, 1000, "/home/alice", "/bin/bash")
    assert user_variables(creds, login_environment=True) == {
        "USER": "alice", "HOME": "/home/alice", "LOGNAME": "alice", "SHELL": "/bin/bash"}
    assert user_variables(creds, login_environment=False) == {"USER": "alice"}


def test_root_is_synthesized():
    assert resolve_user("root") == UserCredentials("root", 0, 0, "/root", "/bin/bash")
    assert resolve_user(0).name == "root"
    with pytest.raises(LookupError):
        resolve_user("no-such-user-here")


def test_missing_mandatory_file_fails_like_systemd(tmp_path):
    svc = ServiceSection(environment_files=[(str(tmp_path / "missing"), False)])
    with pytest.raises(EnvironmentFileError) as info:
        build_environment(svc, {}, {}, user_manager=False)
    assert str(info.value) == "Failed to load environment files: No such file or directory"
    assert info.value.errno == errno.ENOENT


def test_optional_and_relative_and_glob(tmp_path):
    (tmp_path / "a.env").write_text("X=a\nY=a\n")
    (tmp_path / "b.env").write_text("Y=b\n")
    assert load_environment_files([(str(tmp_path / "*.env"), False)]) == {"X": "a", "Y": "b"}
    assert load_environment_files([("rel.env", True), (str(tmp_path / "nope*"), True)]) == {}
    with pytest.raises(EnvironmentFileError) as info:
        load_environment_files([("rel.env", False)])
    assert info.value.errno == errno.EINVAL
    with pytest.raises(EnvironmentFileError):
        load_environment_files([(str(tmp_path / "nope*"), False)])
    with pytest.raises(EnvironmentFileError) as info:
        load_environment_files([(str(tmp_path), False)])
    assert info.value.errno == errno.EISDIR


def test_invalid_utf8_fails_the_load(tmp_path):
    f = tmp_path / "bad.env"
    f.write_bytes(b"A=\xff\n")
    with pytest.raises(EnvironmentFileError):
        load_environment_files([(str(f), False)])
    assert load_environment_files([(str(f), True)]) == {}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=1\n#B=2\n;C=3\n", [("A", "1")]),
        ("A = x  \n", [("A", "x")]),
        ("A='  x  '\n", [("A", "  x  ")]),
        ('A="a\\tb\\\\c\\$"\n', [("A", "a\\tb\\c$")]),
        ("A=x\\\ny\n", [("A", "xy")]),
        ('A="x\\\ny"\n', [("A", "xy")]),
        ("A=x\\ y\n", [("A", "x y")]),
        ("NOEQUALS\nB=1", [("B", "1")]),
        ("A=", [("A", "")]),
        ("A='x'y'z'\n", [("A", "xy'z'")]),  # a quote after unquoted text is literal
        ("# comment \\\nA=1\n", [("A", "1")]),
    ],
)
def test_parse_environment_file(text, expected):
    assert [(k, v) for _, k, v in parse_environment_file(text)] == expected


def test_notify_variables():
    notify = ServiceSection(type=ServiceType.NOTIFY, watchdog_usec=3_000_000)
    env, pids = notify_variables(notify, is_main=True, notify_socket="/run/n")
    assert env == {"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "3000000"} and pids == ("WATCHDOG_PID",)
    assert notify_variables(notify, is_main=False, notify_socket="/run/n") == ({}, ())
    exec_access = ServiceSection(type=ServiceType.NOTIFY, notify_access=NotifyAccess.EXEC)
    assert notify_variables(exec_access, is_main=False, notify_socket="/run/n")[0] == {"NOTIFY_SOCKET": "/run/n"}
    assert notify_variables(ServiceSection(), is_main=True, notify_socket="/run/n") == ({}, ())


def test_pid_variables_respect_unit_settings():
    svc = ServiceSection(unset_environment=["WATCHDOG_PID"])
    assert pid_variables({}, svc, ["WATCHDOG_PID"]) == ("SYSTEMD_EXEC_PID",)
    assert pid_variables({"SYSTEMD_EXEC_PID": "*"}, ServiceSection()) == ()


_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_values = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=20)


def _quote(value: str) -> str:
    """Write a value the way shell-style env files quote it (systemd's write_env_file)."""
    return '"' + "".join("\\" + c if c in '"\\`$' else c for c in value) + '"'


@given(st.dictionaries(_keys, _values, max_size=6))
def test_env_file_double_quoting_round_trips(values):
    text = "".join(f"{k}={_quote(v)}\n" for k, v in values.items())
    assert {k: v for _, k, v in parse_environment_file(text)} == values


@given(st.dictionaries(_keys, st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs"),
                                                              blacklist_characters="\\'\"#;"), max_size=20),
                       max_size=6))
def test_env_file_plain_values_round_trip(values):
    text = "".join(f"  {k} =  {v}   \n# comment\n" for k, v in values.items())
    assert {k: v for _, k, v in parse_environment_file(text)} == values


def _oracle5(path: str) -> str:
    recorded = json.loads((DATA / "oracle5-257.json").read_text())
    return [s for s in recorded["scenarios"][0]["steps"] if s.get("path") == path][0]["content"]


def test_unit_settings_override_manager_variables_like_systemd(tmp_path):
    """override.service: Environment= beats INVOCATION_ID/SYSTEMD_EXEC_PID/USER/PATH/LANG."""
    svc = ServiceSection(environment=["INVOCATION_ID=mine", "SYSTEMD_EXEC_PID=mine", "USER=mine", "PATH=/x", "LANG=xx"],
                         unset_environment=["JOURNAL_STREAM"])
    env = build_environment(svc, {}, {"INVOCATION_ID": "real", "JOURNAL_STREAM": "9:1"}, user_manager=False,
                            locale_conf=no_locale(tmp_path))
    expected, _cwd = json.loads(_oracle5("/tmp/override.out"))
    expected.pop("LC_CTYPE")  # python3's locale coercion
    assert env == expected
    assert pid_variables(env, svc) == ()  # the unit's SYSTEMD_EXEC_PID=mine stays


def test_unset_manager_variables_like_systemd(tmp_path):
    svc = ServiceSection(unset_environment=["SYSTEMD_EXEC_PID", "INVOCATION_ID"])
    env = build_environment(svc, {}, {"INVOCATION_ID": "real", "JOURNAL_STREAM": "9:1"}, user_manager=False,
                            locale_conf=no_locale(tmp_path))
    expected, cwd = json.loads(_oracle5("/tmp/unsetpid.out"))
    assert env == {**expected, "JOURNAL_STREAM": "9:1"}
    assert pid_variables(env, svc) == ()
    assert cwd == "/root"  # WorkingDirectory=~ without User=: root's synthesized home


def test_notify_socket_and_watchdog_like_systemd():
    """watchdog.service (Type=notify, NotifyAccess=all, WatchdogSec=30): pre and main env."""
    svc = ServiceSection(type=ServiceType.NOTIFY, notify_access=NotifyAccess.ALL, watchdog_usec=30_000_000)
    pre = dict(line.split("=", 1) for line in _oracle5("/tmp/pre.out").splitlines() if "=" in line)
    main = dict(line.split("=", 1) for line in _oracle5("/tmp/main.out").splitlines() if "=" in line)
    env, pids = notify_variables(svc, is_main=False, notify_socket="/run/systemd/notify")
    assert env == {"NOTIFY_SOCKET": pre["NOTIFY_SOCKET"]} and pids == ()
    env, pids = notify_variables(svc, is_main=True, notify_socket="/run/systemd/notify")
    assert env == {"NOTIFY_SOCKET": main["NOTIFY_SOCKET"], "WATCHDOG_USEC": main["WATCHDOG_USEC"]}
    assert pids == ("WATCHDOG_PID",) and main["WATCHDOG_PID"] == main["SYSTEMD_EXEC_PID"]
    assert "WATCHDOG_USEC" not in pre


# SpawnEnvironments: the environments of one manager's spawns, a restart's reused


_names = st.sampled_from(["INVOCATION_ID", "FOO", "BAR", "LANG", "MONITOR_UNIT", "NOTIFY_SOCKET"])
_values = st.sampled_from(["1", "x y", "", "0" * 32])


@given(
    environment=st.lists(st.builds(lambda n, v: f"{n}={v}", _names, _values), max_size=4),
    unset=st.lists(st.one_of(_names, st.builds(lambda n, v: f"{n}={v}", _names, _values)), max_size=2),
    passed=st.lists(_names, max_size=2),
    spawns=st.lists(st.tuples(st.booleans(), st.dictionaries(st.sampled_from(["MONITOR_UNIT", "NOTIFY_SOCKET", "BAR"]), _values, max_size=2)),
                    min_size=1, max_size=6),
)
def test_spawn_environments_give_what_build_environment_gives(environment, unset, passed, spawns):
    # whatever a spawn's inputs, the reused block of a restart is what a fresh build gives,
    # with this spawn's INVOCATION_ID (or the one Environment= sets, or none if unset)
    service = ServiceSection(environment=environment, unset_environment=unset, pass_environment=passed)
    manager_env = {"FOO": "own", "BAR": "own", "INVOCATION_ID": "leaked"}
    envs = SpawnEnvironments(manager_env, user_manager=False)
    for i, (with_invocation, extra) in enumerate(spawns):
        manager_vars = {**({"INVOCATION_ID": f"{i:032x}"} if with_invocation else {}), **extra}
        assert envs.build(service, manager_vars) == build_environment(service, manager_env, manager_vars, user_manager=False,
                                                                      locale=envs.locale)


def test_a_restart_reuses_its_block_with_its_own_invocation_id(tmp_path, monkeypatch):
    built = []
    real = environment_module.build_environment

    def counting(*args, **kwargs):
        built.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(environment_module, "build_environment", counting)
    service = ServiceSection(environment=["FOO=1"])
    envs = SpawnEnvironments({}, user_manager=False, locale_conf=no_locale(tmp_path))
    ids = [f"{i:032x}" for i in range(5)]
    results = [envs.build(service, {"INVOCATION_ID": i, "NOTIFY_SOCKET": "/run/n"}) for i in ids]
    assert [r["INVOCATION_ID"] for r in results] == ids
    assert all({k: v for k, v in r.items() if k != "INVOCATION_ID"} == {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "USER": "root" if os.geteuid() == 0 else resolve_user(os.geteuid()).name,
                                                                       "NOTIFY_SOCKET": "/run/n", "FOO": "1"} for r in results)
    assert len(built) == 2  # the first start, then the block the restarts reuse
    envs.build(service, {"INVOCATION_ID": "f" * 32, "MONITOR_UNIT": "a.service"})  # other inputs: built afresh
    assert len(built) == 3


def test_environment_files_are_read_at_every_spawn_and_the_locale_at_start_and_reload(tmp_path):
    locale, env_file = tmp_path / "locale.conf", tmp_path / "env"
    locale.write_text("LANG=de_DE.UTF-8\n")
    env_file.write_text("A=1\n")
    service = ServiceSection(environment_files=[(str(env_file), False)])
    plain = ServiceSection()
    envs = SpawnEnvironments({}, user_manager=False, locale_conf=str(locale))
    for i in range(3):
        envs.build(service, {"INVOCATION_ID": str(i)})
        envs.build(plain, {"INVOCATION_ID": str(i)})
    env_file.write_text("A=2\n")
    locale.write_text("LANG=fr_FR.UTF-8\n")
    assert envs.build(service, {"INVOCATION_ID": "3"})["A"] == "2"  # EnvironmentFile=: right before each spawn
    assert envs.build(plain, {"INVOCATION_ID": "3"})["LANG"] == "de_DE.UTF-8"  # as systemd: at start-up ...
    reloaded = SpawnEnvironments({}, user_manager=False, locale_conf=str(locale))
    assert reloaded.build(plain, {"INVOCATION_ID": "4"})["LANG"] == "fr_FR.UTF-8"  # ... and daemon-reload
