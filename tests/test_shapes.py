"""minigpt/shapes.py: a model's names, shapes and ties without its memory or torch's compiler."""

import subprocess
import sys
from pathlib import Path


def test_meta_models_hold_every_name_and_tie_and_import_no_compiler():
    """Shapes off the meta device with the initialisers skipped: the same names, shapes and ties
    as a built model; neither they nor a legacy checkpoint's upgraded shapes import torch._dynamo
    (tens of MB a server that never trains would otherwise hold)."""
    code = (
        "import sys; from minigpt.config import GPTConfig; from minigpt.shapes import meta_model;"
        "from minigpt.model import GPT;"
        "cfg = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=50);"
        "meta, real = meta_model(cfg), GPT(cfg);"
        "shape = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()};"
        "assert shape(meta) == shape(real);"
        "assert meta.lm_head.weight is meta.wte.weight and all(p.is_meta for p in meta.parameters());"
        "from minigpt.training.checkpoint import load_checkpoint;"
        "load_checkpoint('assets/shakespeare/checkpoint.safetensors');"  # saved with q/k/v names
        "assert 'torch._dynamo' not in sys.modules, 'checking shapes imported the compiler'"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1]
    )
