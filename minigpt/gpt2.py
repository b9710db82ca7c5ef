"""Translate a Hugging Face GPT-2 state dict into our parameter names.

GPT-2's checkpoints use `Conv1D` layers whose weights are stored (in, out), the transpose of
`nn.Linear`. Otherwise the names match ours: both stack query, key and value in one `c_attn`.
"""

from __future__ import annotations

import torch

from minigpt.config import GPTConfig

# Per-block names that carry over unchanged apart from the "transformer." prefix.
_SAME = (
    "ln_1.weight",
    "ln_1.bias",
    "ln_2.weight",
    "ln_2.bias",
    "attn.c_attn.bias",
    "attn.c_proj.bias",
    "mlp.c_fc.bias",
    "mlp.c_proj.bias",
)
# Conv1D weights: (in, out) in GPT-2, (out, in) here.
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def convert_hf_gpt2(hf: dict[str, torch.Tensor], config: GPTConfig) -> dict[str, torch.Tensor]:
    """Our state dict from a GPT2LMHeadModel's.

    Example: GPT(cfg).load_state_dict(convert_hf_gpt2(hf_model.state_dict(), cfg)).
    """
    if config.pos_emb != "learned" or not config.bias or config.gelu != "tanh":
        raise ValueError("GPT-2 weights need pos_emb='learned', bias=True and gelu='tanh'")
    hf = {k.removeprefix("transformer."): v for k, v in hf.items()}
    out = {
        "wte.weight": hf["wte.weight"],
        "wpe.weight": hf["wpe.weight"],
        "ln_f.weight": hf["ln_f.weight"],
        "ln_f.bias": hf["ln_f.bias"],
    }
    out["lm_head.weight"] = hf.get("lm_head.weight", hf["wte.weight"])
    for i in range(config.n_layer):
        pre = f"h.{i}."
        for name in _SAME:
            out[pre + name] = hf[pre + name]
        for name in _TRANSPOSED:
            out[pre + name] = hf[pre + name].t()
    return {k: v.contiguous() for k, v in out.items()}
