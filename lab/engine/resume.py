"""A saved run read back for training on: the checkpoint checked against the server's limits,
the request it was trained under rebuilt, and the corpus encoded with its own tokenizer.

`LiveRun.from_checkpoint` (lab/engine/liverun.py) builds the run from what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.engine import budget
from lab.engine.runspec import LIVE_TRAIN, RunError, RunSpec
from minigpt.training.checkpoint import Checkpoint, load_checkpoint
from minigpt.training.data import TokenData


@dataclass(frozen=True)
class SavedRun:
    """A checkpoint, the RunSpec to continue it under, and the data to continue it on."""

    checkpoint: Checkpoint
    spec: RunSpec
    data: TokenData


def read_saved_run(
    data: bytes,
    text: str,
    *,
    corpus_key: str | None = None,
    max_iters: int | None = None,
    token_data: TokenData | None = None,
) -> SavedRun:
    """What continuing a saved run on `text` needs; max_iters can lengthen a finished run.

    Raises CheckpointError for a file that is not a usable checkpoint and RunError when it
    cannot train on this text.
    """
    # CheckpointError for pickles, truncation, wrong shapes, and what the budget refuses.
    ckpt = load_checkpoint(data, **budget.checkpoint_args())
    train = ckpt.train_config or LIVE_TRAIN
    state = ckpt.trainer_state
    done = int(state["steps_done"]) if state else 0
    if max_iters is not None:
        if max_iters <= done:
            raise RunError([f"Steps (max_iters) must be more than the {done:,} already done"])
        train = train.replace(max_iters=max_iters)
    saved = ckpt.extra.get("spec")
    try:
        spec = RunSpec.from_dict(saved) if saved else None
    except (KeyError, TypeError, ValueError):
        spec = None
    tok = ckpt.tokenizer
    spec = RunSpec(
        corpus_key or (spec.corpus_key if spec else "unknown"),
        tok.kind,
        None if tok.kind == "char" else (spec.vocab_size if spec else tok.vocab_size),
        ckpt.config,
        train,
    )
    if token_data is None:
        try:
            token_data = TokenData.from_text(text, tok, train.val_fraction)
        except ValueError as e:
            raise RunError(
                [
                    f"The checkpoint's tokenizer cannot read this corpus: {e}. Continue on "
                    "the text it was trained on"
                ]
            ) from None
    return SavedRun(ckpt, spec, token_data)
