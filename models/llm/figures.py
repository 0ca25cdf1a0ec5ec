"""Figures of the serving engine (filled in below)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def run_figures(frames: dict, out_dir: Path) -> list[Path]:
    return []


def sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    return []
