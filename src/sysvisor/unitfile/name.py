"""Unit names: validity, templates and instances, systemd-escape.

# spec: unit-files.md §3, §4.4; systemd: src/basic/unit-name.c
"""

from __future__ import annotations

UNIT_NAME_MAX = 256
UNIT_TYPES = ("service", "mount", "swap", "socket", "target", "device", "automount", "timer", "path", "slice",
              "scope")  # systemd's unit_type_table order (`systemctl -t help`)
VALID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\")  # of a unit name's prefix and instance

PLAIN = 1
INSTANCE = 2
TEMPLATE = 4
ANY = PLAIN | INSTANCE | TEMPLATE


def is_valid(name: str, flags: int = ANY) -> bool:
    """# systemd: unit_name_is_valid()"""
    if not name or len(name) >= UNIT_NAME_MAX:
        return False
    dot = name.rfind(".")
    if dot <= 0 or name[dot + 1:] not in UNIT_TYPES:
        return False
    at = -1
    for i, ch in enumerate(name[:dot]):
        if ch == "@" and at < 0:
            at = i
        if ch not in VALID_CHARS and ch != "@":
            return False
    if at == 0:
        return False
    if flags & PLAIN and at < 0:
        return True
    if flags & INSTANCE and at >= 0 and dot > at + 1:
        return True
    if flags & TEMPLATE and at >= 0 and dot == at + 1:
        return True
    return False


def unit_type(name: str) -> str:
    """`service` for `foo.service`."""
    return name.rsplit(".", 1)[-1]


def prefix(name: str) -> str:
    """The part before the first `@`, or before the type suffix. # systemd: unit_name_to_prefix()"""
    stem = name.rsplit(".", 1)[0]
    return stem.split("@", 1)[0]


def instance(name: str) -> str | None:
    """The instance string (`""` for a template, None for a plain name)."""
    stem = name.rsplit(".", 1)[0]
    if "@" not in stem:
        return None
    return stem.split("@", 1)[1]


def is_template(name: str) -> bool:
    return instance(name) == ""


def template_of(name: str) -> str:
    """`foo@.service` for `foo@bar.service`. # systemd: unit_name_template()"""
    return f"{prefix(name)}@.{unit_type(name)}"


def replace_instance(template: str, inst: str) -> str:
    """`foo@inst.service` from `foo@.service`. # systemd: unit_name_replace_instance()"""
    return f"{prefix(template)}@{inst}.{unit_type(template)}"


def escape(text: str) -> str:
    """systemd-escape: `/` → `-`, other specials → `\\xHH`, leading `.` escaped.

    # spec: unit-files.md §3; systemd: unit_name_escape()
    """
    out: list[str] = []
    for i, byte in enumerate(text.encode("utf-8", "surrogateescape")):
        ch = chr(byte)
        if ch == "/":
            out.append("-")
        elif (ch == "." and i == 0) or not (ch.isascii() and (ch.isalnum() or ch in ":_.")):
            out.append(f"\\x{byte:02x}")
        else:
            out.append(ch)
    return "".join(out)


def unescape(text: str) -> str:
    """Reverse of escape(): `-` becomes `/`, `\\xHH` a byte. # systemd: unit_name_unescape()"""
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "-":
            raw += b"/"
        elif ch == "\\" and text[i + 1:i + 2] == "x" and len(text) >= i + 4:
            try:
                raw.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                raw += ch.encode()
        else:
            raw += ch.encode("utf-8", "surrogateescape")
        i += 1
    return raw.decode("utf-8", "surrogateescape")


def unescape_path(text: str) -> str:
    """`foo-bar` → `/foo/bar`. # systemd: unit_name_path_unescape()"""
    if text == "-":
        return "/"
    return "/" + unescape(text).lstrip("/")


def dropin_dir_names(name: str) -> list[str]:
    """Drop-in directory names for a unit, most specific first.

    `foo-bar@i.service` → `foo-bar@i.service.d`, `foo-bar@.service.d`, `foo-.service.d`,
    `service.d`. # spec: unit-files.md §4.3; systemd: unit_file_find_dropin_paths()
    """
    kind = unit_type(name)
    dirs = [name + ".d"]
    if instance(name):
        dirs.append(template_of(name) + ".d")
    stem = prefix(name)
    # dash truncations: "foo-bar-baz" gives "foo-bar-" and "foo-"
    idx = len(stem)
    while True:
        idx = stem.rfind("-", 0, idx)
        if idx <= 0:
            break
        dirs.append(f"{stem[:idx + 1]}.{kind}.d")
    dirs.append(f"{kind}.d")
    return dirs
