"""Property-based fuzzing of the shipped experiment files (hypothesis).

Each example takes a shipped experiment file and mutates it: a value replaced by another
type, a number out of bounds, NaN or infinity, a denormal, a huge count, a long or odd
string, an unknown key, a deleted key, a deep nesting, or the whole file re-encoded. The
mutated file then goes through ``sim validate`` and, for a share of examples, ``sim run
--quick`` with a wall-time limit. The property: every outcome is exit 0 or exit 2 with one
line on stderr — never a traceback (an exception escaping the CLI fails the test), never a
hang.

The default suite runs a small number of examples; the ``slow`` suite runs more than 1,000.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for p in (ROOT / "experiments").rglob("*.yaml")
    if not any(part.startswith("_") for part in p.relative_to(ROOT / "experiments").parts)
)
DATA = {p: yaml.safe_load(p.read_text()) for p in FILES}
RUN_LIMIT_S = 3

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**12, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e-320, 5e-324, 1e308, -0.0]),
    st.text(max_size=30),
    st.sampled_from(["", " ", "x" * 5000, "../../etc/passwd", "\x00", "é", "1e400", "0x10"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def leaves(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a nested mapping (mappings and their leaves)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append((*prefix, k))
            out += leaves(v, (*prefix, k))
    return out


def set_path(data: dict, path: tuple, value: Any) -> None:
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def del_path(data: dict, path: tuple) -> None:
    node = data
    for k in path[:-1]:
        node = node[k]
    node.pop(path[-1], None)


@st.composite
def mutated_files(draw) -> tuple[Path, bytes]:
    path = draw(st.sampled_from(FILES))
    data = copy.deepcopy(DATA[path])
    paths = leaves(data)
    kind = draw(st.sampled_from(["replace", "replace", "replace", "add", "delete", "nest",
                                 "encoding"]))  # fmt: skip
    if kind == "replace":
        set_path(data, draw(st.sampled_from(paths)), draw(ODD_VALUES))
    elif kind == "add":
        parents = [(), *[p for p in paths if isinstance(_get(data, p), dict)]]
        parent = draw(st.sampled_from(parents))
        key = draw(st.text(min_size=1, max_size=12))
        set_path(data, (*parent, key), draw(ODD_VALUES))
    elif kind == "delete":
        del_path(data, draw(st.sampled_from(paths)))
    elif kind == "nest":
        depth = draw(st.integers(min_value=10, max_value=3000))
        value: Any = 1
        for _ in range(min(depth, 200)):
            value = {"a": value}
        set_path(data, draw(st.sampled_from(paths)), value)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)
    if kind == "encoding":
        enc = draw(st.sampled_from(["utf-16", "latin-1", "utf-8-sig", "cp1252"]))
        extra = draw(st.sampled_from(["", "description: café ünïcode\n"]))
        try:
            return path, (text + extra).encode(enc)
        except UnicodeEncodeError:
            return path, (text + extra).encode("utf-8")
    return path, text.encode("utf-8")


def _get(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


def check_outcome(code: int, err: str) -> None:
    assert code in (0, 1, 2), code
    if code == 2:
        assert err.strip().count("\n") == 0, f"not one line: {err!r}"
    assert "Traceback" not in err
    if code == 1:  # only a sweep with failed runs may exit 1, and it names them
        assert "failed" in err


def fuzz_once(path: Path, blob: bytes, run: bool, capsys) -> None:
    from sim.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        # a copy of the file's folder, so relative data paths (data/*.csv) still resolve
        folder = Path(tmp) / "exp"
        shutil.copytree(path.parent, folder)
        target = folder / path.name
        target.write_bytes(blob)
        t0 = time.monotonic()
        code = main(["validate", str(target)])
        check_outcome(code, capsys.readouterr().err)
        if run and code == 0:
            code = main(["run", str(target), "--quick", "--max-run-s", str(RUN_LIMIT_S),
                         "--out", str(Path(tmp) / "out")])  # fmt: skip
            check_outcome(code, capsys.readouterr().err)
        assert time.monotonic() - t0 < 120, "an example took over two minutes"


COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
    derandomize=True,
)  # fmt: skip


@settings(max_examples=60, **COMMON)
@given(case=mutated_files(), run=st.booleans())
def test_mutated_experiment_files_exit_0_or_2(case, run, capsys):
    path, blob = case
    fuzz_once(path, blob, run and len(blob) % 4 == 0, capsys)


@pytest.mark.slow
@settings(max_examples=1200, **COMMON)
@given(case=mutated_files(), run=st.booleans())
def test_mutated_experiment_files_exit_0_or_2_many(case, run, capsys):
    path, blob = case
    fuzz_once(path, blob, run, capsys)
