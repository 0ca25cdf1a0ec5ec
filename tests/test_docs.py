"""Every command and file that the README and the docs name exists: `sim` command lines in
code blocks parse with the real CLI, `make` targets are in the Makefile, and every local
path (links, images, backticked repository paths) is in the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("sim/", "models/", "experiments/", "docs/", "notebooks/", "traces/", "tests/", "bench/")


def code_lines(text: str) -> list[str]:
    lines = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("$ "):
                line = line[2:]
            lines.append(line)
    return lines


def referenced_paths(text: str) -> set[str]:
    paths = set(re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", text))
    paths |= set(re.findall(r'src="((?!https?:)[^"]+)"', text))
    for token in re.findall(r"`([^`\s]+)`", text):
        if token.startswith(TOP) and "<" not in token and "*" not in token:
            paths.add(token)
    return {p.split("#")[0] for p in paths}


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_sim_command_lines_parse(doc):
    from sim.cli import build_parser

    parser = build_parser()
    for line in code_lines(doc.read_text()):
        if not line.startswith("sim "):
            continue
        argv = shlex.split(line)[1:]
        if "|" in argv:  # "sim reproduce PAPER|all" style synopsis lines
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the failure message names the line
            pytest.fail(f"{doc.name}: `{line}` does not parse ({exc})")
        for arg in argv:
            if arg.endswith((".yaml", ".yml")) and "=" not in arg:
                assert (ROOT / arg).exists(), f"{doc.name}: `{line}` names a missing {arg}"


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_make_targets_exist(doc):
    make = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", make, flags=re.M))
    for line in code_lines(doc.read_text()):
        for target in re.findall(r"^make ([\w-]+)", line):
            assert target in targets, f"{doc.name}: make {target} is not a Makefile target"


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_local_paths_exist(doc):
    base = doc.parent
    missing = []
    for ref in sorted(referenced_paths(doc.read_text())):
        candidates = [base / ref, ROOT / ref]
        if not any(c.exists() for c in candidates):
            missing.append(ref)
    # generated results are named in the docs but only exist after a run
    missing = [m for m in missing if not m.startswith(("results/",))]
    assert not missing, f"{doc.name} names files that do not exist: {missing}"
