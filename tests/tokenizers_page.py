"""What the Tokenizers page's tests share: its messages as one string, and the page with a
pasted text."""

from lab.tokenizers import state as tok_state
from tests.apptest import run_page


def shown(at):
    """Everything the page says in messages, as one lower-cased string."""
    return " ".join(m.value for m in [*at.error, *at.warning, *at.info]).lower()


def paste(text: str):
    at = run_page("tokenizers")
    at.radio(key=tok_state.TOK_SOURCE).set_value("Paste text").run()
    at.text_area(key=tok_state.TOK_PASTE).input(text).run()
    return at
