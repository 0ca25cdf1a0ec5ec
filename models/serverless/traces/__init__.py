"""Trace formats: streamed, schema-checked readers of public serverless traces.

* :mod:`.huawei` - the Huawei 2025 cold-start release (``cold_start``, ``per_request``,
  the per-minute ``quantiles`` tables, the Region 2 ``runtime_triggerType`` table) in the
  release's folder layout;
* :mod:`.azure` - Azure Functions 2019 (per-minute invocation counts, duration and memory
  percentiles) and Azure Functions 2021 (one row per invocation);
* :mod:`.streams` - merging time-sorted chunk streams and re-sorting nearly sorted ones,
  with bounded memory.

Every reader is built on :func:`sim.traces.read_chunks`: a bad row raises a
:class:`~sim.errors.DataError` naming the file and line (exit 2 on the command line); with
``lenient=True`` bad rows are skipped and counted in a :class:`sim.traces.ReadStats`.
"""
