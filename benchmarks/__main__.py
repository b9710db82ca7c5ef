"""`python -m benchmarks [--quick] [--only training,bpe,...] [--write benchmarks/RESULTS.md]`

Runs every benchmark and prints one table: our figure, the reference's figure from the same
process and run, their ratio and the target. Progress goes to stderr as it happens; the table
goes to stdout at the end. --quick is a smoke check (under two minutes); the full run takes
under fifteen on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import torch

from benchmarks.table import Row, format_table

ROOT = Path(__file__).resolve().parents[1]


def _shared_data(name: str) -> Path:
    """A file of the shared data folder, beside the repo or beside its worktrees' folder (wt/)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data" / name
    return ROOT.parent / "shared" / "data" / name


DATA = _shared_data("tinyshakespeare.txt")
SECTIONS = (
    "training",
    "onednn_memory",
    "kept_memory",
    "quality",
    "induction",
    "bpe",
    "encoding",
    "finetune",
    "pages",
    "memory",
    "interpreter_lock",
    "trainer_slices",
    "browser_training",
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def header(quick: bool, started: str, load_start: str, seconds: float) -> str:
    return "\n".join(
        [
            f"- date: {started}",
            f"- mode: {'--quick' if quick else 'full'}, {seconds / 60:.1f} minutes",
            f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__}, "
            f"threads as stated per row (torch default here: {torch.get_num_threads()})",
            f"- load average (1, 5, 15 min): {load_start} at the start, {load_average()} at the end",
            f"- python {platform.python_version()}",
        ]
    )


NOTES = "\n## Notes"  # a hand-written section after the table, kept when the table is rewritten


def write_results(path: Path, quick: bool, head: str, table: str) -> None:
    """The run's header and table as Markdown, keeping the file's own "## Notes" section."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    path.write_text(
        "# Benchmark results\n\nMade by `python -m benchmarks"
        + (" --quick" if quick else "")
        + f" --write {path}`. Ratios are ours against a reference measured in the same "
        "process and run; see benchmarks/*.py for how each is measured.\n\n"
        + head
        + "\n\n"
        + table
        + "\n"
        + notes,
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("--quick", action="store_true", help="a smoke check in under two minutes")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--write", type=Path, help="also write the header and table to this file")
    args = parser.parse_args(argv)
    sections = SECTIONS if not args.only else tuple(s.strip() for s in args.only.split(","))
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    started, load_start, t0 = (
        dt.datetime.now().isoformat(timespec="minutes"),
        load_average(),
        time.perf_counter(),
    )
    threads_before = torch.get_num_threads()
    text = DATA.read_text(encoding="utf-8") if DATA.exists() else None
    rows: list[Row] = []

    def skip(name: str, why: str) -> None:
        rows.append(Row(name, None, "", note=f"skipped: {why}"))
        log(f"{name}: skipped ({why})")

    no_text = f"{DATA.resolve()} is missing"
    for section in sections:
        log(f"== {section}")
        if section == "training":
            if text is None:
                skip("Training step", no_text)
                continue
            from benchmarks import training

            for threads in (1, 2):
                rows += training.throughput(text, threads, args.quick, log)
        elif section == "onednn_memory":
            from benchmarks import onednn_memory

            rows += onednn_memory.run(log)
        elif section == "kept_memory":
            from benchmarks import kept_memory

            rows += kept_memory.run(log)
        elif section == "quality":
            if text is None:
                skip("Time to quality", no_text)
            elif args.quick:
                skip("Time to quality", "--quick (the full run trains to val loss 1.88)")
            else:
                from benchmarks import training

                rows += training.time_to_quality(text, log)
        elif section == "induction":
            if text is None:
                skip("Induction head forms", no_text)
                continue
            from benchmarks import induction

            rows += induction.run(text, args.quick, log)
        elif section == "bpe":
            if text is None:
                skip("BPE training", no_text)
                continue
            from benchmarks import bpe

            rows += bpe.run(text, args.quick, log)
        elif section == "encoding":
            if text is None:
                skip("Encoding", no_text)
                continue
            from benchmarks import encoding

            rows += encoding.run(text, args.quick, log)
        elif section == "finetune":
            from benchmarks import finetune

            rows += finetune.run(args.quick, log)
        elif section == "pages":
            from benchmarks import pages

            torch.set_num_threads(1)  # as the lab's server runs
            rows += pages.run(
                text or "To be, or not to be: that is the question. " * 300, args.quick, log
            )
        elif section == "memory":
            if args.quick:
                skip("Server memory", "--quick (it starts a server and a browser)")
                continue
            from benchmarks import memory

            rows += memory.run(log)
        elif section == "interpreter_lock":
            if text is None:
                skip("Training beside a Python-busy thread", no_text)
                continue
            from benchmarks import interpreter_lock

            rows += interpreter_lock.run(text, args.quick, log)
        elif section == "trainer_slices":
            from benchmarks import trainer_slices

            rows += trainer_slices.run(args.quick, log)
        elif section == "browser_training":
            from benchmarks import browser_training

            rows += browser_training.run(args.quick, log)
        torch.set_num_threads(threads_before)

    seconds = time.perf_counter() - t0
    table = format_table(rows)
    head = header(args.quick, started, load_start, seconds)
    print(head + "\n\n" + table)
    if args.write:
        write_results(args.write, args.quick, head, table)
    missed = [r.name for r in rows if r.met is False]
    log(f"done in {seconds / 60:.1f} min; targets missed: {len(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
