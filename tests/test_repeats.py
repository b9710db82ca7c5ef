"""Training text with repeated spans, the induction recipe, and the trace of heads forming."""

import json

import pytest
import torch

from minigpt import GPT, GPTConfig
from minigpt.analysis.ablation import text_passages
from minigpt.analysis.forming import FormingTrace
from minigpt.cli.train import main
from minigpt.training.repeats import LIVE_INDUCTION, RepeatData


def data(**kw) -> RepeatData:
    return RepeatData(torch.arange(2000) % 50, 0.1, vocab_size=50, **kw)


def has_repeat(row: list[int]) -> bool:
    """Some span of at least a quarter of the row appears twice in a row."""
    n = len(row)
    return any(
        row[a : a + L] == row[a + L : a + 2 * L]
        for L in range(max(2, n // 4), n // 2 + 1)
        for a in range(n - 2 * L + 1)
    )


def test_every_training_window_repeats_a_span_when_asked_and_targets_still_shift_by_one():
    g = torch.Generator().manual_seed(0)
    x, y = data(repeat_fraction=1.0).get_batch("train", 8, 32, g)
    assert x.shape == y.shape == (8, 32) and torch.equal(x[:, 1:], y[:, :-1])
    assert all(has_repeat(torch.cat([x[b], y[b, -1:]]).tolist()) for b in range(8))


def test_plain_text_has_no_repeat_and_validation_is_never_rewritten():
    g = torch.Generator().manual_seed(0)
    x, _ = data(repeat_fraction=0.0).get_batch("train", 8, 32, g)
    assert not any(has_repeat(r) for r in x.tolist())  # 0..49 counting: no span twice at once
    x, _ = data(repeat_fraction=1.0).get_batch("val", 8, 32, g)
    assert ((x[:, 1:] - x[:, :-1]) % 50 == 1).all()  # still the counting text


def test_repeat_shares_out_of_range_are_refused():
    with pytest.raises(ValueError, match="repeat_fraction"):
        data(repeat_fraction=1.5)


def test_the_live_recipe_is_a_two_layer_model_with_repeats():
    assert LIVE_INDUCTION.model.n_layer == 2 and LIVE_INDUCTION.repeat_fraction > 0
    assert not LIVE_INDUCTION.train.problems()


def test_forming_trace_keeps_scores_and_copy_losses_per_step():
    torch.manual_seed(0)
    m = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=16, vocab_size=11))
    trace = FormingTrace(text_passages(torch.arange(100) % 11, 8, batch=2))
    for step in (0, 10):
        point = trace.record(step, m)
        assert point.copy is not None and point.copy.first_copy > 0
    assert trace.steps == [0, 10]
    assert trace.stacked("induction").shape == (2, 2, 2)
    assert trace.first_step_above(0.0) == 0 and trace.first_step_above(1.01) is None
    with pytest.raises(ValueError, match="score"):
        trace.stacked("bogus")


def test_the_command_line_trains_with_repeats_and_records_them(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("To be, or not to be, that is the question. " * 60)
    code = main(
        [
            *("--data", str(text), "--preset", "lab-induction", "--n_embd", "16"),
            *("--block_size", "16", "--max_iters", "2", "--eval_iters", "1", "--batch_size", "2"),
            *("--repeat_fraction", "0.5", "--weights_only", "--out", str(tmp_path / "out")),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["repeats"] == {"repeat_fraction": 0.5, "repeat_random": 0.5}
    assert metrics["model"]["pos_emb"] == "rope"


def test_the_command_line_repeats_every_window_first_then_its_share(tmp_path, monkeypatch):
    seen = []  # the repeat share each training batch was drawn with
    real = RepeatData.get_batch

    def spy(self, split, *args, **kw):
        if split == "train":
            seen.append((self.repeat_fraction, self.random_fraction))
        return real(self, split, *args, **kw)

    monkeypatch.setattr(RepeatData, "get_batch", spy)
    text = tmp_path / "t.txt"
    text.write_text("To be, or not to be, that is the question. " * 60)
    code = main(
        [
            *("--data", str(text), "--preset", "lab-induction", "--n_embd", "16"),
            *("--block_size", "16", "--max_iters", "5", "--eval_iters", "1", "--batch_size", "2"),
            *("--eval_interval", "100", "--repeat_all_until", "3", "--repeat_fraction", "0.25"),
            *("--weights_only", "--out", str(tmp_path / "out")),
        ]
    )
    assert code == 0
    # every window a random span for 3 steps, then the shares asked for
    assert seen[:5] == [(1.0, 1.0)] * 3 + [(0.25, 0.5)] * 2
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["repeats"] == {
        "repeat_fraction": 0.25,
        "repeat_random": 0.5,
        "repeat_all_until": 3,
    }
