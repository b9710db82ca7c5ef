"""Training beside a page that draws: what the server's own Python work costs a training thread.

The lab trains on a thread of the Streamlit server, so the run and every page the server draws
share one interpreter lock. torch releases the lock inside each operation, but the training
thread needs it back between operations (a step of lab-live is a few hundred of them), and a
thread that runs pure Python (building a chart's spec, encoding messages) holds it for up to
the interpreter's switch interval each time. So a page busy a fraction of the time slows a run
by more than that fraction, even with a core free for each thread.

One process, one torch thread: lab-live's training steps alone, and beside a thread that
encodes chart data as JSON for DUTY of every PERIOD seconds, in alternating blocks.

A page that runs a model pays the same toll, once per operation. The second row is a class in
miniature: six threads each draw page runs of Python and a sample from the shipped model,
taking turns (lab/engine/turns.py, as the server does) against all at once (as it did before).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Callable

import torch

from benchmarks.finetune import SHIPPED
from benchmarks.table import Row, alternate, median
from lab.engine.liverun import LiveRun
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN, RunSpec
from lab.engine.turns import Turns
from minigpt.sampling import generate
from minigpt.training.checkpoint import load_checkpoint

DUTY = 0.15  # the share of time the other thread runs Python (a page polling a run: 0.1-0.2)
PERIOD = 0.5  # seconds: short, so every timed block spans several periods


CHART_ROWS = [{"step": i, "loss": 4.0 - i * 1e-3, "split": "train"} for i in range(500)]


def encode_json(seconds: float) -> None:
    """Pure Python for `seconds`, as a page building a chart is: a chart's rows as JSON."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        json.dumps(CHART_ROWS)


def busy_python(stop: threading.Event, duty: float = DUTY, period: float = PERIOD) -> None:
    """Encode a chart's worth of rows as JSON for `duty` of every `period`, until stopped."""
    while not stop.is_set():
        encode_json(duty * period)
        stop.wait(period * (1 - duty))


def run(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    torch.set_num_threads(1)
    spec = RunSpec()
    spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, eval_interval=10_000))
    trainer = LiveRun(spec, text).trainer
    trainer.step()  # the warm-up step, outside the timing
    steps = 20 if quick else 50

    def alone() -> None:
        for _ in range(steps):
            trainer.step()

    def beside() -> None:
        stop = threading.Event()
        page = threading.Thread(target=busy_python, args=(stop,), daemon=True)
        page.start()
        try:
            alone()
        finally:
            stop.set()
            page.join()

    times = alternate({"alone": alone, "beside": beside}, blocks=2 if quick else 4)
    tokens = steps * LIVE_TRAIN.batch_size * LIVE_MODEL.block_size
    ours, ref = tokens / median(times["beside"]), tokens / median(times["alone"])
    log(f"interpreter lock: {ours:,.0f} tokens/s beside a busy thread, {ref:,.0f} alone")
    return [
        Row(
            "Training beside a Python-busy thread (one process)",
            ours,
            "tokens/s",
            ref=ref,
            ref_name="the same steps alone",
            note=f"lab-live, batch {LIVE_TRAIN.batch_size}, 1 torch thread; the other thread "
            f"encodes JSON {DUTY:.0%} of every {PERIOD:g} s (a page polling a run); "
            f"{steps} steps a block, alternating, medians",
        ),
        pages_in_turn(quick, log),
    ]


def pages_in_turn(quick: bool, log: Callable[[str], None]) -> Row:
    """A class in miniature: PAGES threads each draw RUNS page runs at once, a run being
    Python (JSON, 20 ms alone) and then Home's sample. Mean seconds from a run's start to its
    end, the pages taking turns (ours, as the server does) against all drawing at once."""
    ckpt = load_checkpoint(SHIPPED)
    model = ckpt.model.eval().requires_grad_(False)
    prompt = torch.tensor([ckpt.tokenizer.encode("ROMEO:\n")])
    tokens, pages, runs = 20, 6, 2 if quick else 3

    def page_run() -> None:
        encode_json(0.02)
        generate(model, prompt, tokens, 0.8, top_p=0.95, generator=torch.Generator().manual_seed(1))

    def class_of(turns: Turns | None) -> float:
        seconds: list[float] = []

        def student() -> None:
            for _ in range(runs):
                start = time.perf_counter()
                with turns.take() if turns else contextlib.nullcontext():
                    page_run()
                seconds.append(time.perf_counter() - start)

        threads = [threading.Thread(target=student) for _ in range(pages)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(seconds) / len(seconds)

    page_run()  # warm-up
    alone = min(alternate({"alone": page_run}, blocks=3)["alone"])
    results: dict[str, list[float]] = {"in turn": [], "at once": []}
    for _ in range(1 if quick else 2):
        results["in turn"].append(class_of(Turns(1)))
        results["at once"].append(class_of(None))
    ours, ref = median(results["in turn"]), median(results["at once"])
    log(
        f"interpreter lock: a page run {ours:.3f} s in turn, {ref:.3f} s at once ({alone:.3f} alone)"
    )
    return Row(
        f"{pages} pages drawing {runs} runs each (20 ms of Python and a {tokens}-token sample), "
        "pages in turn",
        ours,
        "s a run",
        ref=ref,
        ref_name="all drawing at once",
        better="lower",
        note=f"one run alone {alone:.3f} s; mean from a run's start (its wait included) to its "
        "end; shipped model, 1 torch thread; in turn and at once alternate, medians",
    )
