"""Reference queueing models (M/M/c, M/G/1, processor sharing): the proof of the engine."""
