"""A lesson is a link: which session-state values a page's URL carries, and how each is checked.

Each page's state module declares a tuple of `Param`s (its widget key, a short URL name, a
parser); lab/links.py moves them between `st.query_params` and the session. Everything here is
pure, so the checks are tested without Streamlit.

A URL is typed by anyone, so every value is untrusted: a parser returns the value the widget
can take (clamped into its range, text cut to its cap) or raises `LinkValueError`, and the
reader then leaves that key alone (the page's own default stands) and says why in a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class LinkValueError(ValueError):
    """A URL value no widget could take; its message is shown to the student."""


Parser = Callable[[str], Any]  # URL text -> widget value, or LinkValueError
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Param:
    """One value a link carries: session-state `key`, URL `name`, and how to read it back.

    `default` is what the page shows without a link; a value equal to it is left out of the
    URL, which keeps links short. Leave it unset when the default depends on the model.
    `note` replaces the generic sentence shown when the URL's value cannot be used.
    """

    key: str
    name: str
    parse: Parser
    default: Any = _NO_DEFAULT
    note: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class Clamped:
    """A parser's answer when it had to change the value: the value used, and why."""

    value: Any
    why: str


def _number(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise LinkValueError(f"{raw[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise LinkValueError(f"{raw[:40]!r} is not a finite number")
    return value


def integer(lo: int, hi: int) -> Parser:
    """An int, clamped into [lo, hi]. Example: integer(0, 3)("7") -> Clamped(3, ...)."""

    def parse(raw: str) -> Any:
        value = _number(raw)
        if value != int(value):
            raise LinkValueError(f"{raw[:40]!r} is not a whole number")
        return _clamp(int(value), lo, hi)

    return parse


def real(lo: float, hi: float) -> Parser:
    """A float, clamped into [lo, hi]. Example: real(0.0, 2.0)("1.2") -> 1.2."""
    return lambda raw: _clamp(_number(raw), lo, hi)


def _clamp(value: Any, lo: Any, hi: Any) -> Any:
    if lo <= value <= hi:
        return value
    return Clamped(min(max(value, lo), hi), f"{value:g} is outside {lo:g} to {hi:g}")


def choice(options: Iterable[Any]) -> Parser:
    """One of `options`, matched on its text. Example: choice((1, 2, 3))("2") -> 2."""
    by_text = {str(o): o for o in options}

    def parse(raw: str) -> Any:
        if raw not in by_text:
            raise LinkValueError(f"{raw[:40]!r} is not one of {', '.join(by_text)}")
        return by_text[raw]

    return parse


def flag(raw: str) -> bool:
    """A switch: "1"/"true" or "0"/"false"."""
    value = raw.strip().lower()
    if value not in ("1", "true", "0", "false"):
        raise LinkValueError(f"{raw[:40]!r} is not on (1) or off (0)")
    return value in ("1", "true")


def text(max_chars: int) -> Parser:
    """Free text, cut to max_chars (a URL could otherwise carry megabytes into a text box)."""

    def parse(raw: str) -> Any:
        if len(raw) <= max_chars:
            return raw
        return Clamped(raw[:max_chars], f"the text was cut to its first {max_chars:,} characters")

    return parse


def int_list(lo: int, hi: int, max_items: int) -> Parser:
    """Comma-separated ints in [lo, hi], at most max_items, no repeats. Example: "0,1,8"."""
    item = integer(lo, hi)

    def parse(raw: str) -> Any:
        values: list[int] = []
        for part in raw.split(",")[: max_items * 4] if raw else []:
            value = item(part)
            if isinstance(value, Clamped):
                raise LinkValueError(f"{part[:20]!r} is outside {lo} to {hi}")
            if value not in values:
                values.append(value)
        if len(values) > max_items:
            return Clamped(values[:max_items], f"only the first {max_items} are kept")
        return values

    return parse


def subset(options: Iterable[str]) -> Parser:
    """Comma-separated names out of `options`, in the options' order. Example: "rope,alibi"."""
    allowed = tuple(options)

    def parse(raw: str) -> Any:
        chosen = [part for part in raw.split(",") if part] if raw else []
        unknown = [part for part in chosen if part not in allowed]
        if unknown:
            raise LinkValueError(f"{unknown[0][:40]!r} is not one of {', '.join(allowed)}")
        return [o for o in allowed if o in chosen]

    return parse


def to_text(value: Any) -> str:
    """A widget value as URL text, the inverse of the parsers above."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(to_text(v) for v in value)
    return str(value)


def read(params: Iterable[Param], query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The session values a link asks for, and a sentence for each value it could not give.

    Names the params do not declare are ignored; a value that fails its check is left out
    (so the page's default stands) and explained.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    for param in params:
        if param.name not in query:
            continue
        raw = str(query[param.name])
        try:
            value = param.parse(raw)
        except LinkValueError as err:
            notes.append(param.note or f"The link's {param.name} was not used: {err}.")
            continue
        if isinstance(value, Clamped):
            notes.append(f"The link's {param.name} was adjusted: {value.why}.")
            value = value.value
        values[param.key] = value
    return values, notes


def write(params: Iterable[Param], session: Mapping[str, Any]) -> dict[str, str]:
    """The URL query for the session's values: one entry per param the session holds, except
    values equal to the default and values a link could not carry (an uploaded file's source,
    a model from this session only): those would not read back as the same value."""
    query: dict[str, str] = {}
    for param in params:
        if param.key not in session:
            continue
        value = session[param.key]
        if value is None or (param.has_default and _same(value, param.default)):
            continue
        raw = to_text(value)
        try:
            back = param.parse(raw)
        except LinkValueError:
            continue
        if not isinstance(back, Clamped) and _same(back, value):
            query[param.name] = raw
    return query


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared to the six digits a URL keeps (a slider's 1.2000000000000002
    travels as 1.2)."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
