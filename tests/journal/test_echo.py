"""The console of `sysvisor up` in the foreground (journal/console.py): the whole-chunk way
prints exactly what one formatted entry per line would, and the follower process prints
every stored line without a slow console ever slowing a service.
# issue 6 (the console must not slow a service)"""

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.journal import console
from sysvisor.journal.format import format_entry
from sysvisor.journal.stream import split_raw

FIELDS = {"SYSLOG_IDENTIFIER": "web", "_PID": "12", "_HOSTNAME": "host"}
HEADER = {"i": 1, "n": 1, "t": 1764150673000000, "m": 1, "raw": 1, "p": 6, "lp": 1, "lm": 48 * 1024}


def _echo(raw: bytes) -> str:
    """What the console prints for one raw record."""
    return b"".join(console.format_record(FIELDS, HEADER, raw)).decode()


def _per_line(raw: bytes, out: str) -> str:
    lines = split_raw(raw)
    return "".join(
        format_entry(dict(FIELDS, MESSAGE=m.decode("utf-8", "replace"), PRIORITY=str(p),
                          __REALTIME_TIMESTAMP=str(HEADER["t"])), "short")
        for m, p in zip(lines.messages, lines.priorities)
    )


def _visible(out: str) -> list[str]:
    """What a reader sees: trailing whitespace and lines with nothing after the prefix aside
    (the fast way lets empty lines through, journald drops them)."""
    return [line.rstrip() for line in out.splitlines() if not line.rstrip().endswith("web[12]:")]


def test_plain_chunk_takes_the_fast_way_and_others_do_not():
    assert console.plain_lines(b"a\nb c\n\n", True)
    for raw in (b"<3>x\n", b"a\n<3>x\n", b"\ta\n", b"a\x1b[1m\n", b"a\0b\n", b"x\r\n", "é\n".encode()):
        assert not console.plain_lines(raw, True), raw
    assert console.plain_lines(b"<3>x\n", False)


@given(st.lists(st.binary(max_size=30) | st.text(max_size=30).map(str.encode), min_size=1, max_size=20))
def test_echo_of_a_chunk_shows_what_one_formatted_entry_per_line_shows(parts):
    raw = b"\n".join(p.replace(b"\n", b" ") for p in parts) + b"\n"
    out = _echo(raw)
    assert _visible(out) == _visible(_per_line(raw, out))


def test_echo_of_plain_lines_carries_the_time_they_were_stored():
    out = _echo(b"one\ntwo\n")
    stamp = format_entry(dict(FIELDS, MESSAGE="x", __REALTIME_TIMESTAMP=str(HEADER["t"])), "short")[:15]
    assert out == stamp + " host web[12]: one\n" + stamp + " host web[12]: two\n"


def test_records_of_split_lines_print_one_entry_per_line_with_their_priority():
    header = {"i": 1, "n": 2, "t": HEADER["t"], "m": 1, "p": [3, 6]}
    out = b"".join(console.format_record(FIELDS, header, b"bad\ngood")).decode()
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == ["bad", "good"]
    assert console.format_record(FIELDS, dict(header, nomsg=1), b"") == []


def test_the_console_prints_a_burst_at_once_and_then_at_its_rate(monkeypatch, tmp_path):
    """A writer's burst reaches the console at RATE after the first BURST bytes, so that the
    console's work does not land on the writer's cores (console.py); unlimited once the
    relay has stopped."""
    clock = [100.0]
    slept: list[float] = []
    monkeypatch.setattr(console.time, "monotonic", lambda: clock[0])

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(console.time, "sleep", sleep)
    with open(tmp_path / "out", "wb") as out:
        f = console.Follower(str(tmp_path), "relay", set(), out=out.fileno())
        mib = b"x" * (1 << 20)
        for _ in range(4):
            f._print([mib])
        assert slept == []  # within the burst
        for _ in range(8):
            f._print([mib])
        assert abs(sum(slept) - 8 * (1 << 20) / console.RATE) < 1e-6
        f.rate = None
        slept.clear()
        f._print([mib] * 16)
        assert slept == []
    assert (tmp_path / "out").stat().st_size == 28 << 20


def _manager_message(writer, text: str, t: int) -> None:
    writer.append({"MESSAGE": text, "SYSLOG_IDENTIFIER": "sysvisor", "_PID": "1", "_TRANSPORT": "journal",
                   "__REALTIME_TIMESTAMP": t, "__MONOTONIC_TIMESTAMP": t})


def _service_line(writer, text: str, t: int, pid: str = "12") -> None:
    writer.append({"MESSAGE": text, "SYSLOG_IDENTIFIER": "web", "_PID": pid, "_TRANSPORT": "stdout",
                   "__REALTIME_TIMESTAMP": t, "__MONOTONIC_TIMESTAMP": t})


def _follower(directory: str, out, start) -> console.Follower:
    """A follower of writer "relay" and of the manager from `start`, printing into `out`
    as fast as it can."""
    f = console.Follower(directory, "relay", set(), out=out.fileno(), manager=start)
    f.rate = None
    return f


def _printed(path) -> list[str]:
    return [line.split(": ", 1)[0].rsplit(" ", 1)[1] + " " + line.split(": ", 1)[1]
            for line in path.read_text().splitlines()]


def test_the_follower_prints_the_manager_from_its_start_point_merged_in_time_order(tmp_path):
    """The manager's messages from `manager` (its segment and offset) on, exactly once, in
    time order with the services' lines, with the field sets stored before the start point;
    then into the manager's next segments (rotation, or a restarted manager's)."""
    from sysvisor.journal.store import JournalWriter

    directory = str(tmp_path / "j")
    manager = JournalWriter(directory, name="system", hostname="host")
    _manager_message(manager, "printed by the manager itself", 1_000)
    start = manager.position()
    relay = JournalWriter(directory, name="relay", hostname="host")
    _service_line(relay, "service 1", 2_000)
    _manager_message(manager, "manager 2", 2_500)  # same field set: stored before the start
    _service_line(relay, "service 3", 3_000)
    _manager_message(manager, "manager 4", 4_000)
    manager.flush()
    relay.flush()
    with open(tmp_path / "out", "wb") as out:
        f = _follower(directory, out, start)
        f.catch_up()
        assert _printed(tmp_path / "out") == ["web[12] service 1", "sysvisor[1] manager 2",
                                              "web[12] service 3", "sysvisor[1] manager 4"]
        manager.rotate()
        _manager_message(manager, "after a rotation", 5_000)
        manager.close()
        restarted = JournalWriter(directory, name="system", hostname="host")  # a new manager: a new segment
        _manager_message(restarted, "a restarted manager", 6_000)
        restarted.flush()
        f.catch_up()
    assert _printed(tmp_path / "out")[4:] == ["sysvisor[1] after a rotation", "sysvisor[1] a restarted manager"]
    restarted.close()
    relay.close()


def test_the_follower_holds_a_manager_message_until_the_service_output_before_it_is_printed(tmp_path):
    """The console prints the services' output in chunks and may lag behind; a manager
    message waits for the service lines stored before it, never overtakes them."""
    from sysvisor.journal.store import JournalWriter

    directory = str(tmp_path / "j")
    manager = JournalWriter(directory, name="system", hostname="host")
    relay = JournalWriter(directory, name="relay", hostname="host")
    start = manager.position()
    chunk = b"".join(b"line %d\n" % i for i in range(20_000))
    for i in range(100):  # ~11 MB: more than one READ_CHUNK
        relay.append_raw({"SYSLOG_IDENTIFIER": "web", "_PID": "12", "_TRANSPORT": "stdout"}, chunk,
                         realtime_usec=1_000 + i, monotonic_usec=1_000 + i)
    _manager_message(manager, "stopping web", 2_000)
    manager.flush()
    relay.flush()
    with open(tmp_path / "out", "wb") as out:
        _follower(directory, out, start).catch_up()
    lines = (tmp_path / "out").read_text().splitlines()
    assert len(lines) == 100 * 20_000 + 1
    assert lines[-1].endswith("sysvisor[1]: stopping web")
    manager.close()
    relay.close()


def test_a_follower_far_behind_holds_back_only_so_many_manager_messages(monkeypatch, tmp_path):
    """Time order costs memory while the console lags behind a flood: past HELD_MAX held
    messages they are printed with the next batch of service output, ahead of older lines
    still to come."""
    from sysvisor.journal.store import JournalWriter

    monkeypatch.setattr(console, "READ_CHUNK", 1)  # one record per read: the flood in batches
    directory = str(tmp_path / "j")
    manager = JournalWriter(directory, name="system", hostname="host")
    relay = JournalWriter(directory, name="relay", hostname="host")
    start = manager.position()
    _service_line(relay, "service 1", 1_000)
    _service_line(relay, "service 2", 2_000, pid="13")  # a field set of its own: a record too long for one read
    for i in range(3):
        _manager_message(manager, f"later {i}", 5_000 + i)
    manager.flush()
    relay.flush()
    for cap, want in ((10, ["service 1", "service 2", "later 0", "later 1", "later 2"]),
                      (2, ["service 1", "later 0", "later 1", "later 2", "service 2"])):
        monkeypatch.setattr(console, "HELD_MAX", cap)
        with open(tmp_path / "out", "wb") as out:
            _follower(directory, out, start).catch_up()
        assert [line.split(" ", 1)[1] for line in _printed(tmp_path / "out")] == want, cap
    manager.close()
    relay.close()
