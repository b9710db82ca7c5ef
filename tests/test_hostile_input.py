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

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import safetensors.torch
import torch
from streamlit.testing.v1 import AppTest

from lab import state
from lab.attention import state as attn_state
from lab.compare import state as cmp_state
from lab.engine import background, budget
from lab.tokenizers import state as tok_state
from lab.training import state as train_state
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.bpe import BPETokenizer
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigpt.training.corpus import CorpusError, check_text_size
from tests.apptest import APP, TIMEOUT, TINY_TRAINING, errors, page_path
from tests.conftest import pickle_checkpoint, tiny_checkpoint
from tests.test_run import TEXT, TINY


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
    Row("empty paste", tok_paste(""), "info", "paste a text to train on"),
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
        "corpus never had",
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
]


@pytest.fixture(scope="module")
def attention_page() -> AppTest:
    return fresh(page_path("attention"), **{state.MAX_NEW_TOKENS: 20})


@pytest.mark.parametrize("row", ATTENTION, ids=lambda r: r.name)
def test_attention_page(attention_page: AppTest, row: Row) -> None:
    at = attention_page
    check(at, row)
    setting(**{attn_state.ATTN_TEXT: attn_state.ATTN_DEFAULT_TEXT})(at)
    at.radio(key=attn_state.ATTN_HEAD).set_value(1).run()  # the ordinary interaction: another head
    assert errors(at) == [] and not at.warning and not at.info
    # the model continues the text typed above (there is no separate prompt box)
    assert at.get("plotly_chart") and at.code[-1].value.startswith(attn_state.ATTN_DEFAULT_TEXT)


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


# ---------------------------------------------------------------- The core, without pages
# Every attack of issue 15 straight through lab/engine and minigpt: each ends in a sentence.


def edited(blob: bytes, tensors: Callable[[dict], dict] | None = None, **meta) -> bytes:
    """Checkpoint bytes with some metadata entries replaced (given as JSON text) and the
    tensors passed through `tensors`."""
    n = int.from_bytes(blob[:8], "little")
    old = json.loads(blob[8 : 8 + n])["__metadata__"]
    loaded = safetensors.torch.load(blob)
    return safetensors.torch.save((tensors or dict)(loaded), metadata={**old, **meta})


def raw_header(header: dict | str, body: bytes = b"") -> bytes:
    raw = header if isinstance(header, str) else json.dumps(header)
    data = raw.encode()
    data += b" " * (-len(data) % 8)
    return len(data).to_bytes(8, "little") + data + body


def _meta(blob: bytes, key: str):
    n = int.from_bytes(blob[:8], "little")
    return json.loads(json.loads(blob[8 : 8 + n])["__metadata__"][key])


def _bpe_bomb(n: int = 40) -> str:
    """Merges that each join a token with itself: token 256 + i is 2**(i + 1) bytes long."""
    merges = [[97, 97, 256, 0, 0]] + [[255 + i, 255 + i, 256 + i, 0, 0] for i in range(1, n)]
    return json.dumps({"kind": "bpe", "pattern": None, "special_tokens": {}, "merges": merges})


def _with_nan(tensors: dict) -> dict:
    name = next(k for k in tensors if k.startswith("model.h.0"))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    return tensors


def _alibi_64(block_size: int) -> bytes:
    """A small file (about 230 KB) whose config asks for ALiBi tables of 64 heads x T x T per
    layer: built at context 16, then the header claims block_size (ALiBi stores no positions)."""
    tok = CharTokenizer.train(TEXT)
    cfg = GPTConfig(n_layer=2, n_head=64, n_embd=64, block_size=16, vocab_size=tok.vocab_size)
    blob = save_checkpoint(None, GPT(cfg.replace(pos_emb="alibi")), tok)
    config = {**cfg.to_dict(), "pos_emb": "alibi", "block_size": block_size}
    return edited(blob, config=json.dumps(config))


@functools.cache
def core_checkpoints() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, words its CheckpointError must say); built on first use, not at import."""
    base = tiny_checkpoint()
    config = _meta(base, "config")
    return {
        "ALiBi, 2 layers x 64 heads, context 2048": (
            _alibi_64(2048),
            "block_size is 2,048, but this lab allows at most 1,024",
        ),
        "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)": (
            _alibi_64(1024),
            "This checkpoint's model needs about",
        ),
        "context 4096": (
            edited(base, config=json.dumps({**config, "block_size": 4096})),
            "at most 1,024",
        ),
        "n_layer 1.0": (
            edited(base, config=json.dumps({**config, "n_layer": 1.0})),
            "n_layer must be of type int",
        ),
        "thousands of layers tied to one block": (
            edited(
                base,
                config=json.dumps({**config, "n_layer": 5000}),
                tied=json.dumps(
                    {f"h.{i}.attn.query.weight": "h.0.attn.query.weight" for i in range(5000)}
                ),
            ),
            "n_layer is 5,000",
        ),
        "a tie the model does not have": (
            edited(
                base,
                tensors=lambda t: {k: v for k, v in t.items() if k != "model.h.0.attn.key.weight"},
                tied=json.dumps({"h.0.attn.key.weight": "h.0.attn.query.weight"}),
            ),
            "claims ties this model does not have",
        ),
        "a tie that is also stored": (
            edited(
                base,
                tensors=lambda t: {**t, "model.lm_head.weight": t["model.wte.weight"].clone()},
            ),
            "also declares tied",
        ),
        "a tensor nobody asked for": (
            edited(base, tensors=lambda t: {**t, "evil.blob": torch.zeros(3)}),
            "tensor this lab does not know",
        ),
        "BPE merges that double each time": (
            edited(base, tokenizer=_bpe_bomb()),
            "merges that double a token each time",
        ),
        "an unknown pre-split pattern": (
            edited(base, tokenizer=json.dumps({"kind": "bpe", "pattern": "(a+)+$", "merges": []})),
            "pre-split pattern this lab does not know",
        ),
        "an invalid regex": (
            edited(base, tokenizer=json.dumps({"kind": "bpe", "pattern": "(", "merges": []})),
            "pre-split pattern this lab does not know",
        ),
        "deeply nested JSON in the header": (
            edited(base, extra="[" * 100_000 + "]" * 100_000),
            "nested too deeply",
        ),
        "nesting just past the limit": (
            edited(base, extra="[" * 40 + "]" * 40),
            "levels deep",
        ),
        "deeply nested header itself": (
            raw_header('{"a":' * 100_000 + "1" + "}" * 100_000),
            "nested too deeply",
        ),
        "trainer steps as text": (
            edited(base, trainer=json.dumps({"steps_done": "10", "elapsed": 1.0})),
            "no whole number of steps",
        ),
        "trainer steps missing": (
            edited(base, trainer=json.dumps({"elapsed": 1.0})),
            "no whole number of steps",
        ),
        "metrics without steps": (
            edited(base, metrics=json.dumps({"history": [{"loss": 1.0}], "evals": []})),
            "without a step",
        ),
        "NaN weights": (edited(base, tensors=_with_nan), "NaN or infinite"),
        "an optimizer learning rate as text": (
            edited(
                base,
                optimizer=json.dumps(
                    {"param_groups": [{"params": [0], "lr": "fast"}], "scalars": {}}
                ),
            ),
            "optimizer settings are malformed",
        ),
        "version true": (edited(base, version="true"), "not True"),
    }


CORE_NAMES = [
    "ALiBi, 2 layers x 64 heads, context 2048",
    "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)",
    "context 4096",
    "n_layer 1.0",
    "thousands of layers tied to one block",
    "a tie the model does not have",
    "a tie that is also stored",
    "a tensor nobody asked for",
    "BPE merges that double each time",
    "an unknown pre-split pattern",
    "an invalid regex",
    "deeply nested JSON in the header",
    "nesting just past the limit",
    "deeply nested header itself",
    "trainer steps as text",
    "trainer steps missing",
    "metrics without steps",
    "NaN weights",
    "an optimizer learning rate as text",
    "version true",
]


@pytest.mark.parametrize("name", CORE_NAMES, ids=CORE_NAMES)
def test_hostile_checkpoint_is_refused_in_words(name):
    data, words = core_checkpoints()[name]
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(data, **budget.checkpoint_args())
    assert words in str(refused.value)


def test_an_honest_checkpoint_still_loads_through_the_budget():
    ckpt = load_checkpoint(tiny_checkpoint(), **budget.checkpoint_args())
    assert ckpt.config == TINY.replace(vocab_size=ckpt.config.vocab_size)


def test_a_saved_tokenizer_with_an_unknown_pattern_is_refused_before_compiling():
    with pytest.raises(ValueError, match="unknown pre-split pattern"):
        BPETokenizer.from_dict({"kind": "bpe", "pattern": "(a+)+$", "merges": []})


def test_pasted_text_is_held_to_the_upload_limit():
    with pytest.raises(CorpusError, match="more than the 5,000,000"):
        check_text_size("x" * 20_000_000, budget.MAX_PASTE_CHARS, "the pasted text")
    assert check_text_size(TEXT, budget.MAX_PASTE_CHARS) is TEXT


FORM_ATTACKS = [  # (model settings, tokenizer, vocabulary, text) from issue 15's live form
    ({"n_layer": 64, "n_head": 64, "block_size": 1024}, "char", None, TEXT * 5),
    ({"n_layer": 8, "n_embd": 448, "block_size": 1024}, "char", None, TEXT * 5),
    ({"block_size": 1024}, "word", 50_000, "word " * 20_000),
    ({"block_size": 1024}, "char", None, "".join(chr(0x4E00 + i) for i in range(40_000))),
]

_UNDER_A_LIMIT = """
import json, resource, sys
import torch
torch.set_num_threads(1)
from lab.engine import budget
from lab.engine.runspec import make_spec
from minigpt.training.checkpoint import CheckpointError, load_checkpoint

def status(field):  # kB figures of /proc/self/status, in bytes
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) * 1024

# Imports map most of the address space the process will ever need; allow twice the budget
# more, so a regression that allocates gigabytes fails with MemoryError instead of swapping.
vm = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * budget.budget_bytes(), resource.RLIM_INFINITY))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to now, so the imports' own peak is not counted
base, said = status("VmRSS"), []
attacks, files = json.loads(open(sys.argv[1]).read()), sys.argv[2:]
for model, tokenizer, vocab, text in attacks:
    spec, problems = make_spec(model, {}, tokenizer, vocab)
    said.append(" ".join(problems or spec.problems(text, n_vocab=vocab)))
for path in files:
    try:
        load_checkpoint(open(path, "rb").read(), **budget.checkpoint_args())
        said.append("loaded")
    except CheckpointError as e:
        said.append(str(e))
print(json.dumps({"said": said, "growth": status("VmHWM") - base}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, sets RLIMIT_AS")
def test_every_attack_is_refused_within_the_budget_under_an_address_space_limit(tmp_path):
    """The form attacks and the upload bombs in a fresh process whose address space is capped
    at what it has after its imports plus twice the request budget: each is refused in words,
    and its peak RSS grows by less than one request's budget."""
    (tmp_path / "attacks.json").write_text(json.dumps(FORM_ATTACKS))
    files = []
    for i, name in enumerate(
        [
            "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)",
            "BPE merges that double each time",
            "deeply nested JSON in the header",
            "context 4096",
        ]
    ):
        files.append(tmp_path / f"{i}.safetensors")
        files[-1].write_bytes(core_checkpoints()[name][0])
    out = subprocess.run(
        [sys.executable, "-c", _UNDER_A_LIMIT, str(tmp_path / "attacks.json"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-1000:]
    result = json.loads(out.stdout)
    for message in result["said"][: len(FORM_ATTACKS)]:
        assert "more than the" in message and "Lower " in message, message
    for message in result["said"][len(FORM_ATTACKS) :]:
        assert message != "loaded" and message[0].isalpha(), message
    assert result["growth"] < budget.budget_bytes(), result
