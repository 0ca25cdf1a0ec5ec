"""Max-min fair allocation against hand-computed allocations and the definition."""

from __future__ import annotations

import numpy as np
import pytest
from sim_models.hw.maxmin import gather_ranges, maxmin_rates, maxmin_rates_reference, to_csr


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_equal_flows_share_one_link(n):
    rates = maxmin_rates([[0]] * n, [12.0])
    np.testing.assert_allclose(rates, np.full(n, 12.0 / n), rtol=1e-12)


def test_parking_lot_equal_capacities():
    # One long flow over links 0,1,2 and one short flow per link, all capacities 1:
    # every link has two flows, so everybody gets 1/2.
    rates = maxmin_rates([[0, 1, 2], [0], [1], [2]], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(rates, [0.5, 0.5, 0.5, 0.5])


def test_parking_lot_unequal():
    # Link 0 (cap 1): long + s0 + s0b ; link 1 (cap 4): long + s1.
    # Level 1/3 saturates link 0 -> long, s0, s0b = 1/3; s1 takes 4 - 1/3 = 11/3.
    rates = maxmin_rates([[0, 1], [0], [0], [1]], [1.0, 4.0])
    np.testing.assert_allclose(rates, [1 / 3, 1 / 3, 1 / 3, 11 / 3])


def test_parking_lot_two_levels():
    # Links 0,1,2 with caps 3, 1, 10. Long flow crosses all three; short a on 0, b on 1,
    # c and d on 2.  Link 1 saturates first at 1/2 (long, b); link 0: a gets 3 - 1/2;
    # link 2: c, d share 10 - 1/2 -> 4.75 each.
    rates = maxmin_rates([[0, 1, 2], [0], [1], [2], [2]], [3.0, 1.0, 10.0])
    np.testing.assert_allclose(rates, [0.5, 2.5, 0.5, 4.75, 4.75])


def test_weighted_single_link():
    rates = maxmin_rates([[0], [0], [0]], [3.0], weights=[1, 2, 3])
    np.testing.assert_allclose(rates, [0.5, 1.0, 1.5])


def test_weighted_two_links():
    # Link 0 cap 6: f0 (w=2, links 0,1), f1 (w=1, link 0). Link 1 cap 2: f0, f2 (w=1).
    # Link 1 level: 2 / 3 per unit weight -> f0 = 4/3, f2 = 2/3; link 0 then: f1 = 6 - 4/3.
    rates = maxmin_rates([[0, 1], [0], [1]], [6.0, 2.0], weights=[2, 1, 1])
    np.testing.assert_allclose(rates, [4 / 3, 6 - 4 / 3, 2 / 3])


def test_caps_act_like_private_links():
    rates = maxmin_rates([[0], [0], [0]], [3.0], caps=[0.5, np.inf, np.inf])
    np.testing.assert_allclose(rates, [0.5, 1.25, 1.25])
    # Same as a private link of capacity 0.5 crossed by flow 0 only.
    private = maxmin_rates([[0, 1], [0], [0]], [3.0, 0.5])
    np.testing.assert_allclose(rates, private)
    # A cap above the fair share does not bind.
    np.testing.assert_allclose(maxmin_rates([[0], [0]], [2.0], caps=[5.0, None]), [1.0, 1.0])


def test_zero_capacity_link_and_empty_paths():
    rates = maxmin_rates([[0], [0, 1], [1], [], []], [0.0, 2.0], caps=[None, None, None, None, 7])
    np.testing.assert_allclose(rates, [0.0, 0.0, 2.0, np.inf, 7.0])


def test_csr_input_equals_list_input():
    paths = [[0, 1], [1, 2], [2], [0, 2]]
    caps = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(maxmin_rates(to_csr(paths), caps), maxmin_rates(paths, caps))


def test_gather_ranges():
    out = gather_ranges(np.array([5, 0, 3, 9]), np.array([7, 0, 4, 12]))
    np.testing.assert_array_equal(out, [5, 6, 3, 9, 10, 11])


def test_bad_inputs():
    with pytest.raises(ValueError):
        maxmin_rates([[0]], [1.0], weights=[0.0])
    with pytest.raises(ValueError):
        maxmin_rates([[3]], [1.0])
    with pytest.raises(ValueError):
        maxmin_rates([[0]], [-1.0])


def _check_maxmin(paths, caps_l, w, caps_f, rates):
    """The definition: feasible, and every flow is capped or has a bottleneck link that
    is saturated and on which it has the largest rate per unit weight."""
    caps_l = np.asarray(caps_l, dtype=float)
    load = np.zeros_like(caps_l)
    for f, p in enumerate(paths):
        for link in p:
            load[link] += rates[f]
    assert np.all(load <= caps_l * (1 + 1e-9) + 1e-12)
    for f, p in enumerate(paths):
        if rates[f] >= caps_f[f] * (1 - 1e-9):
            continue
        ok = False
        for link in p:
            if load[link] >= caps_l[link] * (1 - 1e-9) - 1e-12:
                others = [rates[g] / w[g] for g, q in enumerate(paths) if link in q]
                if rates[f] / w[f] >= max(others) * (1 - 1e-9):
                    ok = True
        assert ok, f"flow {f} has no bottleneck"


def test_random_instances_satisfy_definition_and_match_reference():
    rng = np.random.default_rng(42)
    for _ in range(150):
        n_links = int(rng.integers(1, 8))
        n = int(rng.integers(1, 14))
        paths = [
            sorted(set(rng.integers(0, n_links, size=int(rng.integers(1, 4))).tolist()))
            for _ in range(n)
        ]
        caps_l = rng.integers(0, 6, size=n_links).astype(float)
        w = rng.integers(1, 4, size=n).astype(float)
        caps_f = np.where(rng.random(n) < 0.3, rng.integers(1, 4, size=n), np.inf)
        rates = maxmin_rates(paths, caps_l, w, caps_f)
        ref = maxmin_rates_reference(paths, caps_l, w, caps_f)
        np.testing.assert_allclose(rates, ref, rtol=1e-9, atol=1e-12)
        _check_maxmin(paths, caps_l, w, caps_f, rates)


def test_fat_tree_10k_flows_feasible_and_fast():

    from sim_bench.bench_network import fat_tree_paths

    paths, n_links = fat_tree_paths(16, 10_000, np.random.default_rng(3))
    caps = np.full(n_links, 1.0)
    csr = to_csr(paths)
    rates = maxmin_rates(csr, caps)
    ptr, idx = csr
    load = np.bincount(idx, weights=np.repeat(rates, np.diff(ptr)), minlength=n_links)
    assert np.all(load <= 1 + 1e-9)
    # every flow is bottlenecked at a saturated link where it is among the fastest
    sat = load >= 1 - 1e-9
    link_max = np.zeros(n_links)
    np.maximum.at(link_max, idx, np.repeat(rates, np.diff(ptr)))
    for f in range(0, 10_000, 97):
        links = idx[ptr[f] : ptr[f + 1]]
        assert np.any(sat[links] & (rates[f] >= link_max[links] * (1 - 1e-9)))


@pytest.mark.slow
def test_fat_tree_50k_flows_within_seconds():
    import time

    from sim_bench.bench_network import fat_tree_paths

    paths, n_links = fat_tree_paths(16, 50_000, np.random.default_rng(4))
    csr = to_csr(paths)
    t = time.perf_counter()
    rates = maxmin_rates(csr, np.full(n_links, 1.0))
    assert time.perf_counter() - t < 5.0
    ptr, idx = csr
    load = np.bincount(idx, weights=np.repeat(rates, np.diff(ptr)), minlength=n_links)
    assert np.all(load <= 1 + 1e-9) and np.all(rates > 0)
