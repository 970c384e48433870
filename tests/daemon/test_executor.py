"""Real processes through daemon/executor.spawn. # spec: service-lifecycle.md §5, §8.3

Each test reaps only its own child (os.waitid(P_PID)), never any other process.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from sysvisor.core.units import ExecCommand, ServiceSection
from sysvisor.daemon.executor import (
    EXIT_CHDIR,
    EXIT_EXEC,
    EXIT_GROUP,
    EXIT_LIMITS,
    EXIT_NAMESPACE,
    EXIT_USER,
    ExecRequest,
    exec_request,
    read_exec_outcome,
    spawn,
    wait_exec_outcome,
)

PY = sys.executable
IS_ROOT = os.geteuid() == 0


def run(req: ExecRequest):
    """Spawn, learn the exec outcome, reap this one child: (si_code, si_status, outcome)."""
    child = spawn(req)
    outcome = wait_exec_outcome(child.error_fd, req.path)
    info = os.waitid(os.P_PID, child.pid, os.WEXITED)
    return info.si_code, info.si_status, outcome


def py(code: str, tmp_path, **kw) -> tuple[ExecRequest, str]:
    out = str(tmp_path / "out.json")
    return ExecRequest(path=PY, argv=[PY, "-c", code, out], **kw), out


def test_exit_status_and_exec_success(tmp_path):
    code, status, outcome = run(ExecRequest(path="/bin/sh", argv=["sh", "-c", "exit 7"]))
    assert (code, status) == (os.CLD_EXITED, 7)
    assert outcome.exec_succeeded


def test_signal_death_is_reported_as_killed():
    code, status, _ = run(ExecRequest(path="/bin/sh", argv=["sh", "-c", "kill -TERM $$"]))
    assert (code, status) == (os.CLD_KILLED, signal.SIGTERM)


def test_missing_binary_is_203_with_systemd_messages():
    code, status, outcome = run(ExecRequest(path="/nope", argv=["/nope", "arg"]))
    assert (code, status) == (os.CLD_EXITED, EXIT_EXEC)
    assert outcome.failure.messages() == [
        "Unable to locate executable '/nope': No such file or directory",
        "Failed at step EXEC spawning /nope: No such file or directory",
    ]
    assert outcome.failure.ident == "(nope)"


def test_plain_name_is_searched_in_fixed_path_not_env_path(tmp_path):
    # $PATH of the unit does not matter (spec §5.1)
    code, status, _ = run(ExecRequest(path="true", argv=["true"], env={"PATH": str(tmp_path)}))
    assert (code, status) == (os.CLD_EXITED, 0)
    code, status, outcome = run(ExecRequest(path="nosuchprog", argv=["nosuchprog"]))
    assert status == EXIT_EXEC
    assert outcome.failure.reason == "Unable to locate executable 'nosuchprog': No such file or directory"
    assert outcome.failure.ident == "(suchprog)"  # as systemd 257 logged it


def test_exec_format_error_is_203(tmp_path):
    f = tmp_path / "notabinary"
    f.write_bytes(b"\x00\x01garbage")
    f.chmod(0o755)
    code, status, outcome = run(ExecRequest(path=str(f), argv=[str(f)]))
    assert status == EXIT_EXEC
    assert outcome.failure.step == "EXEC"
    # systemd 257 wording (tests/data/executor/oracle2-257.json, noexecfmt.service)
    assert outcome.failure.messages() == [
        f"Failed to execute {f}: Exec format error",
        f"Failed at step EXEC spawning {f}: Exec format error",
    ]


def test_directory_is_not_executable(tmp_path):
    _, status, outcome = run(ExecRequest(path=str(tmp_path), argv=[str(tmp_path)]))
    assert status == EXIT_EXEC
    assert outcome.failure.reason == f"Unable to locate executable '{tmp_path}': Is a directory"


def test_bad_working_directory_is_200():
    code, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], working_directory="/nonexistent"))
    assert (code, status) == (os.CLD_EXITED, EXIT_CHDIR)
    assert outcome.failure.messages() == [
        "Changing to the requested working directory failed: No such file or directory",
        "Failed at step CHDIR spawning /bin/true: No such file or directory",
    ]


def test_optional_working_directory_falls_back_to_root(tmp_path):
    req, out = py("import os,sys,json; json.dump(os.getcwd(), open(sys.argv[1],'w'))", tmp_path,
                  working_directory="-/nonexistent")
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    assert json.load(open(out)) == "/"


def test_working_directory_and_home(tmp_path):
    req, out = py("import os,sys,json; json.dump(os.getcwd(), open(sys.argv[1],'w'))", tmp_path,
                  working_directory=str(tmp_path))
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    assert json.load(open(out)) == str(tmp_path)
    req, out = py("import os,sys,json; json.dump(os.getcwd(), open(sys.argv[1],'w'))", tmp_path,
                  working_directory="~")
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    home = "/root" if IS_ROOT else os.path.expanduser("~")
    assert json.load(open(out)) == home


def test_environment_argv_and_exec_pid(tmp_path):
    req, out = py(
        "import os,sys,json; json.dump([dict(os.environ), sys.argv, os.getpid()], open(sys.argv[1],'w'))",
        tmp_path,
        env={"A": "1", "WATCHDOG_PID": "fixed"},
        pid_variables=("SYSTEMD_EXEC_PID", "WATCHDOG_PID"),
    )
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    env, argv, pid = json.load(open(out))
    env.pop("LC_CTYPE", None)  # python3's own C-locale coercion (PEP 538)
    assert env == {"A": "1", "WATCHDOG_PID": "fixed", "SYSTEMD_EXEC_PID": str(pid)}
    assert argv[1:] == [out]


def test_umask_nice_and_limits(tmp_path):
    req, out = py(
        "import os,sys,json,resource; m=os.umask(0); "
        "json.dump([m, os.getpriority(os.PRIO_PROCESS,0), resource.getrlimit(resource.RLIMIT_NOFILE),"
        " resource.getrlimit(resource.RLIMIT_CORE)], open(sys.argv[1],'w'))",
        tmp_path,
        umask=0o077,
        nice=5,
        limits={"NOFILE": (100, 200), "LimitCORE": (0, -1)},
    )
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    mask, nice, nofile, core = json.load(open(out))
    assert mask == 0o077
    assert nice == os.getpriority(os.PRIO_PROCESS, 0) + 5
    assert nofile == [100, 200]
    assert core[0] == 0


def test_limit_above_hard_limit_is_clamped_like_systemd(tmp_path):
    # systemd: setrlimit_closest(); LimitNOFILE=100000000:200000000 still starts (oracle limit.service)
    req, out = py("import sys,json,resource; json.dump(resource.getrlimit(resource.RLIMIT_NOFILE), open(sys.argv[1],'w'))",
                  tmp_path, limits={"NOFILE": (10**8, 2 * 10**8)})
    assert run(req)[:2] == (os.CLD_EXITED, 0)
    soft, hard = json.load(open(out))
    assert soft == hard and soft <= 10**8


def test_systemd_default_limits_match_the_oracle():
    from pathlib import Path

    from sysvisor.daemon.executor import SYSTEMD_DEFAULT_LIMITS

    props = json.loads((Path(__file__).parent.parent / "data" / "executor" / "oracle4-257-limits.json")
                       .read_text())["props"]
    for name, (soft, hard) in SYSTEMD_DEFAULT_LIMITS.items():
        as_text = lambda v: "infinity" if v < 0 else str(v)  # noqa: E731
        assert (props[f"Limit{name}Soft"], props[f"Limit{name}"]) == (as_text(soft), as_text(hard))


def test_unknown_limit_name_is_205():
    assert run(ExecRequest(path="/bin/true", argv=["true"], limits={"BOGUS": (1, 1)}))[1] == EXIT_LIMITS


def test_stdio_redirect_and_fd_hygiene(tmp_path):
    out = open(tmp_path / "stdout", "w")
    stray = os.open("/dev/null", os.O_RDONLY)  # inheritable, must not leak
    os.set_inheritable(stray, True)
    try:
        code, status, _ = run(ExecRequest(
            path="/bin/sh", argv=["sh", "-c", "echo hi; echo err >&2; ls /proc/self/fd; read x || echo eof"],
            stdout=out.fileno(), stderr=out.fileno(), stdin="null"))
    finally:
        out.close()
        os.close(stray)
    assert (code, status) == (os.CLD_EXITED, 0)
    lines = (tmp_path / "stdout").read_text().split()
    assert lines[:2] == ["hi", "err"]
    assert lines[-1] == "eof"
    fds = sorted(int(x) for x in lines[2:-1])
    assert fds == [0, 1, 2, 3]  # 3 is ls's own directory fd


def test_pass_fds_land_at_3(tmp_path):
    r, w = os.pipe()
    try:
        code, status, _ = run(ExecRequest(path="/bin/sh", argv=["sh", "-c", "echo passed >&3"], pass_fds=(w,)))
        os.close(w)
        assert (code, status) == (os.CLD_EXITED, 0)
        assert os.read(r, 100) == b"passed\n"
    finally:
        os.close(r)


def test_new_session_and_reset_signals(tmp_path):
    # the daemon ignores SIGPIPE (Python does) and may block signals: neither must leak
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        req, out = py(
            "import os,sys,json,signal; json.dump([os.getsid(0)==os.getpid(), os.getpgrp()==os.getpid(),"
            " sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))],"
            " open(sys.argv[1],'w'))", tmp_path)
        assert run(req)[:2] == (os.CLD_EXITED, 0)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    assert json.load(open(out)) == [True, True, []]
    # SIGPIPE back to default (Python ignores it): writing to a closed pipe kills the child
    r, w = os.pipe()
    os.close(r)
    try:
        code, status, _ = run(ExecRequest(path="/bin/echo", argv=["echo", "x"], stdout=w))
    finally:
        os.close(w)
    assert (code, status) == (os.CLD_KILLED, signal.SIGPIPE)


def test_child_process_name_is_systemds():
    from sysvisor.daemon.executor import child_process_name

    assert child_process_name("/usr/bin/python3") == "(python3)"
    assert child_process_name("nosuchprog") == "(suchprog)"
    assert child_process_name("/tmp/orc2/units/notbin") == "(notbin)"


def test_spawn_returns_before_the_child_finishes(tmp_path):
    r, w = os.pipe()
    child = spawn(ExecRequest(path="/bin/sh", argv=["sh", "-c", "read x <&3"], pass_fds=(r,)))
    try:
        outcome = wait_exec_outcome(child.error_fd, "/bin/sh")  # exec happened, child still waits
        assert outcome.exec_succeeded
        assert os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG) is None
    finally:
        os.write(w, b"go\n")
        os.close(w)
        os.close(r)
    assert os.waitid(os.P_PID, child.pid, os.WEXITED).si_status == 0


def test_read_exec_outcome_is_non_blocking():
    r, w = os.pipe()
    os.set_blocking(r, False)
    assert read_exec_outcome(r, "/x") is None  # nothing yet, not EOF
    os.close(w)
    assert read_exec_outcome(r, "/x").exec_succeeded  # EOF: exec happened


def test_unknown_user_is_217_and_unknown_group_216():
    _, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], user="nosuchuser-x"))
    assert status == EXIT_USER
    assert outcome.failure.messages() == [
        "Failed to determine user credentials: No such process",
        "Failed at step USER spawning /bin/true: No such process",
    ]
    _, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], group="nosuchgroup-x"))
    assert status == EXIT_GROUP
    assert outcome.failure.messages()[0] == "Failed to determine group credentials: No such process"
    if IS_ROOT:
        _, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], supplementary_groups=["nosuchgroup-x"]))
        assert status == EXIT_GROUP
        assert outcome.failure.messages()[0] == "Failed to determine supplementary groups: No such process"


@pytest.mark.skipif(not IS_ROOT, reason="switching users needs root")
def test_user_and_group_switch_as_root():
    script = "id -u; id -ru; id -g; id -G; pwd; echo $HOME"

    def ids(**kw):
        r, w = os.pipe()
        try:
            result = run(ExecRequest(path="/bin/sh", argv=["sh", "-c", script], stdout=w, **kw))
            os.close(w)
            assert result[:2] == (os.CLD_EXITED, 0), result
            return os.read(r, 4096).decode().splitlines()
        finally:
            os.close(r)

    uid, ruid, gid, groups, cwd, _ = ids(user="nobody", supplementary_groups=["0"], working_directory="~")
    assert (uid, ruid, gid) == ("65534", "65534", "65534")
    assert set(groups.split()) == {"0", "65534"}
    assert cwd == "/"  # nobody's home is synthesized as "/" (systemd 257: userenv.service)
    # Group= alone changes the GID and drops root's supplementary groups
    uid, _, gid, groups, _, _ = ids(group="nogroup")
    assert (uid, gid, groups) == ("0", "65534", "65534")


@pytest.mark.skipif(IS_ROOT, reason="as root the switch works")
def test_user_switch_unprivileged_is_a_clear_217():
    _, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], user="nobody"))
    assert status == EXIT_USER
    assert "needs a manager running as root" in outcome.failure.reason


def test_exec_request_maps_prefixes_and_expands(tmp_path):
    svc = ServiceSection(user="nobody", group="nogroup", supplementary_groups=["adm"],
                         working_directory=None, limits={"NOFILE": (10, 20)}, umask=0o027, nice=3)
    cmd = ExecCommand(path="/bin/echo", argv=("/bin/echo", "$A", "${A}"))
    req = exec_request(svc, cmd, {"A": "x y"}, user_manager=True, default_limits={"NOFILE": (1, 2), "CORE": (0, -1)})
    assert (req.path, req.argv) == ("/bin/echo", ["/bin/echo", "x", "y", "x y"])
    assert req.warnings == []
    unset = exec_request(svc, ExecCommand(path="/bin/echo", argv=("/bin/echo", "$NOPE", "$1X")), {})
    assert unset.warnings == [
        "Referenced but unset environment variable evaluates to an empty string: NOPE",
        "Invalid environment variable name evaluates to an empty string: 1X",
    ]
    assert (req.user, req.group, req.supplementary_groups) == ("nobody", "nogroup", ["adm"])
    assert req.working_directory == "-~"
    assert req.limits == {"NOFILE": (10, 20), "CORE": (0, -1)}
    assert (req.umask, req.nice) == (0o027, 3)
    plus = ExecCommand(path="/bin/echo", argv=("/bin/echo",), full_privileges=True)
    req = exec_request(svc, plus, {})
    assert (req.user, req.group, req.supplementary_groups, req.working_directory) == (None, None, [], None)
    # "!!" has no effect where ambient capabilities exist (all supported kernels)
    bangbang = ExecCommand(path="/bin/echo", argv=("/bin/echo",), ambient_only=True)
    assert exec_request(svc, bangbang, {}).user == "nobody"
    assert exec_request(svc, plus, {}).home == "/"  # nobody's home, for WorkingDirectory=~
    # RootDirectory= stays for "+" (systemd 257: oracle3-257.json rootplus.service)
    assert exec_request(ServiceSection(root_directory="/srv"), plus, {}).root_directory == "/srv"


def test_given_fds_are_not_clobbered_by_each_other():
    """pass_fds=(2,) with stderr redirected: fd 3 must be the daemon's fd 2, not the pipe."""
    r, w = os.pipe()
    try:
        code, status, _ = run(ExecRequest(
            path="/bin/sh", argv=["sh", "-c", "readlink /proc/self/fd/3 >&1"],
            stdout=w, stderr=w, pass_fds=(2,)))
        os.close(w)
        w = -1
        assert (code, status) == (os.CLD_EXITED, 0)
        assert os.read(r, 4096).decode().strip() == os.readlink("/proc/self/fd/2")
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


@pytest.mark.skipif(not IS_ROOT, reason="chroot needs root")
def test_root_directory(tmp_path):
    # /usr as root: /bin/true there is the host's /usr/bin/true; /usr/bin/true is not
    if not os.path.exists("/usr/lib64") and not os.path.exists("/usr/lib/x86_64-linux-gnu"):
        pytest.skip("unusual /usr layout")
    assert run(ExecRequest(path="/bin/true", argv=["true"], root_directory="/usr"))[:2] == (os.CLD_EXITED, 0)
    _, status, outcome = run(ExecRequest(path="/usr/bin/true", argv=["true"], root_directory="/usr"))
    assert status == EXIT_EXEC
    _, status, outcome = run(ExecRequest(path="/bin/true", argv=["true"], root_directory="/nonexistent"))
    assert status == EXIT_NAMESPACE
    assert outcome.failure.messages() == [
        "Failed to set up mount namespacing: /nonexistent: No such file or directory",
        "Failed at step NAMESPACE spawning /bin/true: No such file or directory",
    ]


def test_no_popen_in_the_daemon():
    import pathlib

    import sysvisor.daemon as daemon_pkg

    here = pathlib.Path(daemon_pkg.__file__).parent
    for name in ("executor.py", "environment.py", "containment.py"):
        f = here / name
        if f.exists():
            text = f.read_text()
            assert "import subprocess" not in text and "from subprocess" not in text, name


@pytest.mark.skipif(not IS_ROOT, reason="needs root to become nobody")
def test_unprivileged_manager_refuses_other_users_clearly():
    """Run spawn() in a forked copy of this process that dropped to nobody."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            results = []
            for kw in ({"user": "root"}, {"group": "root"}, {"supplementary_groups": ["root"]}, {"user": "nobody"}):
                child = spawn(ExecRequest(path="/bin/true", argv=["true"], **kw))
                outcome = wait_exec_outcome(child.error_fd, "/bin/true")
                status = os.waitid(os.P_PID, child.pid, os.WEXITED).si_status
                results.append([status, outcome.failure.reason if outcome.failure else None])
            os.write(w, json.dumps(results).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    assert os.waitid(os.P_PID, pid, os.WEXITED).si_status == 0
    (user, user_reason), (group, group_reason), (supp, supp_reason), same = json.loads(data)
    assert user == EXIT_USER and user_reason == (
        "Failed to change UID to 0 (User= needs a manager running as root): Operation not permitted")
    assert group == EXIT_GROUP and "Group= needs a manager running as root" in group_reason
    assert supp == EXIT_GROUP and "SupplementaryGroups= needs a manager running as root" in supp_reason
    assert same == [0, None]  # "switching" to the user we already are is fine


def test_unit_to_process_end_to_end(tmp_path):
    """ServiceSection + ExecCommand → environment → request → process, as the daemon wires it.

    `$1` and `$NOTIFY_SOCKET` inside a larger word reach the shell untouched; `$$$$` is how a
    unit file writes the shell's `$$`."""
    from sysvisor.core.types import ServiceType
    from sysvisor.daemon.environment import build_environment, notify_variables, pid_variables

    envfile = tmp_path / "env"
    envfile.write_text("GREETING='hello world'\n")
    svc = ServiceSection(type=ServiceType.NOTIFY, watchdog_usec=5_000_000,
                         environment=["WHO=unit"], environment_files=[(str(envfile), False)],
                         working_directory=str(tmp_path))
    cmd = ExecCommand(path="/bin/sh", argv=("/bin/sh", "-c", 'echo "$1|$2|$3|$PWD|$NOTIFY_SOCKET|$WATCHDOG_USEC'
                                            '|$WATCHDOG_PID|$SYSTEMD_EXEC_PID|$INVOCATION_ID|$$$$"', "sh",
                                            "$GREETING", "${GREETING}"))
    notify_env, extra_pid_vars = notify_variables(svc, is_main=True, notify_socket="/run/sysvisor/notify")
    env = build_environment(svc, {}, {"INVOCATION_ID": "0123", **notify_env}, user_manager=False)
    r, w = os.pipe()
    req = exec_request(svc, cmd, env, stdout=w, pid_variables=pid_variables(env, svc, extra_pid_vars))
    try:
        code, status, outcome = run(req)
        os.close(w)
        w = -1
        line = os.read(r, 4096).decode().strip()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert (code, status) == (os.CLD_EXITED, 0) and outcome.exec_succeeded
    first, second, third, pwd, sock, wd_usec, wd_pid, exec_pid, inv, pid = line.split("|")
    assert (first, second, third) == ("hello", "world", "hello world")
    assert (pwd, sock, wd_usec, inv) == (str(tmp_path), "/run/sysvisor/notify", "5000000", "0123")
    assert wd_pid == exec_pid == pid
