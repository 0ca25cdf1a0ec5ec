"""Fixtures of the serverless tests: the Huawei schema samples (skipped when the shared
data folder is absent) and small hand-made trace folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the shared helpers of these tests (serverless_helpers.py) import by name
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[2]


def _shared_data() -> Path | None:
    # the repository's sibling folder, or (from a worktree two levels down) its grandparent's
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return None


@pytest.fixture
def huawei_schema() -> Path:
    """The Huawei schema samples: notebook_rows/ (real rows) and synthetic/ (made up)."""
    data = _shared_data()
    if data is None or not (data / "huawei-schema").is_dir():
        pytest.skip("shared/data/huawei-schema is not present")
    return data / "huawei-schema"
