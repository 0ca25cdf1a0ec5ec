"""Link and NIC catalog, each entry with its source.

Links are :class:`~sim_models.hw.links.LinkSpec` (one direction of a full-duplex link);
NICs are :class:`~sim_models.hw.links.NICSpec`.

Sources
    * PCIe: PCI-SIG Base Specifications, rates and coding in :mod:`sim_models.hw.links`
      (gen4 x16 = 31.5 GB/s per direction; FastSwitch quotes "32 GB/s theoretical one way",
      FastSwitch (Shen et al., arXiv 2411.18424) §5, evaluation setup). No protocol efficiency applied (use ``with_efficiency``).
    * NVLink 3: NVIDIA A100 datasheet, 12 links, 600 GB/s bidirectional per GPU.
      NVLink 4: NVIDIA H100 datasheet, 18 links, 900 GB/s. H800: 400 GB/s NVLink (NVIDIA
      H800 product brief); 8 links of NVLink 4 [A]. Entries are per-GPU aggregates, one
      direction (what one GPU can send into an NVSwitch fabric). Latency 25 ns per NVSwitch
      hop: default of Alibaba's open simulator SimAI (github.com/aliyun/SimAI, HPN 7.0 topology) [A].
    * t3_ring: T3 (Pati et al., ASPLOS'24) §5.1, Table 1: ring link 150 GB/s bidirectional,
      500 ns; 75 GB/s per direction is this project's reading of it [A].
    * NICs: NVIDIA ConnectX-6 (200 Gb/s port), ConnectX-7 (400 Gb/s port); BlueField-3 with
      2 x 200 Gb/s ports bonded into one 400 Gb/s logical port as in C4's cluster (C4 (Dong et al., HPCA'25), cluster description). Latency 0.5 us: SimAI's NIC link default (github.com/aliyun/SimAI) [A].
"""

from __future__ import annotations

from sim_models.hw.links import pcie_link
from sim_models.hw.specs import LinkSpec, NICSpec, NVLinkGen

NVLINK_GENS: dict[int, NVLinkGen] = {
    2: NVLinkGen(2, 25e9, 6, "NVIDIA V100 datasheet: 6 links, 300 GB/s bidirectional"),
    3: NVLinkGen(3, 25e9, 12, "NVIDIA A100 datasheet: 12 links, 600 GB/s bidirectional"),
    4: NVLinkGen(4, 25e9, 18, "NVIDIA H100 datasheet: 18 links, 900 GB/s bidirectional"),
}
NVSWITCH_HOP_S = 25e-9  # [A] SimAI default (github.com/aliyun/SimAI)

LINKS: dict[str, LinkSpec] = {
    spec.name: spec
    for spec in [
        pcie_link(3, 16),
        pcie_link(4, 16),
        pcie_link(5, 16),
        pcie_link(6, 16),
        LinkSpec("nvlink3", NVLINK_GENS[3].gpu_Bps, NVSWITCH_HOP_S, source=NVLINK_GENS[3].source),
        LinkSpec("nvlink4", NVLINK_GENS[4].gpu_Bps, NVSWITCH_HOP_S, source=NVLINK_GENS[4].source),
        LinkSpec(
            "nvlink4-h800",
            8 * NVLINK_GENS[4].link_Bps,
            NVSWITCH_HOP_S,
            source="NVIDIA H800 product brief: NVLink 400 GB/s bidirectional; 8 links [A]",
        ),
        LinkSpec(
            "t3_ring",
            75e9,
            500e-9,
            source="T3 (Pati et al., ASPLOS'24) §5.1, Table 1: 150 GB/s bidirectional, 500 ns; "
            "75 GB/s per direction [A]",
        ),
    ]
}

NICS: dict[str, NICSpec] = {
    n.name: n
    for n in [
        NICSpec("200g", 200, 1, 0.5e-6, "NVIDIA ConnectX-6 / BlueField-3 port: 200 Gb/s"),
        NICSpec("400g", 400, 1, 0.5e-6, "NVIDIA ConnectX-7 port: 400 Gb/s"),
        NICSpec(
            "2x200g-bonded",
            200,
            2,
            0.5e-6,
            "BlueField-3, 2 x 200 Gb/s bonded into 400 Gb/s (C4 (Dong et al., HPCA'25))",
        ),
    ]
}
