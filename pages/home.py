"""Home: what the lab is, what each page teaches, and the shipped model at work."""

import streamlit as st

from lab import charts, sidebar

st.title("minigpt lab")
st.markdown(
    "Watch a small GPT work from the inside. Every view runs live on this machine's CPU, on a "
    "model trained here from Shakespeare's plays; nothing is downloaded and nothing is faked."
)

PAGES = [
    (
        "../pages/tokenizers.py",
        "Tokenizers",
        "How text becomes numbers: step through byte-pair merges one at a time, forward and back, "
        "and compare your tokenizer with GPT-4's real one.",
    ),
    (
        "../pages/positional.py",
        "Positional embeddings",
        "How a model knows word order: sinusoidal waves, a learned table, RoPE's rotations and "
        "ALiBi's distance penalty, drawn as the model uses them.",
    ),
    (
        "../pages/attention.py",
        "Attention",
        "Where every head of every layer looks, on text you type, and which heads have learned to "
        "copy what came before (induction heads).",
    ),
    (
        "../pages/training.py",
        "Live training",
        "Press Start and watch a model go from noise to Shakespeare in a few minutes: losses, "
        "samples and attention heads forming, all while it trains.",
    ),
    (
        "../pages/compare.py",
        "Compare",
        "Learned, sinusoidal, RoPE, ALiBi and no positions: identical models trained side by side, "
        "then asked to read contexts longer than they ever saw.",
    ),
]
columns = st.columns(len(PAGES))
for column, (path, title, lesson) in zip(columns, PAGES, strict=True):
    with column, st.container(border=True):
        st.page_link(path, label=title)
        st.caption(lesson)

model = sidebar.current_model()
left, right = st.columns(2)
with left:
    st.subheader("How the model learned")
    if model.metrics:
        st.plotly_chart(
            charts.loss_curve(model.metrics, title=f"{model.name}: loss while training")
        )
        st.caption(
            "Loss is the average surprise per character, in nats. A model guessing uniformly among "
            f"{model.tokenizer.vocab_size} characters would score ln({model.tokenizer.vocab_size}) ≈ "
            f"{__import__('math').log(model.tokenizer.vocab_size):.2f}."
        )
    else:
        st.info("This model came without a training curve.")
with right:
    st.subheader("Ask it to continue")
    sidebar.generate_box(key="home.prompt")
