"""AdamW, the optimizer every trainer here uses, without torch.optim's Optimizer class.

What one step does, per weight w with gradient g, at step t (counted from 1):

    m = beta1 * m + (1 - beta1) * g           # a running mean of the gradient
    v = beta2 * v + (1 - beta2) * g * g       # a running mean of its square
    w = w - lr * weight_decay * w             # decay pulls the weight itself toward 0
    w = w - lr * m_hat / (sqrt(v_hat) + eps)  # m_hat = m / (1 - beta1**t), v_hat likewise

so each weight moves by about lr in the direction its recent gradients agree on, whatever their
scale. m_hat and v_hat divide out the moments' pull toward their zero start in the first steps.
The decay is "decoupled": it shrinks the weight directly and never enters m or v, unlike Adam
with an L2 penalty, whose decay the division by sqrt(v) would scale differently per weight.

The arithmetic is torch's own fused CPU kernel (`torch._fused_adamw_`), called the way
`torch.optim.AdamW(..., fused=True)` calls it, so weights and moments come out bitwise equal to
it. What we leave out is its base class: `torch.optim.Optimizer` wraps `zero_grad`,
`state_dict`, `load_state_dict` and adding a parameter group in `torch._disable_dynamo`, whose
first call imports torch's compiler. Building any torch optimizer cost a fresh process about
70 MB more resident memory (220 MB after `import torch`, 291 MB after `AdamW(...)`), which the
shared server paid on the page that trains although nothing here is ever compiled.

`state_dict()` and `load_state_dict()` speak torch's format, so checkpoints written with either
class load into the other.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from typing import Any

import torch

# Every key torch.optim.AdamW(fused=True) keeps in a parameter group besides "params", with
# its defaults: checkpoints written by either class hold the same settings.
_FIXED = {
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": True,
    "decoupled_weight_decay": True,
}

State = dict[str, torch.Tensor]  # "step" (float32, 0-d), "exp_avg", "exp_avg_sq" (like the weight)


class AdamW:
    """AdamW over `params` (tensors, or groups: dicts with "params" and their own settings).

    Example: opt = AdamW(model.parameters(), lr=1e-3); loss.backward(); opt.step();
    opt.zero_grad(). Change a group's "lr" between steps for a schedule, as with torch's.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        given = list(params)
        if not given:
            raise ValueError("AdamW got no parameters to optimize")
        if not isinstance(given[0], dict):
            given = [{"params": given}]
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[torch.Tensor, State] = {}  # filled at each weight's first step
        seen: set[int] = set()
        for g in given:
            group = {**g, "params": list(g["params"])}
            for key, value in {**defaults, **_FIXED}.items():
                group.setdefault(key, value)
            _check(group)
            if any(id(p) in seen for p in group["params"]):
                raise ValueError("a parameter appears in more than one AdamW group")
            seen.update(id(p) for p in group["params"])
            self.param_groups.append(group)

    @torch.no_grad()
    def step(self) -> None:
        """One update of every weight that has a gradient (the others keep weights and state)."""
        for group in self.param_groups:
            # The kernel takes one device and dtype per call; torch splits a group the same way.
            split: dict[tuple, list[torch.Tensor]] = {}
            for p in group["params"]:
                if p.grad is not None:
                    if p.grad.is_sparse:
                        raise ValueError("AdamW does not take sparse gradients")
                    split.setdefault((p.device, p.dtype), []).append(p)
            beta1, beta2 = group["betas"]
            for params in split.values():
                states = [self.state.get(p) or self._start(p) for p in params]
                steps = [s["step"] for s in states]
                torch._foreach_add_(steps, 1)
                torch._fused_adamw_(
                    params,
                    [p.grad for p in params],
                    [s["exp_avg"] for s in states],
                    [s["exp_avg_sq"] for s in states],
                    [],  # the running maximum of v that amsgrad would keep
                    steps,
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    weight_decay=group["weight_decay"],
                    eps=group["eps"],
                    amsgrad=False,
                    maximize=False,
                )

    def _start(self, p: torch.Tensor) -> State:
        """Zero moments and a step count of 0 (float32, as the fused kernel reads it)."""
        self.state[p] = {
            "step": torch.zeros((), dtype=torch.float32, device=p.device),
            "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
        }
        return self.state[p]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (or zero it in place), ready for the next backward."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def state_dict(self) -> dict[str, Any]:
        """torch.optim's format: weights named by their position, counted across groups in order.

        Example: two groups of 3 and 2 weights save "params" [0, 1, 2] and [3, 4], and
        "state" {i: {"step", "exp_avg", "exp_avg_sq"}} for each weight stepped so far. The
        tensors are the live ones (as torch's are): copy them to keep a snapshot.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        state = {index[id(p)]: dict(entries) for p, entries in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Settings and moments from a `state_dict()` of this class or of torch's AdamW.

        As torch does, each group's settings (lr, betas, ...) come from the saved group and
        weights are matched by position; tensors are copied onto each weight's device and
        dtype, except "step", which stays float32.
        """
        saved = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in saved]
        have = [len(g["params"]) for g in self.param_groups]
        if sizes != have:
            raise ValueError(
                f"the saved optimizer has groups of {sizes} weights but this one has {have}: "
                "the state belongs to a different model"
            )
        weight = dict(
            zip(
                itertools.chain.from_iterable(g["params"] for g in saved),
                self._all_params(),
                strict=True,
            )
        )
        state: dict[torch.Tensor, State] = {}
        for i, entries in state_dict["state"].items():
            if i not in weight:
                raise ValueError(f"the saved optimizer state {i!r} names no weight")
            if entries:  # torch saves an empty entry for a weight it looked up but never stepped
                state[weight[i]] = _loaded(entries, weight[i])
        groups = []
        for ours, g in zip(self.param_groups, saved, strict=True):
            # Settings the saved group lacks keep this optimizer's values.
            group = {k: v for k, v in ours.items() if k != "params"}
            group |= copy.deepcopy({k: v for k, v in g.items() if k != "params"})
            group |= {"fused": True, "decoupled_weight_decay": True}  # what runs, whatever saved it
            betas = group["betas"]
            group["betas"] = tuple(betas) if isinstance(betas, (list, tuple)) else (betas,)
            _check(group)
            groups.append({**group, "params": ours["params"]})
        self.param_groups, self.state = groups, state

    def _all_params(self) -> list[torch.Tensor]:
        return [p for g in self.param_groups for p in g["params"]]


def _check(group: dict[str, Any]) -> None:
    """Settings the fused kernel can run, refused in words otherwise."""
    betas = group["betas"]
    if not all(_number(group[k]) and group[k] >= 0 for k in ("lr", "eps", "weight_decay")):
        raise ValueError("AdamW's lr, eps and weight_decay must be numbers, 0 or more")
    if len(betas) != 2 or not all(_number(b) and 0 <= b < 1 for b in betas):
        raise ValueError(f"AdamW's betas must be two numbers in [0, 1), not {betas}")
    if group["amsgrad"] or group["maximize"]:
        raise ValueError("this AdamW does not do amsgrad or maximize")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _loaded(entries: Any, p: torch.Tensor) -> State:
    """A saved weight's state as the kernel needs it: copies on p's device in p's dtype, the
    step count a float32 0-d tensor (torch before 1.12 saved it as a number); refused in words
    unless it is AdamW's state for a weight of p's shape."""
    if not isinstance(entries, dict) or set(entries) != {"step", "exp_avg", "exp_avg_sq"}:
        raise ValueError("a saved optimizer state is not AdamW's: step, exp_avg and exp_avg_sq")
    step = entries["step"]
    step = torch.tensor(float(step)) if _number(step) else step
    if not isinstance(step, torch.Tensor) or step.numel() != 1:
        raise ValueError("a saved optimizer step count is not a number")
    state = {"step": step.reshape(()).to(dtype=torch.float32, device=p.device, copy=True)}
    for key in ("exp_avg", "exp_avg_sq"):
        value = entries[key]
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else "no tensor"
        if shape != tuple(p.shape):
            raise ValueError(
                f"optimizer state {key} has shape {shape} but its weight has {tuple(p.shape)}: "
                "the state belongs to a different model"
            )
        state[key] = value.to(dtype=p.dtype, device=p.device, copy=True)
    return state
