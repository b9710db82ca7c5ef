"""Training beside a page that draws: what the server's own Python work costs a training thread.

The lab trains on a thread of the Streamlit server, so the run and every page the server draws
share one interpreter lock. torch releases the lock inside each operation, but the training
thread needs it back between operations (a step of lab-live is a few hundred of them), and a
thread that runs pure Python (building a chart's spec, encoding messages) holds it for up to
the interpreter's switch interval each time. So a page busy a fraction of the time slows a run
by more than that fraction, even with a core free for each thread.

One process, one torch thread: lab-live's training steps alone, and beside a thread that
encodes chart data as JSON for DUTY of every PERIOD seconds, in alternating blocks.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable

import torch

from benchmarks.table import Row, alternate, median
from lab.engine.liverun import LiveRun
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN, RunSpec

DUTY = 0.15  # the share of time the other thread runs Python (a page polling a run: 0.1-0.2)
PERIOD = 0.5  # seconds: short, so every timed block spans several periods


def busy_python(stop: threading.Event, duty: float = DUTY, period: float = PERIOD) -> None:
    """Encode a chart's worth of rows as JSON for `duty` of every `period`, until stopped."""
    rows = [{"step": i, "loss": 4.0 - i * 1e-3, "split": "train"} for i in range(500)]
    while not stop.is_set():
        start = time.perf_counter()
        while time.perf_counter() - start < duty * period:
            json.dumps(rows)
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
        )
    ]
