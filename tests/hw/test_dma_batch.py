"""DMAEngine.copy_batch: a batch of copies as one event equals the copy-by-copy model where
the closed form is exact, and shares the link direction FIFO."""

import pytest
import simpy
from sim_models.hw.links import DMAEngine, copies_time_s
from sim_models.hw.specs import LinkSpec

LINK = LinkSpec("test", 25e9)
KiB = 1024


def _run(engines: int, overhead: float, n: int, size: float, batch: bool) -> tuple[float, DMAEngine]:
    env = simpy.Environment()
    dma = DMAEngine(env, LINK, call_overhead_s=overhead, engines=engines)
    done = dma.copy_batch(n, n * size) if batch else dma.copy_many([size] * n)
    env.run(done)
    return env.now, dma


@pytest.mark.parametrize("engines,overhead", [(1, 2.3e-6), (1, 0.0), (4, 1e-6), (2, 1.3e-6)])
def test_batch_equals_copy_by_copy(engines, overhead):
    n, size = 200, 32 * KiB
    t_batch, dma_b = _run(engines, overhead, n, size, True)
    t_each, dma_e = _run(engines, overhead, n, size, False)
    assert t_batch == pytest.approx(t_each, rel=1e-9)
    assert t_batch == pytest.approx(copies_time_s(n, size, 25e9, overhead, engines), rel=1e-9)
    assert (dma_b.stats.copies, dma_b.stats.bytes) == (dma_e.stats.copies, dma_e.stats.bytes)
    assert dma_b.stats.link_busy_s == pytest.approx(dma_e.stats.link_busy_s)


def test_one_big_copy_beats_many_small_ones_of_the_same_bytes():
    # 8,000 copies of 32 KiB (a 125-block swap of Llama-3-8B) vs 64 copies of 4 MiB
    env = simpy.Environment()
    dma = DMAEngine(env, LINK, call_overhead_s=2.3e-6)
    small = dma.batch_time_s(8000, 8000 * 32 * KiB)
    big = dma.batch_time_s(64, 8000 * 32 * KiB)
    assert small == pytest.approx(8000 * (2.3e-6 + 32 * KiB / 25e9))
    assert big < small / 2


def test_batches_queue_fifo_on_the_direction():
    env = simpy.Environment()
    dma = DMAEngine(env, LINK, call_overhead_s=1e-6)
    first = dma.copy_batch(10, 10 * 25e3)  # 10 x (1 us + 1 us) = 20 us
    second = dma.copy_batch(5, 5 * 25e3)  # waits, then 10 us
    env.run(env.all_of([first, second]))
    assert first.value == pytest.approx(20e-6)
    assert second.value == pytest.approx(30e-6)
    assert dma.copy_batch(0, 0.0) is not None
    with pytest.raises(ValueError):
        dma.copy_batch(-1, 0.0)
