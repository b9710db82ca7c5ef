"""Pure builders for the Tokenizers page: tokens as coloured HTML, merge labels, BPE curves.

Nothing here imports Streamlit, so every builder is unit-tested on its own. Token text comes in
as plain strings (a tokenizer's `token_str`), ids as ints; out come HTML strings, plotly
figures and pandas tables.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lab.engine.views import visible, visible_pieces  # the one renderer every page uses
from lab.tokenizers.pieces import SPECIAL, UNKNOWN, Piece, group_text, groups
from minigpt.tokenizers.bpe import Merge

# Pastel backgrounds cycled by position, so neighbouring tokens always differ.
PALETTE = ["#fde2e4", "#dfe7fd", "#e2f0cb", "#fff1c1", "#e8dff5", "#d4f0f0", "#fce1c8", "#eadcd0"]
ACCENT = "#b5473a"  # the theme's primary colour: the current step, the current merge
MAX_SHOWN = 2000  # coloured tokens drawn per text; more makes the browser crawl for nothing

_BOX = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:0.95rem;line-height:1.9;"
    "white-space:pre-wrap;overflow-wrap:anywhere;padding:0.5rem 0.6rem;border:1px solid #e6e6e6;"
    "border-radius:0.4rem;background:#fff"
)
_TOKEN = "background:{bg};border-radius:3px;padding:1px 0;margin-right:1px"
_HIGHLIGHT = f";outline:2px solid {ACCENT};outline-offset:-1px"
_MARK = "color:#9a9a9a"
_SPECIAL = (  # a special token is no text at all: dark, bold, unlike any pastel
    "background:#37474f;color:#fff;font-weight:600;border-radius:3px;padding:1px 3px;"
    "margin-right:1px"
)
_UNKNOWN = f"border:1px dashed {ACCENT};border-radius:3px;padding:0 2px;margin-right:1px"
# A character over its bytes (or over "unknown"): two lines inside one inline box.
_STACK = (
    "display:inline-flex;flex-direction:column;align-items:center;vertical-align:top;"
    "line-height:1.3;margin:0 1px;"
)
_UNDER = "display:inline-flex;gap:1px;font-size:0.7rem;color:#555;line-height:1.3"


def merge_label(left: str, right: str, new: str | None = None) -> str:
    """One merge as people write it, whitespace visible; without `new`, just the pair.

    Example: merge_label("t", "h", "th") -> "'t' + 'h' -> 'th'"; merge_label(" ", "t") -> "'␣' + 't'"
    """
    pair = f"'{visible(left)}' + '{visible(right)}'"
    return pair if new is None else f"{pair} -> '{visible(new)}'"


def cut_note(n_tokens: int, limit: int = MAX_SHOWN) -> str:
    """A sentence saying the drawing stops early, or "" when every token is drawn."""
    if n_tokens <= limit:
        return ""
    return f" Only the first {limit:,} of {n_tokens:,} tokens are drawn."


def id_list(tokens: Sequence[Piece], limit: int = MAX_SHOWN) -> str:
    """The ids of tokens, comma separated ("?" for an unknown character), cut after `limit`.

    Example: id_list([Piece(104, "h"), Piece(None, "(", UNKNOWN)]) -> "104, ?"
    """
    text = ", ".join("?" if p.id is None else str(p.id) for p in tokens[:limit])
    return text + (", …" if len(tokens) > limit else "")


def _token_html(text: str) -> str:
    """One token's text, HTML-escaped, whitespace shown as grey marks (a newline also breaks)."""
    out = []
    for shown, is_mark in visible_pieces(text):
        if is_mark:
            out.append(f'<span style="{_MARK}">{html.escape(shown)}</span>')
        else:
            out.append(html.escape(shown))
        if shown == "↵":
            out.append("\n")
    return "".join(out)


def _title(piece: Piece, part_of: str | None = None) -> str:
    """A token's hover text: its id and what it is."""
    if piece.kind == UNKNOWN:
        what = f"unknown character {piece.text!r}: not in this vocabulary, so it has no id"
    elif piece.kind == SPECIAL:
        what = f"id {piece.id} · special token {piece.text}"
    else:
        what = f"id {piece.id} · '{visible(piece.text)}'"
        if part_of is not None:
            what += f", bytes of '{visible(part_of)}'"
    return html.escape(what, quote=True)


def _span(piece: Piece, pos: int, highlight: int | None, part_of: str | None = None) -> str:
    """One token as a coloured span, in the style of its kind; `part_of`: the text of the
    group of byte tokens it belongs to."""
    if piece.kind == SPECIAL:
        style = _SPECIAL
    elif piece.kind == UNKNOWN:
        style = _UNKNOWN
    else:
        style = _TOKEN.format(bg=PALETTE[pos % len(PALETTE)])
    if piece.id is not None and piece.id == highlight:
        style += _HIGHLIGHT
    title = _title(piece, part_of)
    body = _token_html(piece.text)
    if piece.kind == UNKNOWN:  # the character itself, over a marker saying it has no id
        return (
            f'<span class="tok-unknown" title="{title}" style="{_STACK}{style}">'
            f'<span>{body}</span><span style="{_UNDER};color:{ACCENT}">unknown</span></span>'
        )
    kind = "tok-special" if piece.kind == SPECIAL else "tok" if part_of is None else "tok-bytes"
    return f'<span class="{kind}" title="{title}" style="{style}">{body}</span>'


def _group_html(group: Sequence[Piece], first: int, highlight: int | None) -> str:
    """Byte tokens that only together make characters: the text once, each token's bytes below."""
    text = group_text(group)
    parts = "".join(_span(p, first + j, highlight, text) for j, p in enumerate(group))
    title = html.escape(f"'{visible(text)}': {len(group)} tokens of its UTF-8 bytes", quote=True)
    return (
        f'<span class="tok-group" title="{title}" style="{_STACK}">'
        f'<span class="tok-char">{_token_html(text)}</span>'
        f'<span style="{_UNDER}">{parts}</span></span>'
    )


def tokens_html(
    tokens: Sequence[Piece],
    highlight: int | None = None,
    limit: int = MAX_SHOWN,
) -> str:
    """Tokens as coloured spans, each titled with its id; tokens whose id is `highlight` outlined.

    Byte tokens that split a character are drawn as one group: the character once, the bytes of
    each token beneath. Special tokens and unknown characters have styles of their own. Only
    the first `limit` tokens are drawn.
    Example: tokens_html([Piece(104, "h"), Piece(32, " ")]) holds title="id 104" and a '␣'
    """
    spans = []
    pos = 0
    for group in groups(tokens[:limit]):
        if len(group) == 1:
            spans.append(_span(group[0], pos, highlight))
        else:
            spans.append(_group_html(group, pos, highlight))
        pos += len(group)
    if not spans:
        spans.append(f'<span style="{_MARK}">(no tokens)</span>')
    # <wbr> lets a line wrap between tokens: the visible '␣' marks are no break points.
    return f'<div style="{_BOX}">{"<wbr>".join(spans)}</div>'


def tokens_per_step(ids: Sequence[int], merges: Sequence[Merge]) -> list[int]:
    """How many tokens a text has after each number of merges k = 0..len(merges).

    `ids` is the text encoded with every merge. Encoding applies merges in the order they were
    learned, so after k merges each final token is still split into the pieces of its merge
    tree made by merges k+1 onwards: undoing the tree of every final token gives the whole
    curve from one encode, exactly (tests check it against encoding at every k).
    Example: merges aa (256), then aab (257): tokens_per_step([257, 256], ...) -> [5, 3, 2]
    """
    pair_of = {m.new_id: m.pair for m in merges}  # int -> (int, int)
    step_of = {m.new_id: i for i, m in enumerate(merges)}  # int -> 0-based merge index
    applied = [0] * len(merges)  # merge index -> times it was applied in this text
    n_bytes = 0
    stack = list(ids)
    while stack:
        token = stack.pop()
        if token in pair_of:
            applied[step_of[token]] += 1
            stack.extend(pair_of[token])
        else:
            n_bytes += 1
    counts = [n_bytes]
    for n in applied:
        counts.append(counts[-1] - n)
    return counts


def ids_after(ids: Sequence[int], merges: Sequence[Merge], step: int) -> list[int]:
    """A text's ids after only the first `step` merges, from its ids with every merge.

    Same reasoning as tokens_per_step: split each token along the merges not learned yet. One
    full encode then serves every step of the slider (tests check it against encoding).
    Example: merges aa (256), then aab (257): ids_after([257], merges, 1) -> [256, 98]
    """
    pair_of = {m.new_id: m.pair for m in merges[step:]}  # int -> (int, int), not learned yet
    out: list[int] = []
    for token in ids:
        stack = [token]
        while stack:
            t = stack.pop()
            if t in pair_of:
                stack.extend(reversed(pair_of[t]))  # the left part comes out first
            else:
                out.append(t)
    return out


def curve_figure(counts: Sequence[int], n_bytes: int, step: int) -> go.Figure:
    """Token count (top) and bytes per token (bottom) over k merges, with step k marked.

    Built from plain dicts on two stacked y axes rather than make_subplots and a template:
    this redraws on every click of the stepper, and plotly's helpers cost tens of ms each.
    """
    k = min(max(step, 0), len(counts) - 1) if counts else 0
    # Arrays, not lists: plotly takes them whole (lab/charts/common.py), and this has a point
    # per merge.
    tokens = np.asarray(counts, dtype=np.int64)
    steps = np.arange(len(tokens))
    per_token = np.divide(n_bytes, tokens, out=np.zeros(len(tokens)), where=tokens > 0)
    line = dict(
        type="scatter", mode="lines", x=steps, hovertemplate="k=%{x}: %{y:.3~f}<extra></extra>"
    )
    mark = dict(type="scatter", mode="markers", x=[k], marker=dict(size=11, color=ACCENT))
    data = [
        dict(line, y=tokens, name="tokens", yaxis="y"),
        dict(line, y=per_token, name="bytes per token", yaxis="y2"),
    ]
    if counts:
        data += [
            dict(mark, y=[int(tokens[k])], yaxis="y"),
            dict(mark, y=[float(per_token[k])], yaxis="y2"),
        ]
    layout = dict(
        height=420,
        showlegend=False,
        hovermode="closest",
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(
            text=f"Your text after {k:,} merge{'' if k == 1 else 's'}: "
            f"{counts[k] if counts else 0:,} tokens"
        ),
        xaxis=dict(title=dict(text="merges learned (k)"), anchor="y2"),
        yaxis=dict(title=dict(text="tokens"), domain=[0.55, 1.0]),
        yaxis2=dict(title=dict(text="bytes / token"), domain=[0.0, 0.45], anchor="x"),
        shapes=[
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=k,
                x1=k,
                y0=0,
                y1=1,
                line=dict(color=ACCENT, dash="dot", width=1),
            )
        ],
    )
    return go.Figure(data=data, layout=layout)


def tied_later(merges: Sequence[Merge], index: int, limit: int = 8) -> list[Merge]:
    """Merges learned after merges[index] that were tied with it when it was chosen.

    A later merge with the same count whose tokens both existed already was tied: counts of
    such pairs only ever fall, and merges[index] had the top count. (Other tied pairs may have
    lost occurrences to this very merge, so this can list fewer than `ties`.)
    Example: merges "aa"(5), "bb"(5), "cc"(4) -> tied_later(merges, 0) -> [the "bb" merge]
    """
    chosen = merges[index]
    found = []
    for m in merges[index + 1 :]:
        if m.count != chosen.count:
            break  # counts of the chosen pairs never rise, so the tie run has ended
        if max(m.pair) < chosen.new_id:
            found.append(m)
            if len(found) == limit:
                break
    return found


def vocab_table(
    merges: Sequence[Merge],
    step: int,
    token_str: Callable[[int], str],
    query: str = "",
) -> pd.DataFrame:
    """The vocabulary after `step` merges (256 bytes, then merges), filtered by a search text.

    The query matches the token text (whitespace marks included, so '␣t' finds ' t'), case
    insensitively, or an id exactly.
    """
    rows = [(i, visible(token_str(i)), "byte", None) for i in range(256)]
    for m in merges[:step]:
        made_from = f"{visible(token_str(m.pair[0]))} + {visible(token_str(m.pair[1]))}"
        rows.append((m.new_id, visible(token_str(m.new_id)), made_from, m.count))
    table = pd.DataFrame(rows, columns=["id", "token", "made from", "count"])
    table["count"] = table["count"].astype("Int64")  # bytes have no count
    if query.strip():  # spaces inside a query count: ' t' finds tokens starting a word
        match = table["token"].str.casefold().str.contains(visible(query).casefold(), regex=False)
        if query.strip().isdigit():
            match |= table["id"] == int(query)
        table = table[match]
    return table.iloc[::-1].reset_index(drop=True)  # newest merges first
