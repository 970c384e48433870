"""Random unit files (fixed seeds) give the same `verify` output as `systemd-analyze verify` (v252).
Found ~20 wording and parsing differences while it was written; it keeps them fixed.
# spec: unit-files.md §7
"""

import random
import shutil
import subprocess

import pytest

from sysvisor.unitfile.specifier import HostFacts
from sysvisor.unitfile.verify import verify
from unit_fuzz import directive_keys, random_unit

ANALYZE = shutil.which("systemd-analyze")


def _norm(lines):
    # which failing required dependency systemd names depends on its hash order
    return [line.split("/start: ", 1)[0] + "/start: …" if "Failed to create" in line else line
            for line in lines]
KEYS = directive_keys(252)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("seed", range(8))
def test_random_units_match_systemd_analyze(tmp_path, seed):
    rnd = random.Random(seed)
    for i in range(8):
        path = tmp_path / f"fz{seed}-{i}.service"
        path.write_text(random_unit(rnd, KEYS))
        run = subprocess.run([ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True)
        mine, rc = verify([str(path)], host=HostFacts())
        assert (path.read_text(), _norm(mine)) == (path.read_text(), _norm(run.stderr.splitlines()))
        assert (rc != 0) == (run.returncode != 0)
