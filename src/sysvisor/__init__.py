"""sysvisor: systemd unit files with systemd's crash-recovery semantics, anywhere."""

__version__ = "0.1.0"
