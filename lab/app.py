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

from lab import runtime, sidebar  # noqa: E402

runtime.configure_torch()
st.set_page_config(page_title="minigpt lab", page_icon=":material/biotech:", layout="wide")

PAGES = ROOT / "pages"
navigation = st.navigation(
    {
        "": [
            st.Page(
                PAGES / "home.py",
                title="Home",
                icon=":material/home:",
                url_path="home",
                default=True,
            )
        ],
        "Explore": [
            st.Page(
                PAGES / "tokenizers.py",
                title="Tokenizers",
                icon=":material/text_fields:",
                url_path="tokenizers",
            ),
            st.Page(
                PAGES / "positional.py",
                title="Positional embeddings",
                icon=":material/waves:",
                url_path="positional",
            ),
            st.Page(
                PAGES / "attention.py",
                title="Attention",
                icon=":material/visibility:",
                url_path="attention",
            ),
        ],
        "Train": [
            st.Page(
                PAGES / "training.py",
                title="Live training",
                icon=":material/model_training:",
                url_path="training",
            ),
            st.Page(
                PAGES / "compare.py",
                title="Compare",
                icon=":material/compare_arrows:",
                url_path="compare",
            ),
        ],
    }
)
# Drawn before the page runs, so the sampling settings keep their values across page switches.
sidebar.draw()
navigation.run()
