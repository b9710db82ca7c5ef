"""A class clicking at once beside two runs training: what trainers' slices cost its latency.

A training slice holds the cores a page run needs and, between its torch operations, the
interpreter lock. The server's trainers step aside between slices while pages draw (up to
MAX_YIELD), and now also end a slice at the next step once pages draw and the slice has had
MIN_SLICE (lab/engine/background.py). The reference is the same trainers with slices that
always run their full SLICE_SECONDS, as they did before.

One process, one torch thread per run, the server's own pieces: two BackgroundTrainers, each
training lab-live (the Training page's default) on random ids, and a burst of page runs that
take page turns (lab/engine/turns.py) and count as page draws, as the lesson's sidebar-seed
burst does: 27 students within a few seconds, each run 30 ms of Python and Home's 120-token
sample from the shipped model. Figures: p95 of a run's latency (its wait included) over the
burst, and the training steps the two runs made meanwhile.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import torch

from benchmarks.finetune import SHIPPED
from benchmarks.interpreter_lock import encode_json
from benchmarks.table import Row, median
from lab.engine.background import MIN_SLICE, SLICE_SECONDS, Activity, BackgroundTrainer
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN
from lab.engine.slots import TrainerSlots
from lab.engine.turns import Turns
from minigpt.model import GPT
from minigpt.sampling import generate
from minigpt.training.checkpoint import load_checkpoint
from minigpt.training.data import TokenData
from minigpt.training.trainer import Trainer

STUDENTS = 27  # the lesson's sessions without a browser
ARRIVALS = 0.1  # seconds between two students' arrivals, as in the lesson test
PAUSE = (1.0, 3.0)  # a student's pause before the click, seconds (the lesson's THINK 0.5x-1.5x)


class Steps:
    """A trainer's work: lab-live's steps until stopped, asking keep_going between them."""

    def __init__(self) -> None:
        data = TokenData(torch.randint(0, LIVE_MODEL.vocab_size, (100_000,)))
        self.trainer = Trainer(GPT(LIVE_MODEL), data, LIVE_TRAIN)
        self.steps, self.done = 0, False

    def advance(self, seconds: float, keep_going: Callable[[], bool] | None = None) -> None:
        start = time.perf_counter()
        while True:
            self.trainer.step()
            self.steps += 1
            if time.perf_counter() - start >= seconds or (keep_going and not keep_going()):
                return


def burst(min_slice: float, seed: int, page_run: Callable[[], None]) -> tuple[float, int]:
    """(p95 latency in s, trainer steps) for one burst beside two trainers."""
    activity, turns = Activity(), Turns(1)
    works = [Steps() for _ in range(2)]
    trainers = [BackgroundTrainer(TrainerSlots(2), min_slice=min_slice, activity=activity)]
    trainers.append(BackgroundTrainer(trainers[0].slots, min_slice=min_slice, activity=activity))
    for trainer, work in zip(trainers, works, strict=True):
        trainer.start(work)
    time.sleep(1.0)  # both training before the class clicks
    rng, seconds = random.Random(seed), []

    def student(i: int, pause: float) -> None:
        time.sleep(i * ARRIVALS + pause)
        start = time.perf_counter()
        with activity.busy(), turns.take():
            page_run()
        seconds.append(time.perf_counter() - start)

    before = sum(w.steps for w in works)
    threads = [
        threading.Thread(target=student, args=(i, rng.uniform(*PAUSE))) for i in range(STUDENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    steps = sum(w.steps for w in works) - before
    for trainer in trainers:
        trainer.close()
    seconds.sort()
    return seconds[int(0.95 * len(seconds))], steps


def run(quick: bool, log: Callable[[str], None]) -> list[Row]:
    torch.set_num_threads(1)
    ckpt = load_checkpoint(SHIPPED)
    model = ckpt.model.eval().requires_grad_(False)
    prompt = torch.tensor([ckpt.tokenizer.encode("ROMEO:\n")])

    def page_run() -> None:
        encode_json(0.03)
        generate(model, prompt, 120, 0.8, generator=torch.Generator().manual_seed(1))

    page_run()  # warm-up
    p95: dict[str, list[float]] = {"ends": [], "full": []}
    steps: dict[str, list[int]] = {"ends": [], "full": []}
    for round_ in range(2 if quick else 4):
        order = [("ends", MIN_SLICE), ("full", float("inf"))]  # inf: a slice never gives way
        for name, min_slice in order if round_ % 2 == 0 else order[::-1]:
            latency, made = burst(min_slice, round_, page_run)
            p95[name].append(latency)
            steps[name].append(made)
    ours, ref = median(p95["ends"]), median(p95["full"])
    log(f"trainer slices: burst p95 {ours:.2f} s with slices that end, {ref:.2f} s with full ones")
    return [
        Row(
            f"{STUDENTS} page runs in a burst beside 2 runs training: p95 latency, slices that end "
            "when pages draw",
            ours,
            "s",
            ref=ref,
            ref_name=f"full {SLICE_SECONDS:g} s slices",
            better="lower",
            note=f"rounds alternate, medians; trainer steps in the burst {median(steps['ends']):.0f} "
            f"against {median(steps['full']):.0f}; a run: 30 ms of Python and a 120-token sample",
        )
    ]
