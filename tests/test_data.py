"""Splits are contiguous, batches are seeded, targets are the inputs moved one token on."""

import pytest
import torch

from minigpt.training.data import TokenData, windows


def test_split_is_contiguous_with_validation_last():
    data = TokenData(range(1000), val_fraction=0.1)
    assert data.train.tolist() == list(range(900))
    assert data.val.tolist() == list(range(900, 1000))
    assert len(data) == 1000


def test_ids_are_stored_compactly_and_served_as_int64():
    # A shared corpus costs a quarter of int64's memory; models still get int64.
    small, large = TokenData(range(1000)), TokenData([0, 40_000] * 100)
    assert small.ids.dtype == torch.int16 and large.ids.dtype == torch.int32
    x, y = small.get_batch("train", 4, 8, torch.Generator().manual_seed(0))
    assert x.dtype == y.dtype == torch.long
    assert small.windows("val", 8)[0].dtype == torch.long
    assert large.get_batch("train", 2, 4)[0].max() <= 40_000
    with pytest.raises(ValueError, match="non-negative"):
        TokenData([0, -1, 2])


def test_from_text_encodes_with_the_tokenizer():
    class Bytes:
        def encode(self, text):
            return list(text.encode())

    data = TokenData.from_text("abcdefghij", Bytes(), val_fraction=0.2)
    assert data.val.tolist() == [ord("i"), ord("j")]


def test_batch_targets_are_inputs_shifted_by_one():
    data = TokenData(range(500), val_fraction=0.2)
    x, y = data.get_batch("train", 8, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 16) and x.dtype == torch.long
    assert torch.equal(y, x + 1)  # ids are 0..499, so the next token is id + 1
    assert torch.equal(x - x[:, :1], torch.arange(16).expand(8, 16))  # contiguous windows
    assert int(y.max()) < 400  # never reaches into validation
    xv, _ = data.get_batch("val", 8, 16, torch.Generator().manual_seed(0))
    assert int(xv.min()) >= 400


def test_batches_are_deterministic_under_a_seed():
    data = TokenData(torch.randint(0, 50, (2000,), generator=torch.Generator().manual_seed(1)))

    def batch(seed):
        return data.get_batch("train", 4, 8, torch.Generator().manual_seed(seed))

    assert all(torch.equal(a, b) for a, b in zip(batch(3), batch(3), strict=True))
    assert not torch.equal(batch(3)[0], batch(4)[0])


def test_windows_cover_the_split_in_order():
    data = TokenData(range(11), val_fraction=0.0)
    x, y = data.windows("train", 4)
    assert x.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert torch.equal(y, x + 1)
    x, _ = data.windows("train", 4, stride=3)
    assert x[:, 0].tolist() == [0, 3, 6]


def test_too_short_split_says_how_short():
    data = TokenData(range(100), val_fraction=0.1)  # 10 validation tokens
    with pytest.raises(ValueError, match=r"10 tokens of validation text.*context length\+1 \(17\)"):
        data.get_batch("val", 2, 16)
    with pytest.raises(ValueError, match="validation"):
        data.windows("val", 16)
    data.get_batch("val", 2, 9)  # exactly block_size+1 tokens is enough


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="val_fraction"):
        TokenData(range(10), val_fraction=1.0)
    with pytest.raises(ValueError, match="split"):
        TokenData(range(10)).split("test")


def test_one_window_function_serves_training_data_and_extrapolation():
    x, y = windows(torch.arange(8), 3, 2)
    assert x.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]] and (y == x + 1).all()
    assert x.dtype == torch.int64
    data = TokenData(torch.arange(11), 0.0)
    assert data.windows("train", 4)[0].tolist() == windows(torch.arange(11), 4, 4)[0].tolist()
