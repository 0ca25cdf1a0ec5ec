"""Helpers for the T3 tests: small sub-layer runs."""

from __future__ import annotations

import pytest
import simpy
from sim_models.hw.catalog import gpu, link, transformer
from sim_models.hw.tp_shapes import sublayer_gemm
from sim_models.t3.system import Knobs, SubLayerRun


@pytest.fixture
def run_sublayer():
    def run(config, *, model="mega-gpt2-8.3b", sublayer="op", tp=8, tokens=1024, comm_cus=16,
            env=None, **knobs):  # fmt: skip
        g = gpu("t3_sim")
        k = Knobs(gpu=g, link=knobs.pop("link", link("t3_ring")), l2_bytes=knobs.pop("l2_bytes", g.l2_bytes),
                  **knobs)  # fmt: skip
        env = env or simpy.Environment()
        shape = sublayer_gemm(transformer(model), sublayer, tp, tokens)
        r = SubLayerRun(env, shape, tp, config, k, comm_cus=comm_cus)
        proc = r.start()
        env.run()
        return proc.value, r

    return run
