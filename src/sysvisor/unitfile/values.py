"""Value grammars of unit files: booleans, time spans, signals, exit statuses, words, commands.

Pure functions. Each raises `ValueError` for a bad value; the schema turns that into systemd's
"Failed to parse …, ignoring: VALUE" diagnostic. Ports name their systemd source.
# spec: unit-files.md §1.1–§1.4; service-lifecycle.md §5, §8.3; restart-and-failure.md §1.1
"""

from __future__ import annotations

from sysvisor.core.exit_status import EXIT_STATUS_NAMES, SIGNAL_NAMES, SIGRTMAX, SIGRTMIN  # the one table
from sysvisor.core.timespan import format_timespan  # noqa: F401 - the one implementation, used by the schema

import re
from dataclasses import dataclass
from typing import Callable

from sysvisor.core.types import USEC_INFINITY, USEC_PER_SEC
from sysvisor.core.units import ExecCommand, ExitStatusSet

WHITESPACE = " \t\n\r"

def errno_text(exc: ValueError) -> str:
    """The strerror() systemd prints for a failed parse: ValueError("ERANGE") is a range error."""
    return "Numerical result out of range" if str(exc) == "ERANGE" else "Invalid argument"


# --- booleans ----------------------------------------------------------------------------------

_TRUE = frozenset({"1", "yes", "y", "true", "t", "on"})
_FALSE = frozenset({"0", "no", "n", "false", "f", "off"})


def parse_boolean(text: str) -> bool:
    """systemd's parse_boolean(): case-insensitive. # spec: unit-files.md §1.1"""
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(text)


# --- time spans ----------------------------------------------------------------------------------

USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC

# systemd: extract_multiplier() — first prefix match wins, so the order matters.
_TIME_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("seconds", USEC_PER_SEC), ("second", USEC_PER_SEC), ("sec", USEC_PER_SEC), ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE), ("minute", USEC_PER_MINUTE), ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH), ("month", USEC_PER_MONTH), ("M", USEC_PER_MONTH),
    ("msec", 1000), ("ms", 1000), ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR), ("hour", USEC_PER_HOUR), ("hr", USEC_PER_HOUR), ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY), ("day", USEC_PER_DAY), ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK), ("week", USEC_PER_WEEK), ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR), ("year", USEC_PER_YEAR), ("y", USEC_PER_YEAR),
    ("usec", 1), ("us", 1), ("\u00b5s", 1), ("\u03bcs", 1),
)


_SURROGATE = re.compile("[\udc80-\udcff]")


def has_surrogates(text: str) -> bool:
    """True if text holds bytes that were not UTF-8 (decoded with surrogateescape)."""
    return _SURROGATE.search(text) is not None


def _skip(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def parse_timespan(text: str, default_unit_usec: int = USEC_PER_SEC) -> int:
    """A time span in µs; `infinity` gives USEC_INFINITY. Units are case-sensitive.

    Items add up (`1min 30s`); a bare trailing number takes `default_unit_usec` (`1h30` is
    1 h 30 s). # spec: unit-files.md §1.3; systemd: parse_time()
    """
    i = _skip(text, 0, WHITESPACE)
    if text.startswith("infinity", i):
        if _skip(text, i + 8, WHITESPACE) != len(text):
            raise ValueError(text)
        return USEC_INFINITY
    usec = 0
    something = False
    while True:
        i = _skip(text, i, WHITESPACE)
        if i >= len(text):
            if not something:
                raise ValueError(text)
            return usec
        if text[i] == "-":
            raise ValueError("ERANGE")  # systemd: parse_time() returns -ERANGE for negatives
        start = i
        if text[i] == "+":  # strtoll() accepts a sign
            i += 1
        j = _skip(text, i, "0123456789")
        has_int = j > i
        whole = int(text[i:j]) if has_int else 0
        frac = ""
        if j < len(text) and text[j] == ".":
            k = _skip(text, j + 1, "0123456789")
            frac = text[j + 1:k]
            if not frac:  # "5." / "3.sec" / "0.-0"
                raise ValueError(text)
            i = k
        elif not has_int:
            raise ValueError(text)
        else:
            i = j
        if not has_int and text[start] == "+" and not frac:
            raise ValueError(text)
        unit_at = _skip(text, i, WHITESPACE)
        multiplier = default_unit_usec
        matched = False
        for suffix, mult in _TIME_SUFFIXES:
            if text.startswith(suffix, unit_at):
                multiplier = mult
                i = unit_at + len(suffix)
                matched = True
                break
        if not matched:
            if unit_at == i and i < len(text):  # "12.34.56", "5x"
                raise ValueError(text)
            i = unit_at
        k_usec = whole * multiplier
        m = multiplier // 10
        for digit in frac:
            k_usec += int(digit) * m
            m //= 10
        usec += k_usec
        if usec >= USEC_INFINITY:
            raise ValueError("ERANGE")
        something = True


def parse_sec_fix_0(text: str) -> int:
    """Like parse_timespan, but 0 means infinity. # systemd: parse_sec_fix_0()"""
    usec = parse_timespan(text)
    return USEC_INFINITY if usec == 0 else usec


# --- signals -------------------------------------------------------------------------------------

_SIGNAL_NUMBERS = {name: num for num, name in SIGNAL_NAMES.items()}
_NSIG = 65


def parse_unsigned(text: str, bits: int = 32) -> int:
    """strtoul() with base 0 as safe_atou() uses it: `010` is octal, `0x10` hex; no sign.

    Raises ValueError("ERANGE") when too large. # systemd: safe_atou_full()
    """
    t = text.lstrip(WHITESPACE)
    if t.startswith("+"):
        t = t[1:]
    if not t:
        raise ValueError("EINVAL")
    if t.startswith("-"):  # strtoul() would wrap a negative number: systemd refuses it
        raise ValueError("ERANGE" if t[1:].isdigit() else "EINVAL")
    if t[:2] in ("0x", "0X"):
        digits, base = t[2:], 16
        valid = "0123456789abcdefABCDEF"
    elif t.startswith("0") and len(t) > 1:
        digits, base = t[1:], 8
        valid = "01234567"
    else:
        digits, base = t, 10
        valid = "0123456789"
    if not digits or any(ch not in valid for ch in digits):
        raise ValueError("EINVAL")
    value = int(digits, base)
    if value >= 1 << bits:
        raise ValueError("ERANGE")
    return value


def _safe_int(text: str) -> int | None:
    """safe_atoi(): strtol() with base 0 (`0x10`, `010`), leading blanks, optional sign."""
    t = text.lstrip(WHITESPACE)
    sign = -1 if t.startswith("-") else 1
    body = t[1:] if t[:1] in "+-" else t
    if body[:1] in "+-":
        return None
    try:
        return sign * parse_unsigned(body, 63)
    except ValueError:
        return None


def signal_from_string(text: str) -> int:
    """`TERM`, `SIGTERM`, `15`, `RTMIN+3`, `SIGRTMAX-1` → number. # systemd: signal_from_string()"""
    num = _safe_int(text)
    if num is not None:
        if 0 < num < _NSIG:
            return num
        raise ValueError(text)
    name = text[3:] if text.startswith("SIG") else text
    if name in _SIGNAL_NUMBERS:
        return _SIGNAL_NUMBERS[name]
    if name == "IOT":
        return 6
    if name == "POLL":
        return 29
    for base, sign, lo in (("RTMIN", 1, SIGRTMIN), ("RTMAX", -1, SIGRTMAX)):
        if name == base:
            return lo
        if name.startswith(base + ("+" if sign > 0 else "-")):
            off = name[len(base) + 1:]
            if off.isdigit() and off.isascii():
                n = lo + sign * int(off)
                if SIGRTMIN <= n <= SIGRTMAX:
                    return n
    raise ValueError(text)


def signal_to_string(num: int) -> str:
    """`TERM`, `RTMIN+2` … (without SIG), or the number. # systemd: signal_to_string()"""
    if num in SIGNAL_NAMES:
        return SIGNAL_NAMES[num]
    if SIGRTMIN <= num <= SIGRTMAX:
        return "RTMIN" if num == SIGRTMIN else f"RTMIN+{num - SIGRTMIN}"
    return str(num)


# --- exit statuses -------------------------------------------------------------------------------

_EXIT_STATUS_NUMBERS = {name: num for num, name in EXIT_STATUS_NAMES.items()}


def exit_status_from_string(text: str) -> int:
    """`0`–`255` or a name from the table. # systemd: exit_status_from_string()"""
    if text.isascii() and text.isdigit():
        num = int(text)
        if num <= 255:
            return num
        raise ValueError(text)
    if text in _EXIT_STATUS_NUMBERS:
        return _EXIT_STATUS_NUMBERS[text]
    raise ValueError(text)


def parse_exit_status_set(text: str, base: ExitStatusSet | None = None) -> tuple[ExitStatusSet, list[str]]:
    """Add the words of `text` to `base`; returns the set and the words that were not understood.

    Numbers are exit statuses first, then signals are tried. Empty resets.
    # spec: restart-and-failure.md §1.1; systemd: config_parse_set_status()
    """
    if not text:
        return ExitStatusSet(), []
    statuses = set(base.statuses) if base else set()
    signals = set(base.signals) if base else set()
    bad: list[str] = []
    try:  # extract_first_word() without flags: backslash escapes one character, quotes stay
        words = split_words(text, unquote=False, cunescape=False)
    except ValueError:
        words = text.split()
    for word in words:
        try:
            statuses.add(exit_status_from_string(word))
            continue
        except ValueError:
            pass
        try:
            signals.add(signal_from_string(word))
        except ValueError:
            bad.append(word)
    return ExitStatusSet(frozenset(statuses), frozenset(signals)), bad


# --- words: quoting and C escapes ----------------------------------------------------------------


class EscapeError(ValueError):
    """An unknown escape sequence (retry relaxed)."""


class QuoteError(ValueError):
    """Unbalanced quoting."""


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", '"': '"', "'": "'", "s": " "}


def _cunescape_one(text: str, i: int) -> tuple[str, int]:
    """Decode the escape whose letter is at text[i]; returns (chars, length). # systemd: cunescape_one()"""
    c = text[i] if i < len(text) else ""
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], 1
    hexdigits = "0123456789abcdefABCDEF"
    if c in ("x", "u", "U"):
        n = {"x": 2, "u": 4, "U": 8}[c]
        digits = text[i + 1:i + 1 + n]
        if len(digits) != n or any(d not in hexdigits for d in digits):
            raise EscapeError(c)
        value = int(digits, 16)
        if value == 0 or value > 0x10FFFF or (0xD800 <= value <= 0xDFFF):
            raise EscapeError(c)
        # \xHH is a raw byte; keep bytes >= 0x80 as surrogate escapes so re-encoding restores them
        if c == "x" and value >= 0x80:
            return chr(0xDC00 + value), 1 + n
        return chr(value), 1 + n
    if c and c in "01234567":
        digits = text[i:i + 3]
        if len(digits) != 3 or any(d not in "01234567" for d in digits):
            raise EscapeError(c)
        value = int(digits, 8)
        if value == 0 or value > 255:
            raise EscapeError(c)
        return (chr(0xDC00 + value) if value >= 0x80 else chr(value)), 3
    raise EscapeError(c)


_PLAIN_WORD = re.compile("[^ \t\n\r'\"\\\\]+(?=[ \t\n\r]|$)")


def extract_word(text: str, i: int, *, unquote: bool = True, cunescape: bool = True,
                 relax_escape: bool = False, relax: bool = False,
                 retain_escape: bool = False) -> tuple[str | None, int]:
    """The next whitespace-separated word from text[i:], and where the rest starts.

    Quotes may open anywhere in a word and are removed; C escapes are decoded everywhere.
    Returns (None, len) at the end. Raises EscapeError/QuoteError.
    # spec: unit-files.md §1.2; systemd: extract_first_word()
    """
    n = len(text)
    i = _skip(text, i, WHITESPACE)
    if i >= n:
        return None, n
    plain = _PLAIN_WORD.match(text, i)  # fast path: no quotes, no escapes in this word
    if plain:
        return plain.group(), _skip(text, plain.end(), WHITESPACE)
    out: list[str] = []
    quote = ""
    while i < n:
        c = text[i]
        if c == "\\" and not retain_escape:
            if i + 1 >= n:
                if relax_escape and (not quote or relax):
                    out.append("\\")
                    return "".join(out), n
                if relax:
                    return "".join(out), n
                raise EscapeError("\\")
            if cunescape:
                try:
                    chars, length = _cunescape_one(text, i + 1)
                    out.append(chars)
                    i += 1 + length
                    continue
                except EscapeError:
                    if not relax_escape:
                        raise
                    out.append("\\" + text[i + 1])
            else:
                out.append(text[i + 1])
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                out.append(c)
            i += 1
            continue
        if unquote and c in "'\"":
            quote = c
            i += 1
            continue
        if c in WHITESPACE:
            return "".join(out), _skip(text, i, WHITESPACE)
        out.append(c)
        i += 1
    if quote:
        if relax:
            return "".join(out), n
        raise QuoteError(text)
    return "".join(out), n


def split_words(text: str, **flags: bool) -> list[str]:
    """All words of text (see extract_word). Raises like extract_word."""
    words: list[str] = []
    i = 0
    while True:
        word, i = extract_word(text, i, **flags)
        if word is None:
            return words
        words.append(word)


@dataclass
class WordWarning:
    """A problem met while splitting: `fatal` for unbalanced quotes, else a relaxed escape."""

    message: str
    fatal: bool


def extract_word_and_warn(text: str, i: int, rvalue: str, warnings: list[WordWarning]) -> tuple[str | None, int]:
    """extract_word with systemd's retry-relaxed-and-warn. Returns (None, -1) on a hard failure.

    # systemd: extract_first_word_and_warn()
    """
    try:
        return extract_word(text, i)
    except EscapeError:
        pass
    except QuoteError:
        pass
    try:
        word, nxt = extract_word(text, i, relax_escape=True)
    except (EscapeError, QuoteError):
        warnings.append(WordWarning(f'Unbalanced quoting, ignoring: "{rvalue}"', True))
        return None, -1
    warnings.append(WordWarning(f'Ignoring unknown escape sequences: "{word}"', False))
    return word, nxt


# --- command lines -------------------------------------------------------------------------------


@dataclass
class ExecParse:
    """What parse_exec found: the commands, the messages (file:line prefix added by the caller)
    in order, and whether one of them is fatal (load state bad-setting)."""

    commands: list[ExecCommand]
    messages: list[tuple[str, bool]]  # (text, fatal)

    @property
    def fatal(self) -> bool:
        return any(f for _, f in self.messages)


def _filename_is_valid(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and len(name.encode()) <= 255


_UNSAFE = re.compile("[\x00-\x1f\\\\\"'\x7f]")


def _string_is_safe(text: str) -> bool:
    # systemd: string_is_safe(): no control characters, no quotes or backslash
    return _UNSAFE.search(text) is None


def _simplify_path(path: str) -> str:
    # systemd: path_simplify(): drop duplicate slashes and "." components
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    out = "/".join(parts)
    return ("/" + out) if absolute else out


def parse_exec(rvalue: str, *, expand: Callable[[str], str] | None = None,
               origin: tuple[str, int] | None = None, wording: int = 252) -> ExecParse:
    """Split an `Exec*=` value into commands with prefixes, quoting and `;` separators.

    `expand` resolves specifiers and raises ValueError("%Z") for an unknown one. argv keeps
    `$VAR`/`${VAR}`/`$$` untouched (expanded right before spawning). Messages quote the value
    from the current command on, as systemd does; `wording` picks v252 or v257 texts.
    # spec: service-lifecycle.md §5.1–§5.2; systemd: config_parse_exec()
    """
    result = ExecParse([], [])
    ex = expand or (lambda s: s)
    p = rvalue  # systemd moves `rvalue` to the start of each further command
    semicolon = True
    while semicolon:
        semicolon = False
        warns: list[WordWarning] = []
        first, i = extract_word_and_warn(p, 0, rvalue, warns)
        # an unbalanced first word is only a warning in systemd (returns 0 there)
        result.messages.extend((w.message, False) for w in warns)
        if first is None:
            return result
        if first == ";":
            semicolon = True
            p = p[i:]
            continue
        f = 0
        ignore_failure = separate_argv0 = no_env = full = no_setuid = ambient = False
        while f < len(first):
            c = first[f]
            if c == "-" and not ignore_failure:
                ignore_failure = True
            elif c == "@" and not separate_argv0:
                separate_argv0 = True
            elif c == ":" and not no_env:
                no_env = True
            elif c == "+" and not (full or no_setuid or ambient):
                full = True
            elif c == "!" and not (full or no_setuid or ambient):
                no_setuid = True
            elif c == "!" and not (full or ambient):
                no_setuid, ambient = False, True
            else:
                break
            f += 1
        word = first[f:]
        # systemd: with "-" a broken command line is only a warning ("…, ignoring")
        ign = ", ignoring" if ignore_failure else ""
        fatal = not ignore_failure
        try:
            path = ex(word)
        except ValueError as exc:
            result.messages.append((f"Failed to resolve unit specifiers in '{word}'{ign}: {_slot_error(exc)}", fatal))
            return result
        if not path:
            result.messages.append((f"Empty path in command line{ign}: '{first}'", fatal))
            return result
        if not _string_is_safe(path):
            what = "path" if wording >= 257 else "name"
            result.messages.append((f"Executable {what} contains special characters{ign}: {path}", fatal))
            return result
        if path.endswith("/"):
            result.messages.append((f"Executable path specifies a directory{ign}: {path}", fatal))
            return result
        if not path.startswith("/") and not _filename_is_valid(path):
            result.messages.append((f"Neither a valid executable name nor an absolute path{ign}: {path}", fatal))
            return result
        argv: list[str] = [] if separate_argv0 else [path]
        path = _simplify_path(path)
        rest = p[i:]
        j = 0
        while j < len(rest):
            # an unquoted lone ";" separates commands; a lone "\;" is a literal ";" argument
            if rest[j] == ";" and (j + 1 == len(rest) or rest[j + 1] in WHITESPACE):
                j = _skip(rest, j + 1, WHITESPACE)
                semicolon = True
                break
            if rest.startswith("\\;", j) and (j + 2 == len(rest) or rest[j + 2] in WHITESPACE):
                j = _skip(rest, j + 2, WHITESPACE)
                argv.append(";")
                continue
            warns = []
            arg, nj = extract_word_and_warn(rest, j, rvalue, warns)
            result.messages.extend((w.message, w.fatal and fatal) for w in warns)
            if nj < 0:
                return result
            if arg is None:
                j = len(rest)
                break
            j = nj
            try:
                argv.append(ex(arg))
            except ValueError as exc:
                result.messages.append((f"Failed to resolve unit specifiers in {arg}{ign}: {_slot_error(exc)}", fatal))
                return result
        if not argv:
            result.messages.append((f"Empty executable name or zeroeth argument{ign}: {rvalue}", fatal))
            return result
        result.commands.append(ExecCommand(
            path=path, argv=tuple(argv), ignore_failure=ignore_failure, no_env_expand=no_env,
            full_privileges=full, no_setuid=no_setuid, ambient_only=ambient, origin=origin))
        p = rvalue = rest[j:]
    return result


def _slot_error(exc: ValueError) -> str:
    return str(exc) if str(exc) and not str(exc).startswith("%") else "Invalid slot"


# --- environment -----------------------------------------------------------------------------------

_ENV_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def env_name_is_valid(name: str) -> bool:
    """# systemd: env_name_is_valid()"""
    return bool(name) and not name[0].isdigit() and all(ch in _ENV_NAME_CHARS for ch in name)


def env_assignment_is_valid(item: str) -> bool:
    """# systemd: env_assignment_is_valid()"""
    name, sep, _ = item.partition("=")
    return bool(sep) and env_name_is_valid(name)


def env_replace(env: list[str], item: str) -> None:
    """Set `K=V` in env, replacing an earlier K in place. # systemd: strv_env_replace_consume()"""
    name = item.split("=", 1)[0]
    for idx, old in enumerate(env):
        if old.split("=", 1)[0] == name:
            env[idx] = item
            return
    env.append(item)


# --- sizes, modes, limits ------------------------------------------------------------------------

_SIZE_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
RLIM_INFINITY = (1 << 64) - 1


_SIZE_TABLE = (("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20),
               ("K", 1 << 10), ("B", 1), ("", 1))


def parse_size(text: str) -> int:
    """`512`, `4K`, `1.5G`, `1G 512M` (powers of 1024, larger units first).

    # spec: unit-files.md §1.4; systemd: parse_size(base=1024)
    """
    total = 0
    i = 0
    start = 0
    n = len(text)
    while True:
        i = _skip(text, i, WHITESPACE)
        if text.startswith("-", i):  # strtoull() parses "-5" (→ ERANGE); "-" alone is EINVAL
            raise ValueError("ERANGE" if text[i + 1:i + 2].isdigit() else text)
        j = i + 1 if text.startswith("+", i) else i
        k = _skip(text, j, "0123456789")
        if k == j:
            raise ValueError(text)
        whole = int(text[j:k])
        frac = ""
        if text.startswith(".", k):
            k += 1
            m = _skip(text, k, "0123456789")
            frac, k = text[k:m], m  # "10.M" is valid: an empty fraction
        k = _skip(text, k, WHITESPACE)
        for idx in range(start, len(_SIZE_TABLE)):
            suffix, factor = _SIZE_TABLE[idx]
            if text.startswith(suffix, k):
                value = whole * factor + (int(frac) * factor // 10 ** len(frac) if frac else 0)
                total += value
                if total >= 1 << 64:
                    raise ValueError("ERANGE")
                i = k + len(suffix)
                start = idx + 1
                break
        else:  # no (smaller) unit left for this number
            raise ValueError(text)
        if i >= n:
            return total


def parse_mode(text: str) -> int:
    """An octal file mode <= 07777. # systemd: parse_mode()"""
    t = text.strip(WHITESPACE)
    if not t or any(ch not in "01234567" for ch in t):
        raise ValueError(text)
    value = int(t, 8)
    if value > 0o7777:
        raise ValueError(text)
    return value


# Limit*= kinds: how one value is parsed. # systemd: rlimit_parse_one()
_LIMIT_TIME_USEC = {"CPU": USEC_PER_SEC, "RTTIME": 1}
_LIMIT_BYTES = {"AS", "CORE", "DATA", "FSIZE", "MEMLOCK", "MSGQUEUE", "RSS", "STACK"}
LIMIT_NAMES = ("CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NOFILE", "AS", "NPROC",
               "MEMLOCK", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME")


def _parse_limit_one(kind: str, text: str) -> int:
    if text == "infinity":
        return RLIM_INFINITY
    if kind in _LIMIT_TIME_USEC:
        usec = parse_timespan(text, _LIMIT_TIME_USEC[kind])
        if usec == USEC_INFINITY:
            return RLIM_INFINITY
        # CPU is in seconds, rounded up; RTTIME stays in µs
        return -(-usec // USEC_PER_SEC) if kind == "CPU" else usec
    if kind in _LIMIT_BYTES:
        return parse_size(text)
    if kind == "NICE":  # systemd: rlimit_parse_nice(): signed = nice value, unsigned = raw 0..40
        t = text.strip(WHITESPACE)
        if t.startswith(("+", "-")):
            body = t[1:]
            if not (body.isascii() and body.isdigit()):
                raise ValueError(text)
            v = int(t)
            if not -20 <= v <= 19:
                raise ValueError("ERANGE")
            return 20 - v
        v = parse_unsigned(t, 64)
        if v > 40:
            raise ValueError("ERANGE")
        return v
    return parse_unsigned(text, 64)  # systemd: safe_atou64(), so 0x10 and 010 work


def parse_limit(kind: str, text: str) -> tuple[int, int]:
    """`Limit<KIND>=` value: `N`, `soft:hard`, `infinity`. # systemd: rlimit_parse()"""
    soft, sep, hard = text.partition(":")
    try:
        s = _parse_limit_one(kind, soft)
        h = _parse_limit_one(kind, hard) if sep else s
    except ValueError as exc:
        raise ValueError("ERANGE" if str(exc) == "ERANGE" else text) from None
    if s > h:
        raise LimitOrderError(text)
    return s, h


class LimitOrderError(ValueError):
    """Soft limit above hard limit."""
