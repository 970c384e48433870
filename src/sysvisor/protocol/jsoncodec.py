"""JSON for the control protocol through the stdlib's C accelerator (`_json`) directly.

`import json` compiles several regular expressions (through `re`) at import time, which is
most of a CLI call's start-up on a busy machine; `_json` is the same C code json uses, with
none of that. Falls back to `json` where `_json` is missing. Errors raise ValueError.
"""

from __future__ import annotations

try:
    import _json
except ImportError:  # pragma: no cover - every CPython has it
    _json = None

_WHITESPACE = " \t\n\r"


class _ScanContext:
    """What `_json.make_scanner` reads from json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


if _json is not None:
    _scan = _json.make_scanner(_ScanContext())
    _encode = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",", False, False, True)
    # what json.dumps(obj, separators=(",", ":")) writes (ensure_ascii): the journal's headers
    _encode_ascii = _json.make_encoder(None, None, _json.encode_basestring_ascii, None, ":", ",", False, False, True)


def dumps_ascii(obj) -> str:
    """`json.dumps(obj, separators=(",", ":"))`, byte for byte (non-ASCII as \\u escapes)."""
    if _json is None:  # pragma: no cover
        import json

        return json.dumps(obj, separators=(",", ":"))
    try:
        return "".join(_encode_ascii(obj, 0))
    except TypeError as e:
        raise ValueError(str(e)) from None


def loads_bytes(data) -> object:
    """`loads()` of UTF-8 bytes (or a memoryview); ValueError if they are not."""
    return loads(bytes(data).decode("utf-8"))


def dumps(obj) -> str:
    """Compact JSON text of `obj` (dicts, lists, str, int, float, bool, None)."""
    if _json is None:  # pragma: no cover
        import json

        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    try:
        return "".join(_encode(obj, 0))
    except TypeError as e:
        raise ValueError(str(e)) from None


def loads(text: str):
    """Parse one JSON document (surrounding whitespace allowed)."""
    if _json is None:  # pragma: no cover
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as e:
        raise ValueError(f"Expecting value at offset {e.value}") from None
    except Exception as e:  # JSONDecodeError from inside the scanner
        raise ValueError(str(e)) from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data at offset {end}")
    return value
