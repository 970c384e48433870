"""A `--units` folder counts as enabled as a whole (daemon/boot.py): a unit with WantedBy= in
it is started at boot, and `is-enabled`/`status` say so instead of "disabled".
# spec: unit-files.md §8 (is-enabled); README "Deviations" (the folder convenience)"""

UNITS = {
    "web.service": "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n",
    "helper.service": "[Service]\nExecStart=/bin/sleep 300\n",  # no [Install]: static
    "tpl@.service": "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n",
}


def test_a_folder_unit_wanted_by_a_target_is_enabled_and_running(run):
    m = run(UNITS)
    m.wait_for("web.service to run", lambda: m.cli("is-active", "web.service").stdout.strip() == "active")
    got = m.cli("is-enabled", "web.service", "helper.service", "tpl@.service")
    assert got.stdout.split() == ["enabled", "static", "disabled"]  # a template needs an instance
    assert got.returncode == 0
    loaded = next(line for line in m.cli("status", "web.service").stdout.splitlines() if "Loaded:" in line)
    assert "; enabled; preset: enabled)" in loaded
    assert m.cli("is-active", "helper.service").stdout.strip() == "inactive"
