"""The sidebar every page shares: this session's training, which model, and how it samples."""

from __future__ import annotations

import streamlit as st

from lab import cache, live, state
from lab.engine import budget
from lab.engine.background import BackgroundTrainer
from lab.engine.finetune_run import FinetuneRun, phase, status_line
from lab.engine.models import LabModel, encode_text
from lab.finetune import state as ft_state
from lab.fragments import fragment
from minigpt.training.corpus import CorpusError, check_text_size

LIVE_CHOICE = "Live run"  # the model choice that follows the run this session trains


def draw() -> None:
    """Draw the shared controls; called by the router before the page, so values persist."""
    live.begin_full_run()
    with st.sidebar:
        training_status()
        st.subheader("Model")
        step = live.session().live_step()
        names = [state.SHIPPED_MODEL, state.INDUCTION_MODEL]
        names += [LIVE_CHOICE] if step is not None else []
        names += list(state.session_models())
        state.sidebar_defaults(names)
        st.selectbox(
            "Model used by every page",
            names,
            key=state.MODEL_CHOICE,
            format_func=lambda name: f"Live run (step {step:,})" if name == LIVE_CHOICE else name,
            help="Models you train or upload in this session appear here too. The live run "
            "is the model as it trains: pages use a copy taken every few seconds.",
        )
        st.subheader("Sampling")
        st.slider(
            "Temperature",
            0.0,
            2.0,
            step=0.05,
            key=state.TEMPERATURE,
            help="0 is greedy: always the likeliest token. Above 1 flattens the odds.",
        )
        st.slider(
            "Top-k",
            0,
            100,
            key=state.TOP_K,
            help="Keep only the k likeliest tokens (0 = keep all).",
        )
        st.slider(
            "Top-p",
            0.0,
            1.0,
            step=0.01,
            key=state.TOP_P,
            help="Keep the smallest set of tokens whose probability adds up to p (1 = keep all).",
        )
        st.slider(
            "Maximum new tokens",
            10,
            1000,
            step=10,
            key=state.MAX_NEW_TOKENS,
            help="Tokens that fit in the model's context come quickly (their keys and values "
            "are kept); each one past it needs a pass over the whole window, so long samples "
            "are slower.",
        )
        st.number_input(
            "Seed",
            0,
            2**31 - 1,
            step=1,
            key=state.SEED,
            help="The same seed and settings give the same text again.",
        )


def training_status() -> None:
    """One line on this session's training and one on its fine-tune, polled while either
    trains (on every page)."""
    tune = _finetune()
    tuning = tune is not None and tune[1].alive
    every = live.poll_every(seconds=live.STATUS_SECONDS) or (
        live.STATUS_SECONDS if tuning else None
    )
    fragment(_status_line, run_every=every)()


def _finetune() -> tuple[FinetuneRun, BackgroundTrainer] | None:
    """This session's fine-tune and its thread, once it has started one."""
    run = ft_state.current_run()
    return None if run is None else (run, cache.finetune_trainer())


def _status_line() -> None:
    holder = live.session()
    line = holder.status()
    tune = _finetune()
    with st.container(key="sidebar.training"):
        if line is not None and holder.trainer.error:
            st.error(line)
        elif line is not None:
            st.caption(line)
        if tune is not None:
            run, thread = tune
            show = st.error if phase(run, thread) in ("error", "diverged") else st.caption
            show(status_line(run, thread))
    live.redraw_when_ended()
    if (
        tune is not None
        and live.in_fragment_rerun()
        and not (tune[1].alive or holder.trainer.alive)
    ):
        st.rerun()  # the fine-tune has ended: one whole run turns this polling off


def current_model() -> LabModel:
    """The model chosen in the sidebar (the shipped one unless this session made another).

    The live run resolves to a frozen copy of the training model, renewed every few seconds;
    its key changes with its step, so every cache keyed on the model follows it.
    """
    choice = state.model_choice()
    if choice == LIVE_CHOICE:
        return live.session().live_model() or cache.shipped_model()
    if choice == state.INDUCTION_MODEL:
        return cache.induction_model()
    return state.session_models().get(choice) or cache.shipped_model()


def generate_box(key: str, default_prompt: str = "ROMEO:\n") -> None:
    """A prompt and its continuation by the current model, with the sidebar's settings."""
    lab_model = current_model()
    state.seed({key: default_prompt})  # no value= here: a link may have set the prompt
    prompt = st.text_area(
        "Prompt",
        key=key,
        height=80,
        help="The model continues this text with the sidebar's sampling settings.",
    )
    try:
        check_text_size(prompt, budget.MAX_PROMPT_CHARS, "the prompt")
    except CorpusError as e:
        st.error(f"Can't continue this prompt: {e}.")
        return
    ids, note = encode_text(lab_model.tokenizer, prompt)
    if note:
        st.info(note)
    if not ids:
        st.info("Type a prompt the model can read to see how it continues.")
        return
    show_continuation(lab_model, ids, lab_model.name)


def show_continuation(lab_model: LabModel, ids: list[int], caption: str) -> None:
    """ids and the model's continuation with the sidebar's settings, once the budget allows it."""
    sampling = state.sampling()
    cfg = lab_model.model.config
    if refused := budget.generation_refusal(cfg, len(ids) + sampling.max_new_tokens):
        st.error(refused)
        return
    prompt = lab_model.tokenizer.decode(ids)
    text = cache.continuation(lab_model, prompt, sampling)
    st.caption(f"{caption} · temperature {sampling.temperature:g} · seed {sampling.seed}")
    st.code(prompt + text, language=None, wrap_lines=True)
