"""The comparison changes only the encoding; extrapolation is measured honestly."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from minigpt.analysis.extrapolation import (
    Extrapolation,
    SeedStats,
    extrapolation_lengths,
    extrapolation_losses,
    holds_until,
    ranking,
    same_start_models,
    seed_stats,
    shared_parameter_names,
    start_trainers,
)
from minigpt.cli.experiments import main
from minigpt.config import POS_EMBS, GPTConfig
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig

CFG = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=12)
FAST = TrainConfig(batch_size=4, max_iters=6, warmup_iters=1, eval_iters=1, eval_interval=3)
IDS = torch.randint(0, 12, (400,), generator=torch.Generator().manual_seed(3))


def test_shared_parts_start_from_identical_weights():
    models = same_start_models(CFG, POS_EMBS, seed=7)
    names = shared_parameter_names(list(models.values()))
    assert "h.0.attn.c_attn.weight" in names and "wte.weight" in names
    first = dict(models["learned"].named_parameters())
    for model in models.values():
        params = dict(model.named_parameters())
        for name in names:
            assert torch.equal(params[name], first[name]), name
    # Only the learned table is extra, and it holds block_size x n_embd numbers.
    extra = set(first) - set(names)
    assert extra == {"wpe.weight"}
    assert models["learned"].num_params() - models["none"].num_params() == 8 * 16


def test_start_does_not_depend_on_which_encodings_are_compared():
    alone = same_start_models(CFG, ["rope"], seed=7)["rope"]
    among = same_start_models(CFG, ["learned", "alibi", "rope"], seed=7)["rope"]
    for a, b in zip(alone.parameters(), among.parameters(), strict=True):
        assert torch.equal(a, b)
    other_seed = same_start_models(CFG, ["rope"], seed=8)["rope"]
    assert not torch.equal(alone.wte.weight, other_seed.wte.weight)


def test_the_callers_random_state_is_left_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    same_start_models(CFG, ["learned"], seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_unknown_encodings_are_refused():
    with pytest.raises(ValueError, match="choose encodings"):
        same_start_models(CFG, ["learned", "relative"], seed=0)


class RecordingData(TokenData):
    """TokenData that remembers every training batch it served."""

    def __init__(self, ids):
        super().__init__(ids, 0.2)
        self.served: list[torch.Tensor] = []

    def get_batch(self, split, batch_size, block_size, generator=None):
        x, y = super().get_batch(split, batch_size, block_size, generator)
        if split == "train":
            self.served.append(x)
        return x, y


def test_every_model_trains_on_the_same_batches_in_the_same_order():
    data = RecordingData(IDS)
    trainers = start_trainers(CFG, FAST, data, POS_EMBS, seed=4)
    for _ in range(3):
        for trainer in trainers.values():  # interleaved, as the page and the CLI train
            trainer.step()
    per_model = [data.served[i :: len(trainers)] for i in range(len(trainers))]
    for batches in per_model[1:]:
        assert all(torch.equal(a, b) for a, b in zip(batches, per_model[0], strict=True))
    configs = {t.config for t in trainers.values()}
    assert len(configs) == 1 and next(iter(configs)).seed == 4
    shapes = {t.model.config.replace(pos_emb="none") for t in trainers.values()}
    assert len(shapes) == 1  # the model configs differ in pos_emb alone


def test_extrapolation_lengths_run_from_half_to_four_times():
    lengths = extrapolation_lengths(64)
    assert lengths == [32, 48, 64, 80, 96, 128, 192, 256]
    assert min(lengths) == 32 and max(lengths) >= 4 * 64


@pytest.mark.parametrize("mode", ["windows", "position"])
def test_learned_is_undefined_past_its_table_and_numbers_are_finite_where_defined(mode):
    models = same_start_models(CFG, POS_EMBS, seed=0)
    lengths = extrapolation_lengths(CFG.block_size)
    for pos_emb, model in models.items():
        result = extrapolation_losses(model, IDS, lengths, mode)
        assert len(result.x) == len(result.loss) == len(result.tokens)
        for x, loss, tokens in zip(result.x, result.loss, result.tokens, strict=True):
            readable = pos_emb != "learned" or x < CFG.block_size or (mode == "windows" and x == 8)
            if readable:
                assert loss is not None and math.isfinite(loss) and tokens > 0, (pos_emb, x)
            else:
                assert loss is None and tokens == 0, (pos_emb, x)
        assert result.limit == (CFG.block_size if pos_emb == "learned" else None)


def test_windows_reading_is_the_mean_loss_over_side_by_side_windows():
    model = same_start_models(CFG, ["rope"], seed=0)["rope"].eval()
    result = extrapolation_losses(model, IDS, [5], "windows", max_tokens=101)
    x = IDS[:100].view(20, 5)  # 100 inputs in 20 windows; the 101st token is the last target
    y = IDS[1:101].view(20, 5)
    with torch.no_grad():
        logits, _ = model(x)
    expected = F.cross_entropy(logits.reshape(-1, 12), y.reshape(-1)).item()
    assert result.loss == [pytest.approx(expected, abs=1e-5)]
    assert result.tokens == [100]


def test_a_position_sees_only_the_tokens_before_it():
    """Why a learned model may be scored on a window's first block_size positions: causality."""
    model = same_start_models(CFG, ["alibi"], seed=0)["alibi"]
    full = extrapolation_losses(model, IDS, [16], "position", max_tokens=17)  # one window
    short = extrapolation_losses(model, IDS, [8], "position", max_tokens=9)  # its first 8
    assert full.x == list(range(16))
    assert full.loss[:8] == pytest.approx(short.loss, abs=1e-5)


def test_too_little_held_out_text_is_said_in_words():
    model = same_start_models(CFG, ["none"], seed=0)["none"]
    with pytest.raises(ValueError, match="too few for one window of 64"):
        extrapolation_losses(model, IDS[:50], [64])


def test_seed_stats_and_ranking_leave_undefined_values_out():
    assert seed_stats([1.0, 3.0, None]) == SeedStats(2.0, 1.0, 3.0, math.sqrt(2), 2)
    assert seed_stats([None, None]) is None
    order = ranking({"learned": [None, None], "rope": [2.0, 2.2], "alibi": [1.9, 1.9]})
    assert [name for name, _ in order] == ["alibi", "rope"]


def test_holds_until_finds_the_first_breakdown_past_training():
    windows = Extrapolation("windows", [32, 64, 128, 256], [2.0, 1.9, 1.95, 2.5], [1] * 4, 64, None)
    assert holds_until(windows) == 256
    flat = Extrapolation("windows", [32, 64, 128], [2.0, 1.9, 1.9], [1] * 3, 64, None)
    assert holds_until(flat) is None
    losses = [2.0] * 16 + [3.0] * 16
    position = Extrapolation("position", list(range(32)), losses, [1] * 32, 12, None)
    assert 12 <= holds_until(position) <= 16  # smoothing may see the jump a few tokens early
    learned = Extrapolation("windows", [8, 16], [2.0, None], [1, 0], 8, 8)
    assert holds_until(learned) is None


def test_the_command_writes_every_run_with_learned_undefined_past_its_length(tmp_path):
    argv = [
        "--out",
        str(tmp_path),
        "--encodings",
        "learned",
        "alibi",
        "--seeds",
        "0",
        "1",
        "--plays",
        "Macbeth",
        "--n_layer",
        "1",
        "--n_head",
        "2",
        "--n_embd",
        "16",
        "--block_size",
        "8",
        "--batch_size",
        "4",
        "--max_iters",
        "4",
        "--eval_interval",
        "2",
        "--eval_iters",
        "1",
        "--log_interval",
        "2",
        "--eval_tokens",
        "512",
        "--sample_tokens",
        "10",
    ]
    assert main(argv) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["command"].startswith("python -m minigpt.experiments --out")
    assert [(r["pos_emb"], r["seed"]) for r in results["runs"]] == [
        ("learned", 0),
        ("alibi", 0),
        ("learned", 1),
        ("alibi", 1),
    ]
    for run in results["runs"]:
        assert [p["step"] for p in run["curve"]] == [2, 4]
        assert all("val_loss" in p for p in run["curve"])
        assert run["sample"].startswith("ROMEO:\n") and run["seconds_per_step"] > 0
        windows = Extrapolation.from_dict(run["extrapolation"]["windows"])
        beyond = [loss for x, loss in zip(windows.x, windows.loss, strict=True) if x > 8]
        if run["pos_emb"] == "learned":
            assert beyond and all(loss is None for loss in beyond)
        else:
            assert all(math.isfinite(loss) for loss in beyond)
    learned, alibi = results["runs"][:2]
    assert learned["params"] - alibi["params"] == 8 * 16


def test_a_live_comparison_trains_in_lockstep_then_measures_each_model():
    from lab.engine.comparison import CompareSpec, LiveComparison
    from minigpt.tokenizers.tokenizer import CharTokenizer
    from minigpt.training.corpus import shakespeare_text

    text = shakespeare_text(["Macbeth"])
    tok = CharTokenizer.train(text)
    spec = CompareSpec(CFG, FAST, encodings=("learned", "alibi"), seeds=(0, 1), eval_tokens=256)
    comp = LiveComparison(spec, text, tok, TokenData.from_text(text, tok))
    first = comp.runs["learned", 0].model
    assert torch.equal(first.wte.weight, comp.runs["alibi", 0].model.wte.weight)
    assert not torch.equal(first.wte.weight, comp.runs["learned", 1].model.wte.weight)
    comp.advance(0.0)  # one round: every run one step
    assert [run.steps_done for run in comp.runs.values()] == [1, 1, 1, 1]
    asked: list[int] = []
    comp.advance(60.0, keep_going=lambda: asked.append(1) or len(asked) < 2)
    assert [run.steps_done for run in comp.runs.values()] == [3, 3, 3, 3]  # a page drew: 2 rounds
    for _ in range(100):
        if comp.done:
            break
        comp.advance(0.05)
    assert comp.done and comp.steps_done == FAST.max_iters
    learned = comp.extrapolation["learned", 1]["windows"]
    assert learned.loss[-1] is None and learned.limit == CFG.block_size
    assert all(v is not None for v in comp.extrapolation["alibi", 0]["position"].loss)
