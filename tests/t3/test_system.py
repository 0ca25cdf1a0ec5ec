"""The sub-layer mechanism, one property at a time (T3 configurations on one ring rank)."""

import pytest
import simpy
from sim_models.hw.catalog import gpu, link
from sim_models.hw.dram import hbm2
from sim_models.hw.ring_memory import ring_rs_dram_bytes, ring_rs_time_s
from sim_models.t3 import fused
from sim_models.t3.system import CONFIGURATIONS

G = gpu("t3_sim")
RING = link("t3_ring")


def test_dma_fires_exactly_once_per_tile_when_both_updates_have_landed(run_sublayer, monkeypatch):
    """Every tile of stages 2..p-1 fires its DMA once, at the instant its second update
    (local store or upstream arrival) lands; stage-p tiles complete; no tile fires early."""
    updates: dict[int, list[float]] = {}
    fires: dict[int, list[float]] = {}
    made = []

    class Spy(fused.Tracker):
        def __init__(self, on_fire, **kw):
            def fire(key):
                fires.setdefault(key, []).append(self_env[0].now)
                on_fire(key)

            super().__init__(fire, **kw)
            made.append(self)

        def update(self, key):
            updates.setdefault(key, []).append(self_env[0].now)
            return super().update(key)

    self_env = []
    env = simpy.Environment()
    self_env.append(env)
    monkeypatch.setattr(fused, "Tracker", Spy)
    res, run = run_sublayer("t3", tp=4, env=env)
    order, stages = run.staggered()
    tracked = [i for st in stages[1:] for i in st]
    assert sorted(fires) == sorted(tracked)  # every tracked tile fired ...
    assert all(len(v) == 1 for v in fires.values())  # ... exactly once
    for key, (t_fire,) in fires.items():
        assert len(updates[key]) == 2  # local store + upstream update
        assert t_fire == max(updates[key])  # at the second one, not before
    assert res.stats["dma_transfers"] == sum(len(st) for st in stages[1:-1])
    assert made[0].pending() == 0
    # stage-1 tiles are stored remotely and never tracked
    assert not set(stages[0]) & set(fires)


def test_staggered_order_computes_own_chunk_last(run_sublayer):
    _res, run = run_sublayer("t3", tp=4)
    order, stages = run.staggered()
    base = run.base_order()
    chunks = [base[i * len(base) // 4:(i + 1) * len(base) // 4] for i in range(4)]
    assert stages[-1] == chunks[0]  # stage p is the chunk this rank owns
    assert stages[0] == chunks[1]
    assert sorted(order) == sorted(base)


def test_nmc_removes_the_rs_reduction_reads(run_sublayer):
    p = 8
    seq, _ = run_sublayer("sequential", tp=p)
    nmc, _ = run_sublayer("ideal_rs_nmc", tp=p)
    t3, _ = run_sublayer("t3", tp=p)
    S = 1024 * 3072 * 2
    c = S / p
    sb, nb, tb = seq.category_bytes(), nmc.category_bytes(), t3.category_bytes()
    assert sb["rs_read"] == pytest.approx(ring_rs_dram_bytes(p, S)[0])  # (2p-1) c
    assert nb["rs_read"] == pytest.approx(ring_rs_dram_bytes(p, S, nmc=True)[0])  # (p-1) c
    assert sb["rs_read"] - nb["rs_read"] == pytest.approx(p * c)  # the reduction's reads
    # fused: only the DMA reads of stages 2..p-1 remain
    assert tb["rs_read"] == pytest.approx((p - 2) * c, rel=0.02)
    # writes: Sequential GEMM S + RS p c; T3 (p-1) local + 1 remote-landed + (p-2) RS updates
    assert sb["gemm_write"] + sb["rs_write"] == pytest.approx(2 * p * c)
    assert tb["gemm_write"] + tb["rs_write"] == pytest.approx((2 * p - 2) * c, rel=0.02)
    assert nmc.time_s < seq.time_s


@pytest.mark.parametrize("dram", ["single", "banked"])
@pytest.mark.parametrize("limit", [0.5e-6, 2e-6])
def test_mca_never_holds_communication_beyond_its_starvation_bound(run_sublayer, limit, dram):
    res, run = run_sublayer("t3_mca", sublayer="fc2", tp=8, mca_starvation_limit_s=limit,
                            mca_threshold_max_bursts=4, mca_threshold_max_entries=4, l2_bytes=0,
                            dram_model=dram)  # fmt: skip
    if dram == "single":
        service = 64 * 1024 * 1.5 / G.hbm_bandwidth_Bps  # longest burst: an NMC update
    else:  # room for the starved request: the queue drains and one row segment opens
        cfg = hbm2(G.hbm_bandwidth_Bps)
        t = cfg.timing
        service = (cfg.queue_bytes + cfg.geometry.row_bytes) / cfg.channel_Bps + t.tRP + t.tRCD + t.tCL
    assert res.stats["mca_forced_bursts"] > 0  # the bound was exercised
    assert 0 < res.stats["max_comm_wait_s"] <= limit + service + 1e-12
    assert 1 <= res.stats["mca_threshold_bursts"] <= 4
    assert run.policy.threshold_bursts == res.stats["mca_threshold_bursts"]


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_free_communication_leaves_the_gemm_time(run_sublayer, config):
    res, run = run_sublayer(config, sublayer="fc2", tp=8, comm_cost_scale=0.0)
    assert res.time_s == pytest.approx(res.gemm_s, rel=1e-9)
    assert res.category_bytes()["rs_read"] == res.category_bytes()["ag_write"] == 0
    if config in ("sequential", "ideal_overlap", "ideal_rs_nmc"):
        seq, _ = run_sublayer("sequential", sublayer="fc2", tp=8)  # with communication
        assert res.time_s == pytest.approx(seq.gemm_s, rel=1e-9)  # its GEMM alone


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_one_gpu_communicates_nothing(run_sublayer, config):
    res, _ = run_sublayer(config, tp=1)
    b = res.category_bytes()
    assert res.stats["link_bytes"] == 0
    assert b["rs_read"] == b["rs_write"] == b["ag_read"] == b["ag_write"] == 0
    assert res.time_s == res.gemm_s == res.rs_end_s


@pytest.mark.parametrize("p", [2, 8, 16])
def test_sequential_rs_is_ring_closed_form_plus_its_dram_time(run_sublayer, p):
    """With the bandwidth server the store-and-forward ring RS takes exactly the ring's
    alpha-beta time plus the DRAM time of its bytes; with the banked DRAM each memory phase
    adds at most opening rows (tRP + tRCD + tCL) and bus turnarounds for its streams."""
    S = 1024 * 3072 * 2
    c = S / p
    ring = (p - 1) * (RING.latency_s + c / RING.bandwidth_Bps)
    dram = sum(ring_rs_dram_bytes(p, S)) / G.hbm_bandwidth_Bps
    expect = ring_rs_time_s(p, S, RING, G.hbm_bandwidth_Bps, cu_Bps=2e12, add_flops=G.peak("fp32"))
    assert expect == pytest.approx(ring + dram, rel=1e-9)
    res, _ = run_sublayer("sequential", tp=p, rs_slice_bytes=2**34, hbm_latency_s=0.0,
                          dram_model="single")  # fmt: skip
    assert res.rs_end_s - res.gemm_s == pytest.approx(expect, rel=1e-9)
    # with the HBM's latency: the closed form counts one latency per memory phase
    res2, _ = run_sublayer("sequential", tp=p, rs_slice_bytes=2**34, hbm_latency_s=500e-9,
                           dram_model="single")  # fmt: skip
    assert res2.rs_end_s - res2.gemm_s == pytest.approx(
        ring_rs_time_s(p, S, RING, G.hbm_bandwidth_Bps, mem_latency_s=500e-9, cu_Bps=2e12,
                       add_flops=G.peak("fp32")), rel=1e-9)  # fmt: skip
    res3, _ = run_sublayer("sequential", tp=p, rs_slice_bytes=2**34, hbm_latency_s=0.0,
                           dram_model="banked")  # fmt: skip
    t = hbm2(G.hbm_bandwidth_Bps).timing
    phases = 1 + (p - 1) + (p - 2) + 1  # first read, arrivals, reduce-and-send, final
    per_phase = 2 * (t.tRP + t.tRCD + t.tCL + t.tWTR)  # two streams of a phase meet in a bank
    assert expect < res3.rs_end_s - res3.gemm_s <= expect + phases * per_phase


def test_ideal_overlap_is_max_of_gemm_and_rs_plus_ag(run_sublayer):
    seq, _ = run_sublayer("sequential", sublayer="fc2")
    ideal, _ = run_sublayer("ideal_overlap", sublayer="fc2")
    rs = seq.rs_end_s - seq.gemm_s
    assert ideal.gemm_s == pytest.approx(seq.gemm_s)
    assert ideal.time_s == pytest.approx(max(seq.gemm_s, rs) + seq.ag_s, rel=1e-9)


def test_cu_split_overlaps_the_whole_all_reduce_on_k_cus(run_sublayer):
    """Fig. 6: the GEMM on 80 - k CUs and RS + AG on k CUs, side by side: the sub-layer takes
    the longer of the two; the ideal gives both all CUs."""
    seq, _ = run_sublayer("sequential", sublayer="fc2", tokens=2048)
    ideal, _ = run_sublayer("ideal_ar_overlap", sublayer="fc2", tokens=2048)
    ar_seq = seq.time_s - seq.gemm_s  # RS + AG after the GEMM
    assert ideal.gemm_s == pytest.approx(seq.gemm_s, rel=1e-9)
    # (the AR after the sequential GEMM finds that GEMM's rows open: a few ns apart)
    assert ideal.stats["ar_s"] == pytest.approx(ar_seq, rel=1e-3)
    assert ideal.time_s == pytest.approx(max(seq.gemm_s, ideal.stats["ar_s"]), rel=1e-9)
    prev = None
    for k in (8, 16, 40):
        res, run = run_sublayer("cu_split", sublayer="fc2", tokens=2048, comm_cus=k)
        assert res.gemm_s > seq.gemm_s  # fewer CUs for the GEMM
        assert res.stats["ar_s"] >= ideal.stats["ar_s"] * (1 - 1e-9)  # fewer CUs for the AR
        assert res.time_s == pytest.approx(max(res.gemm_s, res.stats["ar_s"]), rel=1e-9)
        if prev is not None:  # more CUs for the AR: it is no slower, the GEMM no faster
            assert res.stats["ar_s"] <= prev.stats["ar_s"] * (1 + 1e-9)
            assert res.gemm_s >= prev.gemm_s * (1 - 1e-3)  # (equal waves: DRAM timing differs)
        prev = res
    with pytest.raises(ValueError):
        run_sublayer("cu_split", comm_cus=80)


def test_t3_link_carries_p_minus_1_chunks_and_beats_sequential(run_sublayer):
    p = 8
    res, _ = run_sublayer("t3", tp=p)
    seq, _ = run_sublayer("sequential", tp=p)
    S = 1024 * 3072 * 2
    # RS: stage-1 stores + p-2 DMA'd chunks = p-1 chunks; then the AG's p-1 chunks
    assert res.stats["link_bytes"] == pytest.approx(2 * (p - 1) * S / p, rel=0.02)
    assert res.time_s < seq.time_s
    assert res.stats["tracker_peak_entries"] > 0


def test_unknown_configuration():
    from sim_models.hw.gemm import GemmShape
    from sim_models.t3.system import Knobs, SubLayerRun

    k = Knobs(gpu=G, link=RING, l2_bytes=G.l2_bytes)
    with pytest.raises(ValueError, match="unknown configuration"):
        SubLayerRun(simpy.Environment(), GemmShape(256, 256, 64), 2, "t4", k)
    with pytest.raises(ValueError, match="cannot be cut"):
        run = SubLayerRun(simpy.Environment(), GemmShape(128, 128, 64), 4, "t3", k)
        run.staggered()


@pytest.mark.parametrize("dram", ["banked", "single"])
def test_mca_recovers_contention_of_a_memory_bound_gemm(run_sublayer, dram):
    """No L2 for the GEMM (every tile reads its panels): the fused RS's traffic delays the
    GEMM's K-step reads under FCFS, so T3 falls behind the contention-free ideal; MCA
    serves waiting GEMM requests first and admits communication only below its threshold,
    and wins part of it back."""
    kw = dict(sublayer="fc2", tp=8, tokens=1024, l2_bytes=0, dram_model=dram)
    ideal, _ = run_sublayer("ideal_overlap", **kw)
    t3, _ = run_sublayer("t3", **kw)
    mca, _ = run_sublayer("t3_mca", **kw)
    assert ideal.time_s < mca.time_s < t3.time_s
    assert (t3.time_s - mca.time_s) > 0.2 * (t3.time_s - ideal.time_s)
    assert mca.gemm_s < t3.gemm_s


@pytest.mark.parametrize("dram", ["single", "banked"])
def test_gemm_k_loop_is_latency_sensitive_beyond_its_prefetch(run_sublayer, dram):
    """A K loop of k_tile-element steps with one read in flight hides a DRAM latency shorter
    than a step's compute and exposes a longer one; two reads in flight hide it again."""
    kw = dict(config="sequential", sublayer="fc2", tp=8, tokens=1024, dram_model=dram)
    step_s = 2 * 128 * 128 * 32 / (G.peak("fp16") / G.compute_units)  # 0.73 us per K step
    short, _ = run_sublayer(hbm_latency_s=0.2 * step_s, **kw)
    long, _ = run_sublayer(hbm_latency_s=2 * step_s, **kw)
    long2, _ = run_sublayer(hbm_latency_s=2 * step_s, prefetch_steps=3, **kw)
    assert long.gemm_s > 1.5 * short.gemm_s  # each step waits for its read
    assert long2.gemm_s < 1.1 * short.gemm_s  # three reads in flight cover 2 steps of latency
