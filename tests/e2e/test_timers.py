"""The daemon with a real .timer: enabled into timers.target, it starts at boot and triggers
its oneshot about a second later; `list-timers` shows it. # spec: timers.md §1, §5, §6"""

from __future__ import annotations





def test_timer_started_at_boot_triggers_its_oneshot(run, tmp_path):
    out = tmp_path / "ticks"
    m = run({
        "tick.timer": "[Unit]\nDescription=Tick\n[Timer]\nOnActiveSec=1s\nOnUnitActiveSec=1h\n"
                      "AccuracySec=1us\nPersistent=yes\n[Install]\nWantedBy=timers.target\n",
        "tick.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo tick >> {out}'\n",
    })
    m.wait_for("the timer to be active", lambda: m.prop("tick.timer", "ActiveState") == "active", timeout=20)
    listing = m.cli("list-timers")
    assert listing.returncode == 0, listing.stderr
    assert "tick.timer" in listing.stdout and "tick.service" in listing.stdout, listing.stdout
    m.wait_for("the oneshot to run", lambda: out.exists() and out.read_text() == "tick\n", timeout=20)
    m.wait_for("the oneshot to finish", lambda: m.prop("tick.service", "Result") == "success"
               and m.prop("tick.service", "ActiveState") == "inactive", timeout=20)
    assert m.prop("tick.timer", "SubState") == "waiting"  # OnUnitActiveSec= re-arms it
    assert m.prop("tick.timer", "LastTriggerUSec") not in ("", "0", "n/a")
    # Persistent=yes: the trigger touched the stamp file
    assert (tmp_path / "state" / "timers" / "stamp-tick.timer").exists()
    listing = m.cli("list-timers", "--all").stdout
    assert "1 timers listed." in listing, listing
    logs = m.cli("logs", "-u", "tick.timer", "-o", "cat").stdout
    assert "Started tick.timer - Tick." in logs, logs
    status = m.cli("status", "tick.timer").stdout
    assert "Active: active (waiting)" in status and "Triggers:" in status, status
    assert "CGroup:" not in status, status  # a timer has no processes


def test_elapsed_timer_stays_elapsed_after_daemon_reexec(run, tmp_path):
    out = tmp_path / "ticks"
    m = run({
        "tick.timer": "[Timer]\nOnActiveSec=1s\nAccuracySec=1us\n[Install]\nWantedBy=timers.target\n",
        "tick.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo tick >> {out}'\n",
    })
    m.wait_for("the first trigger", lambda: out.exists() and out.read_text() == "tick\n", timeout=20)
    m.wait_for("the timer to be elapsed", lambda: m.prop("tick.timer", "SubState") == "elapsed", timeout=20)
    last = m.prop("tick.timer", "LastTriggerUSecMonotonic")
    assert m.cli("daemon-reexec").returncode == 0
    # the saved state holds the timer (systemd: timer_serialize()): it is not started afresh
    m.wait_for("the re-executed manager", lambda: m.output().count("running in") == 2, timeout=20)
    assert m.prop("tick.timer", "SubState") == "elapsed"
    assert m.prop("tick.timer", "LastTriggerUSecMonotonic") == last
    assert out.read_text() == "tick\n"


def test_persistent_stamp_from_an_earlier_run_catches_up_a_missed_calendar_elapse(run, tmp_path):
    import os
    import time

    out = tmp_path / "ticks"
    stamp = tmp_path / "state" / "timers" / "stamp-daily.timer"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    two_days_ago = time.time() - 2 * 86400
    os.utime(stamp, (two_days_ago, two_days_ago))
    m = run({
        "daily.timer": "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\n[Install]\nWantedBy=timers.target\n",
        "daily.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo tick >> {out}'\n",
    })
    # the elapse missed since the stamp lies in the past: the timer fires at once
    m.wait_for("the catch-up run", lambda: out.exists() and out.read_text() == "tick\n", timeout=20)
    m.wait_for("the stamp to be touched", lambda: stamp.stat().st_mtime > two_days_ago + 86400, timeout=20)
