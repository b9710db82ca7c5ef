"""The Live training page's chart builders (lab/charts/training.py): thinned curves,
perplexity, the sentence before the second evaluation, and every head's scores; and the loss
curve Home draws (lab/charts/common.py)."""

import math

from lab import charts


def test_training_panels_thin_long_curves_and_draw_perplexity():
    rows = [
        {"step": s, "train_loss": 4.0 - s / 1000, "lr": 1e-3, "val_loss": None}
        for s in range(1, 2001)
    ]
    rows[999]["val_loss"], rows[999]["eval_train_loss"] = 2.0, 1.9
    rows[1999]["val_loss"], rows[1999]["eval_train_loss"] = 1.0, 0.9
    (loss_spec, loss), (_, ppl), (_, lr) = charts.training_panels(rows, 2000)
    batch = [d for d in loss if d["series"] == "training batch"]
    assert len(batch) <= 300 and batch[0]["step"] < 5
    assert [d["value"] for d in loss if d["series"] == "validation"] == [2.0, 1.0]
    assert [round(d["value"], 3) for d in ppl if d["series"] == "validation"] == [7.389, 2.718]
    assert len(lr) <= 300 and {d["series"] for d in lr} == {"learning rate"}
    assert loss_spec["encoding"]["x"]["scale"]["domain"] == [0, 2000]
    # the specs do not depend on the data, so the browser updates the charts in place
    assert charts.training_panels(rows[:10], 2000)[0][0] == loss_spec


def test_perplexity_panel_says_it_waits_for_the_second_evaluation():
    rows = [{"step": s, "train_loss": 4.0, "lr": 1e-3} for s in range(1, 11)]
    for evaluated in (0, 1):  # a line needs two points: before that, a sentence, not a frame
        if evaluated:
            rows[4]["val_loss"] = 2.0
        spec, data = charts.training_panels(rows, 100)[1]
        assert spec["mark"]["type"] == "text" and len(data) == 1
        text = " ".join(spec["encoding"]["text"]["value"])
        assert text == "Perplexity appears after the second evaluation"
    rows[9]["val_loss"] = 1.5
    spec, data = charts.training_panels(rows, 100)[1]
    assert spec["mark"]["type"] == "line" and len(data) == 2


def test_head_scores_chart_draws_every_head_twice():
    import numpy as np

    prev, induction = np.zeros((3, 2, 2)), np.ones((3, 2, 2))
    fig = charts.head_scores_over_training([0, 5, 10], prev, induction)
    assert len(fig.data) == 8 and sum(t.showlegend for t in fig.data) == 4


def test_loss_curve_draws_every_logged_step_and_each_evaluation():
    rows = [{"step": s, "train_loss": 4.0 - s / 100} for s in range(1, 101)]
    rows[49]["val_loss"], rows[99]["val_loss"] = 3.6, 3.2
    train, validation = charts.loss_curve(rows).data
    assert list(train.x) == list(range(1, 101))
    assert train.y[0] == 3.99 and train.y[-1] == 3.0
    assert (list(validation.x), list(validation.y)) == ([50, 100], [3.6, 3.2])

    train, validation = charts.loss_curve(rows, perplexity=True).data
    assert math.isclose(validation.y[1], math.exp(3.2))
    assert math.isclose(train.y[-1], math.exp(3.0))
