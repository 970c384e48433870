"""The shell's watch of a spawn's error pipe (daemon/shell.py `_watch_exec_outcome`): the
outcome read by the loop, or taken at once when the pipe had ended by the helper's answer.
Real pipes and a real selector. # spec: service-lifecycle.md §3 (Type=exec)"""

from __future__ import annotations

import os
import selectors
from types import SimpleNamespace

from sysvisor.core import events as E

SPAWN = SimpleNamespace(unit="x.service", invocation_id="0" * 32)


def test_the_watch_is_gone_before_the_exec_event_is_handled(empty_shell, monkeypatch):
    # the exec's event may start other units at once, whose new pipes get the lowest free
    # numbers: the one the watched pipe just closed. Removing the watch after handling the
    # event removed theirs (a Type=exec unit started that way stayed "activating").
    shell = empty_shell
    r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)  # as the spawn paths hand it over
    shell._watch_exec_outcome(SPAWN, 4242, r, "/bin/true")  # not ended yet: watched
    os.close(w)  # the child exec'd: the pipe ends empty
    started: list[int] = []

    def feed(event, now=None):
        assert event == E.ExecSucceeded(4242)
        new_r, new_w = os.pipe2(os.O_CLOEXEC)  # what the event starts
        started.extend((new_r, new_w))
        shell.loop.selector.register(new_r, selectors.EVENT_READ, (0, lambda mask, now: None))

    monkeypatch.setattr(shell, "feed", feed)
    try:
        shell.loop.run_once(max_wait=5)
        assert started and started[0] == r  # the closed pipe's number, as the kernel gives it
        assert r in {key.fd for key in shell.loop.selector.get_map().values()}  # still watched
    finally:
        for fd in started:
            if fd in {key.fd for key in shell.loop.selector.get_map().values()}:
                shell.loop.selector.unregister(fd)
            os.close(fd)


def test_an_outcome_there_at_the_answer_is_queued_after_the_spawned_event(empty_shell):
    # the native helper answers the last spawn of a row once its child exec'd: the shell
    # then queues ExecSucceeded behind the Spawned already queued, and watches nothing
    shell = empty_shell
    r, w = os.pipe2(os.O_CLOEXEC)
    os.close(w)
    shell._events.appendleft(E.Spawned(7, 4242))
    shell._watch_exec_outcome(SPAWN, 4242, r, "/bin/true")
    assert list(shell._events) == [E.Spawned(7, 4242), E.ExecSucceeded(4242)]
    assert all(key.fd != r for key in shell.loop.selector.get_map().values())
    shell._events.clear()
