"""Hostile checkpoints, built on first use (not at import): every attack of issue 15 on the
upload path, each with the words its CheckpointError must say. tests/test_hostile_core.py loads
them straight through lab/engine and minigpt; tests/test_budget_pages.py uploads them."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import safetensors.torch
import torch

from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.checkpoint import save_checkpoint
from tests.conftest import tiny_checkpoint
from tests.test_run import TEXT


def edited(blob: bytes, tensors: Callable[[dict], dict] | None = None, **meta) -> bytes:
    """Checkpoint bytes with some metadata entries replaced (given as JSON text) and the
    tensors passed through `tensors`."""
    n = int.from_bytes(blob[:8], "little")
    old = json.loads(blob[8 : 8 + n])["__metadata__"]
    loaded = safetensors.torch.load(blob)
    return safetensors.torch.save((tensors or dict)(loaded), metadata={**old, **meta})


def raw_header(header: dict | str, body: bytes = b"") -> bytes:
    raw = header if isinstance(header, str) else json.dumps(header)
    data = raw.encode()
    data += b" " * (-len(data) % 8)
    return len(data).to_bytes(8, "little") + data + body


def _meta(blob: bytes, key: str):
    n = int.from_bytes(blob[:8], "little")
    return json.loads(json.loads(blob[8 : 8 + n])["__metadata__"][key])


def _bpe_bomb(n: int = 40) -> str:
    """Merges that each join a token with itself: token 256 + i is 2**(i + 1) bytes long."""
    merges = [[97, 97, 256, 0, 0]] + [[255 + i, 255 + i, 256 + i, 0, 0] for i in range(1, n)]
    return json.dumps({"kind": "bpe", "pattern": None, "special_tokens": {}, "merges": merges})


def _with_nan(tensors: dict) -> dict:
    name = next(k for k in tensors if k.startswith("model.h.0"))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    return tensors


def alibi_64(block_size: int) -> bytes:
    """A small file (about 230 KB) whose config asks for ALiBi tables of 64 heads x T x T per
    layer: built at context 16, then the header claims block_size (ALiBi stores no positions)."""
    tok = CharTokenizer.train(TEXT)
    cfg = GPTConfig(n_layer=2, n_head=64, n_embd=64, block_size=16, vocab_size=tok.vocab_size)
    blob = save_checkpoint(None, GPT(cfg.replace(pos_emb="alibi")), tok)
    config = {**cfg.to_dict(), "pos_emb": "alibi", "block_size": block_size}
    return edited(blob, config=json.dumps(config))


@functools.cache
def core_checkpoints() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, words its CheckpointError must say); built on first use, not at import."""
    base = tiny_checkpoint()
    config = _meta(base, "config")
    return {
        "ALiBi, 2 layers x 64 heads, context 2048": (
            alibi_64(2048),
            "block_size is 2,048, but this lab allows at most 1,024",
        ),
        "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)": (
            alibi_64(1024),
            "This checkpoint's model needs about",
        ),
        "context 4096": (
            edited(base, config=json.dumps({**config, "block_size": 4096})),
            "at most 1,024",
        ),
        "n_layer 1.0": (
            edited(base, config=json.dumps({**config, "n_layer": 1.0})),
            "n_layer must be of type int",
        ),
        "thousands of layers tied to one block": (
            edited(
                base,
                config=json.dumps({**config, "n_layer": 5000}),
                tied=json.dumps(
                    {f"h.{i}.attn.query.weight": "h.0.attn.query.weight" for i in range(5000)}
                ),
            ),
            "n_layer is 5,000",
        ),
        "a tie the model does not have": (
            edited(
                base,
                tensors=lambda t: {k: v for k, v in t.items() if k != "model.h.0.attn.key.weight"},
                tied=json.dumps({"h.0.attn.key.weight": "h.0.attn.query.weight"}),
            ),
            "claims ties this model does not have",
        ),
        "a tie that is also stored": (
            edited(
                base,
                tensors=lambda t: {**t, "model.lm_head.weight": t["model.wte.weight"].clone()},
            ),
            "also declares tied",
        ),
        "a tensor nobody asked for": (
            edited(base, tensors=lambda t: {**t, "evil.blob": torch.zeros(3)}),
            "tensor this lab does not know",
        ),
        "BPE merges that double each time": (
            edited(base, tokenizer=_bpe_bomb()),
            "merges that double a token each time",
        ),
        "an unknown pre-split pattern": (
            edited(base, tokenizer=json.dumps({"kind": "bpe", "pattern": "(a+)+$", "merges": []})),
            "pre-split pattern this lab does not know",
        ),
        "an invalid regex": (
            edited(base, tokenizer=json.dumps({"kind": "bpe", "pattern": "(", "merges": []})),
            "pre-split pattern this lab does not know",
        ),
        "deeply nested JSON in the header": (
            edited(base, extra="[" * 100_000 + "]" * 100_000),
            "nested too deeply",
        ),
        "nesting just past the limit": (
            edited(base, extra="[" * 40 + "]" * 40),
            "levels deep",
        ),
        "deeply nested header itself": (
            raw_header('{"a":' * 100_000 + "1" + "}" * 100_000),
            "nested too deeply",
        ),
        "trainer steps as text": (
            edited(base, trainer=json.dumps({"steps_done": "10", "elapsed": 1.0})),
            "no whole number of steps",
        ),
        "trainer steps missing": (
            edited(base, trainer=json.dumps({"elapsed": 1.0})),
            "no whole number of steps",
        ),
        "metrics without steps": (
            edited(base, metrics=json.dumps({"history": [{"loss": 1.0}], "evals": []})),
            "without a step",
        ),
        "NaN weights": (edited(base, tensors=_with_nan), "NaN or infinite"),
        "an optimizer learning rate as text": (
            edited(
                base,
                optimizer=json.dumps(
                    {"param_groups": [{"params": [0], "lr": "fast"}], "scalars": {}}
                ),
            ),
            "optimizer settings are malformed",
        ),
        "version true": (edited(base, version="true"), "not True"),
    }


CORE_NAMES = [
    "ALiBi, 2 layers x 64 heads, context 2048",
    "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)",
    "context 4096",
    "n_layer 1.0",
    "thousands of layers tied to one block",
    "a tie the model does not have",
    "a tie that is also stored",
    "a tensor nobody asked for",
    "BPE merges that double each time",
    "an unknown pre-split pattern",
    "an invalid regex",
    "deeply nested JSON in the header",
    "nesting just past the limit",
    "deeply nested header itself",
    "trainer steps as text",
    "trainer steps missing",
    "metrics without steps",
    "NaN weights",
    "an optimizer learning rate as text",
    "version true",
]
