"""What the lab's malloc settings cost a training step: A/B/A/B in one process.

`python -m benchmarks.malloc_step [--rounds 12] [--steps 3]`

The server maps every block of 256 KB or more on its own and unmaps it when freed
(`lab.runtime.tune_malloc`), so a class leaves less memory behind. A training step frees and
allocates tensors of that size all the time, so the question is what the mapping costs. Each
round times a block of our steps (nanoGPT's CPU shape, one thread) with the lab's threshold
and a block with the threshold at 32 MB, glibc's ceiling for the threshold it raises by
itself (tensors kept in the heaps), order swapped every round, by this thread's CPU time. It
prints the ratio (above 1: the lab's setting faster) as the median of per-round ratios with
quartiles, and the minor page faults a step takes under each.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from benchmarks.training_ab import TEXT, sides
from lab import runtime

KEPT_IN_HEAPS = 32 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=3, help="steps per block")
    args = parser.parse_args()
    mallopt = runtime._libc_function("mallopt")
    if not mallopt:
        print("no glibc here: nothing to compare")
        return
    torch.set_num_threads(1)
    step = sides(TEXT.read_text(), tiny=False)["ours"]
    for _ in range(5):  # warm up: Adam's state, the allocator
        step()
    settings = {"lab (256 KB)": runtime.MMAP_THRESHOLD, "32 MB": KEPT_IN_HEAPS}
    cpu: dict[str, list[float]] = {name: [] for name in settings}
    faults: dict[str, list[float]] = {name: [] for name in settings}
    for i in range(args.rounds):
        for name in list(settings) if i % 2 == 0 else list(settings)[::-1]:
            mallopt(runtime.M_MMAP_THRESHOLD, settings[name])
            step()  # one step to settle into the setting, untimed
            f, c = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt, time.thread_time()
            for _ in range(args.steps):
                step()
            cpu[name].append((time.thread_time() - c) / args.steps)
            faults[name].append(
                (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f) / args.steps
            )
    lab, heaps = settings
    ratios = [h / m for m, h in zip(cpu[lab], cpu[heaps], strict=True)]
    q1, mid, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    for name in settings:
        print(
            f"{name:>12}: {statistics.median(cpu[name]) * 1e3:.1f} ms of CPU a step, "
            f"{statistics.median(faults[name]):.0f} minor page faults a step"
        )
    print(f"ratio (lab / kept in heaps, by CPU time): {mid:.3f}x (quartiles {q1:.3f}-{q3:.3f})")


if __name__ == "__main__":
    main()
