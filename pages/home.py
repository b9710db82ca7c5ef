"""Home: what the lab is, what each page teaches, and the shipped model at work."""

import math

import streamlit as st

from lab import charts, sidebar, state
from lab.catalog import CATALOG

st.title("minigpt lab")
st.markdown(
    "Watch a small GPT work from the inside. Every view runs live on this machine's CPU, on a "
    "model trained here from Shakespeare's plays; nothing is downloaded and nothing is faked."
)

lessons = CATALOG[1:]  # every page but this one
for row in range(0, len(lessons), 2):  # two a row: more side by side do not fit a projector
    for column, page in zip(st.columns(2), lessons[row : row + 2], strict=False):
        with column, st.container(border=True):
            st.page_link(f"../pages/{page.name}.py", label=page.title)
            st.caption(page.lesson)

model = sidebar.current_model()
left, right = st.columns(2)
with left:
    st.subheader("How the model learned")
    if model.metrics:
        st.plotly_chart(charts.loss_curve(model.metrics, title=charts.plotly_text(model.name)))
        st.caption(
            "Loss is the average surprise per character, in nats. A model guessing uniformly among "
            f"{model.tokenizer.vocab_size} characters would score ln({model.tokenizer.vocab_size}) ≈ "
            f"{math.log(model.tokenizer.vocab_size):.2f}."
        )
    else:
        st.info("This model came without a training curve.")
with right:
    st.subheader("Ask it to continue")
    sidebar.generate_box(key=state.HOME_PROMPT)
