"""A small CQL2-text parser: a tokenizer and a recursive-descent parser, nothing evaluated.

What it reads (OGC 21-065, CQL2 1.0): Basic CQL2 (comparisons ``= <> < > <= >=`` of a
property with a literal, ``IS [NOT] NULL``, ``AND``/``OR``/``NOT``, parentheses, string,
number, boolean, ``DATE('…')`` and ``TIMESTAMP('…')`` literals), the advanced comparison
operators (``[NOT] LIKE`` with ``%`` and ``_``, ``[NOT] BETWEEN``, ``[NOT] IN``) and
``S_INTERSECTS`` of the geometry with a WKT literal (``POINT``, ``LINESTRING``,
``POLYGON`` and their ``MULTI`` forms) or ``BBOX(…)``. The result is a tree of the
dataclasses below; :mod:`geodata.publish.query` turns it into a Django ``Q``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import shapely

from geodata.publish.errors import InvalidFilter

MAX_LENGTH = 20_000  # characters of filter text
MAX_DEPTH = 40  # nesting of parentheses and NOT
MAX_COORDINATES = 10_000

Value = str | int | float | bool | date | datetime


@dataclass(frozen=True)
class Comparison:
    prop: str
    op: str  # = <> < > <= >=
    value: Value


@dataclass(frozen=True)
class Like:
    prop: str
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class Between:
    prop: str
    low: Value
    high: Value
    negated: bool = False


@dataclass(frozen=True)
class In:
    prop: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    prop: str
    negated: bool = False


@dataclass(frozen=True)
class Intersects:
    prop: str
    shape: shapely.Geometry  # in the filter CRS, coordinates as written (its axis order)


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Comparison | Like | Between | In | IsNull | Intersects | Not | And | Or

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<op><>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<quoted>"(?:[^"]|"")+")
  | (?P<word>[A-Za-z_][A-Za-z0-9_.:]*)
""", re.VERBOSE)

GEOMETRY_WORDS = frozenset({"POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
                            "MULTILINESTRING", "MULTIPOLYGON"})
KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE",
                      "FALSE", "DATE", "TIMESTAMP", "BBOX"}) | GEOMETRY_WORDS


@dataclass(frozen=True)
class Token:
    kind: str  # string number op punct name keyword
    text: str
    at: int


def tokens(text: str) -> list[Token]:
    """Split filter text into tokens; InvalidFilter at the first character that is none."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilter(f"the filter is longer than {MAX_LENGTH} characters")
    out: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match:
            raise InvalidFilter(f"filter: unexpected {text[at:at + 10]!r} at character {at + 1}")
        kind, value = match.lastgroup or "", match.group()
        if kind == "string":
            out.append(Token("string", value[1:-1].replace("''", "'"), at))
        elif kind == "quoted":
            out.append(Token("name", value[1:-1].replace('""', '"'), at))
        elif kind == "word":
            upper = value.upper()
            out.append(Token("keyword", upper, at) if upper in KEYWORDS
                       else Token("name", value, at))
        elif kind != "space":
            out.append(Token(kind, value, at))
        at = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.i = 0
        self.depth = 0

    # -- helpers
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, what: str) -> InvalidFilter:
        token = self.peek()
        where = f"at character {token.at + 1} ({token.text[:20]!r})" if token else "at the end"
        return InvalidFilter(f"filter: {what} {where}")

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.peek()
        if token and token.kind == kind and (text is None or token.text == text):
            self.i += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None, what: str = "") -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.fail(f"expected {what or text or kind}")
        return token

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidFilter(f"filter: nested more than {MAX_DEPTH} deep")

    # -- grammar
    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise self.fail("unexpected text")
        return node

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.accept("keyword", "OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.accept("keyword", "AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Node:
        if self.accept("keyword", "NOT"):
            self.nested()
            negated = Not(self.negation())
            self.depth -= 1
            return negated
        if self.accept("punct", "("):
            self.nested()
            node = self.disjunction()
            self.expect("punct", ")")
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        token = self.peek()
        if token and token.kind == "name" and token.text.upper().startswith("S_"):
            return self.spatial()
        prop = self.expect("name", what="a property name").text
        if op := self.accept("op"):
            return Comparison(prop, op.text, self.literal())
        if self.accept("keyword", "IS"):
            negated = bool(self.accept("keyword", "NOT"))
            self.expect("keyword", "NULL")
            return IsNull(prop, negated)
        negated = bool(self.accept("keyword", "NOT"))
        if self.accept("keyword", "LIKE"):
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise self.fail("LIKE takes a string pattern")
            return Like(prop, pattern, negated)
        if self.accept("keyword", "BETWEEN"):
            low = self.literal()
            self.expect("keyword", "AND")
            return Between(prop, low, self.literal(), negated)
        if self.accept("keyword", "IN"):
            self.expect("punct", "(")
            values = [self.literal()]
            while self.accept("punct", ","):
                values.append(self.literal())
            self.expect("punct", ")")
            return In(prop, tuple(values), negated)
        raise self.fail("expected a comparison, LIKE, BETWEEN, IN or IS NULL")

    def literal(self) -> Value:
        if token := self.accept("string"):
            return token.text
        if token := self.accept("number"):
            text = token.text
            return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else float(text)
        if self.accept("keyword", "TRUE"):
            return True
        if self.accept("keyword", "FALSE"):
            return False
        for word, parse in (("DATE", date.fromisoformat), ("TIMESTAMP", _timestamp)):
            if self.accept("keyword", word):
                self.expect("punct", "(")
                text = self.expect("string", what=f"a quoted {word.lower()}").text
                self.expect("punct", ")")
                try:
                    return parse(text)
                except ValueError:
                    raise InvalidFilter(f"filter: {text[:40]!r} is not a valid {word}") from None
        raise self.fail("expected a literal (a quoted string, a number, TRUE, FALSE, "
                        "DATE('…') or TIMESTAMP('…'))")

    def spatial(self) -> Node:
        function = self.expect("name").text.upper()
        if function != "S_INTERSECTS":
            raise InvalidFilter(f"filter: {function} is not supported; S_INTERSECTS is")
        self.expect("punct", "(")
        if token := self.accept("name"):
            prop = token.text
            self.expect("punct", ",")
            shape = self.geometry()
        else:
            shape = self.geometry()
            self.expect("punct", ",")
            prop = self.expect("name", what="a property name").text
        self.expect("punct", ")")
        return Intersects(prop, shape)

    def geometry(self) -> shapely.Geometry:
        if self.accept("keyword", "BBOX"):
            self.expect("punct", "(")
            numbers = [self.number()]
            while self.accept("punct", ","):
                numbers.append(self.number())
            self.expect("punct", ")")
            if len(numbers) == 6:
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
                raise InvalidFilter("filter: BBOX takes 4 (or 6) numbers, lower corner first")
            return shapely.box(*numbers)
        token = self.peek()
        if token is None or token.kind != "keyword" or token.text not in GEOMETRY_WORDS:
            raise self.fail("expected a geometry (POINT, POLYGON, … or BBOX)")
        self.i += 1
        parts = [token.text]
        count, depth = 0, 0
        while True:
            part = self.peek()
            if part is None:
                raise self.fail("the geometry is not closed")
            if part.kind == "punct" and part.text == "(":
                depth += 1
            elif part.kind == "punct" and part.text == ")":
                depth -= 1
            elif part.kind == "number":
                count += 1
            elif not (part.kind == "punct" and part.text == ","):
                raise self.fail("a geometry holds only numbers, commas and parentheses")
            parts.append(part.text)
            self.i += 1
            if depth <= 0:
                break
        if count > 2 * MAX_COORDINATES:
            raise InvalidFilter(f"filter: a geometry of more than {MAX_COORDINATES} points")
        try:
            shape = shapely.from_wkt(" ".join(parts))
        except shapely.errors.GEOSException as exc:
            raise InvalidFilter(f"filter: not a valid {token.text}: {exc}") from None
        if shape.is_empty or shape.has_z:
            raise InvalidFilter(f"filter: the {token.text} must be two-dimensional and not empty")
        return shape

    def number(self) -> float:
        token = self.expect("number", what="a number")
        return float(token.text)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def parse(text: str) -> Node:
    """Return the tree of a CQL2-text filter; InvalidFilter (400) says where it went wrong."""
    if not text.strip():
        raise InvalidFilter("filter is empty")
    return _Parser(text).parse()
