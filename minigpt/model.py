"""A GPT in the order you would explain it: attention, MLP, block, then the whole model.

Shapes use B (batch), T (time, tokens), C (n_embd), nh (heads), hs (head size = C / nh).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minigpt.analysis.probes import Probe
from minigpt.config import GPTConfig
from minigpt.kvcache import KVCache, LayerCache
from minigpt.legacy import stack_query_key_value
from minigpt.linear import Linear
from minigpt.positional import alibi_bias, apply_rope, rope_angles, sinusoidal_table


class ContextTooLongError(ValueError):
    """A learned position table has no row for this position: it was never trained there."""


def _dropout(p: float) -> nn.Module:
    # An Identity costs nothing per step; nn.Dropout(0.0) still dispatches in training mode.
    return nn.Dropout(p) if p > 0 else nn.Identity()


class CausalSelfAttention(nn.Module):
    """Each token mixes in earlier tokens, weighted by how well its query matches their keys."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.head_size = config.n_head, config.head_size
        self.pos_emb = config.pos_emb
        c = config.n_embd
        # Query, key and value projections stacked into one layer, as in GPT-2: one matrix
        # product instead of three (and one gradient for x instead of three to add up). Its
        # output is [query | key | value], split in forward. Of the ways measured it trained
        # fastest in every run (benchmarks/RESULTS.md, "Training step, 2026-11-29").
        self.c_attn = Linear(c, 3 * c, bias=config.bias)
        self.c_proj = Linear(c, c, bias=config.bias)
        self.attn_dropout_p = config.dropout
        self.resid_dropout = _dropout(config.dropout)
        # The probe sees the attention probabilities (B, nh, T, T) when someone captures it.
        self.probs = Probe()
        if self.pos_emb == "rope":
            angles = rope_angles(config.block_size, self.head_size)
            self.register_buffer("rope_angles", angles, persistent=False)
        if self.pos_emb == "alibi":
            self.register_buffer(
                "alibi", alibi_bias(self.n_head, config.block_size), persistent=False
            )

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        start = 0 if cache is None else len(cache)  # position of x's first token
        end = start + T
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, 3C) -> 3 x (B, T, C)
        # (B, T, C) -> (B, nh, T, hs): each head works on its own slice of the width.
        q = q.view(B, T, self.n_head, self.head_size).transpose(1, 2)
        k = k.view(B, T, self.n_head, self.head_size).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.head_size).transpose(1, 2)
        if self.pos_emb == "rope":
            angles = (
                self.rope_angles[start:end]
                if len(self.rope_angles) >= end
                else rope_angles(end, self.head_size)[start:]
            )
            q, k = apply_rope(q, angles), apply_rope(k, angles)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, nh, end, hs): the cached tokens' k, v, then ours
        bias = None
        if self.pos_emb == "alibi":
            # Rows for our queries (positions start..end-1), columns for every key so far.
            bias = (
                self.alibi[:, start:end, :end]
                if self.alibi.shape[-1] >= end
                else alibi_bias(self.n_head, end)[:, start:]
            )

        if self.probs.active:
            y = self._explicit(q, k, v, bias)
        else:
            y = self._fast(q, k, v, bias)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble heads: (B, T, C)
        return self.resid_dropout(self.c_proj(y))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # Checkpoints from before c_attn hold three layers; stack them the way c_attn is.
        stack_query_key_value(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _explicit(self, q, k, v, bias: torch.Tensor | None) -> torch.Tensor:
        """Softmax(q k^T / sqrt(hs) + bias, masked) v, written out so the probabilities can be seen."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_size)  # (B, nh, Tq, Tk)
        if bias is not None:
            scores = scores + bias
        scores = scores.masked_fill(_future(q, k), float("-inf"))  # a token may not look ahead
        probs = self.probs(F.softmax(scores, dim=-1))  # (B, nh, Tq, Tk), rows sum to 1
        probs = F.dropout(probs, self.attn_dropout_p, self.training)
        return probs @ v  # (B, nh, Tq, hs)

    def _fast(self, q, k, v, bias: torch.Tensor | None) -> torch.Tensor:
        """The same computation through PyTorch's fused kernel, for training speed."""
        p = self.attn_dropout_p if self.training else 0.0
        Tq, Tk = q.size(-2), k.size(-2)
        if bias is None and Tq == Tk:  # training, and a first pass over a prompt
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        if bias is None and Tq == 1:  # one new token after the cached ones: it sees them all
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        if bias is None:  # several new tokens after cached ones: True where a key is visible
            mask = ~_future(q, k)  # (Tq, Tk)
        else:
            mask = bias.masked_fill(_future(q, k), float("-inf")).to(q.dtype)  # (nh, Tq, Tk)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)


def _future(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(Tq, Tk) True where a key comes after its query: the queries are the last Tq of Tk tokens.

    Example: with no cache Tq == Tk and this is the strict upper triangle, triu(1).
    """
    Tq, Tk = q.size(-2), k.size(-2)
    return torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).triu(Tk - Tq + 1)


class MLP(nn.Module):
    """Position-wise feed-forward: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh" if config.gelu == "tanh" else "none")
        self.c_proj = Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = _dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: LayerCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token (and maybe position) embeddings, n_layer blocks, a final LayerNorm, tied output head."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        if config.pos_emb == "learned":
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
        if config.pos_emb == "sinusoidal":
            table = sinusoidal_table(config.block_size, config.n_embd)
            self.register_buffer("sinusoid", table, persistent=False)
        self.drop = _dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: reading and writing share one table
        self.apply(self._init_weights)
        # Residual projections add into the stream once per layer; shrink them so it stays O(1).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Parameters counted once each (the tied head is the token table)."""
        return sum(p.numel() for p in self.parameters())

    def embed(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Token embedding plus absolute position information, if the scheme adds any: (B, T, C).

        idx's first token sits at position `start` (later than 0 when earlier ones are cached).
        """
        end = start + idx.size(1)
        x = self.wte(idx)  # (B, T, C)
        if self.config.scale_embeddings:
            x = x * math.sqrt(self.config.n_embd)
        if self.config.pos_emb == "learned":
            if self.config.block_size < end:
                raise ContextTooLongError(
                    f"{end} tokens is longer than the learned position table "
                    f"(block_size={self.config.block_size}): positions past it were never trained"
                )
            x = x + self.wpe(torch.arange(start, end, device=idx.device))
        elif self.config.pos_emb == "sinusoidal":
            table = self.sinusoid if len(self.sinusoid) >= end else None
            if table is None:
                table = sinusoidal_table(end, self.config.n_embd).to(x.device)
            x = x + table[start:end]
        return self.drop(x)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position (B, T, vocab), and the mean cross-entropy if targets are given.

        With a cache, idx holds only the tokens that follow the cached ones; their keys and
        values are added to the cache (see KVCache).
        """
        x = self.embed(idx, start=0 if cache is None else len(cache))
        layer_caches = [None] * len(self.h) if cache is None else cache.layers
        for block, layer_cache in zip(self.h, layer_caches, strict=True):
            x = block(x, layer_cache)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    @classmethod
    def from_hf_gpt2(cls, state_dict: dict[str, torch.Tensor], config: GPTConfig) -> GPT:
        """Load a Hugging Face GPT2LMHeadModel state dict (its Conv1D weights are stored transposed)."""
        from minigpt.gpt2 import convert_hf_gpt2

        model = cls(config)
        model.load_state_dict(convert_hf_gpt2(state_dict, config))
        return model
