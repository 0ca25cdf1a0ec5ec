"""Serverless platforms and their cold starts.

What the package models
    A Huawei-YuanRong-like serverless platform (``serverless.platform``): regions of four
    clusters, per-configuration pools of generic warm pods, pods with a concurrency limit,
    execution, keep-alive and deletion, with cold starts made of pod allocation, code
    deployment, dependency deployment and scheduling. The scale-per-request model of the
    analytical literature (``serverless.single_function``) shares the same pod life cycle
    (:mod:`.lifecycle`). Keep-alive, pre-warm, pool-sizing and region-routing decisions are
    policies (:mod:`.policies`).

Data
    Readers for the Huawei 2025 cold-start release and the Azure Functions 2019 and 2021
    traces (:mod:`.traces`), a generator calibrated to the Huawei paper's published
    statistics (:mod:`.generator`) and the analysis behind ``sim trace stats``
    (:mod:`.analysis`). The facts the package uses, with their sources, are in NOTES.md.
"""
