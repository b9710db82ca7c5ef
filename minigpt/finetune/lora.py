"""LoRA: fine-tune a few low-rank matrices beside frozen weights instead of every weight.

A frozen weight W (out, in) gets a trainable change of rank r: W + (alpha / r) B A, with
A (r, in) and B (out, r). For r much smaller than the width that is a small share of the
parameters, and the change can be folded into W afterwards, costing nothing at inference.

Here the change is a torch parametrization on each Linear's `weight`: whoever reads the
weight, the module's own forward or code that concatenates several layers' weights into one
matrix, reads W + (alpha / r) B A. So LoRA needs to know nothing about how the model calls its
layers, only which Linear layers to adapt (every one inside chosen blocks' attention and MLP).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import nn
from torch.nn.utils import parametrize

TARGETS = ("attn", "mlp")


@dataclass(frozen=True)
class LoRAConfig:
    """Which layers get adapters and how large. layers None means every block."""

    rank: int = 8
    alpha: float = 16.0  # the change is scaled by alpha / rank, so rank can change alone
    layers: tuple[int, ...] | None = None
    targets: tuple[str, ...] = TARGETS  # "attn" and/or "mlp": the Linear layers inside them

    def problems(self, n_layer: int) -> list[str]:
        """Every reason this cannot adapt a model of n_layer blocks (empty when fine)."""
        out = []
        if self.rank < 1:
            out.append(f"rank must be at least 1 (got {self.rank})")
        if not self.alpha > 0:
            out.append(f"alpha must be positive (got {self.alpha})")
        if bad := [i for i in self.layers or () if not 0 <= i < n_layer]:
            out.append(f"layers must be between 0 and {n_layer - 1} (got {bad})")
        if not self.targets or set(self.targets) - set(TARGETS):
            out.append(f"targets must be some of {', '.join(TARGETS)} (got {self.targets})")
        return out


class LoRA(nn.Module):
    """The parametrization: given the frozen weight, return it plus the low-rank change.

    B starts at zero, so at the start the model is exactly the one it was; A starts random,
    so B's first gradient is not zero (if both were zero neither would ever move).
    """

    def __init__(self, out_features: int, in_features: int, rank: int, alpha: float) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # what nn.Linear uses for its weight
        self.scale = alpha / rank

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.scale * (self.B @ self.A)  # (out, r) @ (r, in) -> (out, in)


def adapted_layers(model: nn.Module, cfg: LoRAConfig) -> dict[str, nn.Linear]:
    """{name: Linear} of every layer cfg adapts, e.g. "h.0.attn.query" and "h.0.mlp.c_fc"."""
    chosen = range(len(model.h)) if cfg.layers is None else cfg.layers
    out = {}
    for i in chosen:
        for target in cfg.targets:
            part = getattr(model.h[i], target)
            for name, module in part.named_modules():
                if isinstance(module, nn.Linear):
                    out[f"h.{i}.{target}.{name}"] = module
    return out


def add_lora(model: nn.Module, cfg: LoRAConfig) -> list[str]:
    """Freeze every weight of model and add trainable adapters; returns the adapted layers.

    The model changes in place; afterwards only the adapters' A and B require gradients.
    """
    if problems := cfg.problems(len(model.h)):
        raise ValueError("; ".join(problems))
    model.requires_grad_(False)
    layers = adapted_layers(model, cfg)
    for module in layers.values():
        out_f, in_f = module.weight.shape
        lora = LoRA(out_f, in_f, cfg.rank, cfg.alpha).to(module.weight.device)
        parametrize.register_parametrization(module, "weight", lora)
    return list(layers)


def lora_modules(model: nn.Module) -> dict[str, LoRA]:
    """{layer name: its LoRA} for every adapted layer of model."""
    out = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations.weight:
                if isinstance(p, LoRA):
                    out[name] = p
    return out


@torch.no_grad()
def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its weight and make the whole model trainable again.

    The result is a plain GPT with the same outputs, which any checkpoint code can save.
    """
    for name in lora_modules(model):
        module = model.get_submodule(name)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model.requires_grad_(True)


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapters' weights: "<layer>.A" and "<layer>.B", detached copies."""
    return {
        f"{name}.{part}": getattr(lora, part).detach().clone()
        for name, lora in lora_modules(model).items()
        for part in ("A", "B")
    }


@torch.no_grad()
def load_lora_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy adapter weights saved by lora_state_dict into a model with the same adapters."""
    mine = lora_state_dict(model)
    if set(mine) != set(state):
        raise ValueError("these adapters were made for other layers than the model's adapters")
    for name, lora in lora_modules(model).items():
        for part in ("A", "B"):
            t = state[f"{name}.{part}"]
            if t.shape != getattr(lora, part).shape:
                raise ValueError(
                    f"adapter {name}.{part} has shape {tuple(t.shape)}, not the rank set"
                )
            getattr(lora, part).copy_(t)


def trainable_params(model: nn.Module) -> tuple[int, int]:
    """(parameters that train, all parameters), adapters included, tied ones counted once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def save_adapters(path: str | Path, model: nn.Module, cfg: LoRAConfig) -> None:
    """Only the adapters (a few percent of the model) and their config, as safetensors."""
    meta = {"format": "minigpt-lab-lora", "lora": json.dumps(dataclasses.asdict(cfg))}
    safetensors.torch.save_file(lora_state_dict(model), str(path), metadata=meta)


def load_adapters(model: nn.Module, path: str | Path) -> LoRAConfig:
    """Add the adapters saved by save_adapters to model (freezing it) and load their weights."""
    with safetensors.safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != "minigpt-lab-lora":
            raise ValueError(f"{path} holds no minigpt-lab LoRA adapters")
        state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
    d = json.loads(meta["lora"])
    layers = None if d["layers"] is None else tuple(d["layers"])
    cfg = LoRAConfig(d["rank"], d["alpha"], layers, tuple(d["targets"]))
    add_lora(model, cfg)
    load_lora_state_dict(model, state)
    return cfg
