"""Compiled kernels of the flow network: connected component and max-min fair rates.

What it computes
    :func:`component_rates` takes the active flows' paths as a padded matrix of link ids
    (one row per flow, ``-1`` after the last link), the links whose flow set or capacity
    just changed and the flows just added, and returns which flows are connected to them in
    the flow-link graph (the *component*: flows that share a link, directly or through other
    flows) together with the weighted max-min fair rates of those flows.  Max-min fairness
    is separable over components, so the other flows' rates do not change.

    The rates are computed by progressive filling exactly as
    :func:`sim_models.hw.maxmin.maxmin_rates` does (same rounds, same freezing rule, same
    ``LEVEL_RTOL`` grouping of levels), but in a compiled loop: the numpy solver spends most
    of its time in per-call overhead when a component has a few hundred flows, which is the
    common case of a network under Poisson arrivals.  Tests compare the two to 1e-9.

How it is compiled
    With `numba <https://numba.pydata.org>`_ (``njit``, cached on disk) when it is
    installed; otherwise the same functions run as plain Python/numpy fallbacks
    (``COMPILED`` tells which), with identical results.

Complexity
    Component search: ``O(nnz)`` (a link-to-flow index is built per call, then a
    breadth-first search).  Solve: ``O(nnz + rounds * (links + flows))`` of the component,
    ``rounds`` = number of distinct bottleneck levels.

Sources
    Bertsekas & Gallager, *Data Networks* (2nd ed.), section 6.5.2 (progressive filling);
    component-wise ("selective") updates as in SimGrid's flow models (Velho et al., ACM
    TOMACS 2013) — the idea only; no code.
"""

from __future__ import annotations

import numpy as np
from sim_models.hw.maxmin import LEVEL_RTOL, maxmin_rates

try:  # pragma: no cover - depends on the environment
    from numba import njit

    COMPILED = True
except ImportError:  # pragma: no cover
    COMPILED = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        def wrap(fn):
            return fn

        return wrap if not args or not callable(args[0]) else args[0]


@njit(cache=True)
def _component(P, touched, seed, n_links):  # pragma: no cover - compiled
    n, W = P.shape
    # link -> flows index (counting sort)
    lptr = np.zeros(n_links + 1, np.int64)
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            lptr[lk + 1] += 1
    for lk in range(n_links):
        lptr[lk + 1] += lptr[lk]
    pos = lptr[:-1].copy()
    lflows = np.empty(lptr[n_links], np.int64)
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            lflows[pos[lk]] = i
            pos[lk] += 1
    inside = np.zeros(n, np.bool_)
    lmark = np.zeros(n_links, np.bool_)
    stack = np.empty(n_links, np.int64)
    top = 0
    for lk in touched:
        if lk >= 0 and not lmark[lk]:
            lmark[lk] = True
            stack[top] = lk
            top += 1
    for i in seed:
        if not inside[i]:
            inside[i] = True
            for j in range(W):
                lk = P[i, j]
                if lk < 0:
                    break
                if not lmark[lk]:
                    lmark[lk] = True
                    stack[top] = lk
                    top += 1
    while top > 0:
        top -= 1
        lk = stack[top]
        for e in range(lptr[lk], lptr[lk + 1]):
            i = lflows[e]
            if inside[i]:
                continue
            inside[i] = True
            for j in range(W):
                m = P[i, j]
                if m < 0:
                    break
                if not lmark[m]:
                    lmark[m] = True
                    stack[top] = m
                    top += 1
    return inside


@njit(cache=True)
def _heap_push(hk, hv, n, key, val):  # pragma: no cover - compiled
    i = n
    hk[i] = key
    hv[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= hk[i]:
            break
        hk[parent], hk[i] = hk[i], hk[parent]
        hv[parent], hv[i] = hv[i], hv[parent]
        i = parent
    return n + 1


@njit(cache=True)
def _heap_pop(hk, hv, n):  # pragma: no cover - compiled
    n -= 1
    hk[0] = hk[n]
    hv[0] = hv[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left
        if left + 1 < n and hk[left + 1] < hk[left]:
            c = left + 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return n


@njit(cache=True)
def _maxmin_padded(P, cap_all, w, fcap, rtol):  # pragma: no cover - compiled
    n, W = P.shape
    rate = np.zeros(n)
    if n == 0:
        return rate
    n_all = cap_all.size
    local = np.full(n_all, -1, np.int64)
    L = 0
    nnz = 0
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            nnz += 1
            if local[lk] < 0:
                local[lk] = L
                L += 1
    resid = np.empty(L)
    wsum = np.zeros(L)
    cnt = np.zeros(L, np.int64)
    lptr = np.zeros(L + 1, np.int64)
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            q = local[lk]
            resid[q] = cap_all[lk]
            wsum[q] += w[i]
            cnt[q] += 1
            lptr[q + 1] += 1
    for q in range(L):
        lptr[q + 1] += lptr[q]
    pos = lptr[:-1].copy()
    lflows = np.empty(lptr[L], np.int64)
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            q = local[lk]
            lflows[pos[q]] = i
            pos[q] += 1
    # Link levels in a heap with lazy deletion (an entry is valid while it equals the
    # link's current level); flows' own cap levels in sorted order.
    level = np.empty(L)
    hk = np.empty(L + nnz + 1)
    hv = np.empty(L + nnz + 1, np.int64)
    for q in range(L):
        level[q] = resid[q] / wsum[q]
        hk[q] = level[q]
        hv[q] = q
    hn = L
    for start in range((L - 2) // 2, -1, -1):  # heapify: sift every parent down
        i = start
        while True:
            left = 2 * i + 1
            if left >= hn:
                break
            c = left
            if left + 1 < hn and hk[left + 1] < hk[left]:
                c = left + 1
            if hk[i] <= hk[c]:
                break
            hk[c], hk[i] = hk[i], hk[c]
            hv[c], hv[i] = hv[i], hv[c]
            i = c
    capped = False
    cap_level = np.empty(n)
    for i in range(n):
        cap_level[i] = fcap[i] / w[i]
        if np.isfinite(cap_level[i]):
            capped = True
    if capped:
        cap_order = np.argsort(cap_level, kind="mergesort")
        pc = 0
    else:  # no flow has a rate cap: nothing to order
        cap_order = np.zeros(0, np.int64)
        pc = n
    active = np.ones(n, np.bool_)
    frozen = np.empty(n, np.int64)
    sat = np.empty(L, np.int64)
    touched = np.empty(L, np.int64)
    tmark = np.zeros(L, np.bool_)
    n_active = n
    while n_active > 0:
        while hn > 0 and (cnt[hv[0]] == 0 or hk[0] != level[hv[0]]):
            hn = _heap_pop(hk, hv, hn)  # stale entry
        t_link = hk[0] if hn > 0 else np.inf
        while pc < n and not active[cap_order[pc]]:
            pc += 1
        t_cap = cap_level[cap_order[pc]] if pc < n else np.inf
        t = min(t_link, t_cap)
        if not np.isfinite(t):
            for i in range(n):
                if active[i]:
                    rate[i] = np.inf
            break
        if t < 0.0:
            t = 0.0
        thresh = t * (1.0 + rtol) + 1e-300
        nf = 0
        ns = 0
        while hn > 0 and hk[0] <= thresh:
            q = hv[0]
            valid = cnt[q] > 0 and hk[0] == level[q]
            hn = _heap_pop(hk, hv, hn)
            if valid:
                sat[ns] = q
                ns += 1
        for k in range(ns):
            q = sat[k]
            for e in range(lptr[q], lptr[q + 1]):
                i = lflows[e]
                if active[i]:
                    active[i] = False
                    frozen[nf] = i
                    nf += 1
            cnt[q] = 0
        while pc < n and cap_level[cap_order[pc]] <= thresh:
            i = cap_order[pc]
            if active[i]:
                active[i] = False
                frozen[nf] = i
                nf += 1
            pc += 1
        if nf == 0:
            break
        nt = 0
        for k in range(nf):
            i = frozen[k]
            r = min(t * w[i], fcap[i])
            rate[i] = r
            for j in range(W):
                lk = P[i, j]
                if lk < 0:
                    break
                q = local[lk]
                resid[q] -= r
                wsum[q] -= w[i]
                if cnt[q] > 0:
                    cnt[q] -= 1
                if not tmark[q]:
                    tmark[q] = True
                    touched[nt] = q
                    nt += 1
        for k in range(nt):
            q = touched[k]
            tmark[q] = False
            if resid[q] < 0.0:
                resid[q] = 0.0
            if cnt[q] > 0:
                level[q] = resid[q] / wsum[q]
                hn = _heap_push(hk, hv, hn, level[q], q)
        n_active -= nf
    return rate


def component(P: np.ndarray, touched: np.ndarray, seed: np.ndarray, n_links: int) -> np.ndarray:
    """Boolean mask of the rows of ``P`` connected to links ``touched`` or rows ``seed``."""
    if COMPILED:
        return _component(P, touched.astype(np.int64), seed.astype(np.int64), n_links)
    mark = np.zeros(n_links + 1, dtype=bool)
    mark[touched] = True
    mark[-1] = False
    inside = np.zeros(P.shape[0], dtype=bool)
    inside[seed] = True
    mark[P[inside]] = True
    mark[-1] = False
    while True:
        hit = mark[P].any(axis=1) & ~inside
        if not hit.any():
            return inside
        inside |= hit
        mark[P[hit]] = True
        mark[-1] = False


def padded_rates(P: np.ndarray, cap: np.ndarray, w: np.ndarray, fcap: np.ndarray) -> np.ndarray:
    """Weighted max-min rates of the flows whose paths are the rows of ``P`` (link ids of
    ``cap``, padded with -1); same semantics as :func:`~sim_models.hw.maxmin.maxmin_rates`."""
    if COMPILED:
        return _maxmin_padded(P, cap, w, fcap, LEVEL_RTOL)
    mask = P >= 0
    ptr = np.zeros(P.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=ptr[1:])
    flat = P[mask]
    if not flat.size:
        return maxmin_rates((ptr, flat), np.zeros(0), w, fcap)
    used = np.bincount(flat, minlength=cap.size) > 0
    local = np.cumsum(used) - 1
    return maxmin_rates((ptr, local[flat]), cap[used], w, fcap)


@njit(cache=True)
def _event_solve(live, hw, P, rem, tupd, rate, w, fcap, fin, cap, touched, new, now,
                 incremental, rtol):  # pragma: no cover - compiled  # fmt: skip
    n_act = 0
    for i in range(hw):
        if live[i]:
            n_act += 1
    act = np.empty(n_act, np.int64)
    k = 0
    for i in range(hw):
        if live[i]:
            act[k] = i
            k += 1
    if n_act == 0:
        return 0, np.inf
    W = P.shape[1]
    Pa = np.empty((n_act, W), np.int64)
    for r in range(n_act):
        for j in range(W):
            Pa[r, j] = P[act[r], j]
    if incremental:
        pos = np.full(hw, -1, np.int64)
        for r in range(n_act):
            pos[act[r]] = r
        seed = np.empty(new.size, np.int64)
        ns = 0
        for s in new:
            if s < hw and pos[s] >= 0:
                seed[ns] = pos[s]
                ns += 1
        inside = _component(Pa, touched, seed[:ns], cap.size)
    else:
        inside = np.ones(n_act, np.bool_)
    nc = 0
    for r in range(n_act):
        if inside[r]:
            nc += 1
    comp = np.empty(nc, np.int64)
    Pc = np.empty((nc, W), np.int64)
    wc = np.empty(nc)
    fc = np.empty(nc)
    k = 0
    for r in range(n_act):
        if inside[r]:
            s = act[r]
            comp[k] = s
            for j in range(W):
                Pc[k, j] = Pa[r, j]
            wc[k] = w[s]
            fc[k] = fcap[s]
            # bring the remaining bytes to now at the old rates
            if np.isfinite(rate[s]):
                rem[s] -= rate[s] * (now - tupd[s])
            tupd[s] = now
            k += 1
    rates = _maxmin_padded(Pc, cap, wc, fc, rtol)
    for k in range(nc):
        s = comp[k]
        r = rates[k]
        rate[s] = r
        if np.isinf(r):
            fin[s] = now
        elif r > 0.0:
            fin[s] = now + max(rem[s], 0.0) / r
        else:
            fin[s] = np.inf
    t_next = np.inf
    for r in range(n_act):
        f = fin[act[r]]
        if f < t_next:
            t_next = f
    return nc, t_next


def event_solve(net_arrays, touched: np.ndarray, new: np.ndarray, now: float, incremental: bool):
    """Compiled end-of-instant update of :class:`~sim_models.hw.flownet.FlowNetwork`: find the
    changed component, re-solve it, update remaining bytes, rates and completion times in
    place; returns ``(flows solved, earliest completion time)``."""
    live, hw, P, rem, tupd, rate, w, fcap, fin, cap = net_arrays
    return _event_solve(live, hw, P, rem, tupd, rate, w, fcap, fin, cap,
                        touched.astype(np.int64), new.astype(np.int64), now, incremental,
                        LEVEL_RTOL)  # fmt: skip


@njit(cache=True)
def _due(live, hw, rem, tupd, rate, size, fin, now, size_rtol, time_rtol):  # pragma: no cover
    eps_t = max(abs(now), 1e-30) * time_rtol
    out = np.empty(hw, np.int64)
    n = 0
    for s in range(hw):
        if not live[s]:
            continue
        r = rate[s]
        left = rem[s] - (r * (now - tupd[s]) if np.isfinite(r) else 0.0)
        if left <= size_rtol * size[s] or left <= r * eps_t:
            out[n] = s
            n += 1
    if n == 0:  # rounding left a sliver: move the completion times to the exact remainders
        for s in range(hw):
            if live[s] and rate[s] > 0.0 and np.isfinite(rate[s]):
                left = rem[s] - rate[s] * (now - tupd[s])
                fin[s] = now + max(left, 0.0) / rate[s]
    return out[:n]


def due(net_arrays, now: float, size_rtol: float, time_rtol: float) -> np.ndarray:
    """Slots whose transfer is complete at ``now`` (see the flow network's precision rule);
    when none is, the completion times are refreshed from the remaining bytes."""
    live, hw, rem, tupd, rate, size, fin = net_arrays
    return _due(live, hw, rem, tupd, rate, size, fin, now, size_rtol, time_rtol)
