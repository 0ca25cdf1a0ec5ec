"""The UWFQ paper's synthetic scenarios (and single-class isolated runs) as YAML files, read
by the ``spark.scenario`` workload; see :mod:`sim_models.spark.workloads` for the format."""
