"""XML output text: exactly the characters XML 1.0 cannot carry go out as U+FFFD."""

from __future__ import annotations

from cloudlet.protocol.xml_out import text


def _xml_char(cp: int) -> bool:
    # XML 1.0 (Fifth Edition) production [2] Char.
    return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF


def test_every_code_point_outside_xml_char_and_only_those_is_replaced() -> None:
    # Tab, LF and CR are kept (as character references); & < > are escaped: both checked apart.
    plain = [cp for cp in range(0x110000) if cp not in (0x9, 0xA, 0xD, 0x26, 0x3C, 0x3E)]
    out = text("".join(map(chr, plain)))
    assert len(out) == len(plain)
    wrong = [hex(cp) for cp, ch in zip(plain, out, strict=True) if (ch == "\ufffd") != (not _xml_char(cp) or cp == 0xFFFD)]
    assert wrong == []
    assert text("a\tb\nc\rd&<>") == "a\tb&#xA;c&#xD;d&amp;&lt;&gt;"
