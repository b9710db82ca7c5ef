"""What the Compare page's tests share: a tiny comparison, its charts read back by title, and
entries made by hand with known losses."""

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from lab.compare import entries as compare_entries
from lab.engine.comparison import CompareSpec
from minigpt import GPTConfig
from minigpt.analysis.extrapolation import Extrapolation
from minigpt.training.trainer import TrainConfig

TINY = "Tiny (tests)"
TINY_SPEC = CompareSpec(
    GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, scale_embeddings=True),
    TrainConfig(batch_size=4, max_iters=12, warmup_iters=2, eval_interval=6, eval_iters=1),
    eval_tokens=512,
)


def figures(at: AppTest) -> dict[str, dict]:
    """Every chart on the page by its title; the shipped tab's come first, so they win."""
    out: dict[str, dict] = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out.setdefault(spec["layout"]["title"]["text"], spec)
    return out


def titled(at: AppTest, start: str) -> dict:
    return next(spec for title, spec in figures(at).items() if title.startswith(start))


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: a list (None for gaps) or plotly>=6's base64 form."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).astype(float)
    return np.array([np.nan if v is None else v for v in value], dtype=float)


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def notes(spec: dict) -> list[str]:
    return [a["text"] for a in spec["layout"].get("annotations", [])]


def extrapolation(loss, limit=None, mode="windows", x=(4, 8, 16)) -> Extrapolation:
    return Extrapolation(mode, list(x), list(loss), [1] * len(x), 8, limit)


def entry(pos_emb, seed, loss, limit=None, imported=False) -> compare_entries.Entry:
    curve = [
        {"step": 10, "train_loss": 3.0 + seed},
        {"step": 20, "train_loss": 2.0, "val_loss": 2.5},
    ]
    return compare_entries.Entry(
        pos_emb,
        pos_emb,
        seed,
        curve,
        100,
        0.01,
        {"windows": extrapolation(loss, limit)},
        imported=imported,
    )
