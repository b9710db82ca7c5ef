"""Compare: models identical except for their positional encoding, and contexts longer than
they ever saw."""

import streamlit as st

from lab import cache, state
from lab.compare import data as compare_data
from lab.compare import sections as compare_ui
from lab.compare import state as cmp_state

st.title("Compare positional encodings")
st.markdown(
    "The classic experiment, done properly: models identical except for how they are told "
    "where each token sits, trained on the same text in the same order from the same starting "
    "weights. Compare them while they train, then ask each to read contexts longer than any it "
    "was trained on: that is where the encodings really part ways."
)

results = cache.compare_results()
records = state.finished_runs()
cmp_state.compare_defaults(next(iter(compare_data.LIVE_PRESETS)), [r.name for r in records])
left, right = st.columns(2)
reading = left.radio(
    "Extrapolation reading",
    list(compare_data.READINGS),
    format_func=compare_data.READINGS.get,
    key=cmp_state.CMP_READING,
    help="Windows: cut held-out text into windows of each length and average the loss. "
    "Position: slide one long window along the text and average the loss at each position, "
    "to see exactly where a model breaks down (Press et al. 2022, appendix B).",
)
metric = right.radio("Curves in", ["loss", "perplexity"], key=cmp_state.CMP_METRIC, horizontal=True)

shipped, yours = st.tabs(["Precomputed: 5 encodings × 3 seeds", "Run it yourself"])
with shipped:
    compare_ui.shipped_section(results, reading, metric)
with yours:
    chosen = [r for r in records if r.name in cmp_state.compare_imported()]
    reference = compare_data.shipped_setup(results) if results else None
    compare_ui.live_controls([r.name for r in records])
    compare_ui.yours(chosen, reading, metric, reference)
