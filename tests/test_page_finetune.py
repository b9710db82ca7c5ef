"""The Fine-tune page under AppTest: it runs alone and through the router, shows the trainable
share the trainer will train, draws the mask as mask_view says (and the switch changes it),
refuses bad settings in words, and a tiny run in the background finishes, is compared, and
hands its model to the sidebar. run_every never ticks here: repeated run()s poll the thread."""

import copy
import re
import time
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from lab import cache, state
from lab.finetune import state as ft_state
from minigpt.finetune.data import build_example, mask_view
from minigpt.finetune.lora import LoRAConfig, add_lora, trainable_params
from minigpt.finetune.tasks import build_task
from tests.apptest import TIMEOUT, errors, page_path, run_router

TINY_RUN = {ft_state.FT_STEPS: 3, ft_state.FT_EVAL_ITEMS: 3, ft_state.FT_BATCH: 2}


def page(**settings) -> AppTest:
    at = AppTest.from_file(page_path("finetune"), default_timeout=TIMEOUT)
    for key, value in settings.items():
        at.session_state[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error, *at.success])


def box(at: AppTest) -> ft_state.FinetuneBox:
    return ft_state.box_in(at.session_state)


def sidebar_lines(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption]


def to_the_end(at: AppTest, limit: float = 240.0) -> AppTest:
    """Poll the background run with full runs (run_every never ticks under AppTest)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        b = box(at)
        if b.run is not None and b.run.done and b.summaries and b.kept_at == b.run.steps_done:
            return at.run()
        time.sleep(0.3)
        at.run()
    raise AssertionError("the run did not finish")


def drawn_mask(at: AppTest) -> list[bool]:
    (drawing,) = [h for h in at.get("html") if "data-counts" in h.proto.body]
    return [c == "1" for c in re.findall(r'data-counts="([01])"', drawing.proto.body)]


def shipped_example():
    lab = cache.shipped_model()
    item = build_task("play").train[0]
    return build_example(lab.tokenizer, item.instruction, item.input, item.answer, 128), lab


# ---------------------------------------------------------------- opening


def test_runs_alone_and_shows_what_lora_trains():
    at = page()
    assert errors(at) == [] and at.title[0].value == "Fine-tune"
    adapted = copy.deepcopy(cache.shipped_model().model)
    add_lora(adapted, LoRAConfig(rank=8, alpha=16.0))
    trainable, total = trainable_params(adapted)
    assert metric(at, "Trainable parameters") == f"{trainable:,}"
    assert metric(at, "All parameters") == f"{total:,}"
    assert metric(at, "Share that trains") == f"{trainable / total:.2%}"
    assert "Press **Start**" in messages(at)
    assert not at.button(key=ft_state.FT_START).disabled


def test_full_fine_tuning_trains_every_weight_with_its_own_learning_rate():
    at = page()
    at.radio(key=ft_state.FT_METHOD).set_value("full").run()
    n = cache.shipped_model().model.num_params()
    assert metric(at, "Trainable parameters") == f"{n:,}" == metric(at, "All parameters")
    assert metric(at, "Share that trains") == "100.00%"
    assert at.number_input(key=ft_state.FT_LR).value == pytest.approx(3e-4)
    assert at.number_input(key=ft_state.FT_RANK).disabled


def test_runs_through_the_router():
    at = run_router("finetune")
    assert errors(at) == [] and at.title[0].value == "Fine-tune"


# ---------------------------------------------------------------- the mask


def test_the_mask_drawing_is_mask_view_and_the_switch_changes_it():
    at = page()
    example, lab = shipped_example()
    on = drawn_mask(at)
    assert on == [c for _, c in mask_view(example, lab.tokenizer, True)]
    at.toggle(key=ft_state.FT_MASK).set_value(False).run()
    off = drawn_mask(at)
    assert off == [c for _, c in mask_view(example, lab.tokenizer, False)]
    assert sum(off) == len(off) - 1 > sum(on)  # every token but the first counts
    assert errors(at) == []


# ---------------------------------------------------------------- bad settings, in words


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({ft_state.FT_RANK: 0}, "LoRA rank must be between 1"),
        ({ft_state.FT_RANK: 4096}, "LoRA rank must be between 1 and 64"),
        ({ft_state.FT_STEPS: 0}, "Steps must be between 1"),
        ({ft_state.FT_STEPS: 1_000_000}, "Steps must be between 1 and 2,000"),
        ({ft_state.FT_LR: 0.0}, "Learning rate must be above 0"),
        ({ft_state.FT_LR: 1000.0}, "fine-tuning nudges a trained model"),
        ({ft_state.FT_EVAL_ITEMS: 0}, "Held-out questions must be between 1"),
        ({ft_state.FT_EVAL_ITEMS: 100_000}, "each evaluation asks every one"),
        ({ft_state.FT_BATCH: 0}, "Batch size must be between 1"),
        ({ft_state.FT_BATCH: 32}, "Lower Batch size (batch_size) to at most"),  # the budget
    ],
)
def test_impossible_settings_are_refused_before_anything_runs(settings, words):
    at = page(**settings)
    assert errors(at) == []
    assert "Can't start" in at.error[0].value and words in at.error[0].value
    assert at.button(key=ft_state.FT_START).disabled


def test_a_model_that_cannot_read_the_questions_is_not_offered():
    from lab.engine.models import LabModel
    from minigpt.tokenizers.tokenizer import WordTokenizer

    at = AppTest.from_file(page_path("finetune"), default_timeout=TIMEOUT)
    shipped = cache.shipped_model()
    words = WordTokenizer.train("to be or not to be that is the question", 20)
    state.add_session_model(
        "Words",
        LabModel("Words", shipped.model, words),
        select=False,
        session_override=at.session_state,
    )
    at.run()
    assert errors(at) == []
    assert at.selectbox(key=ft_state.FT_BASE).options == [state.SHIPPED_MODEL]
    assert any("**Words**: it reads word tokens" in c.value for c in at.caption)


# ---------------------------------------------------------------- a run


def test_a_tiny_run_finishes_is_compared_and_reaches_the_sidebar():
    at = run_router("finetune")
    for key, value in TINY_RUN.items():
        at.number_input(key=key).set_value(value)
    at.run()
    at.button(key=ft_state.FT_START).click().run()
    assert errors(at) == []
    to_the_end(at)
    assert errors(at) == []
    run = box(at).run
    assert run.steps_done == 3 and run.failure is None and len(run.heldout) == 3
    assert "finished: 3 steps" in messages(at)
    assert metric(at, "Step") == "3 / 3"
    for label, value in (
        ("Held-out accuracy", run.accuracy),
        ("Untuned model", run.untuned),
        ("Majority answer", run.majority),
    ):
        assert metric(at, label) == f"{value:.0%}"
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("of the first 3 questions" in t for t in titles)
    (summary,) = box(at).summaries
    assert summary.steps == 3 and summary.method == "LoRA r8" and summary.asked == 3
    name = box(at).model_name
    assert name in state.session_models(at.session_state)
    assert name in at.sidebar.selectbox(key=state.MODEL_CHOICE).options
    assert "fine-tuning: finished, 3 steps" in sidebar_lines(at)
    # "Use this model" makes it every page's model.
    at.button(key=ft_state.FT_USE).click().run()
    assert at.session_state[state.MODEL_CHOICE] == box(at).model_name
    assert errors(at) == []


def test_every_page_says_how_far_the_fine_tune_is():
    """A student who starts a fine-tune and walks off sees it go on in the sidebar."""
    at = run_router("finetune")
    at.number_input(key=ft_state.FT_STEPS).set_value(400)
    at.number_input(key=ft_state.FT_EVAL_ITEMS).set_value(2)
    at.run()
    at.button(key=ft_state.FT_START).click().run()
    seen = 0
    for name in ("attention", "next_token", "home", "tokenizers"):
        time.sleep(0.5)
        at.switch_page(page_path(name)).run()
        assert errors(at) == [], name
        (line,) = [x for x in sidebar_lines(at) if x.startswith("fine-tuning")]
        found = re.fullmatch(r"fine-tuning: step ([\d,]+) of 400", line)
        assert found, (name, line)
        assert seen <= int(found[1]) < 400, (name, seen, line)  # it follows the run
        seen = int(found[1])
    assert seen > 0
    at.switch_page(page_path("finetune")).run()
    at.button(key=ft_state.FT_STOP).click().run()
    stopped = box(at).run.steps_done
    at.switch_page(page_path("positional")).run()
    assert f"fine-tuning: stopped at step {stopped:,} of 400" in sidebar_lines(at)
    assert errors(at) == []


def test_a_run_stops_and_resumes():
    at = page(**{ft_state.FT_STEPS: 400, ft_state.FT_EVAL_ITEMS: 2})
    at.button(key=ft_state.FT_START).click().run()
    deadline = time.monotonic() + 120
    while box(at).run.steps_done < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    at.button(key=ft_state.FT_STOP).click().run()
    stopped = box(at).run.steps_done
    assert "is stopped at step" in messages(at) and stopped >= 2
    time.sleep(0.6)
    at.run()
    assert box(at).run.steps_done == stopped  # stopped means stopped
    assert [s.steps for s in box(at).summaries] == [stopped]  # kept for the comparison
    assert at.button(key=ft_state.FT_START).label == "Resume"
    at.button(key=ft_state.FT_START).click().run()
    at.button(key=ft_state.FT_STOP).click().run()
    at.button(key=ft_state.FT_RESET).click().run()
    assert box(at).run is None and at.button(key=ft_state.FT_START).label == "Start"
    assert errors(at) == []


def test_a_session_training_on_the_live_page_is_told_to_stop_it_first():
    at = AppTest.from_file(page_path("finetune"), default_timeout=TIMEOUT)
    state.remember_trainer(SimpleNamespace(running=True), at.session_state)
    at.run()
    at.button(key=ft_state.FT_START).click().run()
    assert errors(at) == [] and box(at).run is None
    assert "this session is training on the Live training page" in at.error[0].value


def test_a_question_past_the_tasks_end_falls_back_to_the_first():
    at = page(**{ft_state.FT_EXAMPLE: 10**6})
    assert errors(at) == [] and at.number_input(key=ft_state.FT_EXAMPLE).value == 0


def test_a_session_past_the_trainer_cap_waits_in_a_queue():
    slots = cache.trainer_slots()
    others = [f"other-{i}" for i in range(slots.size)]
    try:
        assert all(slots.acquire(o) for o in others)
        at = page(**TINY_RUN)
        at.button(key=ft_state.FT_START).click().run()
        deadline = time.monotonic() + 30
        while not at.warning and time.monotonic() < deadline:
            time.sleep(0.3)
            at.run()
        assert "other sessions are training; yours starts when one finishes" in at.warning[0].value
        assert box(at).run.steps_done == 0
        slots.release(others[0])
        to_the_end(at)
        assert box(at).run.steps_done == 3 and not at.warning
    finally:
        for o in others:
            slots.release(o)
