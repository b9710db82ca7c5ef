"""The attention page's panels beyond the maps: the induction example, switching heads off, and
the model continuing the student's own text."""

from __future__ import annotations

import streamlit as st

from lab import cache, sidebar
from lab.attention import state as attn_state
from lab.attention.measure import AblationView
from lab.engine.models import LabModel
from minigpt.analysis.ablation import ABLATIONS
from minigpt.analysis.heads import EXPLANATIONS

SCORE_NAMES = {
    "previous_token": "previous",
    "first_token": "first",
    "duplicate_token": "duplicate",
    "induction": "induction",
}
# Where each score is measured: the first three on the student's text, induction on a fixed test.
MEASURED_ON = {
    "previous_token": "on your text",
    "first_token": "on your text",
    "duplicate_token": "on your text, over tokens that appeared before",
    "induction": "on random tokens repeated once, the same for any text",
}


def score_help(name: str) -> str:
    """A score's one-sentence explanation and where it is measured, for its column's tooltip."""
    return f"{EXPLANATIONS[name]} Measured {MEASURED_ON[name]}."


def show_me_button() -> None:
    """One click to the lesson's clearest view: the induction model on a repeated random text."""
    st.button(
        "Show me an induction head",
        key="attention.show_induction",
        on_click=attn_state.show_induction_head,
        help="Switches the sidebar to the shipped induction model and types random letters "
        "written twice; layer {}, head {} then draws the copying stripe.".format(
            *attn_state.INDUCTION_HEAD
        ),
    )


def explanations() -> None:
    """The four scores in one sentence each."""
    st.markdown(
        "\n".join(
            f"- **{name.replace('_', '-')}**: {EXPLANATIONS[name]} ({MEASURED_ON[name]}.)"
            for name in SCORE_NAMES
        )
    )


def ablation_panel(lab_model: LabModel, ids: list[int]) -> None:
    """Pick heads to switch off and see three losses change against the intact model."""
    cfg = lab_model.model.config
    st.header("Switch heads off")
    st.markdown(
        "A score says where a head looks; switching it off says whether the model *needs* it. "
        "Pick heads: their output is replaced (by zeros, or by their average output) and the "
        "losses below are measured again. A copying head, once off, should cost the second copy "
        "much and the first copy little."
    )
    left, right = st.columns([3, 1])
    left.multiselect(
        "Heads to switch off",
        list(range(cfg.n_layer * cfg.n_head)),
        key=attn_state.ATTN_ABLATE,
        format_func=lambda i: f"layer {i // cfg.n_head}, head {i % cfg.n_head}",
    )
    right.radio(
        "Replace their output with",
        ABLATIONS,
        key=attn_state.ATTN_ABLATE_MODE,
        format_func=lambda m: {"zero": "zeros", "mean": "their mean"}[m],
        help="Zeros: the head says nothing. Mean: it says what it says on average (over your "
        "text written twice), so only what it says about these particular tokens is lost.",
    )
    if len(ids) < 2:
        st.info("Type at least two tokens to measure a loss.")
        return
    heads = attn_state.ablated_heads(cfg.n_head)
    view = cache.ablation_view(lab_model, tuple(ids), heads, attn_state.ablation_mode())
    _ablation_numbers(view, heads)


def _ablation_numbers(view: AblationView, heads: tuple[tuple[int, int], ...]) -> None:
    text, second, rand = st.columns(3)
    shown = (
        (text, "Your text", "text", "as typed: every token after the first"),
        (second, "Its second copy", "text_second", "your text written twice, second copy"),
        (rand, "Random, second copy", "random_second", "random tokens written twice"),
    )
    for col, label, field, what in shown:
        intact, off = getattr(view.intact, field), getattr(view.ablated, field)
        col.metric(
            label,
            f"{off:.2f} nats",
            delta=f"{off - intact:+.2f} vs intact" if heads else None,
            delta_color="inverse",
            help=f"Mean loss per predicted token (nats), {what}. Intact model: {intact:.2f}.",
        )
    st.dataframe(
        view.rows(),
        hide_index=True,
        column_config={
            "intact": st.column_config.NumberColumn("intact (nats)", format="%.2f"),
            "heads off": st.column_config.NumberColumn("heads off (nats)", format="%.2f"),
            "change": st.column_config.NumberColumn("change (nats)", format="%+.2f"),
        },
    )
    names = ", ".join(f"layer {layer} head {head}" for layer, head in heads) or "none"
    part = (
        f"your text repeats itself, so its repeating part ({view.copy_length} tokens) is written "
        "twice"
        if view.repeats
        else f"the first {view.copy_length} tokens of your text (as many as fit twice in the "
        "context) are written twice"
    )
    st.caption(
        f"Heads off: {names}. Every number is the mean loss in nats per predicted token "
        f"(lower is better; ln of the vocabulary size is a blind guess). 'Written twice': {part}; "
        "each copy's first token is left out. Random: 8 passages of as many random tokens, "
        "none twice in a passage, so only copying predicts their second copy."
    )


def continue_text(lab_model: LabModel, ids: list[int]) -> None:
    """The model continues the text the student typed, with the sidebar's sampling settings."""
    st.header("Ask the model to continue")
    if not ids:
        st.info("Type some text above; the model continues it.")
        return
    # On request, not on every keystroke: a continuation is a few hundred forward passes, and a
    # class typing at once on one server would otherwise each pay for one per edit.
    if not attn_state.continuation_asked():
        st.button(
            "Continue my text",
            key="attention.continue",
            on_click=attn_state.ask_to_continue,
            help="The model writes what comes next, with the sidebar's sampling settings.",
        )
        return
    sidebar.show_continuation(lab_model, ids, f"{lab_model.name} continues your text above")
