"""Every shipped experiment file validates, and its quick variant too, with the data files
and folders it names."""

from pathlib import Path

import pytest

from sim import experiment
from sim.sweep import grid

ROOT = Path(__file__).resolve().parent.parent
# experiments/_template/ belongs to the package template, tested in tests/_template/.
FILES = sorted(
    p
    for p in (ROOT / "experiments").rglob("*.yaml")
    if not any(part.startswith("_") for part in p.relative_to(ROOT / "experiments").parts)
)


def test_there_are_experiment_files():
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_experiment_file_validates(path):
    for quick in (False, True):
        exp = experiment.load(path, quick=quick)
        assert exp.config.description, "every shipped experiment says what it shows"
        exp.check_inputs()  # what `sim validate` checks: its data files and folders exist
        for point in grid(exp.config.sweep):
            overrides = [f"{k}={v}" for k, v in point.items()]
            experiment.load(path, overrides, quick=quick)
