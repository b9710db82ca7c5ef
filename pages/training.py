"""Live training: press Start and watch a model go from noise to Shakespeare on this CPU."""

import streamlit as st

from lab import state
from lab.engine import budget
from lab.training import heads, keep, loop, preview, setup

st.title("Live training")
st.markdown(
    "Everything the other pages show was learned, one small step at a time, from nothing but "
    "predicting the next token. Set up a small GPT, press **Start**, and watch it happen: the "
    "loss falls, the samples turn from noise into words, and attention heads find their jobs."
)

st.header("1 · Set up a run")
st.markdown(
    "Choose what the model reads and how big it is. Every setting is checked before anything "
    "runs, and the preview counts the parameters and estimates the run's time on this machine."
)
run_setup = setup.setup_form()
preview.preview(
    run_setup, time_it=not loop.is_training(), sample_tokens=state.sampling().max_new_tokens
)

st.header("2 · Train")
st.markdown(
    "Each step shows the model a batch of text and nudges every weight to make the next "
    "token likelier. Watch the validation loss, on text it never trains on: when it stops "
    "falling while the training loss goes on down, the model is memorising."
)
st.caption(budget.session_caps())
loop.controls(run_setup)
loop.live_panel()

st.header("3 · Heads forming")
st.markdown(
    "Every few steps the run keeps each head's attention on one fixed line written twice. "
    "Replay them to see a head learn to look one token back, and later, in a deeper layer, "
    "to copy what followed the same text the first time (an induction head)."
)
heads.heads_replay()

st.header("4 · Keep the result")
st.markdown(
    "Use the model on the other pages, download it as one checkpoint file, or upload a "
    "checkpoint to explore or to train further."
)
keep.after_run(run_setup)
