#!/usr/bin/env bash
# Regenerates this folder (run from the repository root, after `make venv`).
set -euo pipefail
out=traces/huawei-sample
rm -rf "$out"/cold_start "$out"/per_request "$out"/quantiles "$out"/runtime_triggerType
common=(--out "$out" --per-request-fraction 0.03 --compress --metrics runtimeCost_avg,runtimeCost_std)
.venv/bin/sim trace generate huawei --region R1,R3,R4,R5 --hours 2 --start-hour 10 "${common[@]}"
.venv/bin/sim trace generate huawei --region R2 --hours 24 "${common[@]}"
git checkout -- "$out/README.md" 2>/dev/null || true
