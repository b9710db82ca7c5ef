"""Keys and values kept between generation steps, so each new token costs one position's work."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LayerCache:
    """One layer's keys and values for the tokens seen so far, (B, nh, T, hs) each.

    They are kept in buffers with room to spare, filled from the front: a new token's k and v
    are written into the next free position, where torch.cat would copy every cached token
    again for each new one (a fifth of the shipped model's 120-token sample). A full buffer is
    replaced by one twice as long, so a sample of n tokens copies the cache about log2(n) times.
    """

    k_room: torch.Tensor | None = None  # (B, nh, capacity, hs); the first `length` are in use
    v_room: torch.Tensor | None = None
    length: int = 0

    def __len__(self) -> int:
        return self.length

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new tokens' k and v (B, nh, T_new, hs); return all of them so far."""
        start, end = self.length, self.length + k.size(2)
        if self.k_room is None or self.v_room is None or end > self.k_room.size(2):
            self.k_room, self.v_room = (
                self._grown(self.k_room, k, end),
                self._grown(self.v_room, v, end),
            )
        self.k_room[:, :, start:end] = k
        self.v_room[:, :, start:end] = v
        self.length = end
        return self.k_room[:, :, :end], self.v_room[:, :, :end]

    def _grown(self, room: torch.Tensor | None, new: torch.Tensor, end: int) -> torch.Tensor:
        """A buffer for at least `end` tokens (twice the old room), holding what room held."""
        capacity = max(end, 2 * (0 if room is None else room.size(2)))
        bigger = new.new_empty(new.size(0), new.size(1), capacity, new.size(3))
        if room is not None:
            bigger[:, :, : self.length] = room[:, :, : self.length]
        return bigger


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
