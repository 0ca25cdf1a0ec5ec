"""Models built on the engine: shared hardware (``hw``), reference queues (``queueing``) and
one package per reproduced paper. Modules register their models and policies on import."""
