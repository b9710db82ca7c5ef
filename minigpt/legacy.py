"""What earlier releases saved, in today's names: checkpoints must outlive the code's layout.

Before c_attn, attention had three layers, query, key and value, each (C, C). Their weights,
and Adam's moments for them, are stacked in that order into c_attn's (3C, C).
"""

from __future__ import annotations

import torch

_LEGACY_QKV = ("query", "key", "value")  # the three layers c_attn replaced, in its order


def stack_query_key_value(state: dict[str, torch.Tensor], prefix: str) -> None:
    """In place: `prefix`query/key/value weights (and biases) become `prefix`c_attn's.

    Example: {"attn.query.weight": q, "attn.key.weight": k, "attn.value.weight": v} becomes
    {"attn.c_attn.weight": torch.cat([q, k, v])}, (3C, C): the same outputs, stacked.
    """
    for kind in ("weight", "bias"):
        names = [f"{prefix}{layer}.{kind}" for layer in _LEGACY_QKV]
        if all(name in state for name in names):
            state[f"{prefix}c_attn.{kind}"] = _stack([state.pop(name) for name in names])


def _stack(parts: list[torch.Tensor]) -> torch.Tensor:
    """torch.cat along rows; for meta tensors (shapes only) the shape is worked out here, since
    torch's meta cat runs a Python reference whose first call imports its compiler (~80 MB)."""
    rest = {tuple(p.shape[1:]) for p in parts}
    if all(p.is_meta for p in parts) and len(rest) == 1 and parts[0].dim() > 0:
        rows = sum(p.shape[0] for p in parts)
        return torch.empty((rows, *rest.pop()), dtype=parts[0].dtype, device="meta")
    return torch.cat(parts)


def legacy_names(name: str) -> list[str]:
    """The names a parameter had in releases before c_attn, in c_attn's order.

    Example: legacy_names("h.0.attn.c_attn.bias") == ["h.0.attn.query.bias",
    "h.0.attn.key.bias", "h.0.attn.value.bias"]; any other name is itself: [name].
    """
    if ".c_attn." not in name:
        return [name]
    return [name.replace(".c_attn.", f".{layer}.") for layer in _LEGACY_QKV]


def upgrade_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of a state dict with older releases' names turned into today's.

    `load_state_dict` does this by itself; this is for code that compares a file's names with
    the model's before loading (as the checkpoint loader does, to explain a mismatch in words).
    Example: upgrade_state_dict(old)["h.0.attn.c_attn.weight"].shape == (3 * C, C)
    """
    state = dict(state)
    suffix = f"{_LEGACY_QKV[0]}.weight"
    for prefix in [name.removesuffix(suffix) for name in state if name.endswith(suffix)]:
        stack_query_key_value(state, prefix)
    return state


def stack_legacy_moments(now: list[list[str]], state: dict) -> dict | None:
    """An optimizer state dict saved before c_attn, re-indexed for today's parameters.

    `now` names the optimizer's parameters group by group. A saved state is indexed by
    position, so both layouts' names are lined up group by group and the query/key/value
    moments are concatenated, (C, C) x 3 -> (3C, C), like the weights. None when the state is
    already today's or fits neither layout (then load_state_dict says what is wrong).
    Example: an AdamW over GPT(cfg) loads a previous release's state after this.
    """
    before = [[old for n in group for old in legacy_names(n)] for group in now]
    sizes = [len(g["params"]) for g in state["param_groups"]]
    if sizes == [len(g) for g in now] or sizes != [len(g) for g in before]:
        return None  # today's layout, or a mismatch load_state_dict will name
    moments, groups, index = {}, [], 0
    for new_names, old_names, group in zip(now, before, state["param_groups"], strict=True):
        saved_id = dict(zip(old_names, group["params"], strict=True))
        for i, name in enumerate(new_names, start=index):
            parts = [state["state"].get(saved_id[old]) for old in legacy_names(name)]
            if all(parts):  # moments (C, C) x 3 -> (3C, C); the step count is shared
                moments[i] = {
                    k: torch.cat([p[k] for p in parts]) if v.dim() else v
                    for k, v in parts[0].items()
                }
        groups.append({**group, "params": list(range(index, index + len(new_names)))})
        index += len(new_names)
    return {"state": moments, "param_groups": groups}
