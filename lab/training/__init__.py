"""The Training page's UI pieces and session state."""
