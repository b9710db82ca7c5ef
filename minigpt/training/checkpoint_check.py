"""A checkpoint's header read as data and checked before a single weight is built.

Uploads are hostile until proven otherwise: every field must be one this lab knows, with the
type it has when the lab writes it, and every size must stay within `CheckpointLimits` (the
caller's: the lab passes its server's budget, so this module never imports the lab). Each
refusal is a `CheckpointError` with one sentence saying what is wrong. The tensors' names,
shapes and ties are checked in checkpoint_tensors.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from minigpt.config import GPTConfig
from minigpt.tokenizers.bpe import KNOWN_PATTERNS
from minigpt.training.trainer import EvalMetrics, StepMetrics, TrainConfig


class CheckpointError(ValueError):
    """The bytes are not a checkpoint this lab can load; the message says what they look like."""


@dataclass(frozen=True)
class CheckpointLimits:
    """The largest checkpoint a caller accepts. The defaults suit the command line; the lab
    passes tighter ones (lab/engine/budget.py checkpoint_limits)."""

    max_block_size: int = 4096
    max_layers: int = 64
    max_heads: int = 64
    max_width: int = 4096
    max_vocab: int = 200_000
    max_params: int = 2_000_000_000
    max_header_bytes: int = 64_000_000  # the JSON header: configs, tokenizer, metrics
    max_depth: int = 16  # nesting of any JSON value (the lab writes at most 5)
    max_token_bytes: int = 4096  # one token's bytes (cl100k's longest is 128)
    max_table_bytes: int = 16_000_000  # all tokens' bytes together (cl100k's: about 0.7 MB)


def parse_json(raw: bytes | str, what: str, limits: CheckpointLimits) -> Any:
    """json.loads that refuses deep nesting in words instead of a RecursionError."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise CheckpointError(f"the checkpoint's {what} is nested too deeply to be one") from None
    except ValueError:
        raise CheckpointError(f"the checkpoint's {what} is corrupt (not JSON)") from None
    if _depth(value) > limits.max_depth:
        raise CheckpointError(
            f"the checkpoint's {what} is nested {limits.max_depth}+ levels deep; the lab writes "
            "a few levels at most"
        )
    return value


def _depth(value: Any) -> int:
    """Example: _depth({"a": [1, [2]]}) == 3. Iterative, so no input can overflow the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _is(value: Any, kind: str) -> bool:
    """Does a JSON value have the type a dataclass annotation names? (bool is no int here)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": number and math.isfinite(value),
        "float | None": value is None or (number and math.isfinite(value)),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
    }.get(kind, False)


def typed_fields(d: Any, cls: type, what: str) -> dict[str, Any]:
    """d, refused unless it is an object whose keys are cls's fields with values of their types.

    Example: typed_fields({"n_layer": 1.0}, GPTConfig, "config") raises CheckpointError.
    """
    if not isinstance(d, dict):
        raise CheckpointError(f"the checkpoint's {what} is not a set of named settings")
    kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    if unknown := sorted(set(d) - set(kinds)):
        raise CheckpointError(f"the checkpoint's {what} has unknown settings: {unknown[:5]}")
    for name, value in d.items():
        if not _is(value, kinds[name]):
            raise CheckpointError(
                f"the checkpoint's {what} setting {name} must be of type {kinds[name]}, not "
                f"{json.dumps(value)[:40]}"
            )
    return d


def check_config(d: Any, limits: CheckpointLimits) -> GPTConfig:
    """The model's config, typed and within limits (sizes are checked before anything is built)."""
    typed_fields(d, GPTConfig, "config")
    try:
        cfg = GPTConfig(**d)
    except ValueError as e:
        raise CheckpointError(f"the checkpoint's config cannot be built: {e}") from None
    bounds = {
        "block_size": limits.max_block_size,
        "n_layer": limits.max_layers,
        "n_head": limits.max_heads,
        "n_embd": limits.max_width,
        "vocab_size": limits.max_vocab,
    }
    for name, most in bounds.items():
        if getattr(cfg, name) > most:
            raise CheckpointError(
                f"the checkpoint's {name} is {getattr(cfg, name):,}, but this lab allows at most "
                f"{most:,} (the same limit as training)"
            )
    return cfg


def check_train_config(d: Any) -> TrainConfig | None:
    if d is None:
        return None
    return TrainConfig(**typed_fields(d, TrainConfig, "training settings"))


def check_trainer(trainer: Any, optimizer: Any) -> None:
    """The saved run's progress and optimizer settings, as the trainer will read them."""
    if not isinstance(trainer, dict) or not _is(trainer.get("steps_done"), "int"):
        raise CheckpointError("the checkpoint's trainer state has no whole number of steps done")
    if trainer["steps_done"] < 0 or not _is(trainer.get("elapsed", 0.0), "float"):
        raise CheckpointError("the checkpoint's trainer state has impossible steps or time")
    groups = optimizer.get("param_groups") if isinstance(optimizer, dict) else None
    ok = isinstance(groups, list) and isinstance(optimizer.get("scalars", {}), dict)
    for g in groups if ok else []:
        ids = g.get("params") if isinstance(g, dict) else None
        ok = ok and isinstance(ids, list) and all(_is(i, "int") for i in ids)
        # Hyperparameters (lr, betas, eps, flags) are numbers, flags, None or pairs of numbers.
        ok = ok and all(_setting(v) for k, v in g.items() if k != "params")
    if not ok:
        raise CheckpointError("the checkpoint's optimizer settings are malformed")


def _setting(v: Any) -> bool:
    if isinstance(v, list):
        return len(v) <= 4 and all(_is(x, "float") for x in v)
    return v is None or isinstance(v, bool) or _is(v, "float")


def check_metrics(metrics: Any) -> dict[str, list[dict[str, float]]]:
    """{"history": [...], "evals": [...]}, every entry a step's numbers under known names."""
    if not isinstance(metrics, dict):
        raise CheckpointError("the checkpoint's metrics are not a table of steps")
    for key, cls in (("history", StepMetrics), ("evals", EvalMetrics)):
        rows = metrics.get(key, [])
        if not isinstance(rows, list):
            raise CheckpointError(f"the checkpoint's {key} metrics are not a list of steps")
        names = {f.name for f in dataclasses.fields(cls)}
        for row in rows:
            if not isinstance(row, dict) or set(row) != names or not _is(row["step"], "int"):
                raise CheckpointError(
                    f"the checkpoint's {key} metrics have an entry without a step or with other "
                    f"fields than {sorted(names)}"
                )
            if not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in row.values()
            ):
                raise CheckpointError(
                    f"the checkpoint's {key} metrics hold values that are not numbers"
                )
    return {"history": metrics.get("history", []), "evals": metrics.get("evals", [])}


def check_tokenizer(d: Any, limits: CheckpointLimits) -> None:
    """The tokenizer's tables, sized before they are built (BPE merges can double a token's
    length at each merge, so 40 merges of a 36 KB file would ask for a terabyte)."""
    if not isinstance(d, dict) or d.get("kind") not in ("char", "word", "bpe"):
        raise CheckpointError("the checkpoint's tokenizer is not a char, word or BPE tokenizer")
    kind = d["kind"]
    if kind in ("char", "word"):
        key = "chars" if kind == "char" else "words"
        items = d.get(key)
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise CheckpointError(f"the checkpoint's {kind} tokenizer has no list of {key}")
        if kind == "char" and any(len(s) != 1 for s in items):
            raise CheckpointError("the checkpoint's character tokenizer holds longer strings")
        _table(len(items), [len(s.encode("utf-8")) for s in items], limits)
        return
    pattern = d.get("pattern")
    if pattern is not None and pattern not in KNOWN_PATTERNS:
        raise CheckpointError(
            "the checkpoint's BPE tokenizer uses a pre-split pattern this lab does not know; it "
            "runs only GPT-2's, GPT-4's (cl100k) or none, so no pattern can hang the server"
        )
    special = d.get("special_tokens") or {}
    if not isinstance(special, dict) or not all(_is(i, "int") for i in special.values()):
        raise CheckpointError("the checkpoint's BPE special tokens are malformed")
    if "ranks" in d:
        ranks = d["ranks"]
        ok = isinstance(ranks, list) and all(
            isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and _is(r[1], "int")
            for r in ranks
        )
        if not ok:
            raise CheckpointError("the checkpoint's BPE rank table is malformed")
        _table(len(ranks), [len(t) * 3 // 4 for t, _ in ranks], limits)
        return
    merges = d.get("merges")
    if not isinstance(merges, list):
        raise CheckpointError("the checkpoint's BPE tokenizer has no merges")
    length = {i: 1 for i in range(256)}  # id -> bytes in its token, known before any is built
    for m in merges:
        if not (isinstance(m, list) and len(m) == 5 and all(_is(x, "int") for x in m)):
            raise CheckpointError("the checkpoint's BPE merges are malformed")
        a, b, new = m[0], m[1], m[2]
        if a not in length or b not in length or new in length:
            raise CheckpointError(
                f"the checkpoint's BPE merge {m[:3]} joins tokens not made yet or remakes one"
            )
        length[new] = length[a] + length[b]
        if length[new] > limits.max_token_bytes:
            raise CheckpointError(
                f"the checkpoint's BPE merges make a token of {length[new]:,} bytes (at most "
                f"{limits.max_token_bytes:,}): merges that double a token each time are a bomb"
            )
    _table(len(length), list(length.values()), limits)


def _table(n: int, lengths: list[int], limits: CheckpointLimits) -> None:
    if n > limits.max_vocab:
        raise CheckpointError(
            f"the checkpoint's tokenizer has {n:,} tokens; this lab allows at most "
            f"{limits.max_vocab:,}"
        )
    if (lengths and max(lengths) > limits.max_token_bytes) or sum(lengths) > limits.max_table_bytes:
        raise CheckpointError(
            f"the checkpoint's tokenizer tables hold {sum(lengths):,} bytes, one token up to "
            f"{max(lengths):,}; this lab allows {limits.max_table_bytes:,} and "
            f"{limits.max_token_bytes:,}"
        )
