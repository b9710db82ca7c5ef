"""Live training: press Start and watch a model go from noise to Shakespeare on this CPU."""

import streamlit as st

from lab.training import keep as training_keep
from lab.training import loop as training_ui
from lab.training import setup as training_setup

st.title("Live training")
st.markdown(
    "Everything the other pages show was learned, one small step at a time, from nothing but "
    "predicting the next token. Set up a small GPT, press **Start**, and watch it happen: the "
    "loss falls, the samples turn from noise into words, and attention heads find their jobs."
)

st.header("1 · Set up a run")
setup = training_setup.setup_form()
training_setup.preview(setup, time_it=not training_ui.is_training())

st.header("2 · Train")
training_ui.controls(setup)
training_ui.live_panel()

st.header("3 · Heads forming")
training_ui.heads_replay()

st.header("4 · Keep the result")
training_keep.after_run(setup)
