"""One way to make figures: matplotlib's Agg backend (no display needed) and atomic saves.

    from sim.plots import new_figure, save_figure
    fig, ax = new_figure()
    ax.plot(...)
    return save_figure(fig, out_dir / "thing.png")

:func:`save_figure` writes the PNG under a temporary name and renames it, then closes the
figure, so an interrupted run never leaves half a PNG and long sweeps do not leak figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float = 6.0, height: float = 4.0, **kwargs: Any):
    """``(figure, axes)`` of the given size in inches (``plt.subplots`` keyword arguments
    pass through)."""
    return pyplot().subplots(figsize=(width, height), **kwargs)


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save ``fig`` atomically as PNG at ``path`` and close it."""
    from sim.results import _atomic

    plt = pyplot()

    def write(p: Path) -> None:
        fig.savefig(p, dpi=dpi, bbox_inches="tight", format="png")

    try:
        return _atomic(Path(path), write)
    finally:
        plt.close(fig)
