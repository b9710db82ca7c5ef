"""Every attack of issue 15 straight through lab/engine and minigpt, without pages: each ends
in a sentence, and none costs more memory than one request's budget."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lab.engine import budget
from minigpt.tokenizers.bpe import BPETokenizer
from minigpt.training.checkpoint import CheckpointError, load_checkpoint
from minigpt.training.corpus import CorpusError, check_text_size
from tests.conftest import tiny_checkpoint
from tests.hostile_checkpoints import CORE_NAMES, core_checkpoints
from tests.test_run import TEXT, TINY


@pytest.mark.parametrize("name", CORE_NAMES, ids=CORE_NAMES)
def test_hostile_checkpoint_is_refused_in_words(name):
    data, words = core_checkpoints()[name]
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(data, **budget.checkpoint_args())
    assert words in str(refused.value)


def test_an_honest_checkpoint_still_loads_through_the_budget():
    ckpt = load_checkpoint(tiny_checkpoint(), **budget.checkpoint_args())
    assert ckpt.config == TINY.replace(vocab_size=ckpt.config.vocab_size)


def test_a_saved_tokenizer_with_an_unknown_pattern_is_refused_before_compiling():
    with pytest.raises(ValueError, match="unknown pre-split pattern"):
        BPETokenizer.from_dict({"kind": "bpe", "pattern": "(a+)+$", "merges": []})


def test_pasted_text_is_held_to_the_upload_limit():
    with pytest.raises(CorpusError, match="more than the 5,000,000"):
        check_text_size("x" * 20_000_000, budget.MAX_PASTE_CHARS, "the pasted text")
    assert check_text_size(TEXT, budget.MAX_PASTE_CHARS) is TEXT


FORM_ATTACKS = [  # (model settings, tokenizer, vocabulary, text) from issue 15's live form
    ({"n_layer": 64, "n_head": 64, "block_size": 1024}, "char", None, TEXT * 5),
    ({"n_layer": 8, "n_embd": 448, "block_size": 1024}, "char", None, TEXT * 5),
    ({"block_size": 1024}, "word", 50_000, "word " * 20_000),
    ({"block_size": 1024}, "char", None, "".join(chr(0x4E00 + i) for i in range(40_000))),
]

_UNDER_A_LIMIT = """
import json, resource, sys
import torch
torch.set_num_threads(1)
from lab.engine import budget
from lab.engine.runspec import make_spec
from minigpt.training.checkpoint import CheckpointError, load_checkpoint

def status(field):  # kB figures of /proc/self/status, in bytes
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) * 1024

# Imports map most of the address space the process will ever need; allow twice the budget
# more, so a regression that allocates gigabytes fails with MemoryError instead of swapping.
vm = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * budget.budget_bytes(), resource.RLIM_INFINITY))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to now, so the imports' own peak is not counted
base, said = status("VmRSS"), []
attacks, files = json.loads(open(sys.argv[1]).read()), sys.argv[2:]
for model, tokenizer, vocab, text in attacks:
    spec, problems = make_spec(model, {}, tokenizer, vocab)
    said.append(" ".join(problems or spec.problems(text, n_vocab=vocab)))
for path in files:
    try:
        load_checkpoint(open(path, "rb").read(), **budget.checkpoint_args())
        said.append("loaded")
    except CheckpointError as e:
        said.append(str(e))
print(json.dumps({"said": said, "growth": status("VmHWM") - base}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, sets RLIMIT_AS")
def test_every_attack_is_refused_within_the_budget_under_an_address_space_limit(tmp_path):
    """The form attacks and the upload bombs in a fresh process whose address space is capped
    at what it has after its imports plus twice the request budget: each is refused in words,
    and its peak RSS grows by less than one request's budget."""
    (tmp_path / "attacks.json").write_text(json.dumps(FORM_ATTACKS))
    files = []
    for i, name in enumerate(
        [
            "ALiBi, 2 layers x 64 heads, context 1024 (within limits, over budget)",
            "BPE merges that double each time",
            "deeply nested JSON in the header",
            "context 4096",
        ]
    ):
        files.append(tmp_path / f"{i}.safetensors")
        files[-1].write_bytes(core_checkpoints()[name][0])
    out = subprocess.run(
        [sys.executable, "-c", _UNDER_A_LIMIT, str(tmp_path / "attacks.json"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-1000:]
    result = json.loads(out.stdout)
    for message in result["said"][: len(FORM_ATTACKS)]:
        assert "more than the" in message and "Lower " in message, message
    for message in result["said"][len(FORM_ATTACKS) :]:
        assert message != "loaded" and message[0].isalpha(), message
    assert result["growth"] < budget.budget_bytes(), result
