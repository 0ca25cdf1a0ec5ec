"""Spark clusters shared by several users, and the UWFQ paper's reproduction.

The model ``spark.cluster`` simulates a Spark application's cores, its users' job groups,
their queries as Spark jobs, stages and tasks, and Spark's task hand-out under a pluggable
scheduler (FIFO, FAIR, per-user FAIR pools, CFQ, UWFQ, true FIFO, random), each with or
without runtime partitioning. Workloads: the paper's synthetic scenarios, Google-trace
windows, a task_events loader and a generator. ``sim reproduce uwfq`` compares every
scheduler's response times and fairness with the paper's measurements; ``sim spark`` cuts
Google trace windows and lists the bundled scenarios. NOTES.md lists every fact the package
uses, with its source.
"""
