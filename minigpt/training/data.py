"""Token ids split into training and validation text, served as (input, target) batches.

The split is contiguous, the validation part last: random lines sprinkled through the text would
leak their neighbours into training and make the validation loss look better than it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

Split = Literal["train", "val"]
_SPLIT_NAMES = {"train": "training", "val": "validation"}


def compact_dtype(max_id: int) -> torch.dtype:
    """The smallest integer dtype that holds ids up to max_id.

    A corpus is held once per server and shared by every session, so its size counts: the
    plays are 4.8 M characters, 38 MB as int64 and 10 MB as int16. Batches are widened to
    int64 (what embeddings and the loss take) only when they are drawn, as nanoGPT does.
    Example: compact_dtype(64) is torch.int16; compact_dtype(50_000) is torch.int32
    """
    return torch.int16 if max_id <= torch.iinfo(torch.int16).max else torch.int32


class TokenData:
    """A 1-D tensor of token ids (stored compactly) and where validation begins.

    `train` and `val` are views in the compact dtype; get_batch and windows return int64.
    Example: TokenData(range(100), val_fraction=0.1).val.tolist() == list(range(90, 100))
    """

    def __init__(self, ids: torch.Tensor | Sequence[int], val_fraction: float = 0.1) -> None:
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1) (got {val_fraction})")
        if not isinstance(ids, torch.Tensor):
            # Straight from a list to the compact dtype: an int64 tensor in between would
            # briefly cost four times the memory, and peak memory is what a server pays for.
            ids = list(ids)
            ids = torch.tensor(ids, dtype=compact_dtype(max(ids, default=0)))
        ids = ids.flatten()  # (N,)
        if ids.is_floating_point() or (len(ids) and int(ids.min()) < 0):
            raise ValueError("token ids must be non-negative integers")
        self.ids = ids.to(compact_dtype(int(ids.max()) if len(ids) else 0))
        self.val_fraction = val_fraction
        self.n_train = int(len(self.ids) * (1.0 - val_fraction))
        self.train = self.ids[: self.n_train]  # views: no copy of the text
        self.val = self.ids[self.n_train :]

    @classmethod
    def from_text(cls, text: str, tokenizer, val_fraction: float = 0.1) -> TokenData:
        """Encode a text with any tokenizer of the lab and split it."""
        return cls(tokenizer.encode(text), val_fraction)

    def __len__(self) -> int:
        return len(self.ids)

    def split(self, split: Split) -> torch.Tensor:
        if split not in _SPLIT_NAMES:
            raise ValueError(f"split must be 'train' or 'val' (got {split!r})")
        return self.train if split == "train" else self.val

    def check(self, split: Split, block_size: int) -> torch.Tensor:
        """The split's ids, or a ValueError if it cannot fill one example of block_size+1 tokens.

        One example needs block_size inputs plus the token after the last one as its target.
        """
        ids = self.split(split)
        if len(ids) < block_size + 1:
            raise ValueError(
                f"the corpus has {len(ids):,} tokens of {_SPLIT_NAMES[split]} text, fewer than "
                f"the context length+1 ({block_size + 1}) needed for one example; use a longer "
                "text, a shorter context or a different validation fraction"
            )
        return ids

    def get_batch(
        self,
        split: Split,
        batch_size: int,
        block_size: int,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """batch_size random windows: x (B, T) and y (B, T), where y[:, t] == x[:, t + 1].

        Start positions are drawn from `generator`, so one seed always gives the same batches.
        """
        ids = self.check(split, block_size)
        starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)  # (B,)
        offsets = starts[:, None] + torch.arange(block_size)  # (B, T)
        return ids[offsets].long(), ids[offsets + 1].long()

    def windows(
        self, split: Split, block_size: int, stride: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every window of block_size tokens, stride apart (default: side by side), in order.

        For measuring a loss over a whole split instead of a random sample of it. The tail that
        does not fill a window is left out. Returns x (N, T) and y (N, T) as int64 copies.
        Example: TokenData(range(11), 0.0).windows("train", 4)[0].tolist()
        == [[0, 1, 2, 3], [4, 5, 6, 7]]
        """
        stride = block_size if stride is None else stride
        if stride < 1:
            raise ValueError(f"stride must be at least 1 (got {stride})")
        return windows(self.check(split, block_size), block_size, stride)


def windows(ids: torch.Tensor, length: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for every window of `length` tokens, `stride` apart, as int64.

    The targets are the same windows one token later; a tail too short for a window is left
    out, and ids must hold at least length + 1 tokens.
    Example: windows(torch.arange(7), 3, 3)[1].tolist() == [[1, 2, 3], [4, 5, 6]]
    """
    x = ids[:-1].unfold(0, length, stride)  # (N, T)
    y = ids[1:].unfold(0, length, stride)  # (N, T), each row one token later
    return x.long(), y.long()
