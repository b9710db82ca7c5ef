"""Keys and values kept between generation steps, so each new token costs one position's work."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LayerCache:
    """One layer's keys and values for the tokens seen so far, (B, nh, T, hs) each."""

    k: torch.Tensor | None = None
    v: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.size(2)

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new tokens' k and v (B, nh, T_new, hs); return all of them so far."""
        self.k = k if self.k is None else torch.cat((self.k, k), dim=2)
        self.v = v if self.v is None else torch.cat((self.v, v), dim=2)
        return self.k, self.v


@dataclass
class KVCache:
    """Every layer's keys and values, so generation feeds in only the tokens it has not seen.

    Why it is exact: attention is causal, so a token's k and v depend only on that token and
    the ones before it. Appending a token changes no earlier k or v; keeping them and computing
    q, k, v for the new token alone gives the same logits as running the whole sequence again.
    That holds while every token keeps its position (see sampling.py for the sliding window).
    Make a fresh one per generation call and pass it in; never keep it on the model, which
    sessions share. Example: model(idx, cache=KVCache.empty(model.config.n_layer)).
    """

    layers: list[LayerCache]  # one per block

    @classmethod
    def empty(cls, n_layer: int) -> KVCache:
        return cls([LayerCache() for _ in range(n_layer)])

    def __len__(self) -> int:  # tokens cached so far
        return len(self.layers[0])
