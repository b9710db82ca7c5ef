"""Model configuration: one frozen dataclass, so a config can key a cache and never drift."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

POS_EMBS = ("learned", "sinusoidal", "rope", "alibi", "none")


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT. Field names follow nanoGPT so learners can move between the two."""

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64  # the context length the model is trained on
    vocab_size: int = 65
    dropout: float = 0.0
    pos_emb: str = "learned"  # learned | sinusoidal | rope | alibi | none
    bias: bool = True  # biases in Linear and LayerNorm, as in GPT-2
    scale_embeddings: bool = (
        False  # multiply token embeddings by sqrt(n_embd), as in Vaswani et al.
    )
    # "exact" (erf) or "tanh", GPT-2's approximation, which GPT-2 weights need. The tanh form
    # was cheaper on 2019 accelerators; on a CPU today its kernel is the slower of the two
    # (4-8% of a lab training step, benchmarks/RESULTS.md), so the lab's own models use exact.
    gelu: str = "exact"

    def __post_init__(self) -> None:
        problems = config_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def replace(self, **changes: Any) -> GPTConfig:
        """A copy with some fields changed (the config itself never changes)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GPTConfig:
        """Rebuild from `to_dict` output; unknown keys are refused rather than silently dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown GPTConfig fields: {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> GPTConfig:
        """A named shape: GPT-2's four sizes or one of the lab's CPU-sized models.

        Example: GPTConfig.preset("gpt2-small") has exactly 124,439,808 parameters.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        return dataclasses.replace(PRESETS[name], **overrides)


def config_problems(cfg: GPTConfig) -> list[str]:
    """Every reason this shape cannot be built, worded for a person (empty when it is fine)."""
    problems = []
    for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
        if getattr(cfg, name) < 1:
            problems.append(f"{name} must be at least 1 (got {getattr(cfg, name)})")
    if cfg.n_head >= 1 and cfg.n_embd % cfg.n_head:
        problems.append(
            f"width n_embd={cfg.n_embd} must divide evenly into n_head={cfg.n_head} heads"
        )
    if cfg.pos_emb == "rope" and cfg.n_head >= 1 and (cfg.n_embd // cfg.n_head) % 2:
        problems.append(f"RoPE rotates pairs of dimensions: head size {cfg.head_size} must be even")
    if cfg.pos_emb not in POS_EMBS:
        problems.append(f"pos_emb must be one of {', '.join(POS_EMBS)} (got {cfg.pos_emb!r})")
    if cfg.gelu not in ("tanh", "exact"):
        problems.append(f"gelu must be 'tanh' or 'exact' (got {cfg.gelu!r})")
    if not 0.0 <= cfg.dropout < 1.0:
        problems.append(f"dropout must be in [0, 1) (got {cfg.dropout})")
    return problems


_GPT2 = dict(block_size=1024, vocab_size=50257, dropout=0.0, pos_emb="learned", gelu="tanh")

PRESETS: dict[str, GPTConfig] = {
    "gpt2-small": GPTConfig(n_layer=12, n_head=12, n_embd=768, **_GPT2),
    "gpt2-medium": GPTConfig(n_layer=24, n_head=16, n_embd=1024, **_GPT2),
    "gpt2-large": GPTConfig(n_layer=36, n_head=20, n_embd=1280, **_GPT2),
    "gpt2-xl": GPTConfig(n_layer=48, n_head=25, n_embd=1600, **_GPT2),
    # The lab's own shapes, sized for a laptop CPU. vocab_size is set from the tokenizer at run time.
    "lab-tiny": GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=32),
    "lab-small": GPTConfig(n_layer=4, n_head=4, n_embd=128, block_size=64),
    "lab-medium": GPTConfig(n_layer=6, n_head=6, n_embd=192, block_size=128),
    # The live training page's default: validation loss under 1.9 nats per character on the
    # plays in about three minutes of one CPU core (measured; see lab/engine/runspec.py LIVE_TRAIN).
    "lab-live": GPTConfig(n_layer=4, n_head=4, n_embd=64, block_size=64),
    # Two layers are the fewest that can copy by content: a previous-token head in layer 0
    # feeds the induction head in layer 1 (see minigpt/training/repeats.py for the text).
    # RoPE makes "one token back" the same pattern at every position, so the previous-token
    # head forms fast; with learned positions no induction head had formed after 3000 steps.
    "lab-induction": GPTConfig(n_layer=2, n_head=4, n_embd=64, block_size=128, pos_emb="rope"),
}
