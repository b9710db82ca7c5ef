"""How a token or a run's name is written: on a plotly chart, in Markdown, or as a pill.

Tokens can be anything a user typed (markup, control characters, `$`), so every place that
shows one goes through these.
"""

from __future__ import annotations

import html
from collections.abc import Sequence


def plotly_text(label: str) -> str:
    """Escape text for plotly, which reads '<b>', '<br>' and '&amp;' in labels as markup."""
    return html.escape(label, quote=False)


def markdown_literal(label: str) -> str:
    """Escape every ASCII punctuation mark, so Streamlit's Markdown shows the text as typed.

    Example: markdown_literal("*a*") == "\\*a\\*".
    """
    return "".join(
        "\\" + ch if ch.isascii() and not ch.isalnum() and not ch.isspace() else ch for ch in label
    )


def file_label(filename: str, limit: int = 60) -> str:
    """An uploaded file's name, safe wherever it is shown: letters, digits, spaces, '.' and '-'
    kept, every other character (Markdown's brackets, '!', ':', '$', '*', ...) made '-', so a
    name can never become a link, an image the browser fetches, or styling. Shortened to limit.

    Example: file_label("![x](http://e.vil/a.png).safetensors") == "--x--http---e.vil-a.png-.safetensors".
    """
    safe = "".join(ch if ch.isalnum() or ch in " .-" else "-" for ch in filename)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def token_pill(label: str, position: int) -> str:
    """A pill's Markdown label: the token and its position as a subscript, 'l₂'.

    Streamlit tells pills apart by their label, so two equal tokens need the position too.
    """
    return markdown_literal(label) + str(position).translate(_SUBSCRIPTS)


def token_names(labels: Sequence[str]) -> list[str]:
    """Unique axis categories '3 a' for tokens that may repeat (a category axis merges equals)."""
    return [f"{i} {plotly_text(label)}" for i, label in enumerate(labels)]
