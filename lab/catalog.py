"""The lab's pages in one table: the router builds its navigation from it, the home page its
links, and the tests and benchmarks their page lists, so adding a page is one row here and a
file in pages/. No Streamlit here, so anything can read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"


@dataclass(frozen=True)
class LabPage:
    name: str  # the file pages/<name>.py, and the page's URL path
    title: str
    icon: str  # a Material Symbols name
    section: str  # the sidebar heading it is listed under ("" for none)
    lesson: str  # what it teaches, in a sentence or two for the home page

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.name}.py"

    @property
    def url(self) -> str:
        """Where a browser finds it: the default (first) page is served at the root."""
        return "" if self is CATALOG[0] else self.name


CATALOG: tuple[LabPage, ...] = (
    LabPage("home", "Home", "home", "", "What the lab is, and the shipped model at work."),
    LabPage(
        "tokenizers",
        "Tokenizers",
        "text_fields",
        "Explore",
        "How text becomes numbers: step through byte-pair merges one at a time, forward and "
        "back, and compare your tokenizer with GPT-4's real one.",
    ),
    LabPage(
        "positional",
        "Positional embeddings",
        "waves",
        "Explore",
        "How a model knows word order: sinusoidal waves, a learned table, RoPE's rotations and "
        "ALiBi's distance penalty, drawn as the model uses them.",
    ),
    LabPage(
        "attention",
        "Attention",
        "visibility",
        "Explore",
        "Where every head of every layer looks, on text you type, and which heads have learned "
        "to copy what came before (induction heads).",
    ),
    LabPage(
        "next_token",
        "Next token",
        "casino",
        "Explore",
        "Where the next token comes from: the model's odds reshaped by temperature, top-k and "
        "top-p in plain sight, one token at a time; how surprised it is by a text, and what "
        "each layer would have predicted.",
    ),
    LabPage(
        "training",
        "Live training",
        "model_training",
        "Train",
        "Press Start and watch a model go from noise to Shakespeare in a few minutes: losses, "
        "samples and attention heads forming, all while it trains.",
    ),
    LabPage(
        "finetune",
        "Fine-tune",
        "school",
        "Train",
        "Teach the model to answer questions about the plays: the loss counted on answers only, "
        "LoRA's few trainable weights beside full fine-tuning, and held-out accuracy over steps.",
    ),
    LabPage(
        "compare",
        "Compare",
        "compare_arrows",
        "Train",
        "Learned, sinusoidal, RoPE, ALiBi and no positions: identical models trained side by "
        "side, then asked to read contexts longer than they ever saw.",
    ),
)


def sections() -> dict[str, list[LabPage]]:
    """The catalog grouped by sidebar section, in order."""
    out: dict[str, list[LabPage]] = {}
    for page in CATALOG:
        out.setdefault(page.section, []).append(page)
    return out
