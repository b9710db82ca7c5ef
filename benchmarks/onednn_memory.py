"""What oneDNN's compiled code costs a server: resident memory after training steps, with the
training products on oneDNN (minigpt.linear) against the same steps on MKL.

oneDNN compiles code for every product shape it meets and keeps it per thread (see
minigpt/linear.py). Each side runs in its own fresh process: build the lab's live model and
its Trainer, read RSS, train STEPS steps on a new thread (as a session's trainer does), a
second model shape on a second thread, then read RSS again. The growth is activations the
allocator kept plus, on the oneDNN side, its code; the difference between the sides is the code.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable

from benchmarks.table import Row

STEPS = 20
REPEATS = 3  # fresh processes per side; the median growth is reported
_CHILD = r"""
import ctypes, json, sys, threading, torch
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN
from minigpt.model import GPT
from minigpt.training.data import TokenData
from minigpt.training.trainer import Trainer

torch.set_num_threads(1)
steps = int(sys.argv[1])

def rss_mb():
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the allocator holds free is not the code
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6

data = TokenData(torch.randint(0, 65, (100_000,)).tolist())
shapes = [LIVE_MODEL.replace(vocab_size=65), LIVE_MODEL.replace(vocab_size=65, n_embd=96)]
trainers = [Trainer(GPT(cfg), data, LIVE_TRAIN) for cfg in shapes]
readings = [rss_mb()]
for trainer in trainers:
    thread = threading.Thread(target=lambda: [trainer.step() for _ in range(steps)])
    thread.start()
    thread.join()
    readings.append(rss_mb())
print(json.dumps(readings))
"""


def growth(onednn: bool) -> list[float]:
    """RSS in MB before training, after one trainer thread, after a second of another shape."""
    # Two heaps, as the lab's server keeps (lab/runtime.py): a heap per thread adds its own noise.
    env = dict(os.environ, MINIGPT_ONEDNN="1" if onednn else "0", MALLOC_ARENA_MAX="2")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(STEPS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(log: Callable[[str], None]) -> list[Row]:
    ours, ref = [], []
    for _ in range(REPEATS):  # alternated, so a change in the machine's load hits both
        ours.append(growth(True))
        ref.append(growth(False))
    log(f"oneDNN memory: RSS MB with oneDNN {ours}, with MKL {ref}")
    rows = []
    for i, what in enumerate(["one trainer thread (lab-live)", "a second thread, width 96"]):
        ours_mb = statistics.median(r[i + 1] - r[i] for r in ours)
        ref_mb = statistics.median(r[i + 1] - r[i] for r in ref)
        rows.append(
            Row(
                f"oneDNN's compiled code: {what}, {STEPS} steps",
                ours_mb - ref_mb,
                "MB",
                better="lower",
                note=(
                    f"median RSS growth with oneDNN minus with MKL, {REPEATS} fresh processes "
                    f"each ({ours_mb:+.1f} against {ref_mb:+.1f} MB)"
                ),
            )
        )
    return rows
