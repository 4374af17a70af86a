"""Tokenizer for the structured pattern forms: `{ JSON }` and `[ space-delimited ]`."""

from __future__ import annotations

import dataclasses

from cloudlet.services.logs.filter_pattern.errors import FilterPatternError

# Characters that end a bare word (an unquoted name or value).
_STOP = set(" \t\r\n{}[](),=!<>&|\"%")
_SELECTOR_STOP = set(" \t\r\n{}()=!<>&|,\"%")


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # see tokenize(): punctuation kinds are the text itself
    text: str
    pos: int


def tokenize(src: str) -> list[Token]:
    """Kinds: { } [ ] ( ) , && || OP STRING REGEX ELLIPSIS SELECTOR WORD, then END."""
    out: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
        elif src.startswith("...", i):
            out.append(Token("ELLIPSIS", "...", i))
            i += 3
        elif c in "{}[](),":
            out.append(Token(c, c, i))
            i += 1
        elif src.startswith("&&", i) or src.startswith("||", i):
            out.append(Token(src[i : i + 2], src[i : i + 2], i))
            i += 2
        elif src.startswith(("!=", "<=", ">="), i):
            out.append(Token("OP", src[i : i + 2], i))
            i += 2
        elif c in "=<>":
            out.append(Token("OP", c, i))
            i += 1
        elif c == '"':
            text, i = read_quoted(src, i)
            out.append(Token("STRING", text, i))
        elif c == "%":
            end = src.find("%", i + 1)
            if end < 0:
                raise FilterPatternError(f"Unterminated regular expression at position {i}")
            out.append(Token("REGEX", src[i + 1 : end], i))
            i = end + 1
        elif c == "$":
            j = i + 1
            while j < n and src[j] not in _SELECTOR_STOP:
                j += 1
            out.append(Token("SELECTOR", src[i:j], i))
            i = j
        elif c in _STOP:
            raise FilterPatternError(f"Unexpected character '{c}' at position {i}")
        else:
            j = i
            while j < n and src[j] not in _STOP:
                j += 1
            out.append(Token("WORD", src[i:j], i))
            i = j
    out.append(Token("END", "", n))
    return out


def read_quoted(src: str, start: int) -> tuple[str, int]:
    """A double-quoted string starting at src[start]; backslash escapes the next char."""
    buf: list[str] = []
    i = start + 1
    while i < len(src):
        c = src[i]
        if c == "\\" and i + 1 < len(src):
            buf.append(src[i + 1])
            i += 2
        elif c == '"':
            return "".join(buf), i + 1
        else:
            buf.append(c)
            i += 1
    raise FilterPatternError(f"Unterminated quoted string at position {start}")


class TokenStream:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        t = self.peek()
        self.i += 1
        return t

    def accept(self, kind: str) -> Token | None:
        if self.peek().kind == kind:
            return self.next()
        return None

    def expect(self, kind: str, what: str) -> Token:
        t = self.peek()
        if t.kind != kind:
            found = t.text or "end of pattern"
            raise FilterPatternError(f"Expected {what} at position {t.pos}, found '{found}'")
        return self.next()
