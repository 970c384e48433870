"""Building and finding the native exec helper (daemon/exec_helper.py): named after its
source's checksum, so a binary of another source is never run; every failure is a
BuildError with the reason, never a traceback. Real compiler runs (./test.sh installs gcc).
# spec: service-lifecycle.md §5 (the spawn path); README "Spawning"
"""

from __future__ import annotations

import os
import shutil

import pytest

from sysvisor.daemon import exec_helper


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A copy of the helper's source in a folder of its own."""
    copy = tmp_path / "exec_helper.c"
    shutil.copy(exec_helper.SOURCE, copy)
    monkeypatch.setattr(exec_helper, "SOURCE", str(copy))
    return copy


def test_the_helper_is_built_next_to_its_source_under_its_checksum(source):
    assert exec_helper.find() is None
    built = exec_helper.build()
    assert os.path.dirname(built) == str(source.parent) and os.access(built, os.X_OK)
    assert exec_helper.find() == built == exec_helper.binary_path()
    built_at = os.stat(built).st_mtime_ns
    assert exec_helper.find_or_build() == built and os.stat(built).st_mtime_ns == built_at  # not built again
    # another source (an update of the checkout): the old binary is not the helper any more
    source.write_text(source.read_text() + "\n/* changed */\n")
    assert exec_helper.find() is None
    rebuilt = exec_helper.build()
    assert rebuilt != built and exec_helper.find() == rebuilt
    assert not os.path.exists(built)  # binaries of other sources are removed
    assert sorted(os.listdir(source.parent)) == sorted(["exec_helper.c", os.path.basename(rebuilt)])


def test_a_source_that_does_not_compile_is_reported_with_the_compilers_words(source):
    source.write_text("this is not C\n")
    with pytest.raises(exec_helper.BuildError, match="failed on .*exec_helper.c:\n.*error"):
        exec_helper.build()
    assert os.listdir(source.parent) == ["exec_helper.c"]  # no half-written binary left


def test_no_compiler_and_no_source_are_build_errors(source, tmp_path, capsys):
    with pytest.raises(exec_helper.BuildError, match="cannot build"):
        exec_helper.build(compiler=str(tmp_path / "no-such-cc"))
    source.unlink()
    with pytest.raises(exec_helper.BuildError, match="cannot read"):
        exec_helper.build()
    assert exec_helper.find() is None
    assert exec_helper.main() == 1
    err = capsys.readouterr().err
    assert "native exec helper not built" in err and "Python spawn helper" in err
