"""Tokenizers: how text becomes numbers, one byte-pair merge at a time."""

import streamlit as st

from lab import cache
from lab.engine import budget
from lab.engine.views import visible
from lab.tokenizers import pieces
from lab.tokenizers import state as tok_state
from lab.tokenizers import tokens as tokens_view
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN
from minigpt.tokenizers.production import MODELS
from minigpt.training.corpus import CorpusError, check_corpus, check_text_size

TRAIN_CHARS = 300_000  # BPE trains on the corpus's first 300,000 characters: a few seconds
MAX_UPLOAD_BYTES = 1_000_000
MIN_CHARS = 50
MAX_TEXT = 20_000  # characters of the text being tokenized (Streamlit cuts longer input)

st.title("Tokenizers")
st.markdown(
    "A GPT never sees letters, only numbers from a fixed vocabulary, so everything it learns is "
    "shaped by how text was cut into tokens. Byte-pair encoding starts from the 256 byte values "
    "and keeps gluing the most frequent neighbouring pair into a new token: train one here, "
    "step through its merges, and set it beside GPT-4's and GPT-4o's own tokenizers."
)
tok_state.tokenizers_defaults()

st.subheader("1 · Train a byte-pair tokenizer")
left, right = st.columns([3, 2], gap="large")
with left:
    source = st.radio("Corpus", tok_state.TOK_SOURCES, key=tok_state.TOK_SOURCE, horizontal=True)
    if source == "Paste text":
        pasted = st.text_area(
            "Your corpus",
            key=tok_state.TOK_PASTE,
            height=140,
            placeholder="Paste a few paragraphs…",
        )
    elif source == "Upload a file":
        upload = st.file_uploader(
            f"A plain UTF-8 text file, up to {MAX_UPLOAD_BYTES // 1_000_000} MB",
            key=tok_state.TOK_UPLOAD,
        )
with right:
    vocab_size = st.slider(
        "Vocabulary size",
        256,
        2048,
        step=32,
        key=tok_state.TOK_VOCAB,
        help="256 one-byte tokens, plus one new token per merge.",
    )
    presplit = st.toggle(
        "GPT-4 style pre-split",
        key=tok_state.TOK_PRESPLIT,
        help="Cut the text into words, numbers and punctuation first (GPT-4's regex), so no "
        "merge ever crosses from one word into the next.",
    )

try:
    if source == "Shakespeare":
        corpus = cache.default_corpus()
    elif source == "Paste text":
        if not pasted:  # nothing typed yet: a hint (text that is only spaces gets the reason)
            st.info(
                f"Paste a text to train on above (at least {MIN_CHARS} characters; a few "
                "paragraphs work best), or pick another corpus."
            )
            st.stop()
        corpus = check_text_size(pasted, budget.MAX_PASTE_CHARS, "the pasted text")
    elif upload is None:
        st.info("Choose a text file to train on, or pick another corpus.")
        st.stop()
    else:
        corpus = cache.upload_text(upload.getvalue(), MAX_UPLOAD_BYTES)
    corpus = check_corpus(corpus, MIN_CHARS)[:TRAIN_CHARS]
except CorpusError as e:
    st.error(f"Can't train on this text: {e}.")
    st.stop()
if not any(ch.isalnum() for ch in corpus):
    st.info(
        "This text has no letters or digits. BPE still works, on bytes: an emoji is 4 bytes "
        "in UTF-8, so the first merges glue emoji bytes back together."
    )

progress = st.empty()
try:
    trained = cache.trained_bpe(
        corpus,
        vocab_size,
        GPT4_SPLIT_PATTERN if presplit else None,
        lambda done, total: progress.progress(
            done / max(total, 1), f"Learning merge {done:,} of {total:,}…"
        ),
    )
except ValueError as e:
    st.error(f"Can't train: {e}.")
    st.stop()
progress.empty()
tok, merges = trained.tokenizer, trained.tokenizer.merges
n = len(merges)
st.caption(
    f"Trained on the first {trained.chars:,} characters of the corpus in {trained.seconds:.1f} s "
    f"(a slice keeps training to seconds; the result is cached, so changing anything below is "
    f"instant): {n:,} merges, vocabulary {256 + n:,}."
)
if n < vocab_size - 256:
    st.info(
        f"You asked for a vocabulary of {vocab_size:,}, but this text ran out of pairs to merge "
        f"after {n:,} merges, so the vocabulary stops at {256 + n:,}. A longer text allows more."
    )

st.subheader("2 · Step through the merges")
text = st.text_area(
    "Text to tokenize (here and in part 3)",
    key=tok_state.TOK_TEXT,
    height=110,
    max_chars=MAX_TEXT,
)

# The stepper on the left, the text it cuts on the right: each click shows its effect in place.
controls, shown = st.columns([2, 3], gap="large")
with controls:
    if n == 0:
        st.info("A vocabulary of 256 is just the bytes: there is no merge to step through yet.")
        step = 0
    else:
        tok_state.clamp_tokenizers_step(n)
        step = tok_state.tokenizers_step()
        back, forward = st.columns(2)
        back.button(
            "◀ Prev",
            key=tok_state.TOK_PREV,
            on_click=tok_state.shift_tokenizers_step,
            args=(-1, n),
            disabled=step <= 0,
            width="stretch",
        )
        forward.button(
            "Next ▶",
            key=tok_state.TOK_NEXT,
            on_click=tok_state.shift_tokenizers_step,
            args=(1, n),
            disabled=step >= n,
            width="stretch",
        )
        step = st.slider("Merges learned (k)", 0, n, key=tok_state.TOK_STEP)

    merge = merges[step - 1] if step else None
    if merge is None:
        st.info("k = 0: no merges yet, so every byte is its own token. Press Next to learn one.")
    else:
        a, b = merge.pair
        label = tokens_view.merge_label(
            tok.token_str(a), tok.token_str(b), tok.token_str(merge.new_id)
        )
        st.markdown(f"**Merge {step:,} of {n:,}**")
        st.code(label, language=None)
        # One above the other: side by side, a count like "7,652×" is cut off at 1024 px.
        st.metric("Pair seen", f"{merge.count:,}×", help="Occurrences in the training text.")
        st.metric("New token id", merge.new_id)
        if merge.ties:
            later = tokens_view.tied_later(merges, step - 1)
            tied = ", ".join(
                tokens_view.merge_label(tok.token_str(m.pair[0]), tok.token_str(m.pair[1]))
                for m in later
            )
            st.info(
                f"A tie: {merge.ties:,} other pair(s) also occurred {merge.count:,} times. "
                "Training breaks ties by taking the pair with the smallest ids, so this one won."
                + (f" Tied pairs learned right after: {tied}." if tied else "")
            )

with shown:
    if not text:
        st.info("Type some text above to see it cut into tokens.")
    else:
        ids_all, counts = cache.bpe_curve(trained, text)
        ids_now = tokens_view.ids_after(ids_all, merges, step)
        n_bytes = counts[0]
        st.html(
            tokens_view.tokens_html(
                pieces.byte_pieces(ids_now, tok.token_bytes),
                highlight=merge.new_id if merge else None,
            )
        )
        st.caption(
            f"{len(ids_now):,} tokens for {n_bytes:,} bytes: {n_bytes / len(ids_now):.2f} bytes "
            "per token. Tokens made by this merge are outlined; hover any token for its id. A "
            "character cut across tokens shows once, with each token's bytes beneath it."
            + tokens_view.cut_note(len(ids_now))
        )
if text:
    st.plotly_chart(tokens_view.curve_figure(counts, n_bytes, step))

st.markdown(f"**The vocabulary after {step:,} merge{'' if step == 1 else 's'}**")
query = st.text_input(
    "Search the vocabulary",
    key=tok_state.TOK_QUERY,
    placeholder="a piece of text such as ␣the, or an id",
)
st.dataframe(
    # Formatted by the grid, not a pandas Styler: a Styler renders every cell on the server on
    # every click of the stepper. Bytes have no merge count: a dash, never "None" (the column
    # stays numeric for sorting).
    tokens_view.vocab_table(merges, step, tok.token_str, query),
    hide_index=True,
    height=280,
    placeholder="—",
    column_config={
        "count": st.column_config.NumberColumn(
            help="How often the pair occurred when it was merged (bytes were there from the start)",
            format="%,d",
        )
    },
)

st.subheader("3 · One text, four tokenizers")
st.markdown(
    "The same text cut by your BPE with all its merges, by a character tokenizer trained on "
    "the same corpus, and by the real tokenizers of GPT-4 (`cl100k_base`) and GPT-4o "
    "(`o200k_base`), encoded by tiktoken. Hover a token for its id. A character cut across "
    "byte tokens (an emoji takes 4 bytes) shows once, with each token's bytes beneath it, like "
    "`\\xf0\\x9f`. The production tokenizers read special tokens such as `<|endoftext|>` as "
    "one id each (drawn dark); to the other two they are ordinary text."
)


def column(name: str, vocab: str, tokens: list, note: str | None = None) -> None:
    """One tokenizer's view of the text: its token count, its tokens, its vocabulary."""
    st.markdown(f"**{name}**")
    st.metric(
        "Tokens",
        f"{len(tokens):,}",
        help=f"{len(text):,} characters, {len(text) / max(len(tokens), 1):.2f} per token",
    )
    st.html(tokens_view.tokens_html(tokens))
    st.caption(vocab + tokens_view.cut_note(len(tokens)))
    if note:
        st.warning(note)
    with st.expander("Token ids"):
        st.code(tokens_view.id_list(tokens), language=None, wrap_lines=True)


if text:
    chars = cache.char_tokenizer(corpus)
    char_tokens = pieces.char_pieces(chars, text)
    unknown = pieces.count_unknown(char_tokens)
    char_note = None
    if unknown:
        missing = sorted({p.text for p in char_tokens if p.kind == pieces.UNKNOWN})
        listed = " ".join(visible(c) for c in missing[:30])
        char_note = (
            f"{unknown:,} character{'' if unknown == 1 else 's'} of this text "
            f"{'has' if unknown == 1 else 'have'} no id here, as the corpus never had "
            f"{'it' if len(missing) == 1 else 'them'} ({listed}): each is drawn in place as an "
            "unknown token (dashed) and counted. A model with this tokenizer could not read "
            "them at all."
        )
    ours, theirs = st.columns(2, gap="large"), st.columns(2, gap="large")
    with ours[0]:
        column(
            "Your BPE",
            f"{256 + n:,} tokens in its vocabulary.",
            pieces.byte_pieces(ids_all, tok.token_bytes),
        )
    with ours[1]:
        column(
            "Characters", f"{chars.vocab_size:,} tokens in its vocabulary.", char_tokens, char_note
        )
    for place, name in zip(theirs, pieces.PRODUCTION, strict=True):
        ordinary, special = pieces.production_vocab(name)
        with place:
            column(
                f"{MODELS[name]} ({name})",
                f"{ordinary:,} tokens in its vocabulary, plus {special} special ones.",
                cache.production_tokens(name, text),
            )
