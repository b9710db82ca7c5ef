"""The Next token page's pieces: its state, its cached computations and its UI blocks."""
