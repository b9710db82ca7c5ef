"""The Compare page: shipped results at once, alone and through the router; the reading switch
changes the chart; a live comparison trains and is measured; added runs are flagged; the table
has no empty cells, perplexity applies to every view, and sample cards name their seed. The
pure pieces behind it are tests/test_compare_pieces.py."""

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import state
from lab.cache.compare import COMPARE_RESULTS
from lab.compare import entries as compare_entries
from lab.compare import results as compare_results
from lab.compare import state as cmp_state
from lab.compare import table as compare_table
from lab.engine.models import LabModel
from lab.engine.runs import RunRecord
from minigpt import GPT, GPTConfig
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import shakespeare_text
from minigpt.training.trainer import TrainConfig
from tests.apptest import TIMEOUT, errors, page_path, run_page, run_router
from tests.compare_page import TINY, TINY_SPEC, array, entry, notes, titled, trace


@pytest.fixture(scope="module")
def alone() -> AppTest:
    return run_page("compare")


def test_the_page_runs_alone_and_shows_the_shipped_comparison_at_once(alone):
    assert errors(alone) == []
    curves = titled(alone, "Training curves")
    assert {t["name"] for t in curves["data"] if "name" in t} >= {
        "learned",
        "alibi (validation)",
    }
    text = "\n".join(m.value for m in alone.markdown)
    assert "Measured on held-out text, 3 seeds per encoding" in text
    assert "not defined for **learned**" in text
    assert len(alone.get("download_button")) >= 2


def test_learned_is_shown_as_undefined_past_its_table(alone):
    spec = titled(alone, "Held-out loss over non-overlapping windows")
    learned = trace(spec, "learned")
    x, y = np.array(learned["x"]), array(learned["y"])
    assert np.isfinite(y[x <= 64]).all() and np.isnan(y[x > 64]).all()
    assert any(n.startswith("learned: no positions past 64") for n in notes(spec))
    assert np.isfinite(array(trace(spec, "alibi")["y"])).all()  # the others run at any length
    table = alone.table[0].value
    assert table.set_index("run").loc["learned", "4× (256)"] == compare_table.DASH


def test_switching_the_reading_changes_the_chart():
    at = run_page("compare")
    before = titled(at, "Held-out loss over")
    at.radio(key=cmp_state.CMP_READING).set_value("position").run()
    assert errors(at) == []
    after = titled(at, "Held-out loss at each token position")
    assert trace(before, "alibi")["x"] == [32, 48, 64, 80, 96, 128, 192, 256]
    assert trace(after, "alibi")["x"] == list(range(256))
    learned = array(trace(after, "learned")["y"])
    assert np.isfinite(learned[:64]).all() and np.isnan(learned[64:]).all()
    assert "at positions 64-127" in "\n".join(m.value for m in at.markdown)


def test_the_page_runs_through_the_router():
    at = run_router("compare")
    assert errors(at) == []
    assert at.title[0].value == "Compare positional encodings"


def test_a_live_comparison_trains_then_is_measured(monkeypatch):
    monkeypatch.setitem(compare_entries.LIVE_PRESETS, TINY, TINY_SPEC)
    at = AppTest.from_file(page_path("compare"), default_timeout=TIMEOUT)
    at.session_state[cmp_state.CMP_PRESET] = TINY
    at.session_state[cmp_state.CMP_ENCODINGS] = ["learned", "rope"]
    at.run()
    at.button(key=cmp_state.CMP_START).click().run()
    assert errors(at) == [] and "Training: step" in " ".join(i.value for i in at.info)
    # It trains on the session's thread; once that ends, a run() stands for the fragment's
    # poll (AppTest never ticks run_every).
    state.trainer_in(at.session_state).trainer.join(timeout=120)
    at.run()
    assert errors(at) == []
    assert any(s.value.startswith("Done: 2 runs of 12 steps") for s in at.success)
    spec = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]  # yours: the last
    learned = trace(spec, "learned")
    x, y = np.array(learned["x"]), array(learned["y"])
    assert np.isfinite(y[x <= 8]).all() and np.isnan(y[x > 8]).all()
    assert np.isfinite(array(trace(spec, "rope")["y"])).all()
    assert any(n.startswith("learned: no positions past 8") for n in notes(spec))
    assert at.button(key=cmp_state.CMP_START).disabled  # nothing left to resume


@pytest.fixture(scope="module")
def record() -> RunRecord:
    tok = CharTokenizer.train(shakespeare_text())
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=tok.vocab_size)
    torch.manual_seed(0)
    model = LabModel("my run (step 2)", GPT(cfg).eval(), tok)
    metrics = [{"step": 1, "train_loss": 4.3}, {"step": 2, "train_loss": 4.1, "val_loss": 4.2}]
    return RunRecord(
        "my run",
        cfg,
        TrainConfig(learning_rate=0.01),
        "char",
        "shakespeare",
        metrics,
        [(2, "ROMEO:\nxyz")],
        model,
        0.01,
    )


def test_a_finished_run_is_added_and_flagged_for_differing_in_more_than_its_encoding(record):
    at = AppTest.from_file(page_path("compare"), default_timeout=TIMEOUT)
    state.add_finished_run(record, at.session_state)  # as the Training page keeps them
    at.session_state[cmp_state.CMP_IMPORTED] = ["my run"]
    at.run()
    assert errors(at) == []
    (warning,) = [w.value for w in at.warning]
    assert "differs in more than the encoding" in warning
    assert "n_layer: 2 (reference: 2)" not in warning
    assert "n_embd: 16 (reference: 64)" in warning and "learning_rate: 0.01" in warning
    spec = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]
    mine = trace(spec, "my run (learned)")
    x, y = np.array(mine["x"]), array(mine["y"])
    assert np.isfinite(y[x <= 8]).all() and np.isnan(y[x > 8]).all()


def test_the_page_table_has_no_none_cells(alone):
    table = alone.table[0].value
    assert not table.isna().any().any() and not (table.astype(str) == "None").any().any()


def test_the_tables_dashes_are_explained_on_the_page(alone):
    """A dash stands where a learned table cannot read (4x its length): the caption right under
    the table says what a dash means, and its tooltip says it for each column that has one."""
    table = alone.table[0].value
    dashed = [c for c in table.columns if (table[c] == compare_table.DASH).any()]
    assert "4× (256)" in dashed  # learned's row: 256 tokens, past its 64 positions
    (note,) = [c for c in alone.caption if c.proto.help and "ms/step" in c.value]
    assert note.value.endswith(compare_table.UNDEFINED)  # shown, not only on hover
    tips = dict(tip.split("**: ", 1) for tip in note.proto.help.split("\n\n"))
    for column in dashed:
        assert tips[f"**{column}"].endswith(compare_table.UNDEFINED), column
    assert tips["**4× (256)"] == (
        "Held-out loss over windows of 256 tokens, 4× the training length. "
        + compare_table.UNDEFINED
    )


def test_the_perplexity_switch_applies_to_every_view_of_the_page():
    at = run_page("compare")
    at.radio(key=cmp_state.CMP_METRIC).set_value("perplexity").run()
    assert errors(at) == []
    assert titled(at, "Training curves (perplexity)")["layout"]["yaxis"]["type"] == "log"
    extra = titled(at, "Held-out perplexity over non-overlapping windows")
    assert extra["layout"]["yaxis"]["type"] == "log"
    alibi = array(trace(extra, "alibi")["y"])
    assert (alibi > 1).all()  # perplexities, not losses (a loss here is about 2.3)
    assert "val ppl" in at.table[0].value.columns
    assert "in perplexity" in "\n".join(m.value for m in at.markdown)


def test_sample_cards_name_the_sampling_seed_actually_used(alone):
    results = json.loads(COMPARE_RESULTS.read_text())
    seed = results["sampling"]["seed"]
    cards = [c.value for c in alone.caption if "sampled with seed" in c.value]
    assert cards and all(f"sampled with seed {seed}" in c for c in cards)
    e = entry("rope", 2, [2.0, 1.9, 1.9])
    assert compare_results.sample_origin(e, 7) == "model seed 2, sampled with seed 7"
    assert compare_results.sample_origin(e, None) == "model seed 2, logged while it trained"
