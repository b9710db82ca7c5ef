"""One `.safetensors` file per checkpoint: weights, optimizer, configs, tokenizer and metrics.

Tensors go in the tensor section (model weights as "model.<name>", Adam's moments as
"optim.<param index>.<key>"); everything else is JSON in the file's string metadata. Nothing is
ever unpickled: a pickle can run any code when loaded, and checkpoints arrive as uploads.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from minigpt import rng
from minigpt.config import GPTConfig
from minigpt.legacy import upgrade_state_dict
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import tokenizer_from_dict
from minigpt.training import checkpoint_check as check
from minigpt.training.checkpoint_check import CheckpointError, CheckpointLimits
from minigpt.training.checkpoint_tensors import check_finite, check_tensors
from minigpt.training.trainer import TrainConfig, Trainer

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointLimits",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT = "minigpt-lab"
VERSION = 1
MAX_BLOCK_SIZE = CheckpointLimits.max_block_size  # position tables are built from block_size


@dataclass
class Checkpoint:
    model: GPT  # in eval mode
    tokenizer: Any
    config: GPTConfig
    train_config: TrainConfig | None
    trainer_state: dict[str, Any] | None  # for Trainer.load_state_dict; None if not saved
    metrics: dict[str, list[dict[str, float]]]  # {"history": [...], "evals": [...]}
    extra: dict[str, Any] = field(default_factory=dict)


def _distinct_tensors(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Each tensor of the state dict once, plus {alias: kept name} for tied ones.

    safetensors refuses two names for one memory (the tied lm_head and token table), so the
    second name is written down instead and pointed back at the first on load.
    """
    tensors: dict[str, torch.Tensor] = {}
    tied: dict[str, str] = {}
    seen: dict[tuple, str] = {}  # (storage, offset, shape) -> first name
    for name, t in model.state_dict().items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key in seen:
            tied[name] = seen[key]
        else:
            seen[key] = name
            tensors[name] = t.detach().clone().contiguous()  # own memory, as safetensors wants
    return tensors, tied


def save_checkpoint(
    path: str | Path | None,
    model: GPT,
    tokenizer: Any,
    trainer: Trainer | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """Serialise a model (and its training state) to safetensors bytes, written to `path` if given.

    The file is written to a temporary name and renamed, so a crash never leaves half a file.
    """
    weights, tied = _distinct_tensors(model)
    tensors = {f"model.{k}": v for k, v in weights.items()}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "tied": tied,
        "extra": extra or {},
        "metrics": {"history": [], "evals": []},
    }
    if trainer is not None:
        state = trainer.state_dict()
        opt = state["optimizer"]
        scalars: dict[str, dict[str, Any]] = {}
        for idx, entries in opt["state"].items():
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{idx}.{key}"] = value.detach().clone().contiguous()
                else:
                    scalars.setdefault(str(idx), {})[key] = value
        tensors["trainer.generator"] = state["generator"]
        meta["train_config"] = trainer.config.to_dict()
        meta["optimizer"] = {"param_groups": opt["param_groups"], "scalars": scalars}
        meta["trainer"] = {"steps_done": state["steps_done"], "elapsed": state["elapsed"]}
        meta["metrics"] = {"history": state["history"], "evals": state["evals"]}
    data = safetensors.torch.save(tensors, metadata={k: json.dumps(v) for k, v in meta.items()})
    if path is not None:
        _write_atomic(Path(path), data)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _check_container(data: bytes, limits: CheckpointLimits) -> tuple[dict, dict[str, str]]:
    """The safetensors header's tensor entries and metadata, after making sure the bytes are
    safetensors at all; nothing in the tensor section is read yet."""
    # A safetensors file opens with an 8-byte header length and then "{". That length's first
    # byte can be 0x80, the pickle protocol marker, so look for pickles only in what is not one.
    looks_safetensors = data[8:9] == b"{"
    if not looks_safetensors and (data[:1] == b"\x80" or data[:4] == b"PK\x03\x04"):
        kind = "zip archive (how torch.save stores" if data[:1] == b"P" else "raw pickle (like"
        raise CheckpointError(
            f"this looks like a pickle file: a {kind} .pt/.pth/.ckpt files). Refused: loading a "
            "pickle can run any code hidden inside it. The lab reads only .safetensors files."
        )
    if len(data) < 10:
        raise CheckpointError(f"the file is only {len(data)} bytes: too short to be a checkpoint")
    n = int.from_bytes(data[:8], "little")
    if data[8:9] != b"{":
        raise CheckpointError("this is not a safetensors file (its header is not JSON)")
    if n > len(data) - 8:
        raise CheckpointError(
            f"the file is truncated: its header alone claims {n:,} bytes but the whole file has "
            f"{len(data):,}. Download or save it again."
        )
    if n > limits.max_header_bytes:
        raise CheckpointError(
            f"the checkpoint's header is {n:,} bytes; this lab reads at most "
            f"{limits.max_header_bytes:,}"
        )
    header = check.parse_json(data[8 : 8 + n], "header", limits)
    if not isinstance(header, dict):
        raise CheckpointError("the file is corrupt: its header is not a table of tensors")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise CheckpointError("the file is corrupt: its metadata is not a table")
    return header, {k: v for k, v in meta.items() if isinstance(v, str)}


def _json(meta: dict[str, str], key: str, limits: CheckpointLimits, default: Any = None) -> Any:
    return check.parse_json(meta[key], repr(key), limits) if key in meta else default


def _model_from(config: GPTConfig, tensors: dict[str, torch.Tensor], tied: dict[str, str]) -> GPT:
    """The model of `config` holding the saved weights (names already checked), in eval mode."""
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    state = upgrade_state_dict(state)  # older releases' names (see minigpt/legacy.py)
    for alias, name in tied.items():
        state[alias] = state[name]
    with rng.seeded(None):  # the throwaway initial weights draw from the shared global RNG
        model = GPT(config)
    model.load_state_dict(state)
    return model.eval()


def _trainer_state(
    meta: dict[str, str], tensors: dict[str, torch.Tensor], limits: CheckpointLimits
) -> dict[str, Any]:
    """Trainer.load_state_dict's input, rebuilt from the flattened optimizer tensors and JSON."""
    opt, trainer = _json(meta, "optimizer", limits), _json(meta, "trainer", limits)
    check.check_trainer(trainer, opt)
    state: dict[int, dict[str, Any]] = {}
    for name, t in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            if not idx.isdigit():
                raise CheckpointError(f"optimizer tensor {name} names no parameter")
            state.setdefault(int(idx), {})[key] = t
    for idx, entries in opt.get("scalars", {}).items():
        if not idx.isdigit() or not isinstance(entries, dict):
            raise CheckpointError("the checkpoint's optimizer scalars are malformed")
        state.setdefault(int(idx), {}).update(entries)
    for group in opt["param_groups"]:  # JSON turned tuples (Adam's betas) into lists
        group.update(
            {k: tuple(v) for k, v in group.items() if k != "params" and isinstance(v, list)}
        )
    if "trainer.generator" not in tensors:
        raise CheckpointError("the checkpoint has optimizer state but no batch generator state")
    metrics = check.check_metrics(_json(meta, "metrics", limits, {}))
    return {
        **trainer,
        "optimizer": {"state": state, "param_groups": opt["param_groups"]},
        "generator": tensors["trainer.generator"],
        "history": metrics["history"],
        "evals": metrics["evals"],
    }


def load_checkpoint(
    source: str | Path | bytes,
    limits: CheckpointLimits | None = None,
    admit: Callable[[GPTConfig], str | None] | None = None,
) -> Checkpoint:
    """Read a checkpoint from a path or from bytes (an upload); never unpickles anything.

    Everything is checked as data first (checkpoint_check.py, checkpoint_tensors.py): the
    header, the configs and their types, sizes within `limits`, the tokenizer's tables, every
    tensor's name, type and shape. Then `admit(config)` may refuse the model (the lab's memory
    budget: return a sentence); only then are weights read, checked finite, and a model built.
    """
    limits = limits or CheckpointLimits()
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read checkpoint {source}: {e.strerror}") from None
    else:
        data = bytes(source)
    entries, meta = _check_container(data, limits)
    if meta.get("format") != json.dumps(FORMAT):
        raise CheckpointError(
            "this is a safetensors file, but not a minigpt-lab checkpoint (it carries no lab "
            "config); weights from elsewhere need converting first"
        )
    version = _json(meta, "version", limits)
    if not check._is(version, "int") or version > VERSION:
        raise CheckpointError(f"this lab reads checkpoint format {VERSION}, not {version!r}")
    config = check.check_config(_json(meta, "config", limits), limits)
    tok_dict = _json(meta, "tokenizer", limits)
    check.check_tokenizer(tok_dict, limits)
    train_config = check.check_train_config(_json(meta, "train_config", limits))
    metrics = check.check_metrics(_json(meta, "metrics", limits, {"history": [], "evals": []}))
    extra = _json(meta, "extra", limits, {})
    tied = _json(meta, "tied", limits, {})
    check_tensors(entries, config, tied)
    if admit is not None and (refusal := admit(config)):
        raise CheckpointError(refusal)
    try:
        tokenizer = tokenizer_from_dict(tok_dict)
    except (TypeError, KeyError, ValueError) as e:
        raise CheckpointError(f"the checkpoint's tokenizer cannot be used: {e}") from None
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.vocab_size}"
        )
    try:
        tensors = safetensors.torch.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError for every defect
        raise CheckpointError(f"the file is corrupt or truncated: {e}") from None
    check_finite(tensors)
    trainer_state = _trainer_state(meta, tensors, limits) if "optimizer" in meta else None
    model = _model_from(config, tensors, tied)
    return Checkpoint(model, tokenizer, config, train_config, trainer_state, metrics, extra)
