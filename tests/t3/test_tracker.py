"""Track & trigger: a tile fires once, exactly when its programmed count is reached."""

import pytest
from sim_models.t3.tracker import Tracker, TrackerError


def test_fires_once_at_its_count():
    fired = []
    tr = Tracker(fired.append)
    tr.program("a", 2)
    tr.program("b", 3)
    assert tr.update("a") is False and fired == []
    assert tr.update("b") is False
    assert tr.update("a") is True and fired == ["a"]
    assert tr.update("b") is False and tr.update("b") is True
    assert fired == ["a", "b"] and tr.fires == 2 and tr.pending() == 0
    assert tr.live_entries == 0 and tr.peak_entries == 2


def test_never_twice_and_never_unprogrammed():
    tr = Tracker(lambda k: None)
    tr.program(1, 1)
    assert tr.update(1)
    with pytest.raises(TrackerError, match="after its DMA fired"):
        tr.update(1)
    with pytest.raises(TrackerError, match="never programmed"):
        tr.update(2)
    with pytest.raises(TrackerError, match="already programmed"):
        tr.program(1, 2)
    with pytest.raises(ValueError):
        tr.program(3, 0)
    with pytest.raises(ValueError):
        Tracker(lambda k: None, entries=0)


def test_overflow_is_counted_not_dropped():
    tr = Tracker(lambda k: None, entries=2)
    for k in range(4):
        tr.program(k, 2)
    for k in range(4):
        tr.update(k)  # four live entries in a two-entry tracker
    assert tr.overflows == 2 and tr.peak_entries == 4
    for k in range(4):
        assert tr.update(k)
