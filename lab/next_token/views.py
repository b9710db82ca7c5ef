"""What the Next token page shows, as plain numpy arrays and labels (no Streamlit, no torch
in the result): the chart builders draw these, and tests check them on known cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lab.engine.views import visible
from minigpt.analysis.lens import logit_lens
from minigpt.analysis.nexttoken import next_logits, sampling_stages, step_generator
from minigpt.analysis.surprise import bits_per_char, text_surprise
from minigpt.sampling import SamplingConfig

N_SHOWN = 20  # bars drawn per stage; the rest of the vocabulary is one "all the rest" bar


def label(tokenizer, i: int) -> str:
    """A token as a person can read it: spaces, new lines and split bytes drawn visibly."""
    return visible(tokenizer.token_str(int(i)))


def logits_for(model: nn.Module, ids: list[int]) -> np.ndarray:
    """The model's next-token logits (V,) after ids (it reads the last block_size of them)."""
    return next_logits(model, ids).numpy()


@dataclass(frozen=True)
class StagesView:
    """The top N_SHOWN tokens by the model's own probability, through each sampling stage."""

    ids: np.ndarray  # (n,) token ids, likeliest first (temperature keeps this order)
    labels: list[str]  # (n,) visible token text
    raw: np.ndarray  # (n,) the model's probabilities
    tempered: np.ndarray  # (n,) after temperature
    kept: np.ndarray  # (n,) bool: survives top-k and top-p
    cut_by: list[str]  # (n,) "" for kept tokens, else "top-k" or "top-p"
    final: np.ndarray  # (n,) renormalised over the kept tokens
    rest: dict[str, float]  # the other V - n tokens summed: raw, tempered, kept (tempered), final
    n_rest: int  # how many tokens "all the rest" stands for
    n_kept: int  # tokens kept in the whole vocabulary
    n_cut_by_top_k: int  # of the whole vocabulary
    sampled: int  # token id drawn from `final`
    sampled_label: str
    sampled_rank: int  # its place by probability (0 = likeliest)
    sampled_prob: float  # its probability in `final`, the distribution it was drawn from
    sampled_raw: float  # and in the model's own distribution


def stages_view(logits: np.ndarray, sampling: SamplingConfig, step: int, tokenizer) -> StagesView:
    """Every stage of the next choice, drawn with the step-th generator (see step_generator)."""
    s = sampling_stages(
        torch.from_numpy(logits),
        sampling.temperature,
        sampling.top_k,
        sampling.top_p,
        step_generator(sampling.seed, step),
    )
    raw, tempered, final = (t.numpy().astype(np.float64) for t in (s.raw, s.tempered, s.final))
    kept, kept_k = s.kept.numpy(), s.kept_by_top_k.numpy()
    order = np.argsort(-raw, kind="stable")  # likeliest first; ties keep id order
    top, others = order[:N_SHOWN], order[N_SHOWN:]
    return StagesView(
        ids=top,
        labels=[label(tokenizer, i) for i in top],
        raw=raw[top],
        tempered=tempered[top],
        kept=kept[top],
        cut_by=["" if kept[i] else ("top-k" if not kept_k[i] else "top-p") for i in top],
        final=final[top],
        rest={
            "raw": float(raw[others].sum()),
            "tempered": float(tempered[others].sum()),
            "kept": float(tempered[others][kept[others]].sum()),
            "final": float(final[others].sum()),
        },
        n_rest=len(others),
        n_kept=int(kept.sum()),
        n_cut_by_top_k=int((~kept_k).sum()),
        sampled=s.sampled,
        sampled_label=label(tokenizer, s.sampled),
        sampled_rank=int(np.flatnonzero(order == s.sampled)[0]),
        sampled_prob=float(final[s.sampled]),
        sampled_raw=float(raw[s.sampled]),
    )


@dataclass(frozen=True)
class SurpriseView:
    """Each token of a text with the model's surprise at it (the first token is not predicted)."""

    labels: list[str]  # (T,) every token of the text
    nats: np.ndarray  # (T-1,) -log p of tokens 1 .. T-1
    probs: np.ndarray  # (T-1,) p of each of them
    top_labels: list[list[str]]  # (T-1, k) what the model expected instead, likeliest first
    top_probs: np.ndarray  # (T-1, k)
    n_chars: int  # characters of tokens 1 .. T-1, what bits_per_char divides by
    bits_per_char: float


def surprise_view(model: nn.Module, tokenizer, ids: list[int], n_top: int = 5) -> SurpriseView:
    """Surprise over ids (at least two), with the top alternatives as readable labels."""
    s = text_surprise(model, ids, n_top)
    n_chars = len(tokenizer.decode(ids[1:]))
    return SurpriseView(
        labels=[label(tokenizer, i) for i in ids],
        nats=s.nats.numpy(),
        probs=s.probs.numpy(),
        top_labels=[[label(tokenizer, i) for i in row] for row in s.top_ids.tolist()],
        top_probs=s.top_probs.numpy(),
        n_chars=n_chars,
        bits_per_char=bits_per_char(s.nats, n_chars) if n_chars else float("nan"),
    )


@dataclass(frozen=True)
class LensView:
    """The logit lens over the last positions of a sequence (L layers, P positions shown)."""

    labels: list[str]  # (P,) the token at each shown position (the input there)
    positions: np.ndarray  # (P,) their index in the whole sequence
    top_labels: list[list[list[str]]]  # (L, P, k) each layer's likeliest next tokens
    top_probs: np.ndarray  # (L, P, k)
    final_labels: list[str]  # (P,) the model's own pick after each position
    final_rank: np.ndarray  # (L, P) rank of that pick at each layer (0 = top)
    final_prob: np.ndarray  # (L, P)


def lens_view(
    model: nn.Module, tokenizer, ids: list[int], n_positions: int, k: int = 5
) -> LensView:
    """The lens on the context window of ids, keeping the last n_positions for the grid."""
    window = ids[-model.config.block_size :]
    lens = logit_lens(model, window, k)
    keep = slice(max(0, len(window) - n_positions), len(window))
    return LensView(
        labels=[label(tokenizer, i) for i in window[keep]],
        positions=np.arange(len(ids) - len(window), len(ids))[keep],
        top_labels=[
            [[label(tokenizer, i) for i in row] for row in layer]
            for layer in lens.top_ids[:, keep].tolist()
        ],
        top_probs=lens.top_probs[:, keep].numpy(),
        final_labels=[label(tokenizer, i) for i in lens.final_ids[keep].tolist()],
        final_rank=lens.final_rank[:, keep].numpy(),
        final_prob=lens.final_prob[:, keep].numpy(),
    )


def uniform_bits(vocab_size: int) -> float:
    """Bits per token of a model that guesses uniformly: log2 V. Example: uniform_bits(2) == 1."""
    return float(np.log2(vocab_size))
