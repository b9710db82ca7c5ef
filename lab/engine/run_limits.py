"""What one shared CPU server trains for a student, and the sentences that refuse the rest.

Past these limits a run would take hours or crowd out every other session, so it is refused
with a reason instead; each reason names the setting as the training page shows it.
`RunSpec.problems` (lab/engine/runspec.py) asks these checks in turn.
"""

from __future__ import annotations

from lab.engine import budget
from minigpt.config import GPTConfig
from minigpt.shapes import count_params
from minigpt.tokenizers.tokenizer import WordTokenizer
from minigpt.training.trainer import TrainConfig

TOKENIZERS = ("char", "bpe", "word")
MIN_CHARS = 200
MAX_CONTEXT = budget.MAX_CONTEXT
MAX_PARAMS = 20_000_000
MAX_BATCH_TOKENS = 32_768  # batch_size * block_size: activations grow with it
MAX_STEPS = 100_000
MAX_LR = 10.0  # 10 already diverges; anything above is a typo
BPE_VOCAB = (256, 4096)
WORD_VOCAB = (3, 50_000)

_LABELS = {  # field -> what the page calls it, so messages name what a person sees
    "max_iters": "Steps",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "warmup_iters": "Warmup steps",
    "grad_clip": "Gradient clipping",
    "n_layer": "Layers",
    "n_head": "Heads",
    "n_embd": "Width",
    "block_size": "Context length",
    "dropout": "Dropout",
}


def _labelled(message: str) -> str:
    """Example: _labelled("max_iters must be at least 1") == "Steps (max_iters) must be at least 1"."""
    name = message.split(" ", 1)[0]
    return f"{_LABELS[name]} ({name}){message[len(name) :]}" if name in _LABELS else message


def labelled(message: str) -> str:
    """Example: labelled("max_iters must be at least 1") == "Steps (max_iters) must be at least 1"."""
    name = message.split(" ", 1)[0]
    return f"{_LABELS[name]} ({name}){message[len(name) :]}" if name in _LABELS else message


def tokenizer_problems(kind: str, vocab_size: int | None) -> list[str]:
    """A known tokenizer, and a vocabulary size within its bounds (char ignores the size)."""
    if kind not in TOKENIZERS:
        return [f"Tokenizer must be one of {', '.join(TOKENIZERS)} (got {kind!r})"]
    bounds = {"bpe": BPE_VOCAB, "word": WORD_VOCAB}.get(kind)
    if bounds is None:
        return []
    lo, hi = bounds
    if vocab_size is None or not lo <= vocab_size <= hi:
        why = " (one token for each of the 256 byte values)" if kind == "bpe" else ""
        return [
            f"Vocabulary size for the {kind} tokenizer must be between {lo:,} and "
            f"{hi:,}{why} (got {vocab_size})"
        ]
    return []


def size_problems(cfg: GPTConfig, train: TrainConfig) -> list[str]:
    """Settings past what this server trains: learning rate, steps, context, batch tokens."""
    out = []
    if train.learning_rate > MAX_LR:
        out.append(
            f"Learning rate (learning_rate) {train.learning_rate:g} is far beyond anything "
            f"that trains; at most {MAX_LR:g} (and that already blows up)"
        )
    if train.max_iters > MAX_STEPS:
        out.append(f"Steps (max_iters) must be at most {MAX_STEPS:,} (got {train.max_iters:,})")
    if cfg.block_size > MAX_CONTEXT:
        out.append(
            f"Context length (block_size) must be at most {MAX_CONTEXT} tokens on this "
            f"server (got {cfg.block_size:,}): attention's cost grows with its square"
        )
    elif train.batch_size * cfg.block_size > MAX_BATCH_TOKENS:
        out.append(
            f"Batch size × context length is {train.batch_size * cfg.block_size:,} tokens per "
            f"step; at most {MAX_BATCH_TOKENS:,} fit this shared server's memory"
        )
    return out


def params_problems(cfg: GPTConfig) -> list[str]:
    """A model (with its vocabulary set) small enough for a CPU to train in a lesson."""
    n_params = count_params(cfg)
    if n_params <= MAX_PARAMS:
        return []
    return [
        f"The model has {n_params:,} parameters; a CPU trains at most about "
        f"{MAX_PARAMS:,} in a lesson. Use fewer layers, a smaller width or vocabulary"
    ]


def vocab_estimate(kind: str, vocab_size: int | None, text: str) -> int:
    """The tokenizer's size, or a bound on it: a word table never outgrows the text's
    distinct words (plus <pad> and <unk>), whatever cap was asked for."""
    if kind == "char":
        return len(set(text))
    if kind == "word":
        return min(int(vocab_size or 1), len(set(WordTokenizer.split(text))) + 2)
    return int(vocab_size or 1)


def token_estimate(kind: str, text: str, n_tokens: int | None) -> int:
    """The corpus's length in tokens: n_tokens when known, else counted or bounded."""
    if n_tokens is not None:
        return n_tokens
    if kind == "word":
        return len(WordTokenizer.split(text))
    if kind == "bpe":
        return len(text.encode("utf-8"))  # an upper bound: every token is at least a byte
    return len(text)


def split_problems(block_size: int, val_fraction: float, n_tokens: int) -> list[str]:
    """Both the training and the validation part must fill at least one example."""
    need = block_size + 1
    n_train = int(n_tokens * (1 - val_fraction))
    shortest = min(n_train, n_tokens - n_train)
    if shortest >= need:
        return []
    return [
        f"Context length (block_size) {block_size:,} is too long for this corpus: "
        f"it has {n_tokens:,} tokens, so the smaller of its training ({n_train:,}) and "
        f"validation ({n_tokens - n_train:,}) parts cannot fill one example of "
        f"{need:,} tokens. Use a shorter context or a longer text"
    ]
