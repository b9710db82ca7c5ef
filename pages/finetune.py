"""Fine-tune: teach a pretrained model to answer questions, with the loss mask and LoRA."""

import streamlit as st

from lab.finetune import loop, results, setup
from lab.finetune import state as ft_state

st.title("Fine-tune")
st.markdown(
    "A pretrained model only continues text. Assistants are made by fine-tuning it on "
    "questions and their answers, with the loss counted on the answers alone. Here you teach "
    "a Shakespeare model to answer questions about the plays, by training every weight or "
    "only small low-rank adapters (LoRA), and score it on questions it never saw."
)

st.header("1 · Base model, task and method")
st.markdown(
    "LoRA freezes the model and trains a change of low rank beside each attention and MLP "
    "weight: a small share of the parameters, folded into the weights when training ends."
)
run_setup = setup.setup_form()
setup.preview(run_setup)

st.header("2 · What the loss counts")
st.markdown(
    "Every question is laid out as instruction, input and `Answer: `. The model reads all of "
    "it, but with the mask on only the answer's tokens count in the loss: it learns to answer, "
    "not to write questions. Switch the mask off above to see what changes."
)
setup.mask_section(run_setup)

st.header("3 · Fine-tune")
st.markdown(
    "Training runs in the background: you can visit other pages and come back. The accuracy "
    "is measured on held-out questions whose lines never appear in training."
)
loop.controls(run_setup)
loop.live_panel()

st.header("4 · Runs compared")
results.comparison(ft_state.box().summaries)
