"""Simulation: stop conditions and event counting."""

from sim.core import Simulation


def _ticker(sim):
    while True:
        yield sim.timeout(1.0)
        sim.completed()


def test_stop_by_count():
    sim = Simulation(0)
    sim.process(_ticker(sim))
    sim.run(count=5)
    assert sim.now == 5.0 and sim.done_count == 5


def test_stop_by_duration():
    sim = Simulation(0)
    sim.process(_ticker(sim))
    sim.run(duration_s=3.5)
    assert sim.now == 3.5 and sim.done_count == 3


def test_count_or_duration_whichever_first():
    sim = Simulation(0)
    sim.process(_ticker(sim))
    sim.run(duration_s=10, count=2)
    assert sim.now == 2.0


def test_run_ends_when_no_events_left():
    sim = Simulation(0)

    def once():
        yield sim.timeout(2.0)

    sim.process(once())
    sim.run()
    assert sim.now == 2.0
    assert sim.events_scheduled > 0
