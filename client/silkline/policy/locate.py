"""Where each key of a TOML document is written: line and column for error messages.

``tomllib`` returns plain dictionaries without positions, yet a refusal must
say "line 12, column 5" so a reviewer finds the entry at once. This module
scans the source text a second time, after ``tomllib`` has accepted it, and
records for every key path such as ``("agreements", 1, "parties", 0)``:

- where the key is written (for a table header ``[a.b]`` or ``[[a]]``, the
  opening bracket; for an element of an array, the element itself);
- where its value starts.

It understands table headers (with quoted and dotted keys and spaces around
the dots), arrays of tables, dotted keys, inline tables, arrays over several
lines, all four string forms and comments. It never raises: the document is
already known to be valid TOML, and for a path it did not see it answers the
position of the nearest enclosing table that it did see.

Lines and columns count from 1; columns count characters (code points), as
``tomllib`` does in its own syntax errors.
"""

from __future__ import annotations

import bisect
import tomllib
from dataclasses import dataclass

__all__ = ["KeyPath", "Position", "SourceMap", "index_source"]

KeyPath = tuple[str | int, ...]

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_INLINE_WHITESPACE = " \t"
# A scalar value (number, boolean, date, time) ends at one of these; a local
# date-time may contain a space ("1979-05-27 07:32:00"), so space is not one.
_SCALAR_END = frozenset(",]}#\n\r")


@dataclass(frozen=True, order=True)
class Position:
    """A place in the source: 1-based line and 1-based column."""

    line: int
    column: int


_START = Position(1, 1)


class SourceMap:
    """Positions of the keys and values of one TOML document."""

    def __init__(self, keys: dict[KeyPath, Position], values: dict[KeyPath, Position]) -> None:
        self._keys = keys
        self._values = values

    def key(self, path: KeyPath) -> Position:
        """Where ``path`` is written, else where its nearest known enclosing table is."""
        for end in range(len(path), 0, -1):
            found = self._keys.get(path[:end])
            if found is not None:
                return found
        return _START

    def value(self, path: KeyPath) -> Position:
        """Where the value of ``path`` starts; falls back to :meth:`key`."""
        found = self._values.get(path)
        return found if found is not None else self.key(path)

    def known(self, path: KeyPath) -> bool:
        """Whether the scan saw ``path`` itself (not just an enclosing table)."""
        return path in self._keys


def index_source(text: str) -> SourceMap:
    """Scan ``text`` (already accepted by ``tomllib``) and map its key paths to positions."""
    scanner = _Scanner(text)
    scanner.document()
    return SourceMap(scanner.keys, scanner.values)


class _Scanner:
    """A forgiving single pass over valid TOML that notes positions instead of building values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.keys: dict[KeyPath, Position] = {}
        self.values: dict[KeyPath, Position] = {}
        self._line_starts = [0]
        self._line_starts.extend(i + 1 for i, c in enumerate(text) if c == "\n")
        # Arrays of tables seen so far and the index of their latest element, so
        # that "[agreements.x]" after the second "[[agreements]]" resolves to
        # ("agreements", 1, "x").
        self._array_tables: dict[KeyPath, int] = {}

    # ------------------------------------------------------------ positions

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1)

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    # ------------------------------------------------------------- skipping

    def skip_inline_space(self) -> None:
        while self.peek() and self.peek() in _INLINE_WHITESPACE:
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_blank(self) -> None:
        """Spaces, newlines and comments: what may separate elements of an array."""
        while self.pos < len(self.text):
            char = self.peek()
            if char in " \t\r\n":
                self.pos += 1
            elif char == "#":
                self.skip_comment()
            else:
                return

    def skip_to_next_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    # ------------------------------------------------------------ structure

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self.peek() == "[":
                table = self.header(start)
                self.skip_to_next_line()
            else:
                self.key_value(table)
                self.skip_to_next_line()
            if self.pos <= start:
                # Defensive: the input did not look like TOML; stop rather than loop.
                return

    def header(self, start: int) -> KeyPath:
        is_array = self.peek(1) == "["
        self.pos += 2 if is_array else 1
        keys = self.dotted_key()
        here = self.position(start)
        resolved: KeyPath = ()
        for name in keys[:-1]:
            resolved = (*resolved, name)
            self.keys.setdefault(resolved, here)
            if resolved in self._array_tables:
                resolved = (*resolved, self._array_tables[resolved])
        resolved = (*resolved, keys[-1]) if keys else resolved
        if is_array:
            self.keys.setdefault(resolved, here)
            index = self._array_tables.get(resolved, -1) + 1
            self._array_tables[resolved] = index
            resolved = (*resolved, index)
        # An explicit header is where a table is defined, even if a deeper
        # header ("[a.b.c]" before "[a.b]") mentioned it first.
        self.keys[resolved] = here
        return resolved

    def key_value(self, table: KeyPath) -> None:
        key_start = self.pos
        names = self.dotted_key()
        if not names:
            return
        path = table
        for index, name in enumerate(names):
            path = (*path, name)
            if index == len(names) - 1:
                self.keys[path] = self.position(key_start)
            else:
                self.keys.setdefault(path, self.position(key_start))
        self.skip_inline_space()
        if self.peek() != "=":
            return
        self.pos += 1
        self.skip_inline_space()
        self.value(path)

    def dotted_key(self) -> list[str]:
        names: list[str] = []
        while True:
            self.skip_inline_space()
            name = self.simple_key()
            if name is None:
                return names
            names.append(name)
            self.skip_inline_space()
            if self.peek() != ".":
                return names
            self.pos += 1

    def simple_key(self) -> str | None:
        char = self.peek()
        if char in ('"', "'"):
            start = self.pos
            self.string()
            return _decode_quoted_key(self.text[start : self.pos])
        start = self.pos
        while self.peek() and self.peek() in _BARE_KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos] if self.pos > start else None

    # --------------------------------------------------------------- values

    def value(self, path: KeyPath) -> None:
        self.values[path] = self.position(self.pos)
        char = self.peek()
        if char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        elif char in ('"', "'"):
            self.string()
        else:
            while self.peek() and self.peek() not in _SCALAR_END:
                self.pos += 1

    def array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while self.pos < len(self.text):
            self.skip_blank()
            if self.peek() in ("]", ""):
                self.pos += 1
                return
            element = (*path, index)
            self.keys[element] = self.position(self.pos)
            before = self.pos
            self.value(element)
            self.skip_blank()
            if self.peek() == ",":
                self.pos += 1
                index += 1
            elif self.pos == before:
                return

    def inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while self.pos < len(self.text):
            self.skip_inline_space()
            if self.peek() in ("}", ""):
                self.pos += 1
                return
            before = self.pos
            self.key_value(path)
            self.skip_inline_space()
            if self.peek() == ",":
                self.pos += 1
            elif self.pos == before:
                return

    def string(self) -> None:
        quote = self.peek()
        triple = quote * 3
        if self.text.startswith(triple, self.pos):
            self.pos += 3
            while self.pos < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.pos += 2
                    continue
                if self.text.startswith(triple, self.pos):
                    self.pos += 3
                    # Up to two quotes may sit just before the closing delimiter (TOML 1.0).
                    for _ in range(2):
                        if self.peek() == quote:
                            self.pos += 1
                    return
                self.pos += 1
            return
        self.pos += 1
        while self.pos < len(self.text):
            char = self.peek()
            if quote == '"' and char == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if char == quote or char == "\n":
                return


def _decode_quoted_key(raw: str) -> str:
    """The key a quoted TOML key names, escapes decoded exactly as tomllib decodes them."""
    try:
        decoded = tomllib.loads(f"k = {raw}")["k"]
    except tomllib.TOMLDecodeError:
        return raw
    return decoded if isinstance(decoded, str) else raw
