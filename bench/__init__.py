"""Benchmarks behind ``sim bench``, registered in pyproject.toml's entry-point group
``sim.bench``: ``mmc`` (engine overhead on an M/M/c queue), ``recorder`` (rows per second into
columnar tables), ``maxmin`` and ``allreduce`` (the flow network). Each reports ratios to
baselines run in the same process."""
