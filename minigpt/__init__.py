"""minigpt: a small, readable GPT in pure PyTorch, built to be looked inside."""

from minigpt.analysis.probes import attention_maps, capture
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.sampling import generate

__all__ = ["GPT", "BPETokenizer", "GPTConfig", "attention_maps", "capture", "generate"]


def __getattr__(name: str):
    # The BPE trainer pulls in `regex`; import it only when someone asks for it.
    if name == "BPETokenizer":
        from minigpt.tokenizers.bpe import BPETokenizer

        return BPETokenizer
    raise AttributeError(f"module 'minigpt' has no attribute {name!r}")
