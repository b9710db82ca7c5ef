"""The Compare page's UI pieces and session state."""
