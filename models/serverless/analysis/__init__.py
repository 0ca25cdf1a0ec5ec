"""Analysis of cold-start data in the release's schema, simulated or real: the
distribution fits of §4.1 (:mod:`.fits`), the statistics and figures behind
``sim trace stats`` (:mod:`.stats`, :mod:`.figures`)."""
