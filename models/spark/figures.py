"""Figures of the Spark model (placeholder, filled below)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def run_figures(jobs: pd.DataFrame, out_dir: Path) -> list[Path]:
    return []


def sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    return []
