"""T3's claims (Pati et al., ASPLOS'24), each computed from this package's simulations.

Speedup = time of ``sequential`` / time of the configuration, per sub-layer; geomean and
max over the grid's sub-layers. Reduction = 1 - DRAM bytes of the configuration / DRAM bytes
of ``sequential`` (geomean of the per-sub-layer ratios; max = the largest reduction).
Published values are the paper's (section named in each claim's source); where this
reproduction lands far from one, the claim's source says which assumption drives it and
which experiment shows the sensitivity.
"""

from __future__ import annotations

from sim.reproduce import Claim, Outcome, Paper, register_paper

MAIN = "sublayers"
LARGE = "large"


def _metric(key: str):
    def compute(oc: Outcome) -> float:
        return oc.metric(key)

    return compute


FIG16 = "T3 Sec. 6.1, Fig. 16"
IDEAL_AR_NOTE = (
    "T3 Sec. 3.2, Fig. 6 (ideal bar): max(GEMM, RS + AG) on separate memories, all CUs each. "
    "It is (GEMM + AR) / max(GEMM, AR), so it depends on how the all-reduce's time compares "
    "with the GEMM's: here the AR is link-bound at 75 GB/s per direction [A] and outlasts the "
    "GEMM of every OP and every TP-16 sub-layer, where overlap hides only the GEMM; this pulls "
    "the geomean >15% below the published one. With twice the link bandwidth (150 GB/s each "
    "way, the other reading of Table 1) it is 1.56x: experiment cu_split, figure "
    "sensitivity_link_bandwidth_scale"
)
SPEEDUP_NOTES = {
    "ideal_overlap": "Ideal-GEMM-RS-Overlap = max(GEMM, RS) + AG with separate memories",
    "t3": (
        "FCFS arbitration on the banked HBM model. Lands above the published geomean for two "
        "reasons: (1) little memory contention: GEMM and fused-RS traffic together use ~23% of "
        "the DRAM bandwidth (summary dram_util.t3_fused; 16 MB L2 with ideal panel reuse, RS "
        "traffic paced by the 75 GB/s link), so T3 stays near the ideal where the paper loses "
        ">15% in the FC layers (Sec. 6.1.2); experiment contention shows T3 falling 2-7% below "
        "the ideal once the link is 4x faster and/or the GEMM memory-bound; (2) at TP 16 T3 "
        "beats the ideal, whose RS is Sequential's CU-executed ring that cannot pipeline "
        "sub-MiB chunks in 1 MiB slices (experiment collective_slices). Also: nmc_cost, "
        "gemm_pipeline, dram_model"
    ),
    "t3_mca": (
        "T3 with MCA: a waiting GEMM request always first; communication only while fewer than "
        "threshold = round(32 x (1 - stage-1 DRAM utilisation)) GEMM accesses wait at a channel; "
        "starvation limit 2 us; one rule for all sub-layers. Gains 0.7-1.3% on the TP-8 FC "
        "layers over T3 here; experiment mca (threshold ceiling 1-256, limit 0.5-8 us) is flat; "
        "with a 4x faster link (experiment mca_fast_link) the knobs move T3-MCA between 1.319x "
        "and 1.328x against T3's 1.306x, and experiment contention shows MCA recovering 1/3 to "
        "2/3 of T3's loss to contention"
    ),
    "ideal_rs_nmc": "published: whole sub-layer gain <= 4% (RS alone 7% at TP 8, 3% at TP 16)",
}


def _speedup_claims() -> list[Claim]:
    published = {
        "ideal_overlap": (1.35, 1.50),
        "t3": (1.20, 1.39),
        "t3_mca": (1.30, 1.47),
        "ideal_rs_nmc": (1.04, 1.04),
    }
    out = []
    for cfg, (geo, mx) in published.items():
        note = SPEEDUP_NOTES[cfg]
        out.append(Claim(
            id=f"t3.speedup.geomean.{cfg}",
            description=f"sub-layer speedup over Sequential, geomean: {cfg}"
            + (" (published: upper bound)" if cfg == "ideal_rs_nmc" else ""),
            experiment=MAIN, unit="x", compute=_metric(f"speedup.{cfg}.geomean"),
            published=geo, source=f"{FIG16}; {note}",
        ))  # fmt: skip
        out.append(Claim(
            id=f"t3.speedup.max.{cfg}",
            description=f"sub-layer speedup over Sequential, max: {cfg}"
            + (" (published: upper bound)" if cfg == "ideal_rs_nmc" else ""),
            experiment=MAIN, unit="x", compute=_metric(f"speedup.{cfg}.max"),
            published=mx, source=f"{FIG16}; {note}",
        ))  # fmt: skip
    cu_note = (
        "T3 Sec. 3.2, Fig. 6 (potential speedup of overlapping the whole all-reduce, RS + AG, "
        "with the GEMM; the collective kernel on k of 80 CUs, the GEMM on the rest; no "
        "dependence, separate memories: the study isolates CU contention). The potential is "
        "bounded by the ideal overlap (claim t3.speedup.geomean.ideal_ar_overlap), set by how "
        "AR and GEMM times compare; the AR's slowdown on k CUs depends on the memory traffic "
        "one CU drives, an assumption (2 fair shares; experiment cu_split): simulated AR "
        "slowdowns are in summary ar_slowdown.cu_split_<k>.geomean (published: 41% on 8 CUs, "
        "7% on 16), the GEMM's on 64 CUs in gemm_slowdown.cu_split_16.geomean (published 21%). "
        "Below the published values mainly through the ideal (see t3.speedup.geomean."
        "ideal_ar_overlap: link-bound all-reduces); relative to it, 8 CUs reach 81% and 16 CUs "
        "94% of the ideal (summary cu_split_<k>.of_ideal.geomean)"
    )
    for k, geo in ((8, 1.18), (16, 1.49)):
        out.append(Claim(
            id=f"t3.speedup.geomean.cu_split_{k}",
            description=f"potential speedup, GEMM and all-reduce overlapped, AR on {k} of 80 CUs, geomean",
            experiment=MAIN, unit="x", compute=_metric(f"speedup.cu_split_{k}.geomean"),
            published=geo, source=cu_note,
        ))  # fmt: skip
        out.append(Claim(
            id=f"t3.speedup.max.cu_split_{k}",
            description=f"potential speedup, GEMM and all-reduce overlapped, AR on {k} of 80 CUs, max",
            experiment=MAIN, unit="x", compute=_metric(f"speedup.cu_split_{k}.max"),
            published=None, source=cu_note,
        ))  # fmt: skip
    out.append(Claim(
        id="t3.speedup.geomean.ideal_ar_overlap",
        description="potential speedup of an ideal, contention-free GEMM / all-reduce overlap, geomean",
        experiment=MAIN, unit="x", compute=_metric("speedup.ideal_ar_overlap.geomean"),
        published=1.67, source=IDEAL_AR_NOTE,
    ))  # fmt: skip
    return out


FIG18 = "T3 Sec. 6.2, Fig. 18"
GEMM_READS_NOTE = (
    "here GEMM reads change only through L2 space taken by Sequential's write-allocated "
    "outputs (the paper: bypassing output writes leave more L2 for GEMM inputs); with an "
    "ideal LRU over whole A/B panels, a grouped tile order sized to 3/4 of the 16 MB L2, the "
    "reused panels stay resident and the ratio is 1.00, so the DRAM reduction comes from the "
    "RS alone. With a 1 or 4 MiB L2 the ratio is 1.17 or 1.28 (experiment contention, figure "
    "data_movement_l2_bytes): the idealised L2 model drives both this claim and the largest "
    "DRAM reduction (>15% below the published values)"
)

CLAIMS = [
    *_speedup_claims(),
    Claim(
        id="t3.datamove.reduction.geomean",
        description="DRAM traffic reduction of T3-MCA vs Sequential, geomean over sub-layers",
        experiment=MAIN, unit="fraction", compute=_metric("dram_reduction.t3_mca.geomean"),
        published=0.22, source=f"{FIG18} (abstract: 22% geomean)",
    ),
    Claim(
        id="t3.datamove.reduction.max",
        description="DRAM traffic reduction of T3-MCA vs Sequential, max over sub-layers",
        experiment=MAIN, unit="fraction", compute=_metric("dram_reduction.t3_mca.max"),
        published=0.36, source=f"{FIG18} (abstract: max 36%); {GEMM_READS_NOTE}",
    ),
    Claim(
        id="t3.rs_reads.ratio",
        description="RS DRAM reads, Sequential / T3-MCA, geomean",
        experiment=MAIN, unit="x", compute=_metric("rs_reads_ratio.t3_mca.geomean"),
        published=2.4, source=f"{FIG18} (2.5x at TP 8, 2.2x at TP 16)",
    ),
    Claim(
        id="t3.gemm_reads.ratio",
        description="GEMM DRAM reads, Sequential / T3-MCA, geomean",
        experiment=MAIN, unit="x", compute=_metric("gemm_reads_ratio.t3_mca.geomean"),
        published=1.56, source=f"{FIG18}; {GEMM_READS_NOTE}",
    ),
    Claim(
        id="t3.e2e.train.geomean",
        description="training-iteration speedup of T3-MCA, geomean over model x TP",
        experiment=MAIN, unit="x", compute=_metric("e2e.train.t3_mca.geomean"),
        published=1.10, source="T3 Sec. 6.3; layer time outside the sub-layers: other_fraction "
        "(40% of the sequential layer) [A], sensitivity: figure e2e_vs_other_fraction of "
        "experiment sublayers",
    ),
    Claim(
        id="t3.e2e.train.max",
        description="training-iteration speedup of T3-MCA, max over model x TP",
        experiment=MAIN, unit="x", compute=_metric("e2e.train.t3_mca.max"),
        published=1.12, source="T3 Sec. 6.3 (up to 12%)",
    ),
    Claim(
        id="t3.e2e.infer.geomean",
        description="prompt-phase inference speedup of T3-MCA, geomean over model x TP",
        experiment=MAIN, unit="x", compute=_metric("e2e.infer.t3_mca.geomean"),
        published=1.12, source="T3 Sec. 6.3; other_fraction [A] as for training",
    ),
    Claim(
        id="t3.e2e.infer.max",
        description="prompt-phase inference speedup of T3-MCA, max over model x TP",
        experiment=MAIN, unit="x", compute=_metric("e2e.infer.t3_mca.max"),
        published=1.15, source="T3 Sec. 6.3 (up to 15%)",
    ),
    Claim(
        id="t3.large.speedup.geomean.t3_mca",
        description="sub-layer speedup of T3-MCA for GPT-3, PaLM, MT-NLG at TP 32, geomean",
        experiment=LARGE, unit="x", compute=_metric("speedup.t3_mca.geomean"),
        published=1.29, source="T3 Sec. 6.4 (abstract: 29% geomean for ~500B-parameter models)",
    ),
    Claim(
        id="t3.large.speedup.max.t3_mca",
        description="sub-layer speedup of T3-MCA for GPT-3, PaLM, MT-NLG at TP 32, max",
        experiment=LARGE, unit="x", compute=_metric("speedup.t3_mca.max"),
        published=1.35, source="T3 Sec. 6.4",
    ),
]  # fmt: skip

PAPER = register_paper(
    Paper(
        id="t3",
        title="T3: Transparent Tracking & Triggering for Fine-grained Overlap of Compute & "
        "Collectives (Pati et al., ASPLOS'24)",
        section="T3 Sec. 3.2 (CU split), 6.1 (sub-layer speedups, Fig. 16), 6.2 (data "
        "movement, Fig. 18), 6.3 (end to end), 6.4 (TP-32 models); assumptions and their "
        "sensitivities in models/t3/NOTES.md and the sweep experiments below",
        experiments=["sublayers", "large", "timeline", "tokens", "mca", "mca_fast_link", "contention",
                     "dram_model", "gemm_pipeline", "collective_slices", "cu_split", "nmc_cost"],
        claims=CLAIMS,
    )
)
