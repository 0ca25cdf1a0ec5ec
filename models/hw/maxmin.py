"""Max-min fair rate allocation by progressive filling (water-filling), vectorized.

What it models
    The steady-state rates that an idealised congestion control (TCP-like, per-flow fair
    queuing) converges to when a set of flows shares capacitated links: *max-min
    fairness*.  Every flow's rate rises at the same pace (per unit weight) until some
    link it crosses is full (its *bottleneck*) or it reaches its own rate cap; it is then
    frozen and the others keep rising.  The weighted variant gives a flow of weight ``w`` a
    share ``w / sum(weights)`` of its bottleneck's residual capacity.  A per-flow cap acts
    exactly like a private link of capacity ``cap`` crossed by that flow only.

What it leaves out
    Transient dynamics (slow start, queueing delay, loss, RTT unfairness of real TCP);
    multipath splitting of one flow; packet granularity.

Algorithm
    Progressive filling in *rounds*.  In each round the fill level at which every link
    saturates is ``t_l = residual_l / active_weight_l``; the round's level is the minimum
    of those and of the unfrozen flows' ``cap / weight``.  Every unfrozen flow that crosses
    a link saturated at that level (or whose cap is reached) is frozen at ``level *
    weight`` in the same round, so the number of rounds equals the number of distinct
    bottleneck levels, not the number of flows.  Link residuals and active weights are
    updated incrementally from the newly frozen flows only (``np.bincount`` over their
    link entries), so the total work is ``O(nnz + rounds * n_links)``.  Levels within a
    relative ``1e-9`` are treated as equal.

Representation
    The flow x link incidence is given in compressed-row (CSR) form: ``ptr`` (length
    ``n_flows + 1``) and ``idx`` (link index of each entry), as in
    ``scipy.sparse.csr_matrix`` without the data array; :func:`to_csr` converts a list of
    per-flow link arrays.  No dense matrix is ever built.

Units
    Capacities and caps in bytes/s (any consistent rate unit works); weights unitless.

Sources
    Bertsekas & Gallager, *Data Networks* (2nd ed.), section 6.5.2, "max-min fairness"
    and its progressive filling algorithm.  No other constants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Relative tolerance under which two fill levels count as the same bottleneck level.
LEVEL_RTOL = 1e-9


def to_csr(flow_links: Sequence[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Convert a list of per-flow link-index sequences to CSR ``(ptr, idx)`` arrays."""
    lengths = np.fromiter((len(p) for p in flow_links), dtype=np.int64, count=len(flow_links))
    ptr = np.zeros(len(flow_links) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    if ptr[-1] == 0:
        return ptr, np.zeros(0, dtype=np.int64)
    idx = np.concatenate([np.asarray(p, dtype=np.int64) for p in flow_links])
    return ptr, idx


def gather_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for every pair, without a Python loop."""
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    keep = lens > 0
    starts, lens = starts[keep], lens[keep]
    offsets = np.cumsum(lens) - lens  # where each range begins in the output
    return np.repeat(starts - offsets, lens) + np.arange(total, dtype=np.int64)


def maxmin_rates(
    flow_links: Sequence[Sequence[int] | np.ndarray] | tuple[np.ndarray, np.ndarray],
    capacities: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    caps: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Weighted max-min fair rates of flows over capacitated links.

    Parameters
    ----------
    flow_links:
        Either a list (one entry per flow) of link-index sequences, or a CSR pair
        ``(ptr, idx)`` of numpy arrays (see :func:`to_csr`).  A link listed twice in one
        flow's path counts twice.
    capacities:
        Capacity of each link (bytes/s); ``0`` is allowed (a failed link: its flows get 0).
    weights:
        Positive weight per flow (default 1).  At a shared bottleneck rates are
        proportional to weights.
    caps:
        Per-flow maximum rate (bytes/s); ``inf`` or ``None`` means uncapped.

    Returns
    -------
    rates: float array of length ``n_flows``.  A flow that crosses no link and has no cap
    gets ``inf``.
    """
    if (
        isinstance(flow_links, tuple)
        and len(flow_links) == 2
        and isinstance(flow_links[0], np.ndarray)
    ):
        ptr = np.asarray(flow_links[0], dtype=np.int64)
        idx = np.asarray(flow_links[1], dtype=np.int64)
    else:
        ptr, idx = to_csr(flow_links)  # type: ignore[arg-type]
    cap_l = np.asarray(capacities, dtype=float)
    n = ptr.size - 1
    n_links = cap_l.size
    if n == 0:
        return np.zeros(0)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if np.any(w <= 0):
        raise ValueError("weights must be positive")
    if np.any(cap_l < 0):
        raise ValueError("capacities must be non-negative")
    if idx.size and (idx.min() < 0 or idx.max() >= n_links):
        raise ValueError("link index out of range")
    fcap = np.full(n, np.inf) if caps is None else np.asarray(caps, dtype=float).copy()
    fcap[np.isnan(fcap)] = np.inf

    lens = np.diff(ptr)
    row = np.repeat(np.arange(n, dtype=np.int64), lens)  # flow of each entry
    # Link-major view: the flows crossing each link.
    order = np.argsort(idx, kind="stable")
    lflows = row[order]
    lptr = np.zeros(n_links + 1, dtype=np.int64)
    np.cumsum(np.bincount(idx, minlength=n_links), out=lptr[1:])

    resid = cap_l.copy()
    wsum = np.bincount(idx, weights=w[row], minlength=n_links)  # active weight per link
    cnt = np.bincount(idx, minlength=n_links)  # active entries per link (exact)
    active = np.ones(n, dtype=bool)
    rate = np.zeros(n)

    cap_level = fcap / w
    cap_order = np.argsort(cap_level, kind="stable")
    cap_sorted = cap_level[cap_order]
    pc = 0  # next candidate in cap_order
    n_active = n
    level_l = np.empty(n_links)

    while n_active > 0:
        # Level at which each link with active flows saturates.
        level_l.fill(np.inf)
        busy = cnt > 0
        np.divide(resid, wsum, out=level_l, where=busy)
        t_link = level_l.min() if n_links else np.inf
        while pc < n and not active[cap_order[pc]]:
            pc += 1
        t_cap = cap_sorted[pc] if pc < n else np.inf
        t = min(t_link, t_cap)
        if not np.isfinite(t):
            # Remaining flows cross no link with active sharing and have no cap.
            rate[active] = np.inf
            break
        t = max(t, 0.0)
        thresh = t * (1.0 + LEVEL_RTOL) + 1e-300
        parts = []
        if t_link <= thresh:
            sat = np.flatnonzero(level_l <= thresh)
            cand = lflows[gather_ranges(lptr[sat], lptr[sat + 1])]
            parts.append(cand[active[cand]])
            cnt[sat] = 0  # exact: every active flow on a saturated link freezes now
        if t_cap <= thresh:
            hi = int(np.searchsorted(cap_sorted, thresh, side="right"))
            cand = cap_order[pc:hi]
            parts.append(cand[active[cand]])
            pc = hi
        new = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if len(parts) > 1 or new.size > 1:
            new = np.unique(new)
        if new.size == 0:  # defensive: cannot happen with exact counts
            break
        r_new = np.minimum(t * w[new], fcap[new])
        rate[new] = r_new
        active[new] = False
        n_active -= new.size
        ent = gather_ranges(ptr[new], ptr[new + 1])
        if ent.size:
            links = idx[ent]
            erow_rate = np.repeat(r_new, lens[new])
            erow_w = np.repeat(w[new], lens[new])
            resid -= np.bincount(links, weights=erow_rate, minlength=n_links)
            wsum -= np.bincount(links, weights=erow_w, minlength=n_links)
            dec = np.bincount(links, minlength=n_links)
            np.subtract(cnt, dec, out=cnt, where=cnt > 0)
            np.maximum(resid, 0.0, out=resid)
    return rate


def maxmin_rates_reference(
    flow_links: Sequence[Sequence[int]],
    capacities: Sequence[float],
    weights: Sequence[float] | None = None,
    caps: Sequence[float] | None = None,
) -> list[float]:
    """Plain-Python progressive filling, one flow at a time per bottleneck (reference).

    Same semantics as :func:`maxmin_rates`; used by tests as an independent check and by
    the benchmark as the baseline the vectorized solver is compared with.
    """
    n = len(flow_links)
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    fcap = [float("inf")] * n if caps is None else [float(x) for x in caps]
    resid = [float(c) for c in capacities]
    on_link: dict[int, list[int]] = {}
    for f, path in enumerate(flow_links):
        for link in path:
            on_link.setdefault(int(link), []).append(f)
    rate = [0.0] * n
    active = set(range(n))
    while active:
        best = float("inf")
        for link, flows in on_link.items():
            ws = sum(w[f] for f in flows if f in active)
            if ws > 0:
                best = min(best, resid[link] / ws)
        for f in active:
            best = min(best, fcap[f] / w[f])
        if best == float("inf"):
            for f in active:
                rate[f] = float("inf")
            break
        best = max(best, 0.0)
        thresh = best * (1 + LEVEL_RTOL) + 1e-300
        frozen = set()
        for link, flows in on_link.items():
            act = [f for f in flows if f in active]
            ws = sum(w[f] for f in act)
            if act and resid[link] / ws <= thresh:
                frozen.update(act)
        frozen.update(f for f in active if fcap[f] / w[f] <= thresh)
        for f in frozen:
            rate[f] = min(best * w[f], fcap[f])
            for link in flow_links[f]:
                resid[int(link)] = max(resid[int(link)] - rate[f], 0.0)
        active -= frozen
    return rate
