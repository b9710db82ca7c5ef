"""Instruction data: a template, one example's ids, targets and loss mask, and padded batches.

Instruction tuning trains on text laid out as a question and its answer:

    Which play is this from?
    ROMEO:
    But soft, what light through yonder window breaks?
    Answer: Romeo and Juliet

The model reads the whole text, but the loss counts only the answer's tokens (and the newline
that ends it): the mask. Without it the model would also spend its updates learning to write
questions, which are mostly the same words every time. The template uses only plain letters,
":" and "?" so a character model trained on the plays can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from minigpt.tokenizers.tokenizer import Tokenizer

ANSWER = "Answer: "  # what comes right before the response
END = "\n"  # ends the response: generation stops at it, and the model learns to write it
IGNORE = -100  # a target the loss skips (F.cross_entropy's default ignore_index)


class ExampleTooLongError(ValueError):
    """The instruction and its answer do not fit in the model's context."""


def prompt_text(instruction: str, input: str = "") -> str:
    """The text the model sees before it answers.

    Example: prompt_text("Who speaks?", "Ay.") == "Who speaks?\\nAy.\\nAnswer: "
    """
    middle = f"{input}\n" if input else ""
    return f"{instruction}\n{middle}{ANSWER}"


@dataclass(frozen=True)
class Example:
    """One training sequence: the model reads x, predicts y, and the loss counts y where mask.

    x[t] is followed by y[t] in the text, so y is x shifted left by one token.
    """

    x: list[int]
    y: list[int]
    mask: list[bool]  # True where y[t] is a response token: counted in the loss
    prompt_len: int  # tokens of prompt_text; x[:prompt_len] is what generation starts from


def build_example(
    tokenizer: Tokenizer, instruction: str, input: str, response: str, block_size: int
) -> Example:
    """Ids, targets and the response-only mask for one instruction and its answer.

    Example: for prompt "Q\\nAnswer: " (10 chars) and response "A", x has 11 tokens and only
    the last two targets ("A" and the newline) are in the mask.
    """
    prompt = tokenizer.encode(prompt_text(instruction, input))
    answer = tokenizer.encode(response + END)
    ids = prompt + answer
    if len(ids) - 1 > block_size:
        raise ExampleTooLongError(
            f"the example takes {len(ids) - 1} tokens but the model reads at most {block_size}: "
            "shorten the input"
        )
    # Target t is token t + 1: it belongs to the answer once t + 1 reaches len(prompt).
    mask = [t + 1 >= len(prompt) for t in range(len(ids) - 1)]
    return Example(ids[:-1], ids[1:], mask, len(prompt))


@dataclass(frozen=True)
class Batch:
    """Examples of different lengths padded on the right to the longest: (B, T) each.

    Padding goes after the text, so causal attention never lets a real token see it.
    """

    x: torch.Tensor  # (B, T) int64 input ids, padded with pad_id
    y: torch.Tensor  # (B, T) int64 target ids, IGNORE at padding
    mask: torch.Tensor  # (B, T) bool: the response targets (the loss mask)
    real: torch.Tensor  # (B, T) bool: every target that is text, not padding

    def loss_weights(self, mask_instruction: bool = True) -> torch.Tensor:
        """Which targets the loss counts: the response only, or every real token (mask off)."""
        return self.mask if mask_instruction else self.real


def collate(examples: list[Example], pad_id: int = 0) -> Batch:
    """Pad a list of examples into one Batch. Example: lengths 3 and 5 give (2, 5) tensors."""
    T = max(len(e.x) for e in examples)
    B = len(examples)
    x = torch.full((B, T), pad_id, dtype=torch.long)
    y = torch.full((B, T), IGNORE, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    real = torch.zeros(B, T, dtype=torch.bool)
    for i, e in enumerate(examples):
        n = len(e.x)
        x[i, :n] = torch.tensor(e.x)
        y[i, :n] = torch.tensor(e.y)
        mask[i, :n] = torch.tensor(e.mask)
        real[i, :n] = True
    return Batch(x, y, mask, real)


def masked_loss(logits: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the targets where weights is True; the others count for nothing.

    logits (B, T, V), y and weights (B, T). A target outside the mask can hold any id: it is
    never looked at, which is what the tests check by changing one.
    """
    per_token = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)),  # (B*T, V)
        y.masked_fill(~weights, IGNORE).reshape(-1),  # (B*T,)
        reduction="none",
    )
    w = weights.reshape(-1).to(per_token.dtype)
    return (per_token * w).sum() / w.sum().clamp(min=1)


def mask_view(
    example: Example, tokenizer: Tokenizer, mask_instruction: bool = True
) -> list[tuple[str, bool]]:
    """Every token of the example's text and whether predicting it counts in the loss.

    The first token is never predicted (nothing comes before it), so it never counts; with
    the mask off every other token does. This is the data a page draws token by token.
    Example: mask_view(build_example(tok, "Q", "", "A", 64), tok)[-2] == ("A", True)
    """
    ids = [example.x[0], *example.y]
    counts = [False, *(example.mask if mask_instruction else [True] * len(example.y))]
    return [(tokenizer.token_str(i), c) for i, c in zip(ids, counts, strict=True)]
