"""The Attention page's UI pieces and session state."""
