"""The attention page on the shipped induction model: the example button, switching heads off,
continuing the student's text; and the numbers behind the panel on known answers."""

import math

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import state
from lab.attention import state as attn_state
from lab.attention.measure import ablation_view, copy_length, random_copy, repeating_unit
from minigpt import GPT, GPTConfig
from minigpt.analysis.forming import FORMED
from minigpt.analysis.heads import head_scores
from minigpt.training.checkpoint import load_checkpoint
from tests.apptest import ROOT, TIMEOUT, errors, page_path, run_router

INDUCTION = ROOT / "assets" / "induction" / "checkpoint.safetensors"


def copying_heads() -> list[tuple[int, int]]:
    """The shipped induction model's heads with an induction score of 0.5 or more."""
    scores = head_scores(load_checkpoint(INDUCTION).model.eval())
    return [(r.layer, r.head) for r in scores.rows() if r.induction >= FORMED]


def heads_as_options() -> list[int]:
    """copying_heads() as the multiselect's options (layer * n_head + head)."""
    n_head = load_checkpoint(INDUCTION).model.config.n_head
    return [layer * n_head + head for layer, head in copying_heads()]


def on_induction_model(**preset) -> AppTest:
    at = AppTest.from_file(page_path("attention"), default_timeout=TIMEOUT)
    at.session_state[state.MODEL_CHOICE] = state.INDUCTION_MODEL
    at.session_state[attn_state.ATTN_TEXT] = attn_state.INDUCTION_EXAMPLE
    at.session_state[state.MAX_NEW_TOKENS] = 10
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> float:
    """A metric's value in nats."""
    (m,) = [m for m in at.metric if m.label == label]
    return float(m.value.split()[0])


def table(at: AppTest) -> dict[str, dict]:
    """The ablation table's rows by what they measure."""
    frame = at.dataframe[-1].value
    return {row["measured on"]: row for row in frame.to_dict("records")}


def test_the_sidebar_offers_the_induction_model_and_the_page_uses_it():
    at = run_router("attention")
    box = at.sidebar.selectbox(key=state.MODEL_CHOICE)
    assert state.INDUCTION_MODEL in box.options
    box.set_value(state.INDUCTION_MODEL).run()
    assert not errors(at)
    assert any("Shipped induction model" in c.value for c in at.caption)


def test_show_me_picks_the_model_a_repeated_text_and_the_induction_head():
    at = run_router("attention")
    at.button(key="attention.show_induction").click().run()
    assert not errors(at)
    assert at.session_state[state.MODEL_CHOICE] == state.INDUCTION_MODEL
    assert at.text_area(key=attn_state.ATTN_TEXT).value == attn_state.INDUCTION_EXAMPLE
    assert (
        at.radio(key=attn_state.ATTN_LAYER).value,
        at.radio(key=attn_state.ATTN_HEAD).value,
    ) == (attn_state.INDUCTION_HEAD)
    rows = at.dataframe[0].value.to_dict("records")
    assert max(r["induction"] for r in rows) >= 0.5  # the table shows a real induction head
    assert at.code[-1].value.startswith(attn_state.INDUCTION_EXAMPLE)  # and its continuation


def test_switching_off_the_induction_heads_costs_the_second_copy_not_the_first():
    at = on_induction_model()
    assert not errors(at)
    intact = table(at)
    at.multiselect(key=attn_state.ATTN_ABLATE).set_value(heads_as_options()).run()
    assert not errors(at)
    off = table(at)
    second = "your text written twice: second copy"
    first = "your text written twice: first copy"
    assert off[second]["heads off"] - intact[second]["intact"] > 1.0
    assert abs(off[first]["heads off"] - off[first]["intact"]) < 0.3
    rand = "random tokens written twice: second copy"
    assert off[rand]["change"] > 1.0
    assert metric(at, "Its second copy") == pytest.approx(off[second]["heads off"], abs=0.01)


def test_mean_ablation_also_costs_the_second_copy():
    at = on_induction_model(
        **{attn_state.ATTN_ABLATE_MODE: "mean", attn_state.ATTN_ABLATE: heads_as_options()}
    )
    assert not errors(at)
    assert table(at)["your text written twice: second copy"]["change"] > 1.0


def test_the_model_continues_the_typed_text_when_asked_and_asks_again_for_a_new_text():
    at = on_induction_model()
    assert not at.code[-1].value.startswith(attn_state.INDUCTION_EXAMPLE)  # nothing generated yet
    at.button(key="attention.continue").click().run()
    assert at.code[-1].value.startswith(attn_state.INDUCTION_EXAMPLE)
    at.text_area(key=attn_state.ATTN_TEXT).input("abc abc abc").run()
    assert at.button(key="attention.continue")  # a new text: the button again, no stale sample
    assert not any(c.value.startswith("abc abc abc") for c in at.code[1:])


# ---------------------------------------------------------------- the numbers, known answers


def test_no_heads_off_changes_nothing_and_labels_every_row():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=8, block_size=16, vocab_size=5)).eval()
    view = ablation_view(model, [0, 1, 2, 3, 4, 0, 1, 2], [])
    assert view.intact == view.ablated
    assert [r["change"] for r in view.rows()] == [0.0] * 5
    # an untrained model of 5 tokens is close to a blind guess on every measurement
    assert view.intact.random_first == pytest.approx(math.log(5), abs=0.5)


def test_the_copy_is_the_repeating_part_or_as_much_as_fits_twice():
    assert copy_length(list(range(100)), 128) == 64
    assert copy_length(list(range(10)), 128) == 10
    assert copy_length([5, 6, 7, 5, 6, 7, 5], 128) == 3  # a line typed twice and a bit
    assert repeating_unit([1, 1, 1, 1]) == 1
    assert repeating_unit([1, 2, 3, 1, 2, 4]) == 6
    assert repeating_unit([1, 2, 3, 1, 2]) == 3  # one and a half copies
    assert repeating_unit([1, 2, 3, 1]) == 4  # one token again is not a copy
    line = "All that glisters is not gold."  # the page's default: twice, the second without "\n"
    text = [ord(c) for c in f"{line}\n{line}"]
    assert repeating_unit(text) == len(line) + 1 and copy_length(text, 128) == len(line) + 1


def test_the_shipped_model_needs_its_induction_heads_on_any_repeated_random_text():
    model = load_checkpoint(INDUCTION).model.eval()
    g = torch.Generator().manual_seed(5)
    L = 20
    ids = torch.randperm(model.config.vocab_size, generator=g)[:L].tolist() * 2
    view = ablation_view(model, ids, copying_heads())
    assert view.ablated.text_second - view.intact.text_second > 1.0
    assert view.ablated.random_second - view.intact.random_second > 1.0
    # the first copy: within 0.3 nats on 8 random passages; one passage of 20 is noisier
    assert abs(view.ablated.random_first - view.intact.random_first) < 0.3
    assert abs(view.ablated.text_first - view.intact.text_first) < 0.5


def test_too_little_text_is_refused_in_words():
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=8, block_size=16, vocab_size=5))
    with pytest.raises(ValueError, match="at least two tokens"):
        ablation_view(model, [1], [(0, 0)])


def test_the_random_losses_shared_between_texts_are_the_ones_measured_per_text():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=8, block_size=16, vocab_size=7)).eval()
    asked = []

    def shared(length, heads):
        asked.append((length, heads))
        return random_copy(model, length, list(heads))

    for mode in ("zero", "mean"):
        alone = ablation_view(model, [0, 1, 2, 3, 4, 5], [(1, 0)], mode)
        with_shared = ablation_view(model, [0, 1, 2, 3, 4, 5], [(1, 0)], mode, shared_random=shared)
        assert with_shared == alone
    # zeroed heads and the intact model are shared by length; a mean is this text's own
    assert asked == [(6, ()), (6, ((1, 0),)), (6, ())]
