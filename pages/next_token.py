"""Next token: where each token comes from, how the sampling settings reshape the odds, how
surprised the model is by a text, and what each layer would have predicted."""

import streamlit as st

from lab import cache, sidebar, state
from lab.next_token import state as nt
from lab.next_token import ui, views

st.title("Next token")
st.markdown(
    "A language model does one thing: given the text so far, it gives every token in its "
    "vocabulary a probability of coming next. Generating text is drawing from those odds, one "
    "token at a time, after the sidebar's **temperature**, **top-k** and **top-p** have "
    "reshaped them. Move those sliders and watch each stage change; then step through a text "
    "yourself."
)

lab_model = sidebar.current_model()
tokenizer = lab_model.tokenizer
block_size = lab_model.model.config.block_size
nt.defaults()
sampling = state.sampling()

st.header("The next token, one at a time")
prompt = st.text_area(
    "Prompt",
    key=nt.PROMPT,
    height=90,
    help=f"Up to {nt.MAX_PROMPT_CHARS:,} characters; the model reads its last {block_size} tokens.",
)
ids, prompt = ui.read_ids(lab_model, prompt, nt.MAX_PROMPT_CHARS, "prompt", keep="last")
if ids is not None:
    origin = (lab_model.key, prompt)
    added = nt.added(origin)
    seq = ids + added
    ui.sequence(lab_model, seq, len(ids))
    if len(seq) > block_size:
        st.caption(
            f"The sequence is {len(seq)} tokens long; {lab_model.name} reads only the last "
            f"{block_size} (its context), as generation does."
        )
    view = views.stages_view(
        cache.next_token_logits(lab_model, tuple(seq)), sampling, len(added), tokenizer
    )
    st.toggle(
        "Predict first: hide the distribution until revealed",
        key=nt.HIDE,
        help="For a class: everyone guesses the next token, then you reveal the model's odds.",
    )
    hide = nt.hidden(origin, len(seq))
    ui.step_controls(lab_model, origin, view, len(added), hide)
    st.caption(ui.settings_line(sampling, len(added)))
    if hide:
        st.info("Which token comes next, and how sure is the model? Guess, then reveal.")
        st.button("Reveal", key=nt.REVEAL, on_click=nt.reveal, args=(origin, len(seq)))
    else:
        ui.stages(view, sampling, tokenizer.vocab_size)

st.header("Surprise: how expected was each token?")
st.markdown(
    "The same probabilities, read the other way: for a text you give, how likely the model "
    "thought each token was, given the text before it. A token it expected costs few bits of "
    "surprise; one it did not costs many."
)
ui.surprise(lab_model)

st.header("The logit lens: what each layer would predict")
st.markdown(
    "The model refines its guess block by block. Decoding the residual stream after each block "
    "as if it were the last shows when the final answer takes shape."
)
if ids is None:
    st.info("Type a prompt the model can read (at the top) to see its layers at work.")
else:
    ui.lens(lab_model, seq)
