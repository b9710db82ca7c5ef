"""Issue 15's attacks through the pages that receive them: each ends in a sentence on the page,
nothing is built before the budget says yes, and the per-session caps hold.

The core (every checkpoint bomb, the form attacks under an address-space limit) is
tests/test_hostile_core.py; here the same attacks arrive the way a student sends them.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import cache, state
from lab.compare import entries as compare_entries
from lab.compare import state as cmp_state
from lab.engine import budget, views
from lab.engine.models import LabModel
from lab.next_token import state as nt_state
from lab.tokenizers import state as tok_state
from lab.training import keep
from lab.training import state as train_state
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import shakespeare_text
from tests.apptest import APP, TIMEOUT, TINY_TRAINING, errors, page_path
from tests.conftest import tiny_checkpoint
from tests.hostile import fresh, setting, upload
from tests.hostile_checkpoints import CORE_NAMES, alibi_64, core_checkpoints
from tests.test_run import SPEC, TEXT, tiny_run


def said(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.error, *at.warning, *at.info])


def with_model(path: str, lab_model: LabModel, **preset) -> AppTest:
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    state.add_session_model(lab_model.name, lab_model, session_override=at.session_state)
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


# ---------------------------------------------------------------- Live training


FORM_ATTACK = {
    **TINY_TRAINING,
    train_state.TRAIN_LAYERS: 64,
    train_state.TRAIN_HEADS: 64,
    train_state.TRAIN_WIDTH: 128,
    train_state.TRAIN_CONTEXT: 1024,
    train_state.TRAIN_BATCH: 8,
    train_state.TRAIN_PASTE: TEXT * 10,
}


def test_the_form_attack_is_refused_before_a_tokenizer_or_model_is_built(monkeypatch):
    """Layers 64, Heads 64, Context 1024: a sentence naming what to lower, Start disabled, and
    neither the tokenizer, the token ids nor the timed preview ever made."""
    built = []
    monkeypatch.setattr(cache, "run_inputs", lambda *a, **k: built.append("inputs"))
    monkeypatch.setattr(cache, "run_costs", lambda *a, **k: built.append("timed"))
    at = fresh(page_path("training"), **FORM_ATTACK)
    assert errors(at) == [] and built == []
    message = " ".join(e.value for e in at.error)
    assert "more than the" in message and "Lower " in message
    assert at.button(key=train_state.TRAIN_START).disabled


def test_a_pasted_corpus_past_the_upload_limit_is_refused_on_both_pages():
    huge = "x" * (budget.MAX_PASTE_CHARS + 1)
    at = fresh(page_path("training"), **{**TINY_TRAINING, train_state.TRAIN_PASTE: huge})
    assert errors(at) == [] and "the pasted text has 5,000,001 characters" in said(at)
    assert at.button(key=train_state.TRAIN_START).disabled
    at = fresh(
        page_path("tokenizers"),
        **{tok_state.TOK_SOURCE: "Paste text", tok_state.TOK_PASTE: huge},
    )
    assert errors(at) == [] and "the pasted text has 5,000,001 characters" in said(at)


def test_the_session_caps_are_stated_on_the_training_page():
    at = fresh(page_path("training"), **TINY_TRAINING)
    assert budget.session_caps() in [c.value for c in at.caption]


def test_an_upload_bomb_is_refused_once_and_answered_from_memory_after(monkeypatch):
    """The ALiBi 64-head checkpoint: refused in words; while it sits in the uploader the
    file is not read again on every rerun."""
    reads = []
    real = keep.load_checkpoint
    monkeypatch.setattr(keep, "load_checkpoint", lambda *a, **k: reads.append(1) or real(*a, **k))
    at = fresh(page_path("training"), **TINY_TRAINING)
    upload(train_state.TRAIN_CKPT, "bomb.safetensors", alibi_64(1024))(at)
    assert errors(at) == [] and "model needs about" in said(at)
    assert len(reads) == 1
    at.run()
    at.run()
    assert errors(at) == [] and "model needs about" in said(at)
    assert len(reads) == 1


@pytest.fixture(scope="module")
def upload_page() -> AppTest:
    return fresh(page_path("training"), **TINY_TRAINING)


@pytest.mark.parametrize("name", CORE_NAMES, ids=CORE_NAMES)
def test_every_checkpoint_bomb_is_refused_on_the_page_that_receives_it(upload_page, name):
    """The core's hostile checkpoints, uploaded where a student uploads: a sentence, and the
    page goes on (the next one is uploaded into the same session)."""
    at = upload_page
    upload(train_state.TRAIN_CKPT, f"{name[:20]}.safetensors", core_checkpoints()[name][0])(at)
    assert errors(at) == [] and "Can't use this file" in " ".join(e.value for e in at.error)
    assert not at.button(key=train_state.TRAIN_START).disabled


def test_an_uploaded_file_name_is_shown_as_plain_text():
    at = fresh(page_path("training"), **TINY_TRAINING)
    name = "![x](http://e.vil/a.png)[click](http://e.vil).safetensors"
    upload(train_state.TRAIN_CKPT, name, tiny_checkpoint())(at)
    shown = " ".join(c.value for c in at.caption)
    assert errors(at) == [] and "safetensors:" in shown and "http" in shown
    assert "](" not in shown and "![" not in shown


# ---------------------------------------------------------------- Models kept per session


def _tiny_model(name: str) -> LabModel:
    tok = CharTokenizer.train(TEXT)
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, vocab_size=tok.vocab_size)
    return LabModel(name, GPT(cfg).eval(), tok)


def test_a_session_keeps_at_most_the_cap_and_lets_the_oldest_go():
    S: dict = {}
    model = _tiny_model("m")
    for i in range(budget.MAX_MODELS_PER_SESSION):
        assert state.add_session_model(f"m{i}", model, session_override=S) == []
    assert state.add_session_model("m0", model, session_override=S) == []  # same name: replaced
    dropped = state.add_session_model("new", model, session_override=S)
    assert dropped == ["m1"]  # m0 was re-added, so m1 is now the oldest
    assert len(state.session_models(S)) == budget.MAX_MODELS_PER_SESSION
    assert "new" in state.session_models(S) and state.model_choice(S) == "new"
    sentence = state.dropped_sentence(dropped)
    assert f"at most {budget.MAX_MODELS_PER_SESSION} models" in sentence and "m1" in sentence
    assert state.dropped_sentence([]) == ""


def test_a_dropped_chosen_model_falls_back_to_the_newest():
    S: dict = {}
    model = _tiny_model("m")
    for i in range(budget.MAX_MODELS_PER_SESSION):
        state.add_session_model(f"m{i}", model, select=i == 0, session_override=S)
    assert state.model_choice(S) == "m0"
    state.add_session_model("late", model, select=False, session_override=S)
    assert state.model_choice(S) == "late"  # never a name the sidebar no longer offers


def test_one_session_trains_one_thing_at_a_time(monkeypatch):
    monkeypatch.setattr(state.st, "session_state", {})
    training, comparing = type("Box", (), {"running": False})(), type("Box", (), {})()
    comparing.running = False
    assert state.busy_training("Training", training) is None
    training.running = True
    busy = state.busy_training("Compare", comparing)
    assert "already training on the Training page" in busy
    training.running = False
    assert state.busy_training("Compare", comparing) is None


# ---------------------------------------------------------------- Time cap


def test_a_run_stops_at_its_time_limit_with_a_sentence():
    run = tiny_run(dataclasses.replace(SPEC, train=SPEC.train.replace(max_iters=10_000)))
    run.time_limit = 0.0  # already spent: the first step ends it
    run.advance(5.0)
    assert run.done and run.steps_done == 1
    assert "minutes of training one run may take" in run.failure


def test_a_comparison_shares_the_time_cap_among_its_runs():
    from lab.engine.comparison import LiveComparison

    spec = compare_entries.LIVE_PRESETS[next(iter(compare_entries.LIVE_PRESETS))]
    spec = dataclasses.replace(spec, encodings=("learned", "rope"), seeds=(0, 1))
    text = shakespeare_text()[:20_000]
    tok = CharTokenizer.train(text)
    from minigpt.training.data import TokenData

    comp = LiveComparison(spec, text, tok, TokenData.from_text(text, tok, 0.1))
    assert all(r.time_limit == budget.MAX_RUN_SECONDS / 4 for r in comp.runs.values())


# ---------------------------------------------------------------- A run that diverged


@pytest.fixture(scope="module")
def diverged() -> LabModel:
    """A run at learning rate 10 with no warmup: its second step blows up and is rolled back."""
    train = SPEC.train.replace(learning_rate=10.0, warmup_iters=0, grad_clip=0.0, max_iters=300)
    run = tiny_run(dataclasses.replace(SPEC, train=train))
    while not run.done:
        run.advance(1.0)
    assert run.failure and "diverged" in run.failure
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    return LabModel("Diverged run", run.frozen_model(), run.tokenizer, run.metrics_rows())


def test_a_diverged_run_still_works_on_home_and_attention(diverged):
    home = with_model(APP, diverged, **{state.MAX_NEW_TOKENS: 20})
    assert errors(home) == [] and not home.error
    assert home.code and home.code[0].value.startswith("ROMEO:")
    attn = with_model(page_path("attention"), diverged)
    assert errors(attn) == [] and not attn.error and attn.get("plotly_chart")


# ---------------------------------------------------------------- Attention, sampling, next token


def test_attention_over_budget_says_so_before_running(monkeypatch):
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "1")
    at = fresh(page_path("attention"))
    assert errors(at) == []
    assert "Showing attention for this text needs about" in " ".join(e.value for e in at.error)
    assert not at.get("plotly_chart")
    # Its continue button is asked too, and says so in words.
    at.button(key="attention.continue").click().run()
    assert errors(at) == []
    assert "Generating this text needs about" in " ".join(e.value for e in at.error)


def test_the_induction_score_runs_only_as_many_rows_as_the_budget_allows(monkeypatch):
    tok = CharTokenizer.train(TEXT)
    cfg = GPTConfig(n_layer=2, n_head=4, n_embd=32, block_size=1024, vocab_size=tok.vocab_size)
    lab_model = LabModel("long context", GPT(cfg).eval(), tok)
    seen = []
    real = views.induction_scores
    monkeypatch.setattr(views, "induction_scores", lambda m, **k: seen.append(k) or real(m, **k))
    cache.induction_scores.clear()
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "8")  # 4 rows of 128 fit, not 12
    cache.induction_scores(lab_model)
    (asked,) = seen  # as many rows of repeated segments (128 tokens) as one capture may hold
    assert 1 <= asked["batch"] < 12
    assert budget.tokens_that_fit(cfg, "capture", asked["batch"]) >= 128


def test_a_huge_prompt_and_an_over_budget_generation_are_refused_in_words(monkeypatch):
    at = fresh(APP, **{state.HOME_PROMPT: "a" * (budget.MAX_PROMPT_CHARS + 1)})
    assert errors(at) == [] and "the prompt has 20,001 characters" in said(at)
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "1")
    setting(**{state.HOME_PROMPT: "ROMEO:\n"})(at)
    assert errors(at) == [] and "Generating this text needs about" in said(at)


def test_the_next_token_page_asks_the_budget(monkeypatch):
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "1")
    at = fresh(page_path("next_token"), **{nt_state.PROMPT: "ROMEO:\n"})
    assert errors(at) == [] and "Generating this text needs about" in said(at)


# ---------------------------------------------------------------- Compare


def test_runs_held_at_once_are_summed_against_the_budget(monkeypatch):
    """Each run fits alone, all of them together do not: the sum is refused, naming how many fit."""
    spec = compare_entries.LIVE_PRESETS[list(compare_entries.LIVE_PRESETS)[-1]]
    spec = dataclasses.replace(spec, encodings=("learned", "rope", "alibi"), seeds=(0, 1, 2))
    text = shakespeare_text()
    one = dataclasses.replace(spec, encodings=("learned",), seeds=(0,))
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "1000")
    assert spec.problems(text) == [] and one.problems(text) == []
    runs = [r.request(len(set(text))) for r in one.run_specs()]
    alone = budget.total_bytes(dataclasses.replace(runs[0], copies=1))
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", str(alone * 2 / 1e6))
    assert one.problems(text) == []
    (message,) = spec.problems(text)
    assert "These 9 runs together need about" in message and "runs of this size fit" in message


def test_the_compare_page_refuses_a_comparison_over_budget_in_words(monkeypatch):
    monkeypatch.setenv("MINIGPT_MEMORY_BUDGET_MB", "1")
    at = fresh(page_path("compare"), **{cmp_state.CMP_ENCODINGS: ["rope", "alibi"]})
    at.button(key=cmp_state.CMP_START).click().run()
    assert errors(at) == [] and "needs about" in " ".join(e.value for e in at.error)
