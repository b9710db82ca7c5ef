"""Properties of the GPT: causality, both attention paths agree, extrapolation rules, GPT-2 parity."""

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch

from minigpt import GPT, GPTConfig
from minigpt.analysis.probes import capture
from minigpt.config import POS_EMBS
from minigpt.kvcache import KVCache
from minigpt.model import ContextTooLongError
from minigpt.shapes import count_params
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig, Trainer


def tiny(pos_emb: str = "learned", **kw) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=23, pos_emb=pos_emb, **kw
    )
    return GPT(cfg).eval()


@pytest.mark.parametrize("pos_emb", POS_EMBS)
def test_changing_a_later_token_leaves_earlier_logits_unchanged(pos_emb):
    model = tiny(pos_emb)
    idx = torch.randint(0, 23, (1, 16))
    changed = idx.clone()
    changed[0, 9] = (changed[0, 9] + 1) % 23
    a, _ = model(idx)
    b, _ = model(changed)
    torch.testing.assert_close(a[:, :9], b[:, :9])
    assert not torch.allclose(a[:, 9:], b[:, 9:])


@pytest.mark.parametrize("pos_emb", POS_EMBS)
def test_explicit_attention_path_gives_the_same_output_as_the_fast_path(pos_emb):
    model = tiny(pos_emb)
    idx = torch.randint(0, 23, (3, 16))
    fast, _ = model(idx)
    with capture(model) as seen:
        explicit, _ = model(idx)
    assert set(seen) == {"h.0.attn.probs", "h.1.attn.probs"}
    torch.testing.assert_close(fast, explicit, atol=1e-5, rtol=1e-5)


def test_capture_stops_watching_even_after_an_error():
    model = tiny()
    idx = torch.randint(0, 23, (1, 8))
    with pytest.raises(RuntimeError), capture(model) as seen:
        raise RuntimeError("boom")
    model(idx)
    assert seen == {} and not any(m._forward_hooks for m in model.modules())


def test_learned_positions_refuse_a_longer_context_and_name_the_limit():
    model = tiny("learned")
    with pytest.raises(ContextTooLongError, match="block_size=16"):
        model(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("pos_emb", ["sinusoidal", "rope", "alibi", "none"])
def test_other_encodings_run_past_the_training_length(pos_emb):
    logits, _ = tiny(pos_emb)(torch.zeros(1, 40, dtype=torch.long))
    assert logits.shape == (1, 40, 23) and torch.isfinite(logits).all()


def test_loss_of_a_fresh_model_is_near_the_uniform_guess():
    model = tiny()
    idx, targets = torch.randint(0, 23, (2, 4, 16))
    _, loss = model(idx, targets=targets)  # not idx itself: tied weights favour repeating a token
    assert abs(loss.item() - torch.log(torch.tensor(23.0)).item()) < 0.3


def test_weights_are_tied():
    model = tiny()
    assert model.lm_head.weight is model.wte.weight


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt2-small", 124_439_808),
        ("gpt2-medium", 354_823_168),
        ("gpt2-large", 774_030_080),
        ("gpt2-xl", 1_557_611_200),
    ],
)
def test_gpt2_presets_have_gpt2_parameter_counts_without_allocating(name, expected):
    assert count_params(GPTConfig.preset(name)) == expected


def test_count_params_matches_a_built_model():
    model = tiny()
    assert count_params(model.config) == model.num_params()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_embd": 30, "n_head": 4}, "divide"),
        ({"block_size": 0}, "block_size"),
        ({"pos_emb": "spiral"}, "pos_emb"),
        ({"n_embd": 12, "n_head": 4, "pos_emb": "rope"}, "even"),
    ],
)
def test_impossible_configs_are_refused_in_words(changes, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**changes)


def test_scaled_embeddings_change_the_output():
    idx = torch.randint(0, 23, (1, 8))
    a, _ = tiny()(idx)
    b, _ = tiny(scale_embeddings=True)(idx)
    assert not torch.allclose(a, b)


def test_from_hf_gpt2_matches_transformers_logits():
    transformers = pytest.importorskip("transformers")
    hf_cfg = transformers.GPT2Config(
        n_layer=2,
        n_head=4,
        n_embd=64,
        n_positions=32,
        vocab_size=101,
        resid_pdrop=0,
        embd_pdrop=0,
        attn_pdrop=0,
    )
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(hf_cfg).eval()
    # Random init leaves biases at zero; make them matter so a swapped bias would be caught.
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.02)
    cfg = GPTConfig(n_layer=2, n_head=4, n_embd=64, block_size=32, vocab_size=101, gelu="tanh")
    ours = GPT.from_hf_gpt2(hf.state_dict(), cfg).eval()
    idx = torch.randint(0, 101, (2, 32))
    with torch.no_grad():
        expected = hf(idx).logits
    actual, _ = ours(idx)
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)


def feed_in_pieces(model: GPT, idx: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Logits for idx fed through one KVCache a few tokens at a time."""
    cache = KVCache.empty(model.config.n_layer)
    pieces, start = [], 0
    for size in sizes:
        logits, _ = model(idx[:, start : start + size], cache=cache)
        pieces.append(logits)
        start += size
    assert len(cache) == idx.size(1)
    return torch.cat(pieces, dim=1)


@pytest.mark.parametrize("pos_emb", POS_EMBS)
@pytest.mark.parametrize("explicit", [False, True])
def test_cached_forward_in_pieces_equals_one_full_forward(pos_emb, explicit):
    model = tiny(pos_emb)
    idx = torch.randint(0, 23, (3, 16))
    full, _ = model(idx)
    # A prompt, single tokens, and a chunk after cached tokens (its mask is a shifted triangle).
    sizes = [5, 1, 1, 4, 1, 4]
    if explicit:
        with capture(model) as seen:
            pieced = feed_in_pieces(model, idx, sizes)
        assert seen["h.0.attn.probs"].shape == (3, 2, 4, 16)  # the last 4 queries, all 16 keys
    else:
        pieced = feed_in_pieces(model, idx, sizes)
    torch.testing.assert_close(pieced, full, atol=1e-5, rtol=1e-5)


def test_a_cache_leaves_no_state_on_the_model():
    model = tiny("rope")

    def snapshot():  # every module's attributes and every tensor's values
        attrs = {name: set(vars(m)) for name, m in model.named_modules()}
        named = [*model.named_parameters(), *model.named_buffers()]  # rope angles too
        return attrs, {k: v.clone() for k, v in named}

    attrs, tensors = snapshot()
    model(torch.randint(0, 23, (1, 6)), cache=KVCache.empty(model.config.n_layer))
    after_attrs, after_tensors = snapshot()
    assert after_attrs == attrs
    assert all(torch.equal(after_tensors[k], t) for k, t in tensors.items())


def test_learned_positions_refuse_a_cache_that_outgrows_the_table():
    model = tiny("learned")
    cache = KVCache.empty(model.config.n_layer)
    model(torch.zeros(1, 16, dtype=torch.long), cache=cache)
    with pytest.raises(ContextTooLongError, match="17 tokens"):
        model(torch.zeros(1, 1, dtype=torch.long), cache=cache)


def as_previous_release(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict in the layout releases before c_attn wrote: query, key, value layers."""
    old = {}
    for name, t in state.items():
        if ".attn.c_attn." in name:
            for layer, part in zip(("query", "key", "value"), t.chunk(3), strict=True):
                old[name.replace("c_attn", layer)] = part.clone()
        else:
            old[name] = t
    return old


def test_a_state_dict_from_before_c_attn_loads_with_identical_logits():
    model = tiny("rope")
    old = as_previous_release(model.state_dict())
    assert "h.0.attn.query.weight" in old and "h.0.attn.c_attn.weight" not in old
    fresh = GPT(model.config).eval()
    fresh.load_state_dict(old)  # strict: every name accounted for
    idx = torch.randint(0, 23, (2, 16))
    assert torch.equal(fresh(idx)[0], model(idx)[0])


def test_a_checkpoint_file_from_before_c_attn_loads_with_identical_logits():
    from minigpt.tokenizers.tokenizer import CharTokenizer
    from minigpt.training.checkpoint import load_checkpoint, save_checkpoint

    model = tiny()
    tok = CharTokenizer.train("abcdefghijklmnopqrstuvw")
    data = save_checkpoint(None, model, tok)
    # Rewrite the file's tensors in the previous release's names; the metadata stays as it was.
    header_len = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + header_len])["__metadata__"]
    tensors = safetensors.torch.load(data)
    weights = {k.removeprefix("model."): v for k, v in tensors.items()}
    old = {f"model.{k}": v for k, v in as_previous_release(weights).items()}
    old_file = safetensors.torch.save(old, metadata=metadata)
    loaded = load_checkpoint(old_file).model
    idx = torch.randint(0, 23, (2, 16))
    assert torch.equal(loaded(idx)[0], model(idx)[0])


def test_the_shipped_checkpoint_is_in_the_old_layout_and_loads():
    from minigpt.training.checkpoint import load_checkpoint

    path = Path(__file__).resolve().parents[1] / "assets" / "shakespeare" / "checkpoint.safetensors"
    names = safetensors.torch.load_file(path)
    assert "model.h.0.attn.query.weight" in names  # written by the release before c_attn
    model = load_checkpoint(path).model
    stacked = torch.cat([names[f"model.h.0.attn.{n}.weight"] for n in ("query", "key", "value")])
    assert torch.equal(model.h[0].attn.c_attn.weight, stacked)
    logits, _ = model(torch.zeros(1, 8, dtype=torch.long))
    assert torch.isfinite(logits).all()


def previous_release_trainer_state(trainer: Trainer) -> dict:
    """trainer.state_dict() as releases before c_attn saved it: Adam's moments per layer."""
    state = trainer.state_dict()
    opt = state["optimizer"]
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    groups, moments = [], {}
    for group, saved in zip(trainer.optimizer.param_groups, opt["param_groups"], strict=True):
        ids = []
        for p, saved_id in zip(group["params"], saved["params"], strict=True):
            parts = 3 if ".c_attn." in names[id(p)] else 1
            for k in range(parts):
                entry = opt["state"][saved_id]
                ids.append(len(moments))
                moments[len(moments)] = {  # copies: the live state keeps changing
                    key: (v.chunk(parts)[k] if v.dim() else v).clone() for key, v in entry.items()
                }
        groups.append({**saved, "params": ids})
    return {**state, "optimizer": {"state": moments, "param_groups": groups}}


def test_a_training_state_from_before_c_attn_resumes_exactly():
    data = TokenData(torch.randint(0, 23, (600,), generator=torch.Generator().manual_seed(1)))
    cfg = TrainConfig(batch_size=4, max_iters=10, warmup_iters=2)
    ours = Trainer(tiny(), data, cfg)
    for _ in range(3):
        ours.step()
    old = Trainer(GPT(ours.model.config), data, cfg)
    old.model.load_state_dict(as_previous_release(ours.model.state_dict()))
    old.load_state_dict(previous_release_trainer_state(ours))
    assert [ours.step().loss for _ in range(2)] == [old.step().loss for _ in range(2)]
    for a, b in zip(ours.model.parameters(), old.model.parameters(), strict=True):
        assert torch.equal(a, b)
