"""Attention: where every head of every layer looks, on text you type."""

import streamlit as st

from lab import cache, charts, links, sidebar
from lab.attention import panels
from lab.attention import state as attn_state
from lab.engine import budget
from lab.engine.models import encode_text
from lab.engine.views import crop_to_context, token_focus, token_labels
from lab.fragments import fragment

st.title("Attention")
st.markdown(
    "Each token builds its next representation from a weighted mix of the tokens before it, and "
    "every head of every layer chooses its own weights. Type some text and see where each head "
    "looks: some always look one token back, some rest on the first token, and *induction heads* "
    "find the earlier place where the same text appeared and look at what came next, which is "
    "how a model continues a pattern it has just seen."
)
panels.show_me_button()

lab_model = sidebar.current_model()
cfg = lab_model.model.config
attn_state.attention_defaults(cfg.n_layer, cfg.n_head)

text = st.text_area(
    "Text",
    key=attn_state.ATTN_TEXT,
    height=90,
    on_change=attn_state.forget_attention_focus,
    help="A line repeated twice shows induction heads at work in the second copy.",
)
# Only the first context of tokens is shown: past MAX_PROMPT_CHARS the text is never encoded.
ids, note = encode_text(lab_model.tokenizer, text[: budget.MAX_PROMPT_CHARS])
if note:
    st.info(note)
if not ids:
    if text.strip():
        st.warning(
            f"None of these characters are in {lab_model.name}'s vocabulary "
            f"({lab_model.tokenizer.vocab_size} tokens), so there is nothing to feed it. "
            "Try ordinary letters and punctuation."
        )
    else:
        st.info("Type some text above to see where the model's heads look.")
    panels.continue_text(lab_model, ids)
    st.stop()

ids, cut = crop_to_context(ids, cfg.block_size)
if cut:
    st.warning(
        f"Your text is {len(ids) + cut} tokens long, but {lab_model.name} reads at most "
        f"{cfg.block_size} at a time (its context, block_size), so only the first "
        f"{cfg.block_size} are shown; the last {cut} were left out."
    )
if refused := budget.attention_refusal(cfg, len(ids)):
    st.error(refused)
    panels.continue_text(lab_model, ids)
    st.stop()
labels = token_labels(lab_model.tokenizer, ids)
view = cache.attention_view(lab_model, tuple(ids))
st.code(" ".join(labels), language=None, wrap_lines=True)
st.caption(
    f"The {len(ids)} tokens {lab_model.name} reads: ␣ is a space, ↵ a new line, and invisible "
    "characters are written as escapes like \\u200f."
)

st.header("Which heads do what")


def score_column(label: str, help: str) -> st.column_config.Column:
    """A head score in [0, 1], drawn as a bar."""
    return st.column_config.ProgressColumn(
        label, min_value=0.0, max_value=1.0, format="%.2f", help=help, width=100
    )


rows = view.rows()
st.dataframe(
    rows,
    key=attn_state.ATTN_TABLE,
    on_select=attn_state.head_table_picker(cfg.n_head),
    selection_mode="single-row",
    hide_index=True,
    height=min(35 * (len(rows) + 1) + 3, 600),  # every head of a small model, no scrolling
    column_config={
        # Narrow enough for all six columns at 1024 px (a projector): the help says the rest.
        "layer": st.column_config.NumberColumn("layer", width=50),
        "head": st.column_config.NumberColumn("head", width=50),
        **{
            name: score_column(label, panels.score_help(name))
            for name, label in panels.SCORE_NAMES.items()
        },
    },
)
panels.explanations()
best = max(rows, key=lambda r: r["induction"])
st.caption(
    "Click a row to see that head below; click a column title to sort. The induction score does "
    f"not change with your text. Strongest induction head: layer {best['layer']}, head {best['head']} "
    f"({best['induction']:.2f})."
    + (
        " That is low: this model has not formed a clear induction head (small models trained "
        "briefly often have not), so expect no copying stripe in the second copy of your text."
        if best["induction"] < 0.2
        else ""
    )
)


# Fragments: choosing a head or a token redraws only its own charts, not the whole page.
@fragment
def head_views(maps, labels: list[str]) -> None:
    st.header("One head, and its whole layer")
    left, right = st.columns(2)
    layer = left.radio(
        "Layer",
        list(range(cfg.n_layer)),
        key=attn_state.ATTN_LAYER,
        horizontal=True,
        format_func=lambda i: f"layer {i}",
    )
    head = right.radio(
        "Head",
        list(range(cfg.n_head)),
        key=attn_state.ATTN_HEAD,
        horizontal=True,
        format_func=lambda i: f"head {i}",
    )
    one, every = st.columns([3, 2], gap="medium")
    one.plotly_chart(
        charts.attention_heatmap(
            maps[layer, head], labels, f"Layer {layer}, head {head}: who looks at whom"
        )
    )
    one.caption(
        "Each row is a token looking back; its weights over the tokens up to itself add up to 1 "
        "(the blank upper triangle is the future, which it may not see). A previous-token head "
        "draws a line just below the diagonal. On a repeated line, an induction head draws a "
        "second line in the lower-left block: each token of the second copy looks at the token "
        "after its twin in the first copy."
    )
    every.plotly_chart(charts.attention_grid(maps[layer], labels, layer, selected=head, cols=2))
    every.caption(
        f"Every head of layer {layer}, on the same colour scale as the map on the left, so "
        "heads can be compared at a glance; hover for the tokens and the exact weight."
    )
    links.sync()  # a fragment's rerun skips the router: keep the address bar on this head


@fragment
def focus_view(maps, labels: list[str]) -> None:
    st.header("Token focus: where one token looks, in every head")
    attn_state.clamp_attention_focus(len(labels))
    focus = st.pills(
        "Token",
        list(range(len(labels))),
        key=attn_state.ATTN_FOCUS,
        required=True,
        format_func=lambda i: charts.token_pill(labels[i], i),
        help="Pick a token; the chart shows its attention in every layer and head.",
    )
    st.plotly_chart(charts.token_focus_heatmap(token_focus(maps, focus), labels, cfg.n_head, focus))
    st.caption(
        "Each row is one head, each column a token the picked one can see. A previous-token head "
        "lights up the column just before the picked token, a head resting on the first token "
        "lights up column 0, and an induction head the token after an earlier copy of this one."
    )
    links.sync()


head_views(view.maps, labels)
focus_view(view.maps, labels)
panels.ablation_panel(lab_model, ids)
panels.continue_text(lab_model, ids)
