"""The schema reference stays in sync with the code."""

from sim.schema import render


def test_schema_reference_is_in_sync(root):
    committed = (root / "docs" / "experiment-schema.md").read_text()
    assert committed == render(), "run: python -m sim.schema > docs/experiment-schema.md"
