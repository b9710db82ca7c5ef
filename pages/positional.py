"""Positional embeddings: four ways to tell a model where each token sits, drawn as it uses them."""

import streamlit as st

from lab import cache, charts, links, sidebar
from lab.engine.views import untrained_tail
from lab.fragments import fragment
from lab.positional import state as pos_state

SCHEMES = {
    "learned": "a learned table: one trained vector per position, added to each token",
    "sinusoidal": "fixed sinusoidal waves added to each token",
    "rope": "RoPE: each head's queries and keys are rotated by an angle that grows with position",
    "alibi": "ALiBi: each head subtracts a penalty proportional to distance from its scores",
    "none": "no position information at all",
}

st.title("Positional embeddings")
st.markdown(
    "Attention by itself sees its input as a set: shuffle the earlier tokens and every token "
    "gets the same mix. Position information puts the order back, either by adding a vector to "
    "each token (fixed waves, or a table the model learns) or by changing the attention scores "
    "themselves (RoPE rotates queries and keys, ALiBi penalises distance)."
)

lab_model = sidebar.current_model()
cfg = lab_model.model.config
yours = " ← this model"
st.info(
    f"**{lab_model.name}** uses {SCHEMES[cfg.pos_emb]} "
    f"(context {cfg.block_size} tokens, width {cfg.n_embd}, {cfg.n_head} heads of "
    f"{cfg.head_size} dimensions)."
)

pos_state.positional_defaults(cfg.block_size, cfg.n_embd, cfg.n_head)
left, right = st.columns(2)
n_pos = left.slider(
    "Positions",
    8,
    pos_state.POS_MAX_N,
    step=8,
    key=pos_state.POS_N,
    help="How many positions the formula-based views (sinusoid, RoPE, ALiBi) draw.",
)
width = right.slider(
    "Width (dimensions)",
    8,
    pos_state.POS_MAX_WIDTH,
    step=8,
    key=pos_state.POS_WIDTH,
    help="Length of the vector being encoded: the embedding for the sinusoid, one head's "
    "query or key for RoPE.",
)
views = cache.positional_views(lab_model, n_pos, width)

st.header("Sinusoidal: fixed waves" + (yours if cfg.pos_emb == "sinusoidal" else ""))
left, right = st.columns(2)
left.plotly_chart(charts.position_heatmap(views.sinusoid, f"Sinusoidal table: {n_pos} × {width}"))
right.plotly_chart(
    charts.similarity_heatmap(views.sinusoid_similarity, "Cosine similarity between positions")
)
st.caption(
    "Left: each column is a wave over position (even columns sine, odd columns cosine). The first "
    "columns turn once every 2π ≈ 6.3 positions; further right the waves slow down until they "
    "barely change, so the bands widen from left to right and together they spell out each "
    "position like the hands of a clock. Right: every position is most like itself and its "
    "neighbours, and similarity falls off smoothly with distance. Nothing was learned: nearby "
    "positions get nearby vectors by construction."
    + (
        f" This is exactly what {lab_model.name} adds to its tokens (set the width to "
        f"{cfg.n_embd} and positions to {cfg.block_size} to see its own table)."
        if cfg.pos_emb == "sinusoidal"
        else ""
    )
)

st.header("Learned: a table trained with the model" + (yours if cfg.pos_emb == "learned" else ""))
if views.learned is None:
    st.info(
        f"{lab_model.name} has no learned position table: it uses {SCHEMES[cfg.pos_emb]}, so "
        "there is nothing learned to draw here. "
        + (
            "It still gets a faint sense of position: the causal mask lets a token count how "
            "many came before it."
            if cfg.pos_emb == "none"
            else "The formula-based views on this page are exactly what it uses."
        )
    )
else:
    rows, _ = views.learned.shape
    left, right = st.columns(2)
    left.plotly_chart(charts.position_heatmap(views.learned, f"{lab_model.name}: wpe"))
    right.plotly_chart(
        charts.similarity_heatmap(views.learned_similarity, "Cosine similarity between positions")
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.row_norms_chart(views.learned_row_norms, views.init_row_norm))
    shape = f"{rows} × {cfg.n_embd}"
    right.plotly_chart(
        charts.similarity_by_distance_chart(
            {
                f"learned ({shape})": views.learned_by_distance,
                f"sinusoidal ({shape})": views.sinusoid_matched_by_distance,
            }
        )
    )
    tail = untrained_tail(views.learned_row_norms, views.init_row_norm)
    near, far = views.learned_by_distance[1], views.learned_by_distance[rows // 2 :].mean()
    st.caption(
        f"The table has exactly {rows} rows, one per position of the model's context "
        f"(block_size = {cfg.block_size}); there is no row for position {rows}, which is why "
        "this model cannot read longer text at all. No column is a clean wave: the model was "
        "never told what a position is, only given one free vector for each. "
        + (
            "No run of rows at the end of the table is still as long as a random start (dashed "
            "line; one row may cross it by chance), so every position was trained: the model "
            "saw text as long as its context. "
            if tail is None
            else f"Rows {tail} to {rows - 1} are still about as long as a random start (dashed "
            "line): training barely touched them, because the model rarely or never saw text "
            "that long. "
        )
        + f"Neighbouring positions have a mean cosine similarity of {near:.2f}, positions at "
        f"least {rows // 2} apart {far:.2f}: "
        + (
            "the model discovered on its own that nearby positions belong together."
            if near > far + 0.1
            else "the model has not (or not yet) learned that nearby positions belong together."
        )
        + f' Both curves of "Are nearby positions alike?" come from tables of the model\'s own '
        f"shape, {rows} positions × {cfg.n_embd} dimensions, whatever the sliders above say: the "
        "sinusoid is recomputed at that size so the two compare like with like."
    )


# Fragments: the waves' dimensions and ALiBi's head redraw only their own charts.
@fragment
def waves(sinusoid, learned) -> None:
    st.header("Waves: chosen dimensions over position")
    dims = st.multiselect(
        "Dimensions drawn as waves",
        list(range(sinusoid.shape[1])),
        key=pos_state.POS_DIMS,
        max_selections=pos_state.POS_MAX_WAVES,
        help="Each chosen dimension is drawn as a curve over position.",
    )
    links.sync()  # a fragment's rerun skips the router: keep the address bar on these waves
    if not dims:
        st.info("Pick some dimensions to draw them as waves.")
        return
    left, right = st.columns(2)
    left.plotly_chart(charts.dimension_waves(sinusoid, dims, "Sinusoidal dimensions"))
    if learned is not None:
        learned_dims = [d for d in dims if d < learned.shape[1]]
        right.plotly_chart(
            charts.dimension_waves(learned, learned_dims, "The same dimensions, learned")
        )
    st.caption(
        "Sinusoid dimensions 2i and 2i+1 are a sine and a cosine of the same speed, a quarter turn "
        "apart; the higher the dimension, the slower the wave."
        + (
            " The learned dimensions wander: a trained model need not use clean frequencies."
            if learned is not None
            else ""
        )
    )


waves(views.sinusoid, views.learned)

st.header("RoPE: rotate queries and keys" + (yours if cfg.pos_emb == "rope" else ""))
left, middle, right = st.columns(3)
left.plotly_chart(charts.rope_frequency_chart(views.inverse_frequencies))
middle.plotly_chart(charts.rope_angle_heatmap(views.rope_angles))
right.plotly_chart(charts.rope_relative_chart(views.rope_relative))
st.caption(
    "RoPE adds nothing to the tokens. It turns each pair of dimensions (2i, 2i+1) of a query and "
    "a key by position × θᵢ (left: θᵢ per pair, on a log scale), so the dot product of a query "
    "at m and a key at n depends only on m − n. Pair 0 turns a whole radian per position and "
    "wraps around quickly (middle, a cyclic colour scale); the last pairs need thousands of "
    "positions for one turn, so they carry long-range position. Right: a query and key that "
    "match perfectly score less, on average, the further apart they are."
    + (
        f" {lab_model.name} rotates each head's {cfg.head_size}-dimensional queries and keys: set "
        f"the width to {cfg.head_size} to see its exact angles."
        if cfg.pos_emb == "rope"
        else ""
    )
)


@fragment
def alibi(bias, slopes) -> None:
    st.header("ALiBi: a penalty for distance" + (yours if cfg.pos_emb == "alibi" else ""))
    head = st.radio(
        "Head",
        list(range(len(slopes))),
        key=pos_state.POS_ALIBI_HEAD,
        horizontal=True,
        format_func=lambda h: f"head {h}",
        help=f"ALiBi's slopes depend on the head count; these are for {len(slopes)} heads.",
    )
    links.sync()
    left, right = st.columns(2)
    left.plotly_chart(charts.alibi_heatmap(bias, head, float(slopes[head])))
    right.plotly_chart(charts.alibi_lines(slopes, len(bias[head]), highlight=head))
    st.caption(
        "ALiBi adds nothing to the tokens either: before the softmax each head subtracts slope × "
        "distance from the score of every earlier key (the future, above the diagonal, is masked "
        "anyway). For n heads (a power of two) the slopes are 2^(−8/n), its square, its cube, …, "
        "so some heads look only at the last few tokens and others see far back. Because it is a "
        "formula, it runs at any length, even past the context the model was trained on. Every "
        f"head is drawn on one colour scale, from 0 down to {float(bias.min()):.3g} (the steepest "
        f"head's penalty at distance {len(bias[head]) - 1}): switch heads and a gentle one stays "
        "near the top of the scale (yellow), since its penalty barely grows over these positions."
    )


alibi(views.alibi_bias, views.alibi_slopes)
