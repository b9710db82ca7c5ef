"""One `.safetensors` file per checkpoint: weights, optimizer, configs, tokenizer and metrics.

Tensors go in the tensor section (model weights as "model.<name>", Adam's moments as
"optim.<param index>.<key>"); everything else is JSON in the file's string metadata. Nothing is
ever unpickled: a pickle can run any code when loaded, and checkpoints arrive as uploads.
"""

from __future__ import annotations

import json
import os
import uuid
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
from minigpt.training.trainer import TrainConfig, Trainer

FORMAT = "minigpt-lab"
VERSION = 1
MAX_BLOCK_SIZE = 4096  # position tables (ALiBi's is T x T per head) are built from block_size


class CheckpointError(ValueError):
    """The bytes are not a checkpoint this lab can load; the message says what they look like."""


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


def _check_container(data: bytes) -> dict[str, str]:
    """The safetensors metadata, after making sure the bytes are safetensors at all."""
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
    try:
        header = json.loads(data[8 : 8 + n])
        meta = header.get("__metadata__") or {}
        return {k: v for k, v in meta.items() if isinstance(v, str)}
    except (ValueError, AttributeError) as e:
        raise CheckpointError(f"the file is corrupt: its header cannot be read ({e})") from None


def _json(meta: dict[str, str], key: str, default: Any = None) -> Any:
    if key not in meta:
        return default
    try:
        return json.loads(meta[key])
    except ValueError:
        raise CheckpointError(f"the checkpoint's {key!r} entry is corrupt") from None


def _model_from(config: GPTConfig, tensors: dict[str, torch.Tensor], tied: dict[str, str]) -> GPT:
    """The model of `config` holding the saved weights, in eval mode.

    Sizes are checked before anything is built, so a config edited to ask for a huge model
    fails in words instead of allocating it.
    """
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    state = upgrade_state_dict(state)  # older releases' names (see minigpt/legacy.py)
    for alias, name in tied.items():
        if name in state:
            state[alias] = state[name]
    # An upload's config could ask for a model far larger than its file; refuse before building.
    # (12 L C^2 + V C is a lower bound on a GPT's weights; the slack leaves small mismatches to
    # the precise messages below.)
    stored = sum(t.numel() for t in state.values())
    at_least = 12 * config.n_layer * config.n_embd**2 + config.vocab_size * config.n_embd
    if at_least > 2 * stored + 1_000_000 or config.block_size > MAX_BLOCK_SIZE:
        raise CheckpointError(
            f"the config describes a model of at least {at_least:,} weights with a context of "
            f"{config.block_size}, but the file holds {stored:,} weights (and the lab allows a "
            f"context of at most {MAX_BLOCK_SIZE}): the config does not belong to these weights"
        )
    with rng.seeded(None):  # the throwaway initial weights draw from the shared global RNG
        model = GPT(config)
    expected = {k: t.shape for k, t in model.state_dict().items()}
    if missing := sorted(set(expected) - set(state)):
        raise CheckpointError(f"the checkpoint lacks weights the model needs: {', '.join(missing)}")
    if unknown := sorted(set(state) - set(expected)):
        raise CheckpointError(f"the checkpoint has weights this model lacks: {', '.join(unknown)}")
    for name, shape in expected.items():
        if state[name].shape != shape:
            raise CheckpointError(
                f"weight {name} has shape {tuple(state[name].shape)} in the checkpoint but the "
                f"config needs {tuple(shape)}"
            )
    model.load_state_dict(state)
    return model.eval()


def _trainer_state(meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Trainer.load_state_dict's input, rebuilt from the flattened optimizer tensors and JSON."""
    opt = _json(meta, "optimizer")
    state: dict[int, dict[str, Any]] = {}
    for name, t in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = t
    for idx, entries in opt["scalars"].items():
        state.setdefault(int(idx), {}).update(entries)
    for group in opt["param_groups"]:  # JSON turned tuples (Adam's betas) into lists
        group.update(
            {k: tuple(v) for k, v in group.items() if k != "params" and isinstance(v, list)}
        )
    if "trainer.generator" not in tensors:
        raise CheckpointError("the checkpoint has optimizer state but no batch generator state")
    trainer = _json(meta, "trainer")
    metrics = _json(meta, "metrics", {})
    return {
        **trainer,
        "optimizer": {"state": state, "param_groups": opt["param_groups"]},
        "generator": tensors["trainer.generator"],
        "history": metrics.get("history", []),
        "evals": metrics.get("evals", []),
    }


def load_checkpoint(source: str | Path | bytes) -> Checkpoint:
    """Read a checkpoint from a path or from bytes (an upload); never unpickles anything."""
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read checkpoint {source}: {e.strerror}") from None
    else:
        data = bytes(source)
    meta = _check_container(data)
    if meta.get("format") != json.dumps(FORMAT):
        raise CheckpointError(
            "this is a safetensors file, but not a minigpt-lab checkpoint (it carries no lab "
            "config); weights from elsewhere need converting first"
        )
    version = _json(meta, "version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"this lab reads checkpoint format {VERSION}, not {version!r}")
    try:
        tensors = safetensors.torch.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError for every defect
        raise CheckpointError(f"the file is corrupt or truncated: {e}") from None
    try:
        config = GPTConfig.from_dict(_json(meta, "config"))
        tokenizer = tokenizer_from_dict(_json(meta, "tokenizer"))
        train_cfg = _json(meta, "train_config")
        train_config = TrainConfig.from_dict(train_cfg) if train_cfg else None
        trainer_state = _trainer_state(meta, tensors) if "optimizer" in meta else None
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"the checkpoint's settings cannot be used: {e!r}") from None
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.vocab_size}"
        )
    model = _model_from(config, tensors, _json(meta, "tied", {}))
    metrics = _json(meta, "metrics", {"history": [], "evals": []})
    return Checkpoint(
        model, tokenizer, config, train_config, trainer_state, metrics, _json(meta, "extra", {})
    )
