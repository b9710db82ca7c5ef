"""Every cache decorator of the lab lives in this package, one module per page or concern.

`st.cache_resource` holds only things no one mutates (the shipped model, tokenizer tables);
anything that trains lives in the user's own session. A model or a trained tokenizer is hashed
by its key (`keys.BY_KEY`'s hash_funcs), never by its weights: the key is unique to it, and
hashing megabytes of weights on every rerun would cost more than the cached call saves.

Pages and lab modules call `cache.<name>(...)`: the names below are the one list of what is
cached, and a test that replaces one of them here replaces it for every caller.
"""

from lab.cache.attention import ablation_view, attention_view, induction_scores
from lab.cache.compare import compare_results, run_extrapolation
from lab.cache.finetune import finetune_params, finetune_readable, finetune_task
from lab.cache.keys import BY_KEY, TrainedBPE
from lab.cache.next_token import (
    next_token_lens,
    next_token_lens_spec,
    next_token_logits,
    next_token_surprise,
    next_token_surprise_spec,
)
from lab.cache.positional import positional_views
from lab.cache.shared import (
    continuation,
    default_corpus,
    induction_model,
    shipped_model,
    upload_text,
)
from lab.cache.tokenizers import (
    bpe_curve,
    char_tokenizer,
    production_encoding,
    production_tokens,
    trained_bpe,
)
from lab.cache.trainers import finetune_trainer, session_trainers, trainer_slots
from lab.cache.training import run_costs, run_inputs

__all__ = [
    "BY_KEY",
    "TrainedBPE",
    "ablation_view",
    "attention_view",
    "bpe_curve",
    "char_tokenizer",
    "compare_results",
    "continuation",
    "default_corpus",
    "finetune_params",
    "finetune_readable",
    "finetune_task",
    "finetune_trainer",
    "induction_model",
    "induction_scores",
    "next_token_lens",
    "next_token_lens_spec",
    "next_token_logits",
    "next_token_surprise",
    "next_token_surprise_spec",
    "positional_views",
    "production_encoding",
    "production_tokens",
    "run_costs",
    "run_extrapolation",
    "run_inputs",
    "session_trainers",
    "shipped_model",
    "trained_bpe",
    "trainer_slots",
    "upload_text",
]
