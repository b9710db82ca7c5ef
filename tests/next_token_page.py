"""What the Next token page's tests share: reading its charts and messages back, and small
models built for a test (a tiny GPT of any positional scheme, a uniform one), put in a session."""

from __future__ import annotations

import base64
import json

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from lab import state
from lab.engine.models import LabModel
from lab.next_token import state as nt
from minigpt import GPT, GPTConfig
from tests.apptest import TIMEOUT, page_path


def stages(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: a plain list, or plotly>=6's base64 {"bdata", ...}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
    return np.array(value, dtype=float)


def vega(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error])


def sequence_html(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith('<div style="line-height'))


CHARS = "abcdefghijklmnopqrstuvwxyz ,.\n"


def seeded(model: GPT, tokenizer, **preset) -> AppTest:
    """The page alone on a given model put in the session, with any state preset."""
    lab_model = LabModel("tiny", model.eval(), tokenizer)
    at = AppTest.from_file(page_path("next_token"), default_timeout=TIMEOUT)
    at.session_state[state._SESSION_MODELS] = {lab_model.name: lab_model}
    at.session_state[state.MODEL_CHOICE] = lab_model.name
    at.session_state[nt.PROMPT] = "to be or not to b"
    at.session_state[nt.TEXT] = "to be or not to be, that is the question."
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def tiny(pos_emb: str = "learned", vocab_size: int = len(CHARS), block_size: int = 16) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=2,
        n_head=2,
        n_embd=16,
        block_size=block_size,
        vocab_size=vocab_size,
        pos_emb=pos_emb,
    )
    return GPT(cfg)


def uniform(vocab_size: int) -> GPT:
    model = tiny(vocab_size=vocab_size)
    with torch.no_grad():
        model.wte.weight.zero_()  # tied: every logit is zero, every prediction uniform
    return model
