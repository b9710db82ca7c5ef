"""A checkpoint's tensors checked against the model its config describes: names, types and
shapes from the file's header before any weight is read, then the weights' values.

The header's other fields are checked in checkpoint_check.py; every refusal here is the same
`CheckpointError`, one sentence saying what is wrong.
"""

from __future__ import annotations

from typing import Any

import torch

from minigpt.config import GPTConfig
from minigpt.legacy import upgrade_state_dict
from minigpt.shapes import meta_model
from minigpt.training.checkpoint_check import CheckpointError

# Tensor names a checkpoint may hold, by prefix, and their stored types; anything else is
# refused unread.
TENSOR_PREFIXES = ("model.", "optim.", "trainer.")
_DTYPES = {"model.": {"F32"}, "optim.": {"F32"}, "trainer.": {"U8"}}


def _expected(config: GPTConfig) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """{name: shape} of the weights a model of config stores, and {alias: name} for the ties it
    really has, read off a model on the meta device (shapes without memory)."""
    model = meta_model(config)
    shapes = {k: tuple(t.shape) for k, t in model.state_dict().items()}
    first: dict[int, str] = {}  # id(parameter) -> the first name it has
    ties = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            ties[name] = first[id(p)]
        else:
            first[id(p)] = name
    return shapes, ties


def check_tensors(entries: dict, config: GPTConfig, tied: Any) -> None:
    """Names, types and shapes from the header, against the model the config describes, before
    any weight is read or built: only the model's own ties, no stored copy of an alias."""
    shapes, ties = _expected(config)
    if not isinstance(tied, dict) or any(ties.get(a) != n for a, n in tied.items()):
        raise CheckpointError(
            f"the checkpoint's 'tied' map claims ties this model does not have (it has only "
            f"{ties or 'none'})"
        )
    for name, entry in entries.items():
        prefix = next((p for p in TENSOR_PREFIXES if name.startswith(p)), None)
        ok = isinstance(entry, dict) and isinstance(entry.get("shape"), list)
        if prefix is None or not ok or entry.get("dtype") not in _DTYPES[prefix]:
            raise CheckpointError(f"the checkpoint holds a tensor this lab does not know: {name}")
    stored = {k.removeprefix("model."): tuple(e["shape"]) for k, e in entries.items()}
    stored = {k: v for k, v in stored.items() if f"model.{k}" in entries}
    # Older releases' names, upgraded on shapes alone (meta tensors allocate nothing).
    meta = upgrade_state_dict({k: torch.empty(v, device="meta") for k, v in stored.items()})
    stored = {k: tuple(t.shape) for k, t in meta.items()}
    if both := sorted(set(tied) & set(stored)):
        raise CheckpointError(f"the checkpoint stores weights it also declares tied: {both[:5]}")
    present = set(stored) | set(tied)
    if missing := sorted(set(shapes) - present):
        raise CheckpointError(f"the checkpoint lacks weights the model needs: {', '.join(missing)}")
    if unknown := sorted(present - set(shapes)):
        raise CheckpointError(f"the checkpoint has weights this model lacks: {', '.join(unknown)}")
    for name, shape in stored.items():
        if shape != shapes[name]:
            raise CheckpointError(
                f"weight {name} has shape {shape} in the checkpoint but the config needs {shapes[name]}"
            )
    param_shapes = {s for n, s in shapes.items() if n not in ties}
    for name, entry in entries.items():
        if name.startswith("optim.") and tuple(entry["shape"]) not in param_shapes | {()}:
            raise CheckpointError(f"optimizer tensor {name} fits no weight of this model")


def check_finite(tensors: dict[str, torch.Tensor]) -> None:
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(
                f"the checkpoint's {name} holds NaN or infinite numbers: the run it saved had "
                "blown up, and no text can be generated from it"
            )
