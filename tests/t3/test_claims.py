"""The T3 paper's claims: ids as specified, published values and sources present."""

from sim.reproduce import get_paper

IDS = [
    *(f"t3.speedup.{s}.{c}" for c in ("ideal_overlap", "t3", "t3_mca", "ideal_rs_nmc", "cu_split_8",
                                       "cu_split_16") for s in ("geomean", "max")),  # fmt: skip
    "t3.datamove.reduction.geomean", "t3.datamove.reduction.max", "t3.rs_reads.ratio",
    "t3.gemm_reads.ratio", "t3.e2e.train.geomean", "t3.e2e.train.max", "t3.e2e.infer.geomean",
    "t3.e2e.infer.max", "t3.large.speedup.geomean.t3_mca", "t3.large.speedup.max.t3_mca",
    "t3.speedup.geomean.ideal_ar_overlap",
]  # fmt: skip


def test_claim_ids_and_sources(root):
    paper = get_paper("t3")
    assert sorted(c.id for c in paper.claims) == sorted(IDS)
    published = {c.id: c.published for c in paper.claims}
    assert published["t3.speedup.geomean.t3_mca"] == 1.30
    assert published["t3.speedup.max.t3_mca"] == 1.47
    assert published["t3.rs_reads.ratio"] == 2.4
    assert published["t3.large.speedup.geomean.t3_mca"] == 1.29
    for c in paper.claims:
        assert c.source.startswith("T3 Sec."), c.id
        assert (root / "experiments" / "t3" / f"{c.experiment}.yaml").exists()
    for name in paper.experiments:
        assert (root / "experiments" / "t3" / f"{name}.yaml").exists()
