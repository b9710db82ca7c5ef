"""The benchmarks' smallest pieces, for correctness only: nothing here is timed."""

import pytest
import torch

from benchmarks.bpe import as_reference, lengths
from benchmarks.memory import group_rss_mb, url_paths
from benchmarks.pages import page_names
from benchmarks.reference_gpt import RefConfig, RefGPT, RefTrain, RefTrainer, get_lr
from benchmarks.table import Row, alternate, fmt, format_table, ratio_spread
from benchmarks.training import crossing
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.bpe_train import train_merges
from tests.bpe_reference import train_reference

TINY = RefConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=16)
SHAPE_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "dropout")


def test_reference_gpt_forward_shapes_and_loss():
    torch.manual_seed(0)
    model = RefGPT(TINY)
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, 11)
    assert abs(loss.item() - torch.log(torch.tensor(11.0)).item()) < 0.5  # about uniform at init
    last, none = model(idx)
    assert last.shape == (3, 1, 11) and none is None  # nanoGPT: only the last position
    assert model.lm_head.weight is model.transformer.wte.weight  # tied


@pytest.mark.parametrize("bias", [True, False])
def test_the_race_is_like_for_like_our_gpt_holding_the_references_weights_agrees(bias):
    """The training benchmark compares speed, so both models must do the same arithmetic."""
    cfg = RefConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16, bias=bias)
    torch.manual_seed(0)
    ref = RefGPT(cfg).eval()
    ours = GPT(GPTConfig(**{f: getattr(cfg, f) for f in SHAPE_FIELDS}, bias=bias)).eval()
    weights = {k.removeprefix("transformer."): v for k, v in ref.state_dict().items()}
    ours.load_state_dict(weights)  # strict: the same parameters under the same names
    assert ours.num_params() == sum(p.numel() for p in ref.parameters())
    idx = torch.randint(0, 11, (3, 8))
    torch.testing.assert_close(ours(idx, idx)[1], ref(idx, idx)[1])
    torch.testing.assert_close(ours(idx)[0][:, -1:], ref(idx)[0])


def test_reference_gpt_is_causal():
    torch.manual_seed(0)
    model = RefGPT(TINY).eval()
    a = torch.randint(0, 11, (1, 8))
    b = a.clone()
    b[0, 5] = (b[0, 5] + 1) % 11
    la, _ = model(a, a)
    lb, _ = model(b, b)
    assert torch.allclose(la[0, :5], lb[0, :5], atol=1e-6)


def test_reference_trainer_lowers_the_loss_on_one_text():
    torch.manual_seed(0)
    data = torch.arange(200) % 11  # a cycle: easy to learn
    trainer = RefTrainer(RefGPT(TINY), data, RefTrain(batch_size=4, warmup_iters=2))
    losses = [trainer.step() for _ in range(30)]
    assert losses[-1] < losses[0]


def test_reference_schedule_warms_up_then_decays_to_min_lr():
    cfg = RefTrain()
    assert get_lr(0, cfg) < get_lr(cfg.warmup_iters, cfg) == cfg.learning_rate
    assert get_lr(cfg.lr_decay_iters + 1, cfg) == cfg.min_lr


def test_table_ratios_targets_and_formatting():
    faster = Row("step", 1200.0, "tok/s", 1000.0, "ref", target_ratio=1.1)
    assert abs(faster.ratio - 1.2) < 1e-9 and faster.met
    slower = Row("train", 4.0, "s", 2.0, "ref", better="lower", target_ratio=2)
    assert slower.ratio == 0.5 and slower.met is False
    page = Row("page", 0.3, "s", better="lower", limit=0.5)
    assert page.ratio is None and page.met and page.target == "< 0.5 s"
    skipped = Row("skipped", None, "", note="skipped: no data")
    table = format_table([faster, slower, page, skipped])
    lines = table.splitlines()
    assert len(lines) == 6 and all(line.count("|") == 8 for line in lines)
    assert "1.20x" in table and "**no**" in table and "skipped: no data" in table
    assert fmt(1234.5) == "1,234" and fmt(None) == "—"


def test_alternate_times_each_function_once_per_block():
    calls = []
    times = alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, 2)
    assert calls == ["a", "a", "b", "b", "b", "b", "a", "a", "a", "a", "b", "b"]
    assert [len(t) for t in times.values()] == [3, 3]


def test_bpe_helpers_match_the_reference():
    text = "aaabdaaabac hello hello"
    ours = train_merges(text, 262)
    assert as_reference(ours) == train_reference(text, 262)
    lens = lengths(text, None, ours)
    assert lens[0] == len(text) and lens == sorted(lens, reverse=True)


def test_page_list_comes_from_the_router():
    names = page_names()
    assert "home" in names and "attention" in names
    assert len(url_paths()) == len(names)


def test_rss_of_this_process_group_is_positive():
    import os

    assert group_rss_mb(os.getpgrp()) > 1


def test_crossing_interpolates_between_checks():
    history = [(0, 0.0, 4.0), (100, 10.0, 2.0), (200, 20.0, 1.5)]
    assert crossing(history, 3.0) == (50.0, 5.0)
    assert crossing(history, 1.5) == (200.0, 20.0)
    assert crossing(history, 1.0) is None


def test_results_file_keeps_its_notes(tmp_path):
    from benchmarks.__main__ import write_results

    path = tmp_path / "RESULTS.md"
    write_results(path, False, "- date: then", "| a |")
    path.write_text(path.read_text() + "\n## Notes\nwhy it is so\n")
    write_results(path, True, "- date: now", "| b |")
    text = path.read_text()
    assert "- date: now" in text and "| b |" in text and "| a |" not in text
    assert text.endswith("## Notes\nwhy it is so\n") and "--quick" in text


def test_ratio_spread_pairs_rounds_and_gives_quartiles():
    # Round i's ratio is ref[i] / ours[i]: a slow round slows both halves and cancels out.
    assert ratio_spread([1.0, 2.0, 1.0], [2.0, 4.0, 1.0]) == (1.5, 2.0, 2.0)
    assert ratio_spread([2.0], [1.0]) == (0.5, 0.5, 0.5)


def test_training_ab_race_prints_a_ratio_per_clock(capsys):
    from benchmarks.training_ab import race

    race({"ours": lambda: sum(range(1000)), "reference": lambda: sum(range(2000))}, 4, 1)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["CPU", "wall"]
    assert all("ratio" in line and "quartiles" in line for line in lines)


def test_without_onednn_switches_it_off_for_the_step_only():
    from benchmarks.training import without_onednn
    from minigpt import linear

    before, seen = linear.ENABLED, []
    without_onednn(lambda: seen.append(linear.ENABLED))()
    assert seen == [False]
    assert before == linear.ENABLED


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN")
def test_products_times_the_same_product_both_ways():
    from benchmarks.products import both

    x, dy = torch.randn(64, 8), torch.randn(64, 16)
    for a, b, expected in ((x, torch.randn(16, 8), None), (dy.t(), x.t(), dy.t() @ x)):
        mkl, onednn = both(a, b)
        torch.testing.assert_close(mkl(), onednn(), rtol=1e-5, atol=1e-5)
        if expected is not None:  # the weight's gradient, from two transposed views
            torch.testing.assert_close(onednn(), expected, rtol=1e-5, atol=1e-5)
