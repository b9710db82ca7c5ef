"""Shared Streamlit pieces of the lab: state, caches, sidebar, charts. Pages import from here."""
