"""C4 (Alibaba, HPCA 2025): traffic planning against ECMP collisions (C4P) and fault
detection, localisation and recovery from collective telemetry (C4D).

The package builds a GPU cluster fabric (nodes of 8 GPUs and 8 dual-port bonded NICs on
dual ToRs, two- or three-tier Clos), runs data-parallel training jobs whose collectives
ride a flow-level network, routes their connections by ECMP hashing or by the C4P planner
(policies in the shared ``hw.routing`` domain), injects faults, records collective
telemetry, detects and localises faults from that telemetry alone, and accounts a month
of a job's downtime with and without C4D. ``NOTES.md`` lists every fact used, with its
source and how sure it is.

Modules: :mod:`.fabric` (cluster wiring), :mod:`.routing` (C4P, static C4P, ideal),
:mod:`.comm` (connections and ring collectives on the flow network, telemetry),
:mod:`.job` (training jobs), :mod:`.faults` (fault classes and injection),
:mod:`.detector` (C4D), :mod:`.reliability` (downtime accounting over a month),
registered models in :mod:`.models`, claims in :mod:`.claims`, figures in :mod:`.figures`.
"""
