"""Writing results: atomic files, manifest.json, summary.json, Parquet tables.

Every file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a file that looks complete. ``summary.json`` is written last:
its presence marks a finished run (sweeps rely on this to resume).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of result files: what the user's umask gives a new file (0644 typically),
#: not the 0600 of a temporary file.
FILE_MODE = 0o666 & ~_current_umask()

#: Folders a results folder may never be in.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev", "/boot", "/etc", "/bin", "/sbin", "/lib", "/usr")


def check_out_dir(path: str | Path | None, what: str = "--out") -> Path:
    """``path`` as a results folder that can be written: a UserError naming it if it is
    empty, a file, under a file, a system folder, or cannot be created or written."""
    from sim.errors import UserError

    text = "" if path is None else str(path)
    if not text.strip():
        raise UserError("the results folder is empty", where=what)
    shown = text if len(text) <= 120 else text[:117] + "..."
    p = Path(text).expanduser()
    try:
        resolved = p.resolve()
    except (OSError, RuntimeError) as exc:
        raise UserError(f"not a usable folder: {exc}", where=f"{what} {shown}") from None
    rtext = str(resolved)
    if rtext == "/" or any(rtext == f or rtext.startswith(f + "/") for f in SYSTEM_FOLDERS):
        raise UserError(f"{rtext} is a system folder; choose another", where=f"{what} {shown}")
    try:
        for ancestor in [resolved, *resolved.parents]:
            if ancestor.exists():
                if not ancestor.is_dir():
                    kind = "is a file" if ancestor == resolved else f"is under a file ({ancestor})"
                    raise UserError(f"{kind}, not a folder", where=f"{what} {shown}")
                break
        resolved.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=resolved, prefix=".write-test-"):
            pass
    except UserError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(f"cannot write there: {reason}", where=f"{what} {shown}") from None
    return p


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda p: p.write_bytes(data))


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN and inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(path: Path, df: pd.DataFrame) -> Path:
    return _atomic(path, lambda p: df.to_parquet(p, index=False))


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    return _atomic(path, lambda p: df.to_csv(p, index=False))


def write_csv_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV of plain rows (no pandas) atomically."""
    import csv

    def write(p: Path) -> None:
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    return _atomic(Path(path), write)


def write_yaml(path: Path, obj: Any) -> Path:
    import yaml

    return atomic_write_text(path, yaml.safe_dump(_clean(obj), sort_keys=False))


def save_figure(fig: Any, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically as PNG and close it (see :mod:`sim.plots`)."""
    from sim.plots import save_figure as _save

    return _save(fig, path, dpi)


def git_sha(start: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=start or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def environment_info() -> dict[str, Any]:
    import numpy
    import simpy

    import sim

    return {
        "package_version": sim.__version__,
        "git_sha": git_sha(),
        "python_version": platform.python_version(),
        "simpy_version": simpy.__version__,
        "numpy_version": numpy.__version__,
        "pandas_version": pd.__version__,
        "platform": platform.platform(),
    }
