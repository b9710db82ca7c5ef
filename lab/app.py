"""The lab's entry point: a router and the shared sidebar, nothing else.

`streamlit run lab/app.py` puts only lab/ on sys.path, so the repo root is added here: the app
then runs after `pip install -r requirements.txt` alone, locally and on Community Cloud.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from lab import links, runtime, sidebar  # noqa: E402
from lab.catalog import CATALOG, sections  # noqa: E402
from lab.engine.turns import page_turn  # noqa: E402

runtime.configure_process()
st.set_page_config(page_title="minigpt lab", page_icon=runtime.page_icon(), layout="wide")

navigation = st.navigation(
    {
        section: [
            st.Page(
                page.path,
                title=page.title,
                icon=f":material/{page.icon}:",
                url_path=page.name,
                default=page is CATALOG[0],
            )
            for page in pages
        ]
        for section, pages in sections().items()
    }
)
page = navigation.url_path or CATALOG[0].name
links.open_link(page)  # a link's settings, once per session, before any widget is drawn
# Pages draw in turn, and while any page waits or draws this server's training threads step
# aside (lab/engine/turns.py, lab/engine/background.py).
try:
    with page_turn(f"page {page}"):
        # Drawn before the page runs, so the sampling settings keep their values across pages.
        sidebar.draw()
        links.share_box(page)
        navigation.run()
finally:  # after every run, failed or stopped ones too
    links.sync(page)  # the address bar follows the widgets
    runtime.return_free_memory()  # what the page freed goes back to the OS
