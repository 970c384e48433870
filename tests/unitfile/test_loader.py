"""Loading units: states, traps 4/7/17/18/31, drop-ins, aliases, masking, templates.
# spec: unit-files.md §2, §4, §7; README.md traps
"""

import os

from sysvisor.core.types import USEC_INFINITY, JobMode, LoadState, RestartPolicy, ServiceType
from sysvisor.unitfile.loader import UnitLoader, default_search_paths

SEED = """[Unit]
Description=Foo service
StartLimitIntervalSec=20
StartLimitBurst=3
OnFailure=failure-handler@%n.service

[Service]
Type=simple
ExecStart=/bin/sh -c 'echo start; exit 1'
Restart=on-failure
RestartSec=1
Environment=A=1 "B=two words"
"""


def msgs(loader, name):
    return [str(d).replace(str(loader.search_paths[0]) + "/", "") for d in loader.diagnostics(name)]


def test_seed_unit(make_loader):
    loader = make_loader({"etc/foo.service": SEED})
    u = loader.load("foo.service")
    assert u.load_state is LoadState.LOADED and loader.diagnostics("foo.service") == []
    assert u.description == "Foo service"
    assert u.unit.start_limit_interval_usec == 20_000_000 and u.unit.start_limit_burst == 3
    assert u.unit.on_failure == ["failure-handler@foo.service.service"]
    svc = u.service
    assert svc.type is ServiceType.SIMPLE and svc.restart is RestartPolicy.ON_FAILURE
    assert svc.restart_usec == 1_000_000
    assert svc.exec_start[0].argv == ("/bin/sh", "-c", "echo start; exit 1")
    assert svc.exec_start[0].origin == (loader.search_paths[0] + "/foo.service", 9)
    assert svc.environment == ["A=1", "B=two words"]
    assert u.fragment_path.endswith("etc/foo.service")


def test_missing_unit_is_not_found(make_loader):
    u = make_loader({}).load("foo.service")
    assert u.load_state is LoadState.NOT_FOUND and u.load_error == "Unit foo.service not found."


def test_invalid_name(make_loader):
    u = make_loader({}).load("bad name!.service")
    assert u.load_state is LoadState.ERROR and u.load_error == "Unit name bad name!.service is not valid."


def test_trap7_oneshot_restart_always_refused(make_loader):
    loader = make_loader({"etc/o.service": "[Service]\nType=oneshot\nRestart=always\nExecStart=/bin/true\n"})
    u = loader.load("o.service")
    assert u.load_state is LoadState.BAD_SETTING
    assert msgs(loader, "o.service") == ["o.service: Service has Restart= set to either always or on-success, "
                                         "which isn't allowed for Type=oneshot services. Refusing."]
    ok = make_loader({"etc/p.service": "[Service]\nType=oneshot\nRestart=on-failure\nExecStart=/bin/true\n"})
    assert ok.load("p.service").load_state is LoadState.LOADED


def test_two_execstart_refused_unless_oneshot(make_loader):
    two = "[Service]\nExecStart=/bin/true\nExecStart=/bin/false\n"
    loader = make_loader({"etc/c.service": two, "etc/d.service": two + "Type=oneshot\n"})
    assert loader.load("c.service").load_state is LoadState.BAD_SETTING
    assert "more than one ExecStart=" in msgs(loader, "c.service")[0]
    assert len(loader.load("d.service").service.exec_start) == 2


def test_trap4_startlimitintervalsec_in_service_is_unknown(make_loader):
    loader = make_loader({"etc/s.service": "[Service]\nExecStart=/bin/true\nStartLimitIntervalSec=5\n"
                                           "StartLimitInterval=7\nStartLimitBurst=2\n"})
    u = loader.load("s.service")
    assert msgs(loader, "s.service") == ["s.service:3: Unknown key 'StartLimitIntervalSec' in section [Service], ignoring."]
    assert u.unit.start_limit_interval_usec == 7_000_000 and u.unit.start_limit_burst == 2


def test_trap17_empty_scalar_keeps_value_lists_reset(make_loader):
    text = ("[Unit]\nAfter=a.service\nAfter=\n[Service]\nRestart=always\nRestart=\nRestartSec=5\nRestartSec=\n"
            "ExecStart=/bin/a\nExecStart=\nExecStart=/bin/b\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2\n"
            "TimeoutAbortSec=3\nTimeoutAbortSec=\n")
    loader = make_loader({"etc/e.service": text})
    u = loader.load("e.service")
    assert u.service.restart is RestartPolicy.ALWAYS and u.service.restart_usec == 5_000_000
    assert [c.path for c in u.service.exec_start] == ["/bin/b"]
    assert u.service.environment == ["B=2"] and u.unit.after == ["a.service"]
    assert u.service.timeout_abort_usec is None
    assert msgs(loader, "e.service") == [
        "e.service:6: Failed to parse service restart specifier, ignoring: ",
        "e.service:8: Failed to parse sec value, ignoring: "]


def test_trap18_no_inline_comments(make_loader):
    loader = make_loader({"etc/r.service": "[Unit]\n[Service]\nRestart=always # note\nExecStart=/bin/true\n"})
    u = loader.load("r.service")
    assert u.service.restart is RestartPolicy.NO
    assert msgs(loader, "r.service") == ["r.service:3: Failed to parse service restart specifier, ignoring: always # note"]


def test_fatal_setting_stops_parsing_the_file(make_loader):
    loader = make_loader({"etc/w.service": "[Service]\nExecStart=/bin/true\nWorkingDirectory=rel\nBogus=1\n"})
    u = loader.load("w.service")
    assert u.load_state is LoadState.BAD_SETTING
    assert msgs(loader, "w.service") == ["w.service:3: WorkingDirectory= path is not absolute: rel",
                                         "w.service: Unit configuration has fatal error, unit will not be started."]


def test_dropins_order_and_reset(make_loader):
    loader = make_loader({
        "lib/d.service": "[Service]\nExecStart=/bin/true\nRestart=no\n",
        "lib/d.service.d/20-b.conf": "[Service]\nRestart=always\n",
        "etc/d.service.d/10-a.conf": "[Service]\nExecStart=\nExecStart=/bin/false\n",
        "etc/service.d/30-all.conf": "[Service]\nRestartSec=7\n",
    })
    u = loader.load("d.service")
    assert u.load_state is LoadState.LOADED
    assert [c.path for c in u.service.exec_start] == ["/bin/false"]
    assert u.service.restart is RestartPolicy.ALWAYS and u.service.restart_usec == 7_000_000
    assert [os.path.basename(p) for p in u.dropin_paths] == ["10-a.conf", "20-b.conf", "30-all.conf"]


def test_trap31_dropin_without_reset_gives_two_execstart(make_loader):
    loader = make_loader({"lib/d.service": "[Service]\nExecStart=/bin/true\n",
                          "etc/d.service.d/o.conf": "[Service]\nExecStart=/bin/false\n"})
    assert loader.load("d.service").load_state is LoadState.BAD_SETTING


def test_dropin_same_basename_higher_precedence_wins_and_dev_null_masks(make_loader, tmp_path):
    loader = make_loader({
        "lib/x.service": "[Service]\nExecStart=/bin/true\n",
        "lib/x.service.d/10.conf": "[Service]\nRestartSec=1\n",
        "etc/x.service.d/10.conf": "[Service]\nRestartSec=2\n",
        "lib/x.service.d/20.conf": "[Service]\nRestartSec=3\n",
    })
    os.symlink("/dev/null", tmp_path / "etc/x.service.d/20.conf")
    u = loader.load("x.service")
    assert u.service.restart_usec == 2_000_000
    assert u.dropin_paths == [str(tmp_path / "etc/x.service.d/10.conf")]


def test_dash_prefix_dropins(make_loader):
    loader = make_loader({"lib/foo-bar-baz.service": "[Service]\nExecStart=/bin/true\n",
                          "lib/foo-.service.d/a.conf": "[Unit]\nDescription=from foo-\n",
                          "lib/foo-bar-.service.d/b.conf": "[Unit]\nDescription=from foo-bar-\n"})
    assert loader.load("foo-bar-baz.service").description == "from foo-bar-"


def test_dropin_needs_its_own_section_header(make_loader):
    loader = make_loader({"lib/n.service": "[Service]\nExecStart=/bin/true\n",
                          "lib/n.service.d/20-nosec.conf": "RestartSec=5\n"})
    u = loader.load("n.service")
    assert u.service.restart_usec == 100_000
    assert msgs(loader, "n.service")[0].endswith("n.service.d/20-nosec.conf:1: Assignment outside of section. Ignoring.")


def test_masking(make_loader, tmp_path):
    loader = make_loader({"lib/m.service": "[Service]\nExecStart=/bin/true\n", "lib/empty.service": ""})
    os.symlink("/dev/null", tmp_path / "etc/m.service")
    assert loader.load("m.service").load_state is LoadState.MASKED
    assert loader.load("empty.service").load_state is LoadState.MASKED


def test_alias_symlink(make_loader, tmp_path):
    loader = make_loader({"lib/real.service": "[Service]\nExecStart=/bin/true\n",
                          "etc/other.service.d/a.conf": "[Unit]\nDescription=via alias\n"})
    os.symlink(tmp_path / "lib/real.service", tmp_path / "etc/other.service")
    u = loader.load("other.service")
    assert u.name == "real.service" and u.aliases == ["other.service"]
    assert u.description == "via alias"
    assert "real.service" in loader.load_all() and "other.service" not in loader.load_all()


def test_linked_file_outside_search_path(make_loader, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/l.service").write_text("[Service]\nExecStart=/bin/true\n")
    loader = make_loader({})
    os.symlink(tmp_path / "elsewhere/l.service", tmp_path / "etc/l.service")
    u = loader.load("l.service")
    assert u.load_state is LoadState.LOADED and u.fragment_path == str(tmp_path / "elsewhere/l.service")


def test_template_instance_and_specifiers(make_loader):
    loader = make_loader({"lib/getty@.service": "[Unit]\nDescription=Getty on %I (%i) %p %n %H %l %%\n"
                                                "[Service]\nExecStart=/sbin/agetty %I\n",
                          "lib/getty@tty3.service.d/x.conf": "[Service]\nRestartSec=9\n"})
    u = loader.load("getty@tty3.service")
    assert u.name == "getty@tty3.service" and u.fragment_path.endswith("getty@.service")
    assert u.description == "Getty on tty3 (tty3) getty getty@tty3.service box.example box %"
    assert u.service.exec_start[0].argv == ("/sbin/agetty", "tty3")
    assert u.service.restart_usec == 9_000_000
    assert loader.load("getty@.service").load_state is LoadState.ERROR
    assert loader.load("plain@x.service").load_state is LoadState.NOT_FOUND


def test_unknown_specifier_is_fatal_in_exec(make_loader):
    loader = make_loader({"etc/z.service": "[Service]\nExecStart=/bin/echo %Z\n"})
    assert loader.load("z.service").load_state is LoadState.BAD_SETTING
    assert msgs(loader, "z.service")[0] == "z.service:2: Failed to resolve unit specifiers in %Z: Invalid slot"


def test_extensions_kept(make_loader):
    loader = make_loader({"etc/x.service": "[Unit]\nX-Custom=1\n[Service]\nExecStart=/bin/true\nX-Other=2\n"
                                           "[X-Section]\nAnything=3\n"})
    u = loader.load("x.service")
    assert loader.diagnostics("x.service") == []
    assert u.extensions == {"Unit": [("X-Custom", "1")], "Service": [("X-Other", "2")],
                            "X-Section": [("Anything", "3")]}


def test_wants_directory(make_loader, tmp_path):
    loader = make_loader({"lib/t.target": "[Unit]\nDescription=T\n",
                          "lib/a.service": "[Service]\nExecStart=/bin/true\n"})
    (tmp_path / "etc/t.target.wants").mkdir()
    os.symlink(tmp_path / "lib/a.service", tmp_path / "etc/t.target.wants/a.service")
    assert loader.load("t.target").unit.wants == ["a.service"]


def test_dependency_parsing(make_loader):
    loader = make_loader({"etc/d.service": "[Unit]\nAfter=a.service b.target\nAfter=a.service\n"
                                           "Wants=bad!name.service good.service\nOnFailureJobMode=fail\n"
                                           "[Service]\nExecStart=/bin/true\n"})
    u = loader.load("d.service")
    assert u.unit.after == ["a.service", "b.target"] and u.unit.wants == ["good.service"]
    assert u.unit.on_failure_job_mode is JobMode.FAIL
    assert msgs(loader, "d.service") == ["d.service:4: Failed to add dependency on bad!name.service, ignoring: Invalid argument"]


def test_timeouts(make_loader):
    loader = make_loader({"etc/t.service": "[Service]\nExecStart=/bin/true\nTimeoutSec=0\n"})
    svc = loader.load("t.service").service
    assert svc.timeout_start_usec == USEC_INFINITY and svc.timeout_stop_usec == USEC_INFINITY


def test_default_search_paths():
    assert default_search_paths(False, {})[4] == "/etc/systemd/system"
    assert default_search_paths(False, {"SYSTEMD_UNIT_PATH": "/a:/b"}) == ["/a", "/b"]
    assert default_search_paths(False, {"SYSTEMD_UNIT_PATH": "/a:"})[:2] == ["/a", "/etc/systemd/system.control"]
    user = default_search_paths(True, {"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"})
    assert user[0] == "/home/u/.config/systemd/user.control" and "/home/u/.config/systemd/user" in user
    assert user[-1] == "/run/user/1000/systemd/generator.late"


def test_type_dropin_dir_is_weakest_even_from_an_earlier_path(make_loader):
    # observed with systemd-analyze verify (v252): a later path's foo-bar.service.d/10.conf beats
    # an earlier path's service.d/10.conf; dash-prefix dirs follow search-path order
    loader = make_loader({"lib/foo-bar.service": "[Service]\nExecStart=/bin/true\n",
                          "etc/service.d/10.conf": "[Service]\nRestartSec=1\n",
                          "lib/foo-bar.service.d/10.conf": "[Service]\nRestartSec=2\n",
                          "etc/foo-.service.d/20.conf": "[Service]\nRestart=always\n",
                          "lib/foo-.service.d/20.conf": "[Service]\nRestart=on-failure\n"})
    u = loader.load("foo-bar.service")
    assert u.service.restart_usec == 2_000_000
    assert u.service.restart is RestartPolicy.ALWAYS


def test_release_252_does_not_know_newer_directives(make_loader, tmp_path):
    from sysvisor.unitfile.loader import UnitLoader
    make_loader({"etc/r.service": "[Service]\nExecStart=/bin/true\nRestartSteps=3\nRestartMaxDelaySec=9\n"})
    new = UnitLoader([str(tmp_path / "etc")], release=257)
    assert new.load("r.service").service.restart_steps == 3
    old = UnitLoader([str(tmp_path / "etc")], release=252)
    assert old.load("r.service").service.restart_steps == 0
    assert [d.message for d in old.diagnostics("r.service")] == [
        "Unknown key 'RestartSteps' in section [Service], ignoring.",
        "Unknown key 'RestartMaxDelaySec' in section [Service], ignoring."]


def test_known_but_unsupported_directive_gets_a_notice(make_loader):
    loader = make_loader({"etc/p.service": "[Service]\nExecStart=/bin/true\nProtectSystem=strict\nBogus=1\n"})
    loader.load("p.service")
    diags = loader.diagnostics("p.service")
    assert [(d.severity, d.message) for d in diags] == [
        ("notice", "ProtectSystem= is not supported by sysvisor, ignoring."),
        ("warning", "Unknown key 'Bogus' in section [Service], ignoring.")]


def test_unreadable_file_is_a_load_error_not_an_exception(make_loader, tmp_path):
    loader = make_loader({"etc/gone.service": "[Service]\nExecStart=/bin/true\n"})
    loader.load_all()  # scans the directory
    (tmp_path / "etc/gone.service").unlink()
    (tmp_path / "etc/gone.service").mkdir()  # now a directory: reading fails
    u = loader.load("gone.service")
    assert u.load_state is LoadState.ERROR and u.load_error == "Is a directory"


def test_fatal_setting_or_bad_header_in_a_dropin_only_ends_that_dropin(make_loader):
    # observed with systemd-analyze verify (v252) and systemd-oracle (257): the unit stays loaded
    loader = make_loader({"etc/dq.service": "[Service]\nExecStart=/bin/true\n",
                          "etc/dq.service.d/10.conf": "[Service]\nWorkingDirectory=rel\nRestart=always\n",
                          "etc/dq.service.d/20.conf": "[Service]\nRestartSec=7\n",
                          "etc/dh.service": "[Service]\nExecStart=/bin/true\n",
                          "etc/dh.service.d/10.conf": "[Service\nRestart=always\n",
                          "etc/dh.service.d/20.conf": "[Service]\nRestartSec=7\n"})
    for name, message in (("dq.service", "dq.service.d/10.conf:2: WorkingDirectory= path is not absolute: rel"),
                          ("dh.service", "dh.service.d/10.conf:1: Invalid section header '[Service'")):
        u = loader.load(name)
        assert u.load_state is LoadState.LOADED
        assert u.service.restart is RestartPolicy.NO and u.service.restart_usec == 7_000_000
        assert [str(d).split("/etc/", 1)[1] for d in loader.diagnostics(name)] == [message]


def test_oneshot_restart_force_refused_only_by_v252_exit_type_cgroup_by_both(make_loader, tmp_path):
    from sysvisor.unitfile.loader import UnitLoader
    make_loader({"etc/rf.service": "[Service]\nType=oneshot\nExecStart=/bin/true\nRestartForceExitStatus=1\n",
                 "etc/et.service": "[Service]\nType=oneshot\nExecStart=/bin/true\nExitType=cgroup\n"})
    new = UnitLoader([str(tmp_path / "etc")], release=257)
    old = UnitLoader([str(tmp_path / "etc")], release=252)
    assert new.load("rf.service").load_state is LoadState.LOADED  # observed with systemd 257
    assert old.load("rf.service").load_state is LoadState.BAD_SETTING
    assert new.load("et.service").load_state is LoadState.BAD_SETTING
    assert new.load("et.service").service.exit_type == "cgroup"


def test_broken_word_keeps_earlier_environment_and_v257_drops_documentation(make_loader, tmp_path):
    from sysvisor.unitfile.loader import UnitLoader
    make_loader({"etc/ev.service": "[Unit]\nDocumentation=man:a bad \"x\n[Service]\nExecStart=/bin/true\n"
                                   "Environment=A=1 B=\\q C=3\n"})
    new = UnitLoader([str(tmp_path / "etc")], release=257, wording=257)
    u = new.load("ev.service")  # observed with systemd-oracle (257)
    assert u.service.environment == ["A=1"] and u.unit.documentation == []
    assert [d.message for d in new.diagnostics("ev.service")] == [
        'Failed to parse Documentation=man:a bad "x, ignoring: Invalid argument',
        "Invalid syntax, ignoring: A=1 B=\\q C=3"]
    old = UnitLoader([str(tmp_path / "etc")], release=252)
    assert old.load("ev.service").unit.documentation == ["man:a"]


# --- --root: absolute symlink targets are re-rooted (systemctl --root) ----------------------


def test_root_reroots_absolute_alias_and_mask_links(tmp_path):
    """`enable --root` writes `www.service -> /etc/systemd/system/web.service`: under the
    root that is an alias, not a link to the host's /etc. # spec: unit-files.md §4.2"""
    root = tmp_path / "root"
    etc = root / "etc/systemd/system"
    lib = root / "usr/lib/systemd/system"
    etc.mkdir(parents=True)
    lib.mkdir(parents=True)
    (lib / "web.service").write_text("[Service]\nExecStart=/bin/true\n")
    os.symlink("/usr/lib/systemd/system/web.service", etc / "www.service")  # alias, absolute
    os.symlink("/etc/systemd/system/www.service", etc / "w3.service")  # alias of an alias
    os.symlink("/usr/lib/systemd/system/real.service", etc / "linked.service")  # linked unit file
    (lib / "real.service").write_text("[Service]\nExecStart=/bin/true\n")
    os.symlink("/dev/null", etc / "masked.service")
    os.symlink("/etc/hostname", etc / "outside.service")  # exists on the host, not under root
    loader = UnitLoader([str(etc), str(lib)], root=str(root))
    www = loader.load("www.service")
    assert www.name == "web.service" and www.load_state == LoadState.LOADED
    assert sorted(loader.load("web.service").aliases) == ["w3.service", "www.service"]
    assert loader.load("w3.service").name == "web.service"
    assert loader.load("linked.service").load_state == LoadState.LOADED
    assert loader.load("masked.service").load_state == LoadState.MASKED
    assert loader.load("outside.service").load_state == LoadState.NOT_FOUND
    # without the root, the same absolute links point at the host
    host = UnitLoader([str(etc), str(lib)])
    assert host.load("www.service").load_state == LoadState.NOT_FOUND
