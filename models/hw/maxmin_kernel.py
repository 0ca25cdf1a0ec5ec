"""Compiled kernels of the flow network: the incremental max-min update and its solver.

What it computes
    :func:`event_solve` is the end-of-instant update of
    :class:`~sim_models.hw.flownet.FlowNetwork`: given the active flows' paths as a padded
    matrix of link ids (one row per flow, ``-1`` after the last link), their current rates,
    the links whose flow set or capacity just changed (*touched*) and the flows just added,
    it re-solves the weighted max-min fair rates of the flows whose rates can change and
    leaves the others as they are.  :func:`padded_rates` solves one set of flows;
    :func:`component` finds the connected component of a change (used by the
    pure-Python path).

    The rates are computed by progressive filling exactly as
    :func:`sim_models.hw.maxmin.maxmin_rates` does (same rounds, same freezing rule, same
    ``LEVEL_RTOL`` grouping of levels), but in a compiled loop.  Tests compare the two to
    1e-9, and the incremental update with a full solve after every change.

Which flows are re-solved
    Three facts of max-min fairness (each a consequence of the bottleneck characterisation:
    an allocation is max-min fair iff it is feasible and every flow is capped or crosses a
    saturated link on which no flow has a higher rate per weight):

    1. *Divergence level.*  Progressive filling of the new flow set runs exactly as the old
       one did until a touched link saturates (in the old or the new solve) or a new flow
       reaches its cap; below that fill level ``t*`` every old flow keeps its rate.  ``t*``
       is bounded from below per touched link (:func:`_divergence_level`), and the flows
       whose old level ``rate / weight`` is below ``t* (1 - FIXED_MARGIN)`` are *fixed*:
       they only take capacity away.
    2. *Saturated links carry changes.*  A flow's rate can change only if it is connected
       to a touched link or a new flow through links that are saturated (old rates); an
       unsaturated link shared with the changed flows is no one's bottleneck.
    3. *Check and grow.*  The set found by 2 is solved on what the other flows leave of its
       links.  If that fills a link it shares with unfixed flows outside the set, those
       flows join and the set is solved again; otherwise every flow of the set has its
       bottleneck inside the set and every other flow keeps its old bottleneck, so the
       result is the max-min allocation.

    Under Poisson traffic on a fat tree this re-solves about a dozen flows per change
    instead of the connected component (hundreds).

Link-to-flow lists
    The flows on each link are kept between calls as doubly linked lists over the entries of
    the padded path matrix (entry ``slot x width + hop``): a flow is listed by the first
    update after it starts and unlisted when it completes, is cancelled or rerouted
    (:func:`drop_from_index`, :func:`retire`); the network empties the lists when its path
    store changes shape.  Link loads are summed from the lists only for the links an update
    visits.

How it is compiled
    With `numba <https://numba.pydata.org>`_ (``njit``, cached on disk) when it is
    installed; otherwise the same functions run as plain Python/numpy fallbacks
    (``COMPILED`` tells which), with identical results.

Complexity
    Per update: a few passes over the active flows' slots and per-link scratch arrays, the
    lists of the links visited, and the solve of the re-solved set: ``O(nnz log links)`` of
    that set (progressive filling with a heap of link levels).

Sources
    Bertsekas & Gallager, *Data Networks* (2nd ed.), section 6.5.2 (progressive filling);
    component-wise ("selective") updates as in SimGrid's flow models (Velho et al., ACM
    TOMACS 2013) — the idea only; no code.  The divergence-level and saturated-link rules
    are this module's own, derived from the bottleneck characterisation above.
"""

from __future__ import annotations

import numpy as np
from sim_models.hw.maxmin import LEVEL_RTOL, maxmin_rates

#: Relative margin below the divergence level under which an old flow's rate is kept
#: (well above ``LEVEL_RTOL``, so no bottleneck level is split by rounding).
FIXED_MARGIN = 1e-6

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
def _sift_down(hk, hv, i, n):  # pragma: no cover - compiled
    """Move entry ``i`` of the binary min-heap ``hk[:n]`` (values ``hv``) down to its place."""
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


@njit(cache=True)
def _heap_pop(hk, hv, n):  # pragma: no cover - compiled
    n -= 1
    hk[0] = hk[n]
    hv[0] = hv[n]
    _sift_down(hk, hv, 0, n)
    return n


@njit(cache=True)
def _maxmin_padded(P, cap_all, w, fcap, rtol):  # pragma: no cover - compiled
    return _maxmin_local(P, cap_all, w, fcap, rtol, np.full(cap_all.size, -1, np.int64))


@njit(cache=True)
def _maxmin_local(P, cap_all, w, fcap, rtol, local):  # pragma: no cover - compiled
    """:func:`_maxmin_padded` with a caller's workspace ``local`` (one entry per link, all
    -1 on entry and again on return)."""
    n, W = P.shape
    rate = np.zeros(n)
    if n == 0:
        return rate
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
        _sift_down(hk, hv, start, hn)
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
    for i in range(n):
        for j in range(W):
            lk = P[i, j]
            if lk < 0:
                break
            local[lk] = -1
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
def _forget(touched, gone_load, gone_lam, loose):  # pragma: no cover - compiled
    """Reset the departure records of the changed links (they are accounted for)."""
    for lk in touched:
        if lk >= 0:
            gone_load[lk] = 0.0
            gone_lam[lk] = -1.0
            loose[lk] = False


@njit(cache=True)
def _ix_insert(s, P, head, nxt, prv):  # pragma: no cover - compiled
    """Put slot ``s``'s hops on the lists of their links (entry ``s * width + hop``)."""
    W = P.shape[1]
    for j in range(W):
        lk = P[s, j]
        if lk < 0:
            break
        e = s * W + j
        h = head[lk]
        nxt[e] = h
        prv[e] = -1
        if h >= 0:
            prv[h] = e
        head[lk] = e


@njit(cache=True)
def _ix_drop(slots, P, head, nxt, prv, ix_in):  # pragma: no cover - compiled
    """Take the listed slots' hops off their links' lists (those that are on them)."""
    W = P.shape[1]
    for s in slots:
        if not ix_in[s]:
            continue
        ix_in[s] = False
        for j in range(W):
            lk = P[s, j]
            if lk < 0:
                break
            e = s * W + j
            p = prv[e]
            n = nxt[e]
            if p >= 0:
                nxt[p] = n
            else:
                head[lk] = n
            if n >= 0:
                prv[n] = p


def drop_from_index(net_arrays, slots: np.ndarray) -> None:
    """Take flows (slots) off the compiled update's link-to-flow lists."""
    P, head, nxt, prv, ix_in = net_arrays
    _ix_drop(slots.astype(np.int64, copy=False), P, head, nxt, prv, ix_in)


@njit(cache=True)
def _divergence_level(touched, isnew, rate, w, fcap, cap, P, head, nxt, act, gone_load,
                      gone_lam, loose, all_loose):  # pragma: no cover - compiled  # fmt: skip
    """Lowest fill level below which the new allocation provably equals the old one.

    Progressive filling of the new flow set proceeds exactly as the old one did until a
    changed link saturates (in the old or in the new solve) or a new flow reaches its cap;
    below that level every old flow keeps its rate. For a changed link ``l`` that level is
    bounded below by (a) the level at which the old solve saturated ``l``: the highest old
    level ``rate / weight`` of the flows it carried (those still on it and those that left,
    ``gone_lam``), or infinity when their rates (``gone_load`` for those that left) did not
    fill it; where that is unknown (``loose``: a capacity change; ``all_loose``: a batch left
    without notes), the highest old level of the flows still on it, which bounds it from
    below; and (b) the level at which ``l``
    saturates when the old flows freeze at their old levels and the new flows keep rising:
    the smallest ``t`` with ``sum_i w_i min(level_i, t) + t sum_new w >= cap``.
    """
    W = P.shape[1]
    tstar = np.inf
    for s in act:
        if isnew[s] and np.isfinite(fcap[s]):
            lv = fcap[s] / w[s]
            if lv < tstar:
                tstar = lv
    done = np.zeros(cap.size, np.bool_)
    for lk in touched:
        if lk < 0 or done[lk]:
            continue
        done[lk] = True
        m = 0
        e = head[lk]
        while e >= 0:
            m += 1
            e = nxt[e]
        if m == 0:
            continue
        lam = np.empty(m)
        wl = np.empty(m)
        k = 0
        w_new = 0.0
        e = head[lk]
        while e >= 0:
            s = e // W
            if isnew[s]:
                w_new += w[s]
            else:
                lam[k] = rate[s] / w[s]
                wl[k] = w[s]
                k += 1
            e = nxt[e]
        b = w_new
        top = -np.inf
        load = 0.0
        for j in range(k):
            b += wl[j]
            load += lam[j] * wl[j]
            if lam[j] > top:
                top = lam[j]
        if all_loose or loose[lk]:
            if k > 0 and top < tstar:
                tstar = top
        elif load + gone_load[lk] >= cap[lk] * (1.0 - FIXED_MARGIN):
            top = max(top, gone_lam[lk])
            if top >= 0.0 and top < tstar:
                tstar = top
        order = np.argsort(lam[:k])
        a = 0.0
        j = 0
        while b > 0.0:
            t = (cap[lk] - a) / b
            if j < k and lam[order[j]] < t:
                q = order[j]
                a += wl[q] * lam[q]
                b -= wl[q]
                j += 1
            else:
                if t < tstar:
                    tstar = max(t, 0.0)
                break
    return tstar


@njit(cache=True)
def _saturated(lk, state, rate, cap, head, nxt, W):  # pragma: no cover - compiled
    """Whether link ``lk`` is full at the current (old) rates; memoised in ``state``."""
    if state[lk] == 0:
        load = 0.0
        e = head[lk]
        while e >= 0:
            load += rate[e // W]
            e = nxt[e]
        state[lk] = 1 if load >= cap[lk] * (1.0 - FIXED_MARGIN) else 2
    return state[lk] == 1


@njit(cache=True)
def _spread(P, head, nxt, rate, w, cap, isnew, thr, inside, members, nm, state, lmark, stack,
            top):  # pragma: no cover - compiled  # fmt: skip
    """Grow the set ``inside`` (listed in ``members``) from the links on ``stack``: every
    flow on a stacked link that is not fixed (old level below ``thr``) joins, and its
    saturated links are stacked in turn. Returns the new member count and stack top."""
    W = P.shape[1]
    while top > 0:
        top -= 1
        lk = stack[top]
        e = head[lk]
        while e >= 0:
            s = e // W
            e = nxt[e]
            if inside[s] or (not isnew[s] and rate[s] / w[s] < thr):
                continue
            inside[s] = True
            members[nm] = s
            nm += 1
            for j in range(W):
                m = P[s, j]
                if m < 0:
                    break
                if not lmark[m] and _saturated(m, state, rate, cap, head, nxt, W):
                    lmark[m] = True
                    stack[top] = m
                    top += 1
    return nm, top


@njit(cache=True)
def _event_solve(live, hw, P, rem, tupd, rate, w, fcap, fin, cap, gone_load, gone_lam, loose,
                 head, nxt, prv, ix_in, all_loose, touched, new, now, incremental,
                 rtol):  # pragma: no cover - compiled  # fmt: skip
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
        _forget(touched, gone_load, gone_lam, loose)
        return 0, np.inf
    W = P.shape[1]
    n_links = cap.size
    local = np.full(n_links, -1, np.int64)
    if not incremental:
        _forget(touched, gone_load, gone_lam, loose)
        members = act
        nm = n_act
        Pc = np.empty((n_act, W), np.int64)
        for r in range(n_act):
            for j in range(W):
                Pc[r, j] = P[act[r], j]
        rates = _maxmin_local(Pc, cap, w[act], fcap[act], rtol, local)
    else:
        # the link-to-flow lists (kept between calls): add the flows not on them yet
        for s in act:
            if not ix_in[s]:
                _ix_insert(s, P, head, nxt, prv)
                ix_in[s] = True
        isnew = np.zeros(hw, np.bool_)
        for s in new:
            if s < hw and live[s]:
                isnew[s] = True
        tstar = _divergence_level(touched, isnew, rate, w, fcap, cap, P, head, nxt, act,
                                  gone_load, gone_lam, loose, all_loose)  # fmt: skip
        thr = tstar * (1.0 - FIXED_MARGIN)  # flows below it keep their rates
        state = np.zeros(n_links, np.int8)
        lmark = np.zeros(n_links, np.bool_)
        stack = np.empty(n_links, np.int64)
        inside = np.zeros(hw, np.bool_)
        members = np.empty(n_act, np.int64)
        nm = 0
        top = 0
        for lk in touched:
            if lk >= 0 and not lmark[lk]:
                lmark[lk] = True
                stack[top] = lk
                top += 1
        _forget(touched, gone_load, gone_lam, loose)
        for s in act:
            if isnew[s]:
                inside[s] = True
                members[nm] = s
                nm += 1
                for j in range(W):
                    lk = P[s, j]
                    if lk < 0:
                        break
                    if not lmark[lk]:
                        lmark[lk] = True
                        stack[top] = lk
                        top += 1
        nm, top = _spread(P, head, nxt, rate, w, cap, isnew, thr, inside, members, nm, state,
                          lmark, stack, top)  # fmt: skip
        # Solve the set with what the other flows leave of each link; if that saturates a
        # link the set shares with unfixed flows outside it, take those in and solve again.
        capr = np.empty(n_links)  # read only on the set's links
        other = np.empty(n_links)
        seen = np.zeros(n_links, np.bool_)
        used = np.empty(n_links, np.int64)
        row_of = np.empty(hw, np.int64)
        while True:
            Pc = np.empty((nm, W), np.int64)
            wc = np.empty(nm)
            fc = np.empty(nm)
            nu = 0
            for k in range(nm):
                s = members[k]
                row_of[s] = k
                for j in range(W):
                    lk = P[s, j]
                    Pc[k, j] = lk
                    if lk >= 0 and not seen[lk]:
                        seen[lk] = True
                        used[nu] = lk
                        nu += 1
                wc[k] = w[s]
                fc[k] = fcap[s]
            for q in range(nu):
                lk = used[q]
                o = 0.0
                e = head[lk]
                while e >= 0:
                    s = e // W
                    if not inside[s]:
                        o += rate[s]
                    e = nxt[e]
                other[lk] = o
                capr[lk] = max(cap[lk] - o, 0.0) if o > 0.0 else cap[lk]
            rates = _maxmin_local(Pc, capr, wc, fc, rtol, local)
            # links shared with unfixed flows outside the set that are now full
            grew = False
            for q in range(nu):
                lk = used[q]
                seen[lk] = False
                if lmark[lk] or other[lk] <= 0.0:
                    continue
                tot = other[lk]
                outside = False
                e = head[lk]
                while e >= 0:
                    s = e // W
                    if inside[s]:
                        tot += rates[row_of[s]]
                    elif isnew[s] or rate[s] / w[s] >= thr:
                        outside = True
                    e = nxt[e]
                if outside and tot >= cap[lk] * (1.0 - FIXED_MARGIN):
                    lmark[lk] = True
                    stack[top] = lk
                    top += 1
                    grew = True
            if not grew:
                break
            nm, top = _spread(P, head, nxt, rate, w, cap, isnew, thr, inside, members, nm,
                              state, lmark, stack, top)  # fmt: skip
    for k in range(nm):
        s = members[k]
        # bring the remaining bytes to now at the old rates
        if np.isfinite(rate[s]):
            rem[s] -= rate[s] * (now - tupd[s])
        tupd[s] = now
        x = rates[k]
        rate[s] = x
        if np.isinf(x):
            fin[s] = now
        elif x > 0.0:
            fin[s] = now + max(rem[s], 0.0) / x
        else:
            fin[s] = np.inf
    t_next = np.inf
    for s in act:
        f = fin[s]
        if f < t_next:
            t_next = f
    return nm, t_next


def event_solve(net_arrays, touched: np.ndarray, new: np.ndarray, now: float, incremental: bool):
    """Compiled end-of-instant update of :class:`~sim_models.hw.flownet.FlowNetwork`: find the
    changed component, re-solve it, update remaining bytes, rates and completion times in
    place; returns ``(flows solved, earliest completion time)``."""
    return _event_solve(*net_arrays, touched.astype(np.int64, copy=False),
                        new.astype(np.int64, copy=False), now, incremental, LEVEL_RTOL)


@njit(cache=True)
def _retire(P, slots, sent, rate, w, done_bytes, lcnt, gone_load, gone_lam, head, nxt, prv,
            ix_in):  # pragma: no cover - compiled  # fmt: skip
    _ix_drop(slots, P, head, nxt, prv, ix_in)
    n = 0
    for s in slots:
        for j in range(P.shape[1]):
            if P[s, j] < 0:
                break
            n += 1
    links = np.empty(n, np.int64)
    n = 0
    for k in range(slots.size):
        s = slots[k]
        lam = rate[s] / w[s]
        for j in range(P.shape[1]):
            lk = P[s, j]
            if lk < 0:
                break
            links[n] = lk
            n += 1
            done_bytes[lk] += sent[k]
            lcnt[lk] -= 1
            gone_load[lk] += rate[s]
            if lam > gone_lam[lk]:
                gone_lam[lk] = lam
    return links


def retire(net_arrays, slots: np.ndarray, sent: np.ndarray) -> np.ndarray:
    """Take flows off their links (compiled): book ``sent`` bytes per flow on each link of its
    path, decrement the links' flow counts and note the flows' rates and levels as
    departures, and drop them from the link-to-flow lists; returns the links (one entry per
    flow and hop)."""
    P, rate, w, done_bytes, lcnt, gone_load, gone_lam, head, nxt, prv, ix_in = net_arrays
    return _retire(P, slots.astype(np.int64), np.asarray(sent, dtype=float), rate, w,
                   done_bytes, lcnt, gone_load, gone_lam, head, nxt, prv, ix_in)  # fmt: skip


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
