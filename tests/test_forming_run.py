"""A live run that grows an induction head records its heads forming at every evaluation."""

import dataclasses

from lab.engine.liverun import LiveRun
from lab.engine.runspec import RunSpec, induction_spec
from minigpt.training.repeats import LIVE_INDUCTION, RepeatData
from tests.test_run import FAST, SPEC, TEXT, TINY

GROWING = RunSpec(corpus_key="test", model=TINY, train=FAST, repeat_fraction=1.0)


def test_a_repeat_run_trains_on_repeats_and_records_at_each_evaluation():
    run = LiveRun(GROWING, TEXT)
    assert isinstance(run.data, RepeatData)
    while not run.done:
        run.advance(10.0)
    assert run.forming is not None
    assert run.forming.steps == [5, 10]  # eval_interval 5, 10 steps
    scores = run.forming.stacked("induction")
    assert scores.shape == (2, TINY.n_layer, TINY.n_head)
    copy = run.forming.points[-1].copy
    assert copy is not None and copy.first_copy > 0 and copy.second_copy > 0


def test_an_ordinary_run_records_nothing():
    run = LiveRun(SPEC, TEXT)
    run.advance(10.0)
    assert run.forming is None and not isinstance(run.data, RepeatData)


def test_the_preset_is_the_live_recipe_and_round_trips():
    spec = induction_spec()
    assert spec.grows_induction
    assert (spec.model, spec.train) == (LIVE_INDUCTION.model, LIVE_INDUCTION.train)
    assert RunSpec.from_dict(spec.to_dict()) == spec
    old = {k: v for k, v in SPEC.to_dict().items() if "fraction" not in k}
    assert RunSpec.from_dict(old) == dataclasses.replace(SPEC)  # saved before repeats existed
