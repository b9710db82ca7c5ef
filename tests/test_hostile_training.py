"""Hostile input on the Live training page: texts, uploads, settings past the server's limits
and checkpoints that are not what they claim; after every row the page still trains. The rows
and their check are in tests/hostile.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.engine import background
from lab.training import state as train_state
from tests.apptest import TINY_TRAINING, errors, page_path
from tests.conftest import pickle_checkpoint, tiny_checkpoint
from tests.hostile import BINARY, HUGE, LATIN1, UTF16, Row, check, fresh, setting, upload
from tests.test_run import TEXT

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
    Row("20 MB upload", train_upload("big.txt", HUGE), "error", "larger than the 5 MB limit"),
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
