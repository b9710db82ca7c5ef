"""The reference we race: a GPT and its training step in the plainest nanoGPT form.

Written from scratch to match what nanoGPT's `model.py` and `train.py` do on a CPU, so our
figures are ratios against a well-known, fast baseline measured in the same process:
pre-LayerNorm blocks, exact GELU, one fused `c_attn` projection and PyTorch's
scaled_dot_product_attention, dropout modules present (p=0 in the published CPU run), tied
embeddings, AdamW (fused when this torch has the CPU kernel) with decay on matrices only, a
warmup-then-cosine learning rate, gradient clipping at 1.0.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class RefConfig:
    """nanoGPT's published CPU run on Shakespeare characters (vocab from the text)."""

    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True


@dataclass(frozen=True)
class RefTrain:
    """nanoGPT's config/train_shakespeare_char.py with the README's CPU overrides."""

    batch_size: int = 12
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0


class CausalSelfAttention(nn.Module):
    def __init__(self, config: RefConfig) -> None:
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # each (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: RefConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: RefConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class RefGPT(nn.Module):
    def __init__(self, config: RefConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:  # generation needs only the last position
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


def fused_adamw_on_cpu() -> bool:
    """Does this torch have AdamW's fused kernel for CPU tensors? (nanoGPT asks only for CUDA.)"""
    if "fused" not in inspect.signature(torch.optim.AdamW).parameters:
        return False
    try:
        p = nn.Parameter(torch.zeros(2))
        p.grad = torch.ones(2)
        torch.optim.AdamW([p], fused=True).step()
    except (RuntimeError, NotImplementedError):
        return False
    return True


def configure_optimizer(model: RefGPT, train: RefTrain) -> torch.optim.AdamW:
    """nanoGPT's configure_optimizers: decay 2-D tensors only; fused if possible, else foreach."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": train.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    kind = {"fused": True} if fused_adamw_on_cpu() else {"foreach": True}
    betas = (train.beta1, train.beta2)
    return torch.optim.AdamW(groups, lr=train.learning_rate, betas=betas, **kind)


def get_lr(it: int, train: RefTrain) -> float:
    """nanoGPT's schedule: linear warmup, cosine down to min_lr at lr_decay_iters."""
    if it < train.warmup_iters:
        return train.learning_rate * (it + 1) / (train.warmup_iters + 1)
    if it > train.lr_decay_iters:
        return train.min_lr
    ratio = (it - train.warmup_iters) / (train.lr_decay_iters - train.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return train.min_lr + coeff * (train.learning_rate - train.min_lr)


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """nanoGPT's get_batch: random windows stacked into x (B, T) and y shifted by one, widened
    to int64 per batch from the compactly stored ids (nanoGPT keeps uint16 on disk)."""
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i : i + block_size] for i in ix]).long()
    y = torch.stack([data[i + 1 : i + 1 + block_size] for i in ix]).long()
    return x, y


class RefTrainer:
    """nanoGPT's training loop body, one iteration per `step()`."""

    def __init__(self, model: RefGPT, data: torch.Tensor, train: RefTrain, seed: int = 1337):
        self.model, self.data, self.train = model, data, train
        self.optimizer = configure_optimizer(model, train)
        self.generator = torch.Generator().manual_seed(seed)
        self.iter_num = 0

    def step(self) -> float:
        lr = get_lr(self.iter_num, self.train)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(
            self.data, self.train.batch_size, self.model.config.block_size, self.generator
        )
        self.model.train()
        _, loss = self.model(x, y)
        loss.backward()
        if self.train.grad_clip != 0.0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.iter_num += 1
        return loss.item()  # nanoGPT logs every step in the CPU run (log_interval=1)
