"""A lesson is a link: each page's settings live in its URL, and a link opens the same view.

The router calls `open_link` before anything is drawn (the URL wins once, on the session's
first run), then `sync` after the page (from then on the widgets write the URL), and draws
`share_box` in the sidebar. What each page carries is declared beside its keys, as `LINK` in
lab/<page>/state.py; the sidebar's and the home page's are in lab/state.py. The checks
themselves are pure, in lab/engine/links.py.

Only the first run reads the URL: a session is a browser tab, so a link opened or reloaded is
always a new session, and a later rerun never fights the student's own clicks.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from lab import state
from lab.attention import state as attn_state
from lab.catalog import CATALOG
from lab.compare import state as cmp_state
from lab.engine import links
from lab.finetune import state as ft_state
from lab.fragments import fragment
from lab.next_token import state as nt_state
from lab.positional import state as pos_state
from lab.tokenizers import state as tok_state
from lab.training import state as train_state

PAGE_LINKS: dict[str, tuple[links.Param, ...]] = {
    "home": state.HOME_LINK,
    "tokenizers": tok_state.LINK,
    "positional": pos_state.LINK,
    "attention": attn_state.LINK,
    "next_token": nt_state.LINK,
    "training": train_state.LINK,
    "finetune": ft_state.LINK,
    "compare": cmp_state.LINK,
}
SHARE_BUTTON = "links.share"  # keyed so browser tests can find it
_OPENED = "links.opened"  # the session's first run has read its URL
_PAGE = "links.page"  # the page the router is running, for fragments' own syncs


def params(page: str) -> tuple[links.Param, ...]:
    """Everything a link to `page` carries: the sidebar's settings, then the page's own."""
    return state.SIDEBAR_LINK + PAGE_LINKS.get(page, ())


def open_link(page: str) -> None:
    """On the session's first run, set the session from the URL, and say what could not be
    used. Call it before any widget is drawn (a drawn widget's value can't be set)."""
    S = st.session_state
    S[_PAGE] = page
    if S.get(_OPENED):
        return
    S[_OPENED] = True
    values, notes = links.read(params(page), st.query_params.to_dict())
    for key, value in values.items():
        S[key] = value
    if notes:  # one box, above the page: the student sees what the link could not give
        st.warning(
            "This link could not be followed exactly:\n\n" + "\n".join(f"- {n}" for n in notes),
            icon=":material/link_off:",
        )


def sync(page: str | None = None) -> None:
    """Write the view's settings into the address bar (only when they changed, so no message
    is sent on a run that moved nothing). A fragment calls it with no page: its own reruns
    skip the router."""
    page = page or st.session_state.get(_PAGE)
    if page is None:  # a page run alone, without the router (AppTest): no URL to keep
        return
    query = links.write(params(page), st.session_state)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)


def link_url(page: str) -> tuple[str, str | None]:
    """The link to this view, and a note when it could only be relative.

    st.context.url is the address the browser shows, page path included, without the query;
    it is missing outside a browser (AppTest), so the link then starts at the page's path.
    """
    query = links.write(params(page), st.session_state)
    suffix = f"?{urlencode(query)}" if query else ""
    base = st.context.url
    if base:
        return base + suffix, None
    path = next((p.url for p in CATALOG if p.name == page), page)
    return (
        f"/{path}{suffix}",
        "Put this server's address (as in your browser's address bar) in front of it.",
    )


def share_box(page: str) -> None:
    """The sidebar's "Link to this view" button: shows the link in a box with a copy button."""
    with st.sidebar:
        st.subheader("Share")
        _share(page)


@fragment
def _share(page: str) -> None:
    # A fragment: pressing the button reruns only this box, computed from the session as it
    # is now (a head picked in another fragment included).
    if st.button("Link to this view", key=SHARE_BUTTON, icon=":material/link:"):
        sync(page)
        url, note = link_url(page)
        st.code(url, language=None, wrap_lines=True)
        st.caption(
            note
            or "Copy it with the button in the box's corner: it opens this page with these "
            "settings for anyone, in a fresh session of their own."
        )
