"""Compare: models identical except for their positional encoding, and contexts longer than
they ever saw."""

import streamlit as st

from lab import cache, state
from lab.compare import live, results
from lab.compare import state as cmp_state
from lab.compare.entries import LIVE_PRESETS, shipped_setup
from lab.compare.series import READINGS

st.title("Compare positional encodings")
st.markdown(
    "The classic experiment, done properly: models identical except for how they are told "
    "where each token sits, trained on the same text in the same order from the same starting "
    "weights. Compare them while they train, then ask each to read contexts longer than any it "
    "was trained on: that is where the encodings really part ways."
)

# Controls: how to read the extrapolation, and in which unit the curves are drawn.
finished = state.finished_runs()  # runs this session finished on the Training page
cmp_state.compare_defaults(next(iter(LIVE_PRESETS)), [r.name for r in finished])
left, right = st.columns(2)
reading = left.radio(
    "Extrapolation reading",
    list(READINGS),
    format_func=READINGS.get,
    key=cmp_state.CMP_READING,
    help="Windows: cut held-out text into windows of each length and average the loss. "
    "Position: slide one long window along the text and average the loss at each position, "
    "to see exactly where a model breaks down (Press et al. 2022, appendix B).",
)
metric = right.radio("Curves in", ["loss", "perplexity"], key=cmp_state.CMP_METRIC, horizontal=True)

# The one cached call: the comparison `python -m minigpt.experiments` made and the repo ships.
shipped = cache.compare_results()

precomputed, yours = st.tabs(["Precomputed: 5 encodings × 3 seeds", "Run it yourself"])
with precomputed:
    results.shipped_section(shipped, reading, metric)
with yours:
    # Train the same experiment here, smaller, and add runs from the Training page to it;
    # a run that differs in more than its encoding from the reference is flagged.
    live.live_controls([r.name for r in finished])
    chosen = [r for r in finished if r.name in cmp_state.compare_imported()]
    reference = shipped_setup(shipped) if shipped else None
    live.yours(chosen, reading, metric, reference)
