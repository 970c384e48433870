"""install-shims and shell completion, exercised with real shells and processes."""

import os
import subprocess
import sys
from pathlib import Path

from sysvisor.cli import completion

ROOT = Path(__file__).resolve().parents[2]


def _sysvisor(*args, env=None):
    env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=env, capture_output=True, text=True, timeout=30)


def test_shims_forward_to_sysvisor(tmp_path):
    r = _sysvisor("install-shims", "--prefix", str(tmp_path), "--force")
    assert r.returncode == 0, r.stderr
    systemctl = tmp_path / "bin" / "systemctl"
    assert os.access(systemctl, os.X_OK) and os.access(tmp_path / "bin" / "journalctl", os.X_OK)
    env = dict(os.environ, SYSVISOR_SOCKET=str(tmp_path / "nobody-here"))
    out = subprocess.run([str(systemctl), "is-active", "web"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "No sysvisor manager is running" in out.stderr and str(tmp_path / "nobody-here") in out.stderr


def test_shims_refuse_to_shadow_a_running_systemd(tmp_path):
    r = _sysvisor("install-shims", "--prefix", str(tmp_path))
    if os.path.isdir("/run/systemd/system"):
        assert r.returncode == 1 and "refusing to shadow" in r.stderr
        assert not (tmp_path / "bin" / "systemctl").exists()
    else:
        assert r.returncode == 0


def _bash_complete(words: list[str]) -> list[str]:
    script = completion.script("bash")
    line = " ".join(words)
    program = f"""{script}
COMP_WORDS=({line})
COMP_CWORD={len(words) - 1}
_sysvisor
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30, env=dict(os.environ, PATH=os.environ["PATH"]))
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_bash_completes_verbs_and_options():
    assert set(_bash_complete(["sysvisor", "is-"])) == {"is-active", "is-failed", "is-enabled"}
    assert "--no-block" in _bash_complete(["sysvisor", "start", "--no-b"])


def test_completion_usage_error():
    r = _sysvisor("completion", "fish")
    assert r.returncode == 1 and "usage: sysvisor completion bash|zsh" in r.stderr
