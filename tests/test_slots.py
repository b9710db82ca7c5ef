"""The trainer slots (lab/engine/slots.py): a cap on sessions training at once, whose leases
free themselves when a tab goes quiet."""

import pytest

from lab.engine.slots import TrainerSlots


def test_slots_cap_owners_and_free_themselves_when_a_tab_goes_quiet():
    now = [0.0]
    slots = TrainerSlots(2, lease=10.0, clock=lambda: now[0])
    assert slots.acquire("a") and slots.acquire("b") and not slots.acquire("c")
    assert slots.others("c") == 2 and slots.acquire("a")  # renewing is not taking a second slot
    now[0] = 8.0
    assert slots.acquire("a")  # a renews; b has gone quiet (its tab closed)
    now[0] = 12.0
    assert slots.acquire("c") and not slots.holds("b")
    slots.release("a")
    slots.release("nobody")
    assert slots.others("c") == 0
    with pytest.raises(ValueError):
        TrainerSlots(0)
