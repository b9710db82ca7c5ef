"""minigpt/shapes.py: a model's names, shapes and ties without its memory or torch's compiler."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_meta_models_hold_every_name_and_tie_and_import_no_compiler():
    """Shapes off the meta device with the initialisers skipped: the same names, shapes and ties
    as a built model, for every position encoding; neither they nor loading the shipped
    checkpoints (one saved with q/k/v names, one with RoPE) import torch._dynamo or sympy (about
    70 MB a server that never compiles would otherwise hold)."""
    code = """
import sys
from minigpt.config import POS_EMBS, GPTConfig
from minigpt.model import GPT
from minigpt.shapes import meta_model
from minigpt.training.checkpoint import load_checkpoint

def shape(m):
    return {k: tuple(v.shape) for k, v in m.state_dict().items()}

for pos_emb in POS_EMBS:
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=50, pos_emb=pos_emb)
    meta, real = meta_model(cfg), GPT(cfg)
    assert shape(meta) == shape(real), pos_emb
    assert meta.lm_head.weight is meta.wte.weight and all(p.is_meta for p in meta.parameters())
load_checkpoint("assets/shakespeare/checkpoint.safetensors")
load_checkpoint("assets/induction/checkpoint.safetensors")
heavy = {"torch._dynamo", "sympy"} & set(sys.modules)
assert not heavy, f"checking shapes imported {heavy}"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
