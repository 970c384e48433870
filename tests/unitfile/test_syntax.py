"""The line grammar. # spec: unit-files.md §1"""

from sysvisor.unitfile.syntax import Assignment, Header, lex


def assignments(text):
    return [(i.section, i.key, i.value, i.line) for i in lex(text, "f").items if isinstance(i, Assignment)]


def messages(text):
    return [str(d) for d in lex(text, "f").diagnostics]


def test_sections_and_assignments_keep_lines():
    text = "[Unit]\nDescription = hello world  \n\n[Service]\nExecStart=/bin/true\n"
    assert assignments(text) == [("Unit", "Description", "hello world", 2),
                                 ("Service", "ExecStart", "/bin/true", 5)]


def test_comments_only_at_line_start():
    text = "[Service]\n# c\n   ; indented comment\nRestart=always # note\n"
    assert assignments(text) == [("Service", "Restart", "always # note", 4)]


def test_continuation_joins_with_one_space_and_skips_comments():
    text = "[Unit]\nDescription=line \\\n# comment\n continued\n"
    assert assignments(text) == [("Unit", "Description", "line   continued", 4)]


def test_escaped_backslash_is_not_a_continuation():
    text = "[Unit]\nDescription=a\\\\\nAfter=b.service\n"
    assert assignments(text) == [("Unit", "Description", "a\\\\", 2), ("Unit", "After", "b.service", 3)]


def test_continuation_at_end_of_file_is_parsed_one_line_later():
    # observed (v252): the pending continuation is reported at last line + 1
    assert assignments("[Unit]\nDescription=x \\") == [("Unit", "Description", "x", 3)]


def test_repeated_keys_all_kept_in_order():
    text = "[Service]\nExecStart=/a\nExecStart=\nExecStart=/b\n"
    assert [a[2] for a in assignments(text)] == ["/a", "", "/b"]


def test_bom_and_crlf_accepted():
    text = "\ufeff[Unit]\r\nDescription=x\r\n"
    assert assignments(text) == [("Unit", "Description", "x", 2)]


def test_outside_section_missing_equal_and_missing_key():
    text = "X=1\n[Unit]\nBogus\n=v\n"
    assert messages(text) == ["f:1: Assignment outside of section. Ignoring.",
                              "f:3: Missing '=', ignoring line.",
                              "f:4: Missing key name before '=', ignoring line."]


def test_invalid_header_fails_the_file():
    lexed = lex("[Unit]\nDescription=a\n[Service\nExecStart=/x\n", "f")
    assert lexed.failure == "Bad message"
    assert [str(d) for d in lexed.diagnostics] == ["f:3: Invalid section header '[Service'"]
    assert [i.key for i in lexed.items if isinstance(i, Assignment)] == ["Description"]


def test_headers_are_items_and_case_sensitive():
    items = lex("[service]\nA=1\n", "f").items
    assert isinstance(items[0], Header) and items[0].name == "service"
    assert items[1].section == "service"


def test_non_utf8_line_is_ignored_with_warning():
    text = b"[Unit]\nDescription=\xff\n".decode("utf-8", "surrogateescape")
    lexed = lex(text, "f")
    assert not [i for i in lexed.items if isinstance(i, Assignment)]
    assert "not UTF-8 clean" in str(lexed.diagnostics[0])
