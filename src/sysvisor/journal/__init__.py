"""The journal: where service output and the manager's messages are kept.

  stream.py     bytes from a service's stdout/stderr pipe → lines (journald's rules)
  store.py      append-only segment files and their writer (JournalWriter), vacuuming
  reader.py     reading them back: JournalReader (entries, tail, follow), backward walks
  query.py      journalctl's matches (-u, -t, -p, -g, -b, FIELD=VALUE) as predicates
  format.py     journalctl's output formats (-o short, json, verbose, ...)
  timestamp.py  systemd.time(7) timestamps for --since/--until
  message.py    manager messages (manager_entry) and the unit log of `status` (unit_log)
  relay.py      the journal relay process that keeps pipes open while the manager is gone
  pipe.py       a service's pipe as the relay reads it (Stream, the splice pump thread)
  index.py      the per-unit tail index beside each segment (status of a quiet unit)
  writeback.py  the relay's write-behind thread: stored output to the disk, out of the cache

Nothing is imported here, so `sysvisor logs` loads only what it uses.
spec: systemctl-and-journal.md §6
"""
