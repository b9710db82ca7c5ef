"""The Fine-tune page's UI pieces and session state."""
