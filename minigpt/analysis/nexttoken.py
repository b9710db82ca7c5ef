"""Where the next token comes from, stage by stage: the model's probabilities, the same after
temperature, what top-k and top-p cut away, the renormalised distribution, and the draw.

Every stage goes through `minigpt.sampling.filter_probs`, the function `generate` samples
with, so what a page shows is exactly what generation does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from minigpt.sampling import filter_probs


@dataclass(frozen=True)
class SamplingStages:
    """One next-token choice, every stage a (V,) distribution over the vocabulary."""

    raw: torch.Tensor  # softmax of the logits: the model's own opinion (temperature 1)
    tempered: torch.Tensor  # after temperature, before any cut (one-hot at temperature 0)
    kept_by_top_k: torch.Tensor  # bool: tokens top-k lets through (all of them when off)
    kept: torch.Tensor  # bool: tokens left after top-k and then top-p
    final: torch.Tensor  # renormalised over the kept tokens: what the sample is drawn from
    sampled: int  # the token drawn from `final`

    @property
    def n_kept(self) -> int:
        """How many tokens survive the cut. Example: with top_k=1 this is 1."""
        return int(self.kept.sum())


@torch.inference_mode()
def next_logits(model: nn.Module, ids: list[int]) -> torch.Tensor:
    """The model's logits (V,) for the token after ids, reading at most its last block_size.

    The window is the one `generate` reads once a sequence outgrows the context.
    Example: next_logits(model, [3, 1]).shape == (model.config.vocab_size,).
    """
    if not ids:
        raise ValueError("the model needs at least one token to predict the next")
    window = torch.tensor([ids[-model.config.block_size :]])  # (1, T)
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(window)
    finally:
        model.train(was_training)
    return logits[0, -1].float()


def sampling_stages(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> SamplingStages:
    """Each stage of turning logits (V,) into one token, with generate's own filter and draw.

    The draw is the one `generate` makes: torch.multinomial on a (1, V) row, so the same
    generator state gives the same token. Temperature 0 is greedy: every stage from
    `tempered` on is one-hot at the argmax.
    Example: sampling_stages(logits, top_k=1).sampled == int(logits.argmax()).
    """
    logits = logits.float()
    raw = torch.softmax(logits, dim=-1)
    tempered = filter_probs(logits, temperature)
    kept_by_top_k = filter_probs(logits, temperature, top_k) > 0
    final = filter_probs(logits[None], temperature, top_k, top_p)  # (1, V), as generate has it
    sampled = int(torch.multinomial(final, 1, generator=generator))
    final = final[0]
    return SamplingStages(raw, tempered, kept_by_top_k, final > 0, final, sampled)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator for the step-th token chosen one at a time (step 0 is the first).

    Step 0 uses the seed itself, so the first token is the one `generate` draws with that seed;
    later steps use seed + step, so undoing and redoing a step draws the same token again.
    """
    return torch.Generator().manual_seed(seed + step)
