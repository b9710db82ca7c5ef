"""Hostile input, one table: everything a student can type, paste, pick or upload that the lab
cannot use gets a message in words (st.error, st.warning or st.info), never a traceback, and the
session stays usable: the next ordinary interaction on the same page works.

Each page is opened once (module fixtures) and every row runs in that same session, followed by
the page's ordinary interaction, so a row that left the session broken fails the next check.
The server refuses uploads over .streamlit/config.toml's maxUploadSize before the app sees them;
AppTest has no server, so here a 20 MB file reaches the page's own check, and the browser test
tests/e2e/test_uploads.py covers Streamlit's refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.attention import state as attn_state
from lab.compare import state as cmp_state
from lab.engine import background
from lab.tokenizers import state as tok_state
from lab.training import state as train_state
from tests.apptest import APP, TIMEOUT, TINY_TRAINING, errors, page_path
from tests.conftest import pickle_checkpoint, tiny_checkpoint
from tests.test_run import TEXT


@dataclass(frozen=True)
class Row:
    """One hostile input: what it does to the page, and the message (kind, words) it must get."""

    name: str
    act: Callable[[AppTest], object]
    kind: str | None  # "error" | "warning" | "info"; None: no message needed, it just works
    words: str = ""


def said(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def check(at: AppTest, row: Row) -> None:
    row.act(at)
    assert errors(at) == [], f"{row.name}: {errors(at)}"
    if row.kind:
        assert row.words.lower() in said(at, row.kind).lower(), (
            f"{row.name}: no {row.kind} with {row.words!r}; page said "
            f"{ {k: said(at, k) for k in ('error', 'warning', 'info')} }"
        )


def fresh(path: str, **preset) -> AppTest:
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def setting(**values) -> Callable[[AppTest], object]:
    """Write widget values (as a person typing them would) and rerun."""

    def act(at: AppTest) -> AppTest:
        for key, value in values.items():
            at.session_state[key] = value
        return at.run()

    return act


def upload(key: str, name: str, data: bytes) -> Callable[[AppTest], object]:
    return lambda at: at.file_uploader(key=key).set_value((name, data, "text/plain")).run()


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 40
LATIN1 = "Zwölf Boxkämpfer jagen Viktor quer über den Sylter Deich. ".encode("latin-1") * 10
UTF16 = ("To be, or not to be: that is the question. " * 10).encode("utf-16")
HUGE = b"All the world's a stage. " * 800_000  # 20 MB


# ---------------------------------------------------------------- Tokenizers

TOK_NORMAL = {
    tok_state.TOK_SOURCE: "Paste text",
    tok_state.TOK_PASTE: TEXT,
    tok_state.TOK_VOCAB: 320,
}


def tok_paste(text: str) -> Callable[[AppTest], object]:
    return setting(**{tok_state.TOK_SOURCE: "Paste text", tok_state.TOK_PASTE: text})


def tok_upload(name: str, data: bytes) -> Callable[[AppTest], object]:
    def act(at: AppTest) -> None:
        setting(**{tok_state.TOK_SOURCE: "Upload a file"})(at)
        upload(tok_state.TOK_UPLOAD, name, data)(at)

    return act


TOKENIZERS = [
    Row("empty paste", tok_paste(""), "error", "the text is empty"),
    Row("whitespace-only paste", tok_paste(" \n\t  \n"), "error", "only spaces and line breaks"),
    Row("too short to train on", tok_paste("abc"), "error", "at least 50"),
    Row(
        "only control and format characters",
        tok_paste("\x00\x07\u200d\u202e\x85\u2066" * 20),
        "error",
        "only invisible characters",
    ),
    Row(
        "no upload yet",
        setting(**{tok_state.TOK_SOURCE: "Upload a file"}),
        "info",
        "choose a text file",
    ),
    Row("20 MB upload", tok_upload("big.txt", HUGE), "error", "larger than the 1.0 MB limit"),
    Row("binary upload", tok_upload("a.png", BINARY), "error", "binary"),
    Row("latin-1 upload", tok_upload("de.txt", LATIN1), "error", "not UTF-8"),
    Row("UTF-16 upload", tok_upload("w.txt", UTF16), "error", "UTF-16"),
    Row("empty upload", tok_upload("empty.txt", b""), "error", "the text is empty"),
    Row(
        "vocabulary 256",
        setting(**{**TOK_NORMAL, tok_state.TOK_VOCAB: 256}),
        "info",
        "just the bytes",
    ),
    Row(
        "vocabulary beyond the text's pairs",
        setting(**{**TOK_NORMAL, tok_state.TOK_PASTE: "abcab" * 12, tok_state.TOK_VOCAB: 2048}),
        "info",
        "ran out of pairs",
    ),
    Row(
        "control, RTL and ZWJ text to tokenize",
        setting(
            **{
                **TOK_NORMAL,
                tok_state.TOK_TEXT: "\x00\x07\x1b[31m\u202eRomeo\u200f👩\u200d💻\ufeff",
            }
        ),
        "warning",
        "corpus never had them",
    ),
    Row(
        "empty text to tokenize",
        setting(**{**TOK_NORMAL, tok_state.TOK_TEXT: ""}),
        "info",
        "type some text",
    ),
    Row(
        "regex characters in the search",
        setting(**{**TOK_NORMAL, tok_state.TOK_QUERY: "([\\*"}),
        None,
    ),
]


@pytest.fixture(scope="module")
def tokenizers_page() -> AppTest:
    return fresh(page_path("tokenizers"), **TOK_NORMAL)


@pytest.mark.parametrize("row", TOKENIZERS, ids=lambda r: r.name)
def test_tokenizers_page(tokenizers_page: AppTest, row: Row) -> None:
    at = tokenizers_page
    check(at, row)
    setting(
        **{
            **TOK_NORMAL,
            tok_state.TOK_TEXT: "But soft",
            tok_state.TOK_QUERY: "",
            tok_state.TOK_STEP: 1,
        }
    )(at)
    at.button(key=tok_state.TOK_NEXT).click().run()  # the ordinary interaction: one merge forward
    assert errors(at) == [] and not at.error
    assert at.slider(key=tok_state.TOK_STEP).value == 2


# ---------------------------------------------------------------- Live training

TRAIN_NORMAL = {
    **TINY_TRAINING,
    train_state.TRAIN_TOKENIZER: "char",
    train_state.TRAIN_VOCAB: 512,
    state.MAX_NEW_TOKENS: 10,  # the sidebar's length: samples logged while training stay short
}
REFUSED = "can't start with these settings"


def train_paste(text: str, **more) -> Callable[[AppTest], object]:
    return setting(**{**TRAIN_NORMAL, train_state.TRAIN_PASTE: text, **more})


def train_upload(name: str, data: bytes) -> Callable[[AppTest], object]:
    def act(at: AppTest) -> None:
        setting(**{**TRAIN_NORMAL, train_state.TRAIN_SOURCE: "Upload a file"})(at)
        upload(train_state.TRAIN_UPLOAD, name, data)(at)

    return act


def train_with(**values) -> Callable[[AppTest], object]:
    return setting(**{**TRAIN_NORMAL, **values})


def _other_config(blob: bytes) -> bytes:
    """The same weights under a header whose config asks for another width."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    config = json.loads(header["__metadata__"]["config"])
    header["__metadata__"]["config"] = json.dumps({**config, "n_embd": 32})
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + blob[8 + n :]


def ckpt(name: str, make: Callable[[], bytes]) -> Callable[[AppTest], object]:
    """Upload make()'s bytes as a checkpoint (made when the row runs, not at import)."""

    def act(at: AppTest) -> None:
        setting(**TRAIN_NORMAL)(at)
        upload(train_state.TRAIN_CKPT, name, make())(at)

    return act


def continue_on_another_text(at: AppTest) -> None:
    """A character checkpoint continued on a text with characters it never saw."""
    ckpt("mine.safetensors", tiny_checkpoint)(at)
    setting(**{train_state.TRAIN_PASTE: TEXT + "Zounds! 1603 #Q2"})(at)
    at.button(key=train_state.TRAIN_CONTINUE).click().run()


TRAINING = [
    Row("empty paste", train_paste(""), "error", "the text is empty"),
    Row("whitespace-only paste", train_paste("   \n\n\t "), "error", "only spaces and line breaks"),
    Row(
        "corpus shorter than the context",
        train_paste(TEXT[:250], **{train_state.TRAIN_CONTEXT: 512}),
        "error",
        "too long for this corpus",
    ),
    Row(
        "no upload yet",
        setting(**{**TRAIN_NORMAL, train_state.TRAIN_SOURCE: "Upload a file"}),
        "error",
        "choose a text file",
    ),
    Row("20 MB upload", train_upload("big.txt", HUGE), "error", "larger than the 5.0 MB limit"),
    Row("binary upload", train_upload("a.png", BINARY), "error", "binary"),
    Row("latin-1 upload", train_upload("de.txt", LATIN1), "error", "not UTF-8"),
    Row("UTF-16 upload", train_upload("w.txt", UTF16), "error", "UTF-16"),
    Row(
        "BPE vocabulary below 256",
        train_with(**{train_state.TRAIN_TOKENIZER: "bpe", train_state.TRAIN_VOCAB: 100}),
        "error",
        "between 256 and 4,096",
    ),
    Row(
        "word vocabulary 0",
        train_with(**{train_state.TRAIN_TOKENIZER: "word", train_state.TRAIN_VOCAB: 0}),
        "error",
        "between 3 and 50,000",
    ),
    Row(
        "word vocabulary 100,000",
        train_with(**{train_state.TRAIN_TOKENIZER: "word", train_state.TRAIN_VOCAB: 100_000}),
        "error",
        "between 3 and 50,000",
    ),
    Row(
        "heads not dividing the width",
        train_with(**{train_state.TRAIN_WIDTH: 18, train_state.TRAIN_HEADS: 4}),
        "error",
        "divide evenly",
    ),
    Row(
        "RoPE with odd head size",
        train_with(
            **{
                train_state.TRAIN_POS: "rope",
                train_state.TRAIN_WIDTH: 18,
                train_state.TRAIN_HEADS: 2,
            }
        ),
        "error",
        "must be even",
    ),
    Row(
        "0 heads",
        train_with(**{train_state.TRAIN_HEADS: 0}),
        "error",
        "Heads (n_head) must be at least 1",
    ),
    Row(
        "0 layers",
        train_with(**{train_state.TRAIN_LAYERS: 0}),
        "error",
        "Layers (n_layer) must be at least 1",
    ),
    Row(
        "context 0",
        train_with(**{train_state.TRAIN_CONTEXT: 0}),
        "error",
        "Context length (block_size) must be at least 1",
    ),
    Row(
        "context 100,000",
        train_with(**{train_state.TRAIN_CONTEXT: 100_000}),
        "error",
        "at most 1024",
    ),
    Row(
        "learning rate 0",
        train_with(**{train_state.TRAIN_LR: 0.0}),
        "error",
        "must be a positive number",
    ),
    Row("learning rate 1000", train_with(**{train_state.TRAIN_LR: 1000.0}), "error", "far beyond"),
    Row(
        "steps 0",
        train_with(**{train_state.TRAIN_STEPS: 0}),
        "error",
        "Steps (max_iters) must be at least 1",
    ),
    Row(
        "batch 0",
        train_with(**{train_state.TRAIN_BATCH: 0}),
        "error",
        "Batch size (batch_size) must be at least 1",
    ),
    Row(
        "batch × context too big",
        train_with(**{train_state.TRAIN_BATCH: 4096}),
        "error",
        "at most 32,768",
    ),
    Row(
        "100 million parameters",
        train_with(**{train_state.TRAIN_LAYERS: 8, train_state.TRAIN_WIDTH: 1024}),
        "error",
        "parameters; a CPU trains at most",
    ),
    Row(
        "a million steps",
        train_with(**{train_state.TRAIN_STEPS: 1_000_000}),
        "error",
        "at most 100,000",
    ),
    Row(
        "truncated checkpoint",
        ckpt("cut.safetensors", lambda: tiny_checkpoint()[:300]),
        "error",
        "truncated",
    ),
    Row(
        "checkpoint cut at the end",
        ckpt("cut.safetensors", lambda: tiny_checkpoint()[:-64]),
        "error",
        "truncated",
    ),
    Row(
        "checkpoint of another config",
        ckpt("other.safetensors", lambda: _other_config(tiny_checkpoint())),
        "error",
        "the config needs",
    ),
    Row("pickle checkpoint", ckpt("model.pt", pickle_checkpoint), "error", "pickle"),
    Row("empty checkpoint", ckpt("empty.safetensors", lambda: b""), "error", "too short"),
    Row(
        "text as a checkpoint",
        ckpt("notes.safetensors", lambda: b"hello world" * 10),
        "error",
        "not a safetensors",
    ),
    Row(
        "continuing on a text its tokenizer can't read",
        continue_on_another_text,
        "error",
        "tokenizer cannot read this corpus",
    ),
]


@pytest.fixture(scope="module")
def training_page():
    with pytest.MonkeyPatch.context() as mp:  # module-scoped, so not conftest's short_slices
        mp.setattr(background, "SLICE_SECONDS", 0.02)
        mp.setattr(background, "WAIT_SECONDS", 0.01)
        yield fresh(page_path("training"), **TRAIN_NORMAL)


@pytest.mark.parametrize("row", TRAINING, ids=lambda r: r.name)
def test_training_page(training_page: AppTest, row: Row) -> None:
    at = training_page
    check(at, row)
    if row.kind == "error" and "checkpoint" not in row.name and "continuing" not in row.name:
        assert at.button(key=train_state.TRAIN_START).disabled  # refused before anything runs
    # The ordinary interaction: back to ordinary settings, and the page takes them.
    if train_state.TRAIN_CKPT in [u.key for u in at.get("file_uploader")]:
        at.file_uploader(key=train_state.TRAIN_CKPT).set_value(None)
    setting(**TRAIN_NORMAL)(at)
    if train_state.training_box_in(at.session_state).run is not None:
        at.button(key=train_state.TRAIN_RESET).click().run()
    assert errors(at) == [] and not at.error
    assert not at.button(key=train_state.TRAIN_START).disabled
    assert any(m.label == "Time per step" and m.value.endswith("ms") for m in at.metric)


def test_training_page_still_trains_after_every_row(training_page: AppTest) -> None:
    """After all of the above in one session: Start trains, "Use this model" twice keeps one."""
    at = training_page
    setting(**{**TRAIN_NORMAL, train_state.TRAIN_STEPS: 6})(at)
    at.button(key=train_state.TRAIN_START).click().run()
    box = train_state.training_box_in(at.session_state)
    state.trainer_in(at.session_state).trainer.join(timeout=60)  # 6 steps, then it ends
    at.run()
    assert errors(at) == [] and box.run.done and box.name == "Live run 1"
    at.button(key=train_state.TRAIN_USE).click().run()
    at.button(key=train_state.TRAIN_USE).click().run()  # pressed twice: still one model
    assert errors(at) == [] and list(state_models(at)) == ["Live run 1 (step 6)"]
    at.button(key=train_state.TRAIN_RESET).click().run()


def state_models(at: AppTest) -> dict:
    return state.session_models(at.session_state)


# ---------------------------------------------------------------- Attention

ATTENTION = [
    Row(
        "control characters",
        setting(**{attn_state.ATTN_TEXT: "\x00\x07\x1b[31mRomeo\x1b[0m\x7f\x85"}),
        "info",
        "left out",
    ),
    Row(
        "right-to-left marks",
        setting(**{attn_state.ATTN_TEXT: "\u202eROMEO\u202c \u200fJULIET\u200e \u2067x\u2069"}),
        "info",
        "left out",
    ),
    Row(
        "emoji joiners",
        setting(**{attn_state.ATTN_TEXT: "👩\u200d👩\u200d👧 👨🏽\u200d💻 🏳️\u200d🌈 a\u200db"}),
        "info",
        "left out",
    ),
    Row(
        "nothing the model knows",
        setting(**{attn_state.ATTN_TEXT: "👩\u200d👩\u200d👧\u202e\u200f"}),
        "warning",
        "nothing to feed it",
    ),
    Row("empty", setting(**{attn_state.ATTN_TEXT: ""}), "info", "Type some text"),
    Row(
        "longer than the context",
        setting(**{attn_state.ATTN_TEXT: "To be, or not to be. " * 1000}),
        "warning",
        "only the first",
    ),
    Row(
        "hostile prompt",
        setting(**{attn_state.ATTN_PROMPT: "\x00\u202e👩\u200d💻ROMEO\ufeff"}),
        "info",
        "left out",
    ),
    Row(
        "unreadable prompt",
        setting(**{attn_state.ATTN_PROMPT: "\u200f👩\u200d💻"}),
        "info",
        "Type a prompt the model can read",
    ),
]


@pytest.fixture(scope="module")
def attention_page() -> AppTest:
    return fresh(page_path("attention"), **{state.MAX_NEW_TOKENS: 20})


@pytest.mark.parametrize("row", ATTENTION, ids=lambda r: r.name)
def test_attention_page(attention_page: AppTest, row: Row) -> None:
    at = attention_page
    check(at, row)
    setting(
        **{attn_state.ATTN_TEXT: attn_state.ATTN_DEFAULT_TEXT, attn_state.ATTN_PROMPT: "ROMEO:\n"}
    )(at)
    at.radio(key=attn_state.ATTN_HEAD).set_value(1).run()  # the ordinary interaction: another head
    assert errors(at) == [] and not at.warning and not at.info
    assert at.get("plotly_chart") and at.code[-1].value.startswith("ROMEO:\n")


# ---------------------------------------------------------------- Compare and the sidebar


def test_compare_page_without_encodings_says_so() -> None:
    at = fresh(page_path("compare"), **{cmp_state.CMP_ENCODINGS: []})
    at.button(key=cmp_state.CMP_START).click().run()
    assert errors(at) == [] and "choose at least one encoding" in said(at, "error")
    at.multiselect(key=cmp_state.CMP_ENCODINGS).set_value(["rope", "alibi"]).run()
    assert errors(at) == [] and "2 runs of" in " ".join(c.value for c in at.caption)


@pytest.fixture(scope="module")
def home_page() -> AppTest:
    return fresh(APP, **{state.MAX_NEW_TOKENS: 30})


@pytest.mark.parametrize(
    ("temperature", "top_p"), [(0.0, 0.95), (0.8, 0.0), (0.0, 0.0)], ids=["T=0", "top-p=0", "both"]
)
def test_greedy_sidebar_settings_still_generate(home_page: AppTest, temperature, top_p) -> None:
    """Temperature 0 or top-p 0 is greedy decoding: text comes out, and the seed no longer matters."""
    at = home_page
    at.sidebar.slider(key=state.TEMPERATURE).set_value(temperature)
    at.sidebar.slider(key=state.TOP_P).set_value(top_p)
    at.sidebar.number_input(key=state.SEED).set_value(1).run()
    first = at.code[0].value
    at.sidebar.number_input(key=state.SEED).set_value(99).run()
    assert errors(at) == [] and at.code[0].value == first
    assert len(first) > len("ROMEO:\n") + 10
    # The ordinary interaction: back to sampling, where the seed matters again.
    at.sidebar.slider(key=state.TEMPERATURE).set_value(1.0)
    at.sidebar.slider(key=state.TOP_P).set_value(1.0).run()
    sampled = at.code[0].value
    at.sidebar.number_input(key=state.SEED).set_value(2).run()
    assert errors(at) == [] and at.code[0].value != sampled
