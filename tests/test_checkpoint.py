"""A checkpoint brings back the same model and the same run; anything else is refused, unopened."""

import io
import json
import pickle

import pytest
import safetensors.torch
import torch

from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig, Trainer

TEXT = "Fair is foul, and foul is fair: hover through the fog and filthy air.\n" * 20
TOK = CharTokenizer.train(TEXT)
CFG = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=TOK.vocab_size)
TRAIN = TrainConfig(batch_size=4, max_iters=20, warmup_iters=2, eval_iters=2)


def trainer(seed=0, cfg=CFG):
    torch.manual_seed(seed)
    return Trainer(GPT(cfg), TokenData.from_text(TEXT, TOK, TRAIN.val_fraction), TRAIN)


@pytest.fixture(scope="module")
def trained():
    t = trainer()
    for _ in range(3):
        t.step()
    t.evaluate()
    return t, save_checkpoint(None, t.model, TOK, t, extra={"corpus": "witches"})


@pytest.mark.parametrize("pos_emb", ["learned", "rope"])
def test_round_trip_gives_identical_logits(pos_emb, tmp_path):
    torch.manual_seed(0)
    model = GPT(CFG.replace(pos_emb=pos_emb))
    path = tmp_path / "m.safetensors"
    data = save_checkpoint(path, model, TOK)
    assert path.read_bytes() == data
    ckpt = load_checkpoint(path)
    idx = torch.tensor([TOK.encode("fog and filthy")])
    model.eval()
    assert torch.equal(ckpt.model(idx)[0], model(idx)[0])
    assert not ckpt.model.training and ckpt.config == model.config
    assert ckpt.model.lm_head.weight is ckpt.model.wte.weight  # still tied
    assert ckpt.tokenizer.to_dict() == TOK.to_dict()
    assert ckpt.train_config is None and ckpt.trainer_state is None


def test_training_state_and_metrics_come_back(trained):
    _, data = trained
    ckpt = load_checkpoint(data)
    assert ckpt.train_config == TRAIN and ckpt.extra == {"corpus": "witches"}
    assert len(ckpt.metrics["history"]) == 3 and len(ckpt.metrics["evals"]) == 1
    assert ckpt.trainer_state["steps_done"] == 3


def test_resuming_from_a_checkpoint_matches_an_uninterrupted_run(trained):
    t, data = trained
    t = copy_of(t, data)  # the fixture's trainer stays untouched for other tests
    expected = [t.step().loss for _ in range(3)]
    ckpt = load_checkpoint(data)
    resumed = Trainer(ckpt.model, TokenData.from_text(TEXT, TOK, 0.1), ckpt.train_config)
    resumed.load_state_dict(ckpt.trainer_state)
    assert [resumed.step().loss for _ in range(3)] == expected
    assert [m.step for m in resumed.history] == [1, 2, 3, 4, 5, 6]


def copy_of(t, data):
    ckpt = load_checkpoint(data)
    fresh = trainer(seed=1)
    fresh.model.load_state_dict(ckpt.model.state_dict())
    fresh.load_state_dict(ckpt.trainer_state)
    return fresh


def test_truncated_and_garbage_bytes_are_refused(trained):
    _, data = trained
    for bad in (data[: len(data) // 2], data[:-1], data[:20], b"", b"hello world, not a model"):
        with pytest.raises(CheckpointError):
            load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint("/nonexistent/model.safetensors")


class Boom:
    opened = False

    def __reduce__(self):
        return (Boom.mark, ())

    @staticmethod
    def mark():
        Boom.opened = True


def test_pickles_are_refused_without_being_opened():
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2), "boom": Boom()}, buf)
    for data in (buf.getvalue(), pickle.dumps(Boom())):
        with pytest.raises(CheckpointError, match=r"pickle.*[Rr]efused"):
            load_checkpoint(data)
    assert not Boom.opened


def test_other_safetensors_files_are_refused_by_name():
    data = safetensors.torch.save({"wte.weight": torch.zeros(3, 4)}, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not a minigpt-lab checkpoint"):
        load_checkpoint(data)


def resave(data, drop=(), **meta_changes):
    """The same checkpoint with some tensors removed or some metadata replaced."""
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + n])["__metadata__"]
    meta.update({k: json.dumps(v) for k, v in meta_changes.items()})
    tensors = {k: v for k, v in safetensors.torch.load(data).items() if k not in drop}
    return safetensors.torch.save(tensors, metadata=meta)


def test_missing_tensors_and_wrong_shapes_are_named(trained):
    _, data = trained
    with pytest.raises(CheckpointError, match=r"lacks.*h\.0\.mlp\.c_fc\.weight"):
        load_checkpoint(resave(data, drop={"model.h.0.mlp.c_fc.weight"}))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(resave(data, config=CFG.replace(n_embd=64, n_head=2).to_dict()))
    with pytest.raises(CheckpointError, match="format 1, not 99"):
        load_checkpoint(resave(data, version=99))
    with pytest.raises(CheckpointError, match="config cannot be built"):
        load_checkpoint(resave(data, config={"n_embd": -1}))
    huge = CFG.replace(n_layer=200, n_embd=4096, n_head=32).to_dict()  # 40B parameters
    with pytest.raises(CheckpointError, match=r"n_layer is 200.*at most 64"):  # before building
        load_checkpoint(resave(data, config=huge))
    with pytest.raises(CheckpointError, match="no whole number of steps"):
        load_checkpoint(resave(data, trainer="not a dict"))
