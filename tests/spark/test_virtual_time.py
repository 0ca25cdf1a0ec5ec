"""UWFQ's and CFQ's virtual clocks on hand-worked examples (the arithmetic is in the
comments; units: seconds and core-seconds)."""

import pytest
from sim_models.spark.virtual_time import StageFairQueue, UserFairQueue


class Stage:
    """A stand-in for a task set: the virtual clocks only stamp ``deadline``."""

    def __init__(self, name):
        self.name = name
        self.deadline = 0.0
        self.finished_all = False


def test_uwfq_hand_worked_example():
    q = UserFairQueue(cores=4, grace_core_s=3.0 * 4 / 2)  # G = 6 core-s
    a1 = Stage("a1")
    # t=0: user A, job 0 of size 8: S_A = V = 0, v_A = 0, d = 8, D = 0 + 8.
    q.submit("A", 0, 8.0, a1, 0.0)
    assert a1.deadline == 8.0 and q.active["A"].E == 8.0
    # t=1: one active user, phi = 4: V = 4, v_A = 4 (a1 not done: d = 8 > 4).
    # User B arrives: S_B = V = 4, v_B = 0; job 1 of size 4: d = 4, D = 4 + 4 = 8.
    b1 = Stage("b1")
    q.submit("B", 1, 4.0, b1, 1.0)
    assert pytest.approx(4.0) == q.V and q.active["A"].v == pytest.approx(4.0)
    assert b1.deadline == pytest.approx(8.0)
    # t=2: phi = 4/2 = 2: V = 6; A's one job gets psi = 2: v_A = 6; v_B = 2.
    # A's job 2 (size 2): s = v_A = 6, d = 8; chained after job 0 (same d, smaller id):
    # D_0 = S_A + 8 = 8, D_2 = 8 + 2 = 10, E_A = 10.
    a2 = Stage("a2")
    q.submit("A", 2, 2.0, a2, 2.0)
    assert pytest.approx(6.0) == q.V
    assert (a1.deadline, a2.deadline) == pytest.approx((8.0, 10.0))
    assert pytest.approx(10.0) == q.active["A"].E
    # t=5: departures first. B has the smaller E (8 <= 6 + 3 x 2): it leaves at
    # t = 2 + (8 - 6)/2 = 3 (V = 8; b1 finishes in B's clock: v_B = 4, S_B = 8).
    # Then A alone, phi = 4: E_A = 10 <= 8 + 2 x 4: leaves at 3 + (10 - 8)/4 = 3.5 (V = 10;
    # a1 finishes at v_A = 8, then a2 with d = 8 at once: S_A = 0 + 8 + 2 = 10).
    # Nobody is active until t = 5: V stays 10.
    # B comes back with a stage of job 1, within the grace period (V - E_B = 2 <= 6): it
    # keeps S_B = 8. Job 1 already finished virtually, so the new stage is not stamped:
    # deadline 0, it goes first (as in the artifact).
    b1_next = Stage("b1 map")
    q.submit("B", 1, 4.0, b1_next, 5.0)
    assert pytest.approx(10.0) == q.V
    assert "A" in q.historic and "B" in q.active
    assert pytest.approx(8.0) == q.active["B"].S
    assert b1_next.deadline == 0.0
    assert pytest.approx(8.0) == q.active["B"].E
    # t=6: user C (new): one active user (B, no active jobs) leaves at once; C starts at
    # S_C = V = 10: job 3 of size 4, D = 14.
    c1 = Stage("c1")
    q.submit("C", 3, 4.0, c1, 6.0)
    assert c1.deadline == pytest.approx(14.0) and "B" in q.historic
    # t=7: C alone, phi = 4: E_C = 14 <= 10 + 4: leaves at 6 + 4/4 = 7, V = 14.
    # A returns with a new job (not one it had): S_A = V = 14; its clock kept v_A = 8:
    # job 4 of size 3: s = 8, d = 11, D = 14 + 3 = 17.
    a3 = Stage("a3")
    q.submit("A", 4, 3.0, a3, 7.0)
    assert pytest.approx(14.0) == q.V
    assert a3.deadline == pytest.approx(17.0)
    job = q.active["A"].jobs[4]
    assert (job.start, job.deadline) == pytest.approx((8.0, 11.0))


def test_uwfq_grace_period_expires():
    q = UserFairQueue(cores=2, grace_core_s=1.0)
    q.submit("A", 0, 2.0, Stage("x"), 0.0)  # D = 2, leaves at t = 1 (phi = 2)
    q.submit("Z", 1, 1.0, Stage("z"), 10.0)  # A left; Z alone from V = 2
    # t = 20: Z left at 10.5 (V = 3); A comes back for job 0: V - E_A = 3 - 2 = 1 <= 1: kept
    late = Stage("late")
    q.submit("A", 0, 2.0, late, 20.0)
    assert pytest.approx(2.0) == q.active["A"].S
    # with a smaller grace period the old start is forgotten: S_A = V
    q2 = UserFairQueue(cores=2, grace_core_s=0.5)
    q2.submit("A", 0, 2.0, Stage("x"), 0.0)
    q2.submit("Z", 1, 1.0, Stage("z"), 10.0)
    q2.submit("A", 0, 2.0, Stage("late"), 20.0)
    assert pytest.approx(q2.V) == q2.active["A"].S


def test_uwfq_new_estimate_moves_the_job():
    q = UserFairQueue(cores=4, grace_core_s=6.0)
    s0, s1 = Stage("j0"), Stage("j1")
    q.submit("A", 0, 8.0, s0, 0.0)  # d = 8
    q.submit("A", 1, 4.0, s1, 0.0)  # d = 4: runs first in A's chain
    assert (s1.deadline, s0.deadline) == (4.0, 12.0)
    s0b = Stage("j0 next")
    q.submit("A", 0, 2.0, s0b, 0.0)  # job 0 is now believed to be 2: d = 2, first
    assert (s0.deadline, s0b.deadline, s1.deadline) == (2.0, 2.0, 6.0)


def test_cfq_hand_worked_example():
    q = StageFairQueue(cores=2)
    # t=0: stage 1 of size 4: D = 0 + 4
    assert q.submit(1, 4.0, 0.0) == 4.0
    # t=1: one active stage, share 2: V = 2; stage 2 of size 1: D = 3
    assert q.submit(2, 1.0, 1.0) == pytest.approx(3.0)
    # t=3: share 1 each: stage 2 leaves at 1 + (3 - 2)/1 = 2 (V = 3); then stage 1 alone
    # (share 2) at 2 + (4 - 3)/2 = 2.5 (V = 4); idle until 3: V stays 4; stage 3: D = 6
    assert q.submit(3, 2.0, 3.0) == pytest.approx(6.0)
    assert pytest.approx(4.0) == q.V and q.active_stages == 1
