"""One server, many students: what one session does never changes what another sees.

Two AppTests in one process share every st.cache_resource, as two browser tabs on one server
do. Session A changes the sidebar, trains a tiny run, makes it the sidebar's model and looks at
it on the attention page; session B's model choice, options and generated text stay the same,
and the shipped model (shared by both) keeps bit-identical weights, no gradients and no hooks.
Plus the global random generator, which every session's thread shares.
"""

from __future__ import annotations

import threading

import torch
from streamlit.testing.v1 import AppTest

from lab import cache, state
from lab.engine.liverun import LiveRun
from lab.engine.runspec import RunSpec
from lab.training import state as train_state
from minigpt import rng
from minigpt.analysis.extrapolation import same_start_models
from minigpt.config import PRESETS
from minigpt.model import GPT
from minigpt.training.checkpoint import load_checkpoint, save_checkpoint
from minigpt.training.trainer import Trainer
from tests.apptest import APP, TIMEOUT, TINY_TRAINING, errors
from tests.test_run import FAST, TEXT, TINY

TINY_RUN = {**TINY_TRAINING, train_state.TRAIN_STEPS: 8}


def shown(at: AppTest) -> dict:
    """What a student sees of the shared parts: model choice and options, sampling, the text."""
    choice = at.sidebar.selectbox(key=state.MODEL_CHOICE)
    return {
        "choice": choice.value,
        "options": list(choice.options),
        "temperature": at.sidebar.slider(key=state.TEMPERATURE).value,
        "seed": at.sidebar.number_input(key=state.SEED).value,
        "text": [c.value for c in at.code],
    }


def router() -> AppTest:
    """The whole app on Home, with short continuations (they are generated on every change)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[state.MAX_NEW_TOKENS] = 30
    return at.run()


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_one_session_training_and_settings_never_reach_another(short_slices):
    shipped = cache.shipped_model()
    weights, tokens = snapshot(shipped.model), shipped.tokenizer.to_dict()

    b = router()
    before = shown(b)
    assert before["choice"] == state.SHIPPED_MODEL and before["text"]

    a = router()
    a.sidebar.slider(key=state.TEMPERATURE).set_value(1.7).run()
    a.sidebar.number_input(key=state.SEED).set_value(7).run()
    for key, value in TINY_RUN.items():
        a.session_state[key] = value
    a.switch_page("../pages/training.py").run()
    a.button(key=train_state.TRAIN_START).click().run()
    state.trainer_in(a.session_state).trainer.join(timeout=120)  # the run trains to its end
    a.run()
    a.button(key=train_state.TRAIN_USE).click().run()
    a.switch_page("../pages/attention.py").run()
    assert errors(a) == []
    assert a.session_state[state.MODEL_CHOICE] == "Live run 1 (step 8)"
    a.switch_page("../pages/home.py").run()
    assert shown(a)["options"] == [
        state.SHIPPED_MODEL,
        state.INDUCTION_MODEL,
        "Live run (step 8)",
        "Live run 1 (step 8)",
    ]

    cache.continuation.clear()  # B's text is generated again by the shared model, not replayed
    b.run()
    assert errors(b) == [] and shown(b) == before
    assert (
        train_state.training_box_in(b.session_state) is None
    )  # A's run lives in A's session alone

    assert not shipped.model.training
    assert not any(p.requires_grad for p in shipped.model.parameters())
    after = snapshot(shipped.model)
    assert all(torch.equal(weights[k], after[k]) for k in weights)  # bit-identical
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in shipped.model.modules())
    assert shipped.tokenizer.to_dict() == tokens


def test_cached_resources_are_read_only_in_practice():
    """Every st.cache_resource value is shared by all sessions: nothing may train or edit it."""
    shipped = cache.shipped_model()
    assert not shipped.model.training
    assert not any(p.requires_grad for p in shipped.model.parameters())
    chars = cache.char_tokenizer(TEXT)
    kept = list(chars.chars), dict(chars.stoi)
    chars.known(TEXT + "☃")
    chars.encode(TEXT)
    assert (chars.chars, chars.stoi) == kept
    tok, data = cache.run_inputs("test-shared", "char", None, 0.1, TEXT)
    ids = data.ids.clone()
    run = LiveRun(RunSpec(corpus_key="test-shared", model=TINY, train=FAST), TEXT,
                  tokenizer=tok, data=data)  # fmt: skip
    while not run.done:
        run.advance(10.0)
    assert torch.equal(data.ids, ids)  # training reads the shared tokens, never writes them
    assert (
        run.model is not None
        and tok.to_dict() == cache.run_inputs("test-shared", "char", None, 0.1, TEXT)[0].to_dict()
    )


# ---------------------------------------------------------------- the global random generator


def _concurrently(make, seeds: list[int]) -> dict[int, object]:
    """make(seed) for every seed on its own thread, all at once, as sessions' scripts run."""
    out: dict[int, object] = {}
    barrier = threading.Barrier(len(seeds))

    def work(seed: int) -> None:
        barrier.wait()
        out[seed] = make(seed)

    threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


CFG = PRESETS["lab-tiny"].replace(vocab_size=40)


def _seeded_model(seed: int) -> dict[str, torch.Tensor]:
    with rng.seeded(seed):
        return GPT(CFG).state_dict()


def test_seeded_models_built_at_once_match_the_same_seeds_built_alone():
    alone = {s: _seeded_model(s) for s in (1, 2, 3)}
    together = _concurrently(_seeded_model, [1, 2, 3])
    assert all(_same(alone[s], together[s]) for s in alone)
    state_before = torch.get_rng_state()
    _seeded_model(4)
    assert torch.equal(torch.get_rng_state(), state_before)  # the caller's stream comes back


def test_same_start_comparisons_and_checkpoint_loads_at_once_stay_exact():
    def start(seed: int):
        return {
            p: m.state_dict() for p, m in same_start_models(CFG, ["learned", "rope"], seed).items()
        }

    alone = {s: start(s) for s in (0, 1)}
    blob = save_checkpoint(None, GPT(CFG), _char_tokenizer())

    def both(seed: int):  # a comparison starting while another session loads a checkpoint
        return start(seed) if seed < 2 else load_checkpoint(blob)

    together = _concurrently(both, [0, 1, 2, 3])
    for s in (0, 1):
        assert all(_same(alone[s][p], together[s][p]) for p in alone[s])


def _char_tokenizer():
    from minigpt.tokenizers.tokenizer import CharTokenizer

    return CharTokenizer.train("".join(chr(48 + i) for i in range(40)))  # 40 characters


def test_dropout_runs_trained_at_once_match_the_same_runs_trained_alone():
    from minigpt.training.data import TokenData

    data = TokenData(torch.arange(2000) % 40)
    cfg = CFG.replace(dropout=0.2)

    def train(seed: int) -> dict[str, torch.Tensor]:
        with rng.seeded(0):  # every draw from the global generator takes its lock
            model = GPT(cfg)
        trainer = Trainer(model, data, FAST.replace(seed=seed, max_iters=6))
        for _ in range(6):
            trainer.step()
        return model.state_dict()

    alone = {s: train(s) for s in (1, 2)}
    together = _concurrently(train, [1, 2])
    assert all(_same(alone[s], together[s]) for s in alone)


def test_two_students_starting_the_same_run_at_once_get_the_same_model():
    spec = RunSpec(corpus_key="test", model=PRESETS["lab-live"], train=FAST)
    tok, data = cache.run_inputs("test-shared", "char", None, FAST.val_fraction, TEXT)

    def start(student: int) -> dict[str, torch.Tensor]:
        return LiveRun(spec, TEXT, tokenizer=tok, data=data).model.state_dict()

    alone = start(0)
    for _ in range(4):  # the race needs the threads to overlap inside the model's init
        together = _concurrently(start, [0, 1, 2])
        assert all(_same(alone, together[s]) for s in together)


def test_a_session_keeps_its_last_finished_runs_only():
    """Each record holds a model: past MAX_FINISHED_RUNS the oldest is let go, newest kept."""
    from types import SimpleNamespace

    from lab import state

    session: dict = {}
    for i in range(state.MAX_FINISHED_RUNS + 3):
        state.add_finished_run(SimpleNamespace(name=f"Live run {i + 1}"), session)
    names = [r.name for r in state.finished_runs(session)]
    assert len(names) == state.MAX_FINISHED_RUNS
    assert names[-1] == f"Live run {state.MAX_FINISHED_RUNS + 3}"
    assert "Live run 1" not in names
    state.add_finished_run(SimpleNamespace(name=names[0]), session)  # re-kept: moves to the end
    assert [r.name for r in state.finished_runs(session)][-1] == names[0]
