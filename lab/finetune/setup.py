"""The Fine-tune page's first sections: the base model, task and method, the parameters they
train, and the loss mask drawn token by token on one training question."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lab import cache, state
from lab.charts import finetune as ft_charts
from lab.engine.finetune_spec import METHOD_NAMES, FinetuneSpec
from lab.engine.models import LabModel
from lab.finetune import state as ft_state
from minigpt.finetune.data import ExampleTooLongError, build_example, mask_view
from minigpt.finetune.tasks import INSTRUCTIONS, TaskSet


@dataclass(frozen=True, eq=False)
class Setup:
    """What the form asks for, checked: problems is empty when Start may run it."""

    base: LabModel | None
    task: TaskSet
    spec: FinetuneSpec
    problems: list[str]


def _models() -> dict[str, LabModel]:
    return {state.SHIPPED_MODEL: cache.shipped_model(), **state.session_models()}


def setup_form() -> Setup:
    """The base model, task and method widgets, and the checked request they make."""
    ft_state.defaults(state.SHIPPED_MODEL)
    models = _models()
    task = cache.finetune_task(ft_state.task_name())
    why_not = {n: cache.finetune_readable(m, task.name) for n, m in models.items()}
    usable = [n for n, why in why_not.items() if why is None]
    ft_state.fall_back_base(usable, state.SHIPPED_MODEL)
    cols = st.columns(2)
    cols[0].selectbox(
        "Base model",
        usable,
        key=ft_state.FT_BASE,
        help="The shipped model, or a character model trained or uploaded in this session.",
    )
    cols[1].selectbox(
        "Task",
        list(INSTRUCTIONS),
        key=ft_state.FT_TASK,
        format_func=INSTRUCTIONS.get,
    )
    cols = st.columns([4, 2, 3], vertical_alignment="bottom")
    cols[0].radio(
        "Method",
        list(METHOD_NAMES),
        key=ft_state.FT_METHOD,
        format_func=lambda m: "LoRA (low-rank adapters)" if m == "lora" else "Full (every weight)",
        horizontal=True,
        on_change=ft_state.method_changed,
    )
    cols[1].number_input(
        "LoRA rank",
        0,
        4096,
        key=ft_state.FT_RANK,
        disabled=ft_state.method() != "lora",
        help="Each adapted weight W (out × in) gets a trainable change B·A of this rank.",
    )
    cols[2].toggle(
        "Answer-only loss",
        key=ft_state.FT_MASK,
        help="The mask: on, the loss counts only the answer's tokens; off, it also counts the "
        "question's, as in pretraining.",
    )
    cols = st.columns(4)
    cols[0].number_input("Steps", 0, 1_000_000, step=50, key=ft_state.FT_STEPS)
    cols[1].number_input("Learning rate", 0.0, 1000.0, step=1e-4, format="%.4f", key=ft_state.FT_LR)
    cols[2].number_input(
        "Batch size",
        0,
        100_000,
        key=ft_state.FT_BATCH,
        help="Training questions per step; the server's memory budget decides how many fit.",
    )
    cols[3].number_input(
        "Questions asked",
        0,
        100_000,
        step=8,
        key=ft_state.FT_EVAL_ITEMS,
        help="Each evaluation asks the first N held-out questions (never trained on).",
    )
    others = {n: why for n, why in why_not.items() if why is not None}
    if others:
        st.caption(
            "Not offered as a base: "
            + "; ".join(f"**{n}**: {why}" for n, why in others.items())
            + "."
        )
    spec = ft_state.spec()
    base = models.get(ft_state.base_name())
    problems = spec.problems(base.model) if base is not None else ["Pick a base model"]
    return Setup(base, task, spec, problems)


def preview(setup: Setup) -> None:
    """The trainable parameters and their share, or every reason the settings cannot run."""
    if setup.problems:
        st.error("Can't start: " + "; ".join(setup.problems) + ".")
        return
    trainable, total = cache.finetune_params(setup.base, setup.spec.method, setup.spec.rank)
    cols = st.columns(3)
    cols[0].metric(
        "Trainable parameters",
        f"{trainable:,}",
        help="Weights the optimizer updates: the adapters' A and B for LoRA, every weight "
        "for full fine-tuning.",
    )
    cols[1].metric("All parameters", f"{total:,}", help="Adapters included.")
    cols[2].metric("Share that trains", f"{trainable / total:.2%}")
    st.caption(
        f"The commonest answer among the training questions is **{setup.task.majority_answer}**: "
        "a model that ignored the question would say it every time (the majority baseline)."
    )


def mask_section(setup: Setup) -> None:
    """One training question drawn token by token: filled tokens are the ones the loss counts."""
    base = setup.base
    if base is None:
        return
    items = setup.task.train
    ft_state.clamp_example(len(items))
    st.number_input("Training question to draw", 0, len(items) - 1, key=ft_state.FT_EXAMPLE, step=1)
    item = items[min(ft_state.example_index(), len(items) - 1)]
    try:
        example = build_example(
            base.tokenizer, item.instruction, item.input, item.answer, base.model.config.block_size
        )
    except (ExampleTooLongError, ValueError) as e:
        st.info(f"This question cannot be drawn for {base.name}: {e}.")
        return
    mask = ft_state.mask_on()
    view = mask_view(example, base.tokenizer, mask)
    st.html(ft_charts.mask_html(view))
    counted = sum(c for _, c in view)
    what = "the answer and the newline that ends it" if mask else "every token after the first"
    st.caption(
        f"Filled tokens count in the loss: {counted} of {len(view)} ({what}). The first token "
        "is never predicted, so it never counts."
    )
