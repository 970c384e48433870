"""`edit`'s editor: the one the environment names, else the first of editor/nano/vim/vi
there is, skipping any that does not exist (a missing $EDITOR was a traceback).
# systemd: run_editor()"""

from __future__ import annotations

import pytest

from sysvisor.cli import unitfiles


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("SYSTEMD_EDITOR", "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_missing_editor_is_skipped_for_the_next_one(clean_env, tmp_path):
    clean_env.setenv("EDITOR", str(tmp_path / "no-such-editor"))
    clean_env.setattr(unitfiles, "_EDITORS", (str(tmp_path / "nor-this"), "sh -c 'echo edited > \"$0\"'"))
    target = tmp_path / "file"
    target.write_text("")
    assert unitfiles._run_editor(str(target)) == 0
    assert target.read_text() == "edited\n"


def test_no_editor_at_all_says_so(clean_env, tmp_path, capsys):
    clean_env.setattr(unitfiles, "_EDITORS", (str(tmp_path / "none"),))
    assert unitfiles._run_editor(str(tmp_path / "file")) is None
    assert capsys.readouterr().err == ("Cannot edit files, no editor available. "
                                       "Please set either $SYSTEMD_EDITOR, $EDITOR or $VISUAL.\n")


def test_an_editor_that_cannot_be_run_is_an_error(clean_env, tmp_path, capsys):
    not_executable = tmp_path / "ed"
    not_executable.write_text("")
    clean_env.setenv("SYSTEMD_EDITOR", str(not_executable))
    assert unitfiles._run_editor(str(tmp_path / "file")) is None
    assert capsys.readouterr().err == f"Failed to execute {not_executable}: Permission denied\n"


def test_the_editor_s_exit_status_is_returned(clean_env, tmp_path):
    clean_env.setenv("VISUAL", "false")
    assert unitfiles._run_editor(str(tmp_path / "file")) == 1
