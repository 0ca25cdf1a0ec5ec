"""Banked HBM: closed forms for streaming, row misses, bank-level parallelism, row-buffer
latencies and bus turnarounds; the bounded queue; arbitration (FCFS, compute first, MCA)."""

import random

import pytest
import simpy
from sim_models.hw.arbiter import FCFS, ComputeFirst, OccupancyThreshold
from sim_models.hw.catalog import gpu
from sim_models.hw.dram import BankedHBM, HBMGeometry, hbm2, random_miss_bandwidth_Bps
from sim_models.hw.memory import ComputeEnhancedMemory, hbm_spec

CFG = hbm2(1e12)
G, T = CFG.geometry, CFG.timing
C, ROW = G.channels, G.row_bytes
T_BURST = CFG.t_burst  # 64 B at 31.25 GB/s per channel


def make(policy=None, cfg=CFG, **kw):
    env = simpy.Environment()
    return env, BankedHBM(env, cfg, policy=policy, **kw)


def row_range(region, bank, row, nbytes, col=0):
    """A device-level range whose simulated-channel share is ``nbytes / C`` bytes at
    (bank, row), starting at column byte ``col``."""
    local = (row * G.banks + bank) * ROW + col
    return (region, local * C, nbytes * C)


def test_config_peak_and_geometry():
    assert CFG.channel_Bps * C == pytest.approx(1e12)
    assert pytest.approx(64 / 31.25e9) == T_BURST
    assert T.tRC == pytest.approx(48e-9)
    g = HBMGeometry()
    assert g.locate(0) == (0, 0, 0)
    assert g.locate(256) == (1, 0, 0)  # 256 B channel interleave
    assert g.locate(32 * 256) == (0, 0, 0)  # back to channel 0, next 256 B of its row
    assert g.locate(32 * 2048) == (0, 1, 0)  # a channel's next row's worth: next bank
    assert g.locate(32 * 2048 * 16) == (0, 0, 1)  # all banks used: next row
    with pytest.raises(ValueError):
        hbm2(0)


@pytest.mark.parametrize("write", [False, True])
def test_streaming_reaches_peak_with_row_hits(write):
    env, d = make()
    nbytes = 64e6
    ev = d.transfer(nbytes, "gemm", write=write)
    env.run(ev)
    bw = nbytes / env.now
    # one activation per 2 KiB row, hidden behind the other banks' data: the bus stays busy
    assert 0.995 * 1e12 <= bw <= 1e12 * (1 + 1e-9)
    st = d.stats["gemm"]
    assert st.row_hit_rate == pytest.approx(1 - G.atom_bytes / ROW, rel=1e-3)
    assert (st.write_bytes if write else st.read_bytes) == pytest.approx(nbytes)
    assert d.busy_s == pytest.approx(nbytes / 1e12 * C / C * 1, rel=1e-6) or d.busy_s > 0


def _random_misses(banks: int, n: int = 3000, seed: int = 1):
    rnd = random.Random(seed)
    env, d = make(window_segments=10**6)
    rngs = [row_range("r", i % banks, rnd.randrange(1, 10**6), G.atom_bytes) for i in range(n)]
    ev = d.read(sum(r[2] for r in rngs), "gemm", ranges=rngs)
    env.run(ev)
    return sum(r[2] for r in rngs) / env.now, d


@pytest.mark.parametrize("banks", [1, 2, 4, 16])
def test_row_misses_match_the_bank_level_parallelism_closed_form(banks):
    """Every access opens a new row: a bank cycles in tRC, banks overlap, ACTs are limited by
    tRRD and tFAW (four per window)."""
    bw, d = _random_misses(banks)
    assert bw == pytest.approx(random_miss_bandwidth_Bps(CFG, banks=banks), rel=0.01)
    assert d.stats["gemm"].row_hit_rate == pytest.approx(0.0, abs=0.01)
    if banks == 1:
        assert bw == pytest.approx(C * G.atom_bytes / T.tRC, rel=0.01)
    if banks == 16:  # four ACTs per tFAW bind before the banks do
        assert bw == pytest.approx(C * G.atom_bytes * 4 / T.tFAW, rel=0.01)


def test_random_misses_over_random_banks_are_scheduled_around_busy_banks():
    rnd = random.Random(3)
    env, d = make(window_segments=10**6)
    rngs = [row_range("r", rnd.randrange(16), rnd.randrange(1, 10**6), G.atom_bytes)
            for _ in range(3000)]  # fmt: skip
    ev = d.read(sum(r[2] for r in rngs), "gemm", ranges=rngs)
    env.run(ev)
    bw = sum(r[2] for r in rngs) / env.now
    assert bw == pytest.approx(random_miss_bandwidth_Bps(CFG), rel=0.03)


def test_read_latency_hit_miss_conflict():
    """Idle channel: closed bank tRCD + tCL + data; open row tCL + data; other row open
    PRE (after tRAS) + tRP + tRCD + tCL + data; plus the fixed path latency."""
    lat = 100e-9
    env, d = make(latency_s=lat)
    one = G.atom_bytes
    ev = d.read(one * C, "gemm", ranges=[row_range("r", 3, 7, one)])
    env.run(ev)
    assert env.now == pytest.approx(T.tRCD + T.tCL + T_BURST + lat)
    t0 = env.now
    ev = d.read(one * C, "gemm", ranges=[row_range("r", 3, 7, one, col=one)])  # same row
    env.run(ev)
    assert env.now - t0 == pytest.approx(T.tCL + T_BURST + lat)
    t1 = env.now  # > tRAS after the ACT: the row can close at once
    ev = d.read(one * C, "gemm", ranges=[row_range("r", 3, 8, one)])
    env.run(ev)
    assert env.now - t1 == pytest.approx(T.tRP + T.tRCD + T.tCL + T_BURST + lat)
    st = d.stats["gemm"]
    assert (st.row_misses, st.row_hits, st.row_conflicts) == (1, 1, 1)


def test_write_to_read_turnaround():
    env, d = make()
    one = G.atom_bytes
    w = d.write(one * C, "gemm", ranges=[row_range("w", 0, 1, one)])
    r = d.read(one * C, "gemm", ranges=[row_range("r", 1, 1, one)])
    env.run(r)
    assert w.processed
    w_end = T.tRCD + T.tCWL + T_BURST  # both banks open at 0 (tRRD apart) ; write data first
    # read command no earlier than tWTR after the write data, its data tCL later
    assert env.now == pytest.approx(max(w_end + T.tWTR + T.tCL, T.tRRD + T.tRCD + T.tCL) + T_BURST)
    assert d.turnarounds == 1


def test_near_memory_update_holds_its_bank_for_read_and_write():
    """An update crosses the bus once (a write) but holds its bank for two column slots per
    access: a row of updates to one bank takes twice a row of writes."""
    n = ROW  # one row on the simulated channel
    slot = max(T.tCCD_L, T_BURST)
    times = {}
    for kind in ("write", "update"):
        env, d = make()
        rng = [row_range("x", 2, 5, n)]
        ev = d.transfer(n * C, "rs", write=True, update=kind == "update", ranges=rng)
        env.run(ev)
        times[kind] = env.now
        assert d.stats["rs"].write_bytes == pytest.approx(n * C)
    accesses = n / G.atom_bytes
    assert times["write"] == pytest.approx(T.tRCD + T.tCWL + accesses * T_BURST)
    assert times["update"] == pytest.approx(T.tRCD + accesses * CFG.nmc_bank_slots * slot)
    # spread over banks, updates keep the bus full: only the last bank's extra shows
    env, d = make()
    ev = d.transfer(32e6, "rs", write=True, update=True)
    env.run(ev)
    assert 32e6 / env.now > 0.99e12


def test_refresh_costs_trfc_per_trefi():
    env, d = make(cfg=hbm2(1e12, refresh=True))
    ev = d.read(200e6, "gemm")
    env.run(ev)
    expect = 1e12 * (1 - (T.tRFC + T.tRP) / T.tREFI)
    assert 200e6 / env.now == pytest.approx(expect, rel=0.01)
    assert d.refreshes == pytest.approx(env.now / T.tREFI, abs=1)


def test_queue_is_bounded_and_fcfs_serves_in_arrival_order():
    env, d = make(FCFS())
    seen = []
    orig = d._issue

    def spy(seg, now):
        seen.append(d._occ[False] + d._occ[True])
        orig(seg, now)

    d._issue = spy
    first = d.read(8e6, "rs", window=10**6)  # every request of it waits in the FIFO at once
    second = d.read(1e6, "gemm")  # arrives later: FCFS serves it after the first's bytes
    env.run(second)
    assert first.processed and first.value <= second.value
    assert env.now == pytest.approx(9e6 / 1e12, rel=0.01)
    assert max(seen) <= CFG.queue_entries + 1e-9
    # with a window, a transfer's later requests arrive as earlier ones leave: they share
    env, d = make(FCFS())
    first = d.read(8e6, "rs")
    second = d.read(1e6, "gemm")
    env.run(second)
    assert not first.processed and env.now < 4e6 / 1e12


def test_compute_first_overtakes_queued_communication():
    env, d = make(ComputeFirst())
    comm = d.read(8e6, "rs")
    gemm = d.read(1e6, "gemm")
    env.run(gemm)
    assert not comm.processed
    # the GEMM waited at most the queue's worth of communication
    assert env.now <= 1e6 / 1e12 + CFG.queue_bytes * C / 1e12 + 200e-9
    env.run(comm)


@pytest.mark.parametrize("limit", [0.5e-6, 2e-6])
def test_mca_bounds_communication_wait_by_the_starvation_limit(limit):
    pol = OccupancyThreshold(OccupancyThreshold.Params(threshold_bursts=4, starvation_limit_s=limit))
    env, d = make(pol)
    g = d.read(100e6, "gemm", window=64)  # keeps the compute queue above the threshold
    c = d.read(40e6, "rs")
    env.run(g)
    seg_s = ROW / CFG.channel_Bps + T.tRP + T.tRCD + T.tCL
    assert 0 < d.max_comm_wait_s <= limit + seg_s
    # while compute saturates, communication gets one row segment per starvation period
    periods = g.value / limit
    assert 0.8 * periods <= pol.forced <= periods + 1
    assert d.stats["rs"].read_bytes == pytest.approx(pol.forced * ROW * C, rel=0.05)
    env.run(c)


def test_mca_lets_communication_in_when_compute_is_light():
    pol = OccupancyThreshold(OccupancyThreshold.Params(threshold_bursts=32, starvation_limit_s=1e-3))
    env, d = make(pol)
    c = d.read(8e6, "rs")  # no compute: comm flows at full rate
    env.run(c)
    assert 8e6 / env.now > 0.99e12
    assert pol.forced == 0


def test_compute_enhanced_memory_on_banked_dram():
    env = simpy.Environment()
    spec = hbm_spec(gpu("t3_sim"), latency_s=0.0)
    mem = ComputeEnhancedMemory(env, spec, dram=CFG)
    assert mem.supports_ranges and isinstance(mem.channel, BankedHBM)
    ev = mem.update(4e6, "rs")
    env.run(ev)
    c = mem.counters()
    assert c["rs"]["write_bytes"] == pytest.approx(4e6)
    assert c["nmc"]["read_bytes"] == pytest.approx(4e6)
    r = mem.read(1e6, "gemm", ranges=[("A", 0, 5e5), ("B", 0, 5e5)])
    env.run(r)
    assert mem.read_bytes("gemm") == pytest.approx(1e6)


def test_timeline_bins_add_up():
    env, d = make(bin_s=1e-6)
    d.read(3e6, "gemm")
    d.write(1e6, "rs")
    env.run()
    tl = d.timeline()
    assert sum(b for _, o, k, b in tl if o == "gemm" and k == "read") == pytest.approx(3e6)
    assert sum(b for _, o, k, b in tl if o == "rs" and k == "write") == pytest.approx(1e6)


@pytest.mark.parametrize("compute_first", [False, True])
def test_mca_compute_first_does_not_queue_a_light_gemm_behind_a_communication_backlog(compute_first):
    # a GEMM read lighter than the threshold (1 KiB per channel = 16 accesses < 32) arrives
    # behind 8 MB of older communication (256 DMA tile reads of 32 KiB, as T3's DMA engine
    # issues when a wave's tiles fire): FCFS between the heads makes it wait for the whole
    # backlog; compute first (T3 Sec. 4.5) lets it in as soon as the queue has room
    pol = OccupancyThreshold(OccupancyThreshold.Params(
        threshold_bursts=32, starvation_limit_s=1e-3, compute_first=compute_first))  # fmt: skip
    env, d = make(pol)
    reads = [d.read(32 * 1024, "rs") for _ in range(256)]
    comm = env.all_of(reads)
    env.run(until=100e-9)
    gemm = d.read(32 * 1024, "gemm")
    env.run(gemm)
    backlog_s = 256 * 32 * 1024 / 1e12
    if compute_first:
        # at most the queue's worth of communication, then its own 16 accesses
        assert env.now <= 100e-9 + (CFG.queue_entries + 16) * T_BURST + 200e-9
        assert not comm.processed
    else:
        assert env.now >= 0.9 * backlog_s
    env.run(comm)
    assert pol.forced == 0
