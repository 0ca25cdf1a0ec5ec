"""Spark's FAIR comparator rule by rule, and each scheduler's ordering of task sets."""

from dataclasses import dataclass

import pytest
from sim_models.spark.schedulers import LazyHeap, StaticQueue, fair_key, fair_less


@dataclass(eq=False)
class S:
    name: str
    running: int = 0
    min_share: int = 0
    weight: float = 1.0
    seq: int = 0
    version: int = 0


def ordered(*items):
    import functools

    return [s.name for s in sorted(items, key=functools.cmp_to_key(
        lambda a, b: -1 if fair_less(a, b) else (1 if fair_less(b, a) else 0)))]  # fmt: skip


def test_needy_first():
    needy = S("b", running=1, min_share=2)
    satisfied = S("a", running=0, min_share=0)
    assert fair_less(needy, satisfied) and not fair_less(satisfied, needy)


def test_two_needy_compare_running_over_min_share():
    a = S("a", running=2, min_share=8)  # 0.25
    b = S("b", running=1, min_share=2)  # 0.5
    assert fair_less(a, b)
    c = S("c", running=0, min_share=0.5)  # needy; ratio uses max(minShare, 1): 0 / 1
    assert c.running < c.min_share and fair_less(c, a)


def test_two_satisfied_compare_running_over_weight():
    a = S("a", running=4, weight=4)  # 1.0
    b = S("b", running=3, weight=1)  # 3.0
    assert fair_less(a, b) and not fair_less(b, a)


def test_ties_by_name_in_string_order():
    ten, nine = S("TaskSet_10.0"), S("TaskSet_9.0")
    assert fair_less(ten, nine)  # "1" < "9": string order, not numeric
    assert ordered(nine, ten) == ["TaskSet_10.0", "TaskSet_9.0"]


def test_fair_key_orders_like_the_comparator():
    import itertools

    items = [S(f"TaskSet_{i}.0", running=r, min_share=m, weight=w)
             for i, (r, m, w) in enumerate(itertools.product([0, 1, 3], [0, 2], [1, 2]))]  # fmt: skip
    by_key = [s.name for s in sorted(items, key=fair_key)]
    assert by_key == ordered(*items)


def test_static_queue_keeps_submission_order_on_ties():
    q = StaticQueue(lambda s: s.running)
    a, b, c = S("a", seq=1), S("b", seq=2), S("c", running=-1, seq=3)
    for s in (a, b, c):
        q.add(s)
    assert [s.name for s in q.ordered()] == ["c", "a", "b"]
    q.remove(c)
    assert q.first() is a
    a.running = 5
    q.touch()
    assert q.first() is b


def test_lazy_heap_follows_changing_keys():
    h = LazyHeap(fair_key)
    a, b = S("TaskSet_10.0", seq=1), S("TaskSet_9.0", seq=2)
    h.add(a)
    h.add(b)
    assert h.first() is a
    a.running = 1
    h.update(a)
    assert h.first() is b
    h.remove(b)
    assert h.first() is a
    assert [m.name for m in h.ordered()] == ["TaskSet_10.0"]


@pytest.mark.parametrize("name", ["fifo", "fair", "ujf", "cfq", "uwfq", "tfifo", "random"])
def test_every_scheduler_has_a_partitioned_variant(name):
    from sim import registry

    base = registry.get_policy("spark.scheduler", name)
    part = registry.get_policy("spark.scheduler", f"{name}_p")
    assert base.Params().partitioning is False
    assert part.Params().partitioning is True
    assert issubclass(part, base)


def test_default_fair_key_is_the_comparator_for_min_share_0_weight_1():
    from sim_models.spark.schedulers import fair_key_default

    items = [S(f"TaskSet_{i}.0", running=r) for i, r in enumerate([3, 0, 1, 0, 12, 1])]
    assert [s.name for s in sorted(items, key=fair_key_default)] == ordered(*items)
