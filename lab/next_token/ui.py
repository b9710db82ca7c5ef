"""The Next token page's blocks: each reads its own widgets and draws one part of the lesson."""

from __future__ import annotations

import streamlit as st

from lab import cache, charts
from lab.charts import next_token as nt_charts
from lab.engine import budget
from lab.engine.models import LabModel, encode_text
from lab.next_token import state as nt
from lab.next_token import views
from minigpt.sampling import SamplingConfig

LENS_POSITIONS = 24  # columns of the lens grid: the last ones of the sequence


def read_ids(
    lab_model: LabModel, text: str, limit: int, what: str, minimum: int = 1, keep: str = "first"
) -> tuple[list[int] | None, str]:
    """Token ids of text (cut to `limit` characters, keeping its first or last part) and the
    text used, or None with a sentence saying why not (never an exception)."""
    if len(text) > limit:
        st.warning(
            f"Your {what} is {len(text):,} characters long; this page reads at most {limit:,}, "
            f"so only the {keep} {limit:,} are used."
        )
        text = text[:limit] if keep == "first" else text[-limit:]
    try:
        ids, note = encode_text(lab_model.tokenizer, text)
    except ValueError as err:  # a tokenizer that refuses text rather than dropping it
        st.warning(f"{lab_model.name}'s tokenizer cannot read this {what}: {err}")
        return None, text
    if note:
        st.info(note)
    if len(ids) < minimum:
        if not text.strip() and not ids:
            st.info(f"Type a {what} above to see what the model makes of it.")
        elif not ids:
            st.warning(
                f"None of these characters are in {lab_model.name}'s vocabulary "
                f"({lab_model.tokenizer.vocab_size} tokens), so there is nothing to feed it. "
                "Try ordinary letters and punctuation."
            )
        else:
            st.info(f"The {what} needs at least {minimum} tokens the model can read.")
        return None, text
    # The page runs the model over these (and a few taken tokens): asked of the budget first.
    if refused := budget.generation_refusal(lab_model.model.config, len(ids) + 1):
        st.error(refused)
        return None, text
    return ids, text


def sequence(lab_model: LabModel, seq: list[int], n_prompt: int) -> None:
    """The sequence so far, each token coloured by the probability the model gave it."""
    labels = [views.label(lab_model.tokenizer, i) for i in seq]
    probs: list[float | None] = [None]
    if len(seq) > 1:
        probs += cache.next_token_surprise(lab_model, tuple(seq)).probs.tolist()
    st.markdown(nt_charts.sequence_html(labels, probs, n_prompt), unsafe_allow_html=True)
    st.caption(
        "Each token's colour is the probability the model gave it, from red (it thought the "
        "token unlikely) to green (it was sure); hover for the number. Underlined tokens were "
        "added here, one at a time. ␣ is a space, ↵ a new line."
    )


def settings_line(sampling: SamplingConfig, step: int) -> str:
    """The sidebar's settings in words, as this step uses them."""
    k = f"top-k {sampling.top_k}" if sampling.top_k else "top-k off"
    p = f"top-p {sampling.top_p:g}" if sampling.top_p else "top-p off"
    return (
        f"Sidebar settings: temperature {sampling.temperature:g}, {k}, {p}, seed {sampling.seed} "
        f"(this draw uses seed + {step}, the number of tokens added so far)."
    )


def step_controls(
    lab_model: LabModel, origin: tuple[str, str], view: views.StagesView, n_added: int, hide: bool
) -> None:
    """Take the sampled token, force a candidate, undo, or start again."""
    full = n_added >= nt.MAX_ADDED
    take, undo, restart = st.columns([2, 1, 1])
    sampled = "the sampled token" if hide else f"the sampled token {view.sampled_label}"
    take.button(
        f"Take {sampled}",
        key=nt.TAKE,
        on_click=nt.append_token,
        args=(origin, view.sampled),
        disabled=full,
        type="primary",
        width="stretch",
    )
    undo.button(
        "Undo",
        key=nt.UNDO,
        on_click=nt.undo,
        args=(origin,),
        disabled=n_added == 0,
        width="stretch",
    )
    restart.button(
        "Start again",
        key=nt.RESTART,
        on_click=nt.restart,
        args=(origin,),
        disabled=n_added == 0,
        width="stretch",
    )
    if full:
        st.info(f"{nt.MAX_ADDED} tokens added: undo some or start again to go on.")
    if not hide:
        st.pills(
            "Or force a candidate: click one to add it instead",
            list(map(int, view.ids)),
            key=nt.FORCE,
            format_func=lambda i: charts.markdown_literal(views.label(lab_model.tokenizer, i)),
            on_change=nt.force_picked(origin),
            disabled=full,
        )


def stages(view: views.StagesView, sampling: SamplingConfig, vocab_size: int) -> None:
    """The four stages as bars, and what they mean in numbers."""
    shown = [int(i) for i in view.ids]
    row = shown.index(view.sampled) if view.sampled in shown else None
    rules = []
    if view.n_cut_by_top_k:
        rules.append("top-k")
    if vocab_size - view.n_kept > view.n_cut_by_top_k:
        rules.append("top-p")
    if sampling.temperature <= 0:
        cut_note = "temperature 0: only the likeliest"
    else:
        cut_note = "cut by " + " and ".join(rules) if rules else ""
    st.plotly_chart(
        nt_charts.stages_figure(
            view.labels,
            view.raw,
            view.tempered,
            view.kept,
            view.final,
            view.rest,
            view.n_rest,
            row,
            cut_note=cut_note,
        ),
        key="next_token_stages",
    )
    left, middle, right = st.columns(3)
    left.metric(
        "Tokens kept", f"{view.n_kept} of {vocab_size}", help="Tokens left after top-k and top-p."
    )
    middle.metric(
        "Sampled token",
        view.sampled_label,
        help="Drawn from panel 4 with the sidebar's seed; ␣ is a space, ↵ a new line.",
    )
    right.metric(
        "Its odds when drawn",
        f"{view.sampled_prob:.1%}",
        help="Its probability in panel 4, the distribution it was drawn from.",
    )
    st.caption(
        f"Panel 1 is the model's own probability for each token (the 20 likeliest, then the "
        f"other {view.n_rest} together). Temperature divides the logits before the softmax "
        f"(panel 2): below 1 the likely get likelier, above 1 the odds flatten, 0 is greedy. "
        f"Top-k keeps the k likeliest, top-p the smallest set whose probability reaches p; "
        f"grey bars are cut away (the dashed line). Panel 4 spreads the kept probability over "
        f"the survivors so it adds up to 1 again: the sample is drawn from it. The sampled "
        f"token {view.sampled_label} was the model's number {view.sampled_rank + 1} choice, "
        f"with {view.sampled_raw:.1%} in panel 1."
    )


def surprise(lab_model: LabModel) -> None:
    """Surprise over a text: the strip, the total in bits per character, the alternatives."""
    st.radio(
        "Example", list(nt.EXAMPLES), key=nt.EXAMPLE, horizontal=True, on_change=nt.fill_example
    )
    text = st.text_area(
        "Text",
        key=nt.TEXT,
        height=110,
        help=f"Any text, up to {nt.MAX_TEXT_CHARS:,} characters.",
    )
    ids, _ = read_ids(lab_model, text, nt.MAX_TEXT_CHARS, "text", minimum=2)
    if ids is None:
        return
    view = cache.next_token_surprise(lab_model, tuple(ids))
    st.metric(
        "Bits per character",
        f"{view.bits_per_char:.2f}",
        help="Total surprise in bits (sum of -log2 p over every token after the first), "
        f"divided by the {view.n_chars} characters those tokens cover.",
    )
    vocab = lab_model.tokenizer.vocab_size
    uniform = (
        f" Guessing uniformly among its {vocab} characters would cost "
        f"{views.uniform_bits(vocab):.2f} bits each."
        if lab_model.tokenizer.kind == "char"
        else ""
    )
    st.caption(
        "How many yes/no questions per character the model would need to pin this text down: "
        "lower means it expected the text better. It is per character, not per token, so "
        "models with different tokenizers compare fairly." + uniform
    )
    st.vega_lite_chart(cache.next_token_surprise_spec(lab_model, tuple(ids)))
    st.caption(
        "Each token's colour is its surprise, -log2 p of it given the text before it: 1 bit "
        "for a coin-flip guess, 0 for a certainty. The first token has nothing before it, so it "
        "is grey. Hover a token for its numbers; click one to see what the model expected there."
    )


def lens(lab_model: LabModel, seq: list[int]) -> None:
    """The logit lens over the end of the sequence."""
    spec, n_shown = cache.next_token_lens_spec(lab_model, tuple(seq), LENS_POSITIONS)
    st.vega_lite_chart(spec)
    st.caption(
        f"Each cell is what the model would predict next if it stopped after that block: the "
        f"final layer norm and the unembedding applied to the residual stream there. The top "
        f"row is the model's real output. Columns are the last {n_shown} tokens of the "
        f"sequence (the small number is the position); darker means more confident. Click a "
        f"column: below, how the rank of the model's final pick climbs to 0 (the top) layer by "
        f"layer, and the final distribution there."
    )
