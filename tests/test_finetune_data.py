"""Instruction data and tasks: the loss mask, padding, and a split with no line in both halves."""

import pytest
import torch

from minigpt.config import GPTConfig
from minigpt.finetune.data import (
    IGNORE,
    ExampleTooLongError,
    build_example,
    collate,
    mask_view,
    masked_loss,
    prompt_text,
)
from minigpt.finetune.tasks import INSTRUCTIONS, MAX_CHARS, Item, build_task, exact_match
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import shakespeare_text

TOK = CharTokenizer.train(shakespeare_text())  # the shipped model's characters


def test_the_mask_covers_exactly_the_answer_and_its_end():
    ex = build_example(TOK, "Q", "", "AB", block_size=64)
    prompt = prompt_text("Q")  # "Q\nAnswer: "
    assert ex.prompt_len == len(prompt)
    assert TOK.decode(ex.x) + TOK.decode(ex.y[-1:]) == prompt + "AB\n"
    assert ex.y == ex.x[1:] + ex.y[-1:]  # the targets are the inputs moved one to the left
    assert [TOK.decode([t]) for t, m in zip(ex.y, ex.mask, strict=True) if m] == ["A", "B", "\n"]


def test_an_example_too_long_for_the_context_is_refused_in_words():
    with pytest.raises(ExampleTooLongError, match="at most 8"):
        build_example(TOK, "Which play is this from?", "", "Hamlet", block_size=8)


def test_mask_view_marks_the_tokens_that_count():
    view = mask_view(build_example(TOK, "Q", "in", "A", 64), TOK)
    assert "".join(s for s, _ in view) == "Q\nin\nAnswer: A\n"
    assert [s for s, counts in view if counts] == ["A", "\n"]
    off = mask_view(build_example(TOK, "Q", "in", "A", 64), TOK, mask_instruction=False)
    assert [counts for _, counts in off] == [False] + [True] * (len(off) - 1)


def _model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=64, vocab_size=TOK.vocab_size))


def test_changing_an_instruction_target_leaves_the_loss_unchanged():
    batch = collate([build_example(TOK, "Who speaks?", "Ay.", "ROMEO", 64)])
    logits, _ = _model()(batch.x)
    loss = masked_loss(logits, batch.y, batch.mask)
    y = batch.y.clone()
    y[0, 2] = (y[0, 2] + 1) % TOK.vocab_size  # an instruction token's target
    assert not batch.mask[0, 2]
    assert masked_loss(logits, y, batch.mask).item() == loss.item()
    y[0, -1] = (y[0, -1] + 1) % TOK.vocab_size  # a response token's target does count
    assert masked_loss(logits, y, batch.mask).item() != loss.item()
    # With the mask off the instruction's targets count as well.
    y = batch.y.clone()
    y[0, 2] = (y[0, 2] + 1) % TOK.vocab_size
    assert masked_loss(logits, y, batch.real).item() != masked_loss(logits, batch.y, batch.real)


def test_padding_changes_neither_the_logits_nor_the_loss():
    short = build_example(TOK, "Q", "", "A", 64)
    long = build_example(TOK, "Who speaks this line?", "Ay, my lord.", "HAMLET", 64)
    batch = collate([short, long], pad_id=5)
    assert batch.x.shape == (2, len(long.x))
    assert batch.real[0].sum() == len(short.x) and (batch.y[0, len(short.x) :] == IGNORE).all()
    model = _model()
    alone = collate([short])
    with torch.no_grad():
        padded_logits, _ = model(batch.x)
        alone_logits, _ = model(alone.x)
    n = len(short.x)
    torch.testing.assert_close(padded_logits[0, :n], alone_logits[0], rtol=1e-5, atol=1e-5)
    for mask_on in (True, False):  # padding never counts, with the mask on or off
        w = batch.loss_weights(mask_on)[:1]
        got = masked_loss(padded_logits[:1], batch.y[:1], w)
        want = masked_loss(alone_logits, alone.y, alone.loss_weights(mask_on))
        torch.testing.assert_close(got, want)


def test_the_masked_loss_is_the_mean_over_counted_tokens():
    logits = torch.zeros(1, 3, 4)  # uniform over 4 tokens: every target costs ln 4
    y = torch.tensor([[1, 2, 3]])
    loss = masked_loss(logits, y, torch.tensor([[False, True, True]]))
    assert loss.item() == pytest.approx(torch.log(torch.tensor(4.0)).item())


@pytest.mark.parametrize("name", list(INSTRUCTIONS))
def test_no_spoken_line_is_in_both_splits_and_every_item_fits(name):
    task = build_task(name)
    assert len(task.train) > 500 and len(task.heldout) > 100
    train_lines = {line for i in task.train for line in i.lines}
    held_lines = {line for i in task.heldout for line in i.lines}
    assert not train_lines & held_lines
    for item in (*task.train, *task.heldout):
        assert item.instruction == INSTRUCTIONS[name]
        ex = build_example(TOK, item.instruction, item.input, item.answer, 128)  # never raises
        assert len(ex.x) <= MAX_CHARS
        assert all(line in item.input for line in item.lines)


def test_the_first_heldout_items_sample_every_play():
    task = build_task("play")
    assert len({i.answer for i in task.heldout[:64]}) == 4


def test_majority_baseline_and_exact_match_on_a_known_case():
    a, b = Item("q", "x", "ROMEO", ("x",)), Item("q", "y", "JULIET", ("y",))
    assert exact_match([" ROMEO", "ROMEO"], [a, b]) == 0.5  # spaces around are ignored
    task = build_task("speaker", ("Macbeth",))
    assert task.majority_answer == "MACBETH"
    share = sum(i.answer == "MACBETH" for i in task.heldout) / len(task.heldout)
    assert task.majority_baseline == share


def test_an_unknown_task_or_play_is_refused_in_words():
    with pytest.raises(ValueError, match="choose from"):
        build_task("poetry")
    with pytest.raises(ValueError, match="no play called"):
        build_task("play", ("Hamlet II",))
    with pytest.raises(ValueError, match="at least one play"):
        build_task("play", ())
