import pytest

from sysvisor.unitfile.loader import UnitLoader
from sysvisor.unitfile.specifier import HostFacts


@pytest.fixture
def make_loader(tmp_path):
    """Write {relative path: text} under tmp_path/DIR and return a loader over the given dirs."""

    def make(files, dirs=("etc", "lib")):
        for rel, text in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        for d in dirs:
            (tmp_path / d).mkdir(parents=True, exist_ok=True)
        return UnitLoader([str(tmp_path / d) for d in dirs], host=HostFacts(hostname="box.example"))

    make.root = tmp_path
    return make
