"""The Live training page's preview of a run before it starts: parameters by role, tokens, a
time per step measured on a throwaway model and the whole run's estimate (with the logging
schedule the run will follow), and the same run as a torchrun command."""

from __future__ import annotations

import streamlit as st

from lab import cache, live
from lab.engine.estimate import RunCosts, log_schedule, page_seconds, run_seconds
from lab.engine.logs import logged_sample_tokens
from lab.engine.runspec import SAMPLE_TOKENS
from lab.training.setup import TOKENIZER_NAMES, Setup
from minigpt.cli.train import torchrun_command
from minigpt.shapes import param_breakdown

_SHOWN_COSTS = "training.shown_costs"  # (step_cost_key, RunCosts) the preview last showed


def run_costs(setup: Setup) -> RunCosts:
    """What a step, an evaluation, a logged sample and a snapshot of this run cost here
    (measured per run shape and kept a minute: lab/cache/training.py); noted as shown."""
    key = setup.spec.step_cost_key()
    costs = cache.run_costs(key, setup.text, setup.tokenizer, setup.data)
    st.session_state[_SHOWN_COSTS] = (key, costs)
    return costs


def shown_costs(setup: Setup) -> RunCosts:
    """The costs the preview showed for this run's shape (the run logs on the schedule the
    estimate counted, and Start does not wait for a new timing), else run_costs."""
    key, costs = st.session_state.get(_SHOWN_COSTS, (None, None))
    return costs if costs is not None and key == setup.spec.step_cost_key() else run_costs(setup)


def logging_plan(setup: Setup, costs: RunCosts, sample_tokens: int) -> tuple[int, int]:
    """(steps between two logs, new tokens per logged sample) for this run: the schedule the
    estimate counts and the run follows (loop._start hands it to the run)."""
    tokens = logged_sample_tokens(setup.tokenizer, setup.spec.model.block_size, sample_tokens)
    return log_schedule(costs, setup.spec.train.max_iters, tokens), tokens


def preview(setup: Setup, time_it: bool = True, sample_tokens: int = SAMPLE_TOKENS) -> None:
    """What the run will be: parameters by role, tokens, a measured time per step and an
    estimate of the whole run (only when time_it: timing steps while this session trains would
    slow its own run). sample_tokens: how long the logged samples will be."""
    if setup.problems:
        st.error(
            "**Can't start with these settings:**\n\n" + "\n".join(f"- {p}" for p in setup.problems)
        )
        return
    spec, data = setup.spec, setup.data
    cfg = spec.model.replace(vocab_size=setup.tokenizer.vocab_size)
    parts = param_breakdown(cfg)
    total = sum(parts.values())
    cols = [*st.columns(2), *st.columns(2)]  # two rows: four in one are cut off on a projector
    cols[0].metric("Parameters", f"{total:,}")
    cols[1].metric(
        "Tokens in the corpus",
        f"{len(data):,}",
        help=f"{data.n_train:,} to train on, {len(data) - data.n_train:,} held out "
        "to validate on (the last 10%).",
    )
    if not time_it:
        cols[2].metric("Time per step", "—", help="Not measured while this session trains.")
        cols[3].metric("Whole run, estimated", "—", help="The run's own pace is shown below.")
    else:
        costs = run_costs(setup)
        cols[2].metric(
            "Time per step",
            f"{costs.step * 1000:,.0f} ms",
            help="Measured on a throwaway copy of the model, on this server.",
        )
        every, tokens = logging_plan(setup, costs, sample_tokens)
        page = page_seconds(live.POLL_SECONDS)
        seconds = run_seconds(costs, spec.train, every, tokens, page=page)
        cols[3].metric(
            "Whole run, estimated",
            duration(seconds),
            help="An estimate: the steps, plus an evaluation of "
            f"{spec.train.eval_iters} batches every {spec.train.eval_interval:,} steps, plus "
            "the samples and head snapshots logged every few steps, each timed on this server "
            f"in the last minute, plus about {page:.0f} s for the page to start the run and see "
            "it end. A busy server (other runs, a class clicking) takes longer; once training, "
            "the page shows the run's own pace.",
        )
    st.caption(
        "Where the parameters are: "
        + " · ".join(f"{name} {n:,} ({n / total:.0%})" for name, n in parts.items())
        + f". Vocabulary {setup.tokenizer.vocab_size:,} {TOKENIZER_NAMES[spec.tokenizer].lower()}; "
        f"each step reads {spec.train.batch_size} windows of {cfg.block_size} tokens."
    )
    asked, got = spec.vocab_size, setup.tokenizer.vocab_size
    if spec.tokenizer != "char" and asked is not None and got < asked:
        unit = "distinct words" if spec.tokenizer == "word" else "pairs left to merge"
        st.info(
            f"You asked for a vocabulary of {asked:,}; this text has only enough {unit} "
            f"for {got:,}, so the model uses {got:,}."
        )
    with st.expander("Run this bigger"):
        st.caption(
            "The same run shared out over 8 GPUs (or CPU processes) with `torchrun`, from "
            "a clone of this repository; the README's *Train bigger with torchrun* has more."
        )
        corpus = None if setup.corpus_key == "shakespeare" else "your_corpus.txt"
        st.code(
            torchrun_command(
                cfg, spec.train, spec.tokenizer, spec.vocab_size, nproc=8, data=corpus
            ),
            language="bash",
        )


def duration(seconds: float) -> str:
    """Example: duration(83) == "1:23"."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
