"""The Positional page's UI pieces and session state."""
