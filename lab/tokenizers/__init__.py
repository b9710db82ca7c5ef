"""The Tokenizers page's UI pieces and session state."""
