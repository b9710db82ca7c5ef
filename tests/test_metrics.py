"""The one metrics table: history and evaluations joined on the step, as rows, bins and CSV."""

import io

import pandas as pd

from lab.engine import metrics
from minigpt.training.trainer import EvalMetrics, StepMetrics


def step(n: int, loss: float) -> StepMetrics:
    return StepMetrics(step=n, loss=loss, lr=1e-3, grad_norm=1.0, tokens_per_s=10.0, dt=0.1,
                       elapsed=0.1 * n)  # fmt: skip


def test_history_and_evaluations_join_on_the_step():
    evals = [EvalMetrics(step=2, train_loss=1.9, val_loss=2.5, train_ppl=6.7, val_ppl=12.2),
             EvalMetrics(step=5, train_loss=1.0, val_loss=1.5, train_ppl=2.7, val_ppl=4.5)]  # fmt: skip
    rows = metrics.run_rows([step(2, 2.0), step(1, 3.0)], evals)
    assert [r["step"] for r in rows] == [1, 2, 5]  # step 5: an evaluation with no history row
    assert all(list(r) == list(metrics.COLUMNS) for r in rows)
    assert rows[0]["val_loss"] is None and rows[1]["val_loss"] == 2.5
    assert rows[1]["eval_train_loss"] == 1.9 and rows[1]["train_loss"] == 2.0
    assert rows[2]["train_loss"] is None and isinstance(rows[2]["step"], int)


def test_a_saved_run_reads_as_the_same_table():
    saved = {"history": [{"step": 1, "loss": 3.0}], "evals": [{"step": 1, "val_loss": 2.9}]}
    (row,) = metrics.saved_rows(saved)
    assert row["step"] == 1 and row["train_loss"] == 3.0 and row["val_loss"] == 2.9
    assert metrics.saved_rows({}) == []


def test_bins_average_the_steps_and_end_at_each_evaluation():
    rows = [{"step": s, "train_loss": float(s), "val_loss": 9.0 if s == 3 else None}
            for s in range(1, 6)]  # fmt: skip
    assert metrics.binned(rows, every=2) == [
        {"step": 2, "train_loss": 1.5},
        {"step": 3, "train_loss": 3.0, "val_loss": 9.0},
        {"step": 4, "train_loss": 4.0},
        {"step": 5, "train_loss": 5.0},
    ]
    only_eval = [{"step": 1, "train_loss": None, "val_loss": 2.0}]
    assert metrics.binned(only_eval, 10) == [] and metrics.binned([], 10) == []


def test_smoothing_is_centred_and_skips_undefined_values():
    assert metrics.smoothed([1.0, 3.0, 5.0, None], 3) == [2.0, 3.0, 4.0, None]
    assert metrics.smoothed([None, 4.0, None], 3) == [None, 4.0, None]
    assert metrics.smoothed([2.0, 2.0, 2.0, 2.0, 2.0], 4) == [2.0] * 5


def test_the_csv_leaves_undefined_cells_empty():
    table = metrics.table(metrics.run_rows([step(1, 3.0)], []))
    assert list(table.columns) == list(metrics.COLUMNS)
    back = pd.read_csv(io.StringIO(metrics.to_csv(table)), keep_default_na=False)
    assert back.loc[0, "train_loss"] == 3.0 and back.loc[0, "val_loss"] == ""
