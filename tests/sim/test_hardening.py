"""Hardening: every bad input gets exit 2 and one line, no run hangs or runs away, and no
result folder is ever stale or half-written. One test (or more) per class of problem."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim import experiment
from sim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MMC = ROOT / "experiments" / "quickstart" / "mmc.yaml"

GOOD = """name: t
description: a test
model: queueing.mmc
seed: 1
params:
  servers: 2
  arrival_rate: 1.0
  customers: 2000
"""


@pytest.fixture
def write(tmp_path):
    def w(text: str | bytes, name: str = "exp.yaml") -> Path:
        p = tmp_path / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return p

    return w


def user_error(result, *fragments):
    code, out, err = result
    assert code == 2, (code, out, err)
    line = err.strip()
    assert line.count("\n") == 0, f"not one line: {err!r}"
    assert "Traceback" not in err
    for f in fragments:
        assert f in line, (f, line)
    return line


# -- 1. text that is not what we expect ---------------------------------------------------------
def test_not_utf8_file(cli, write):
    p = write(GOOD.replace("a test", "caf\xe9").encode("latin-1"))
    user_error(cli("validate", p), "not UTF-8", str(p))


def test_bom_is_accepted(cli, write):
    p = write("\ufeff" + GOOD)
    assert cli("validate", p)[0] == 0


def test_deep_nesting(cli, write):
    p = write(GOOD + "quick: " + "[" * 5000 + "]" * 5000 + "\n")
    user_error(cli("validate", p), "nested too deeply")
    p2 = write(GOOD + "outputs: " + "{a: " * 60 + "1" + "}" * 60 + "\n", "deep2.yaml")
    user_error(cli("validate", p2), "nested too deeply")


def test_quick_block_must_be_a_mapping(cli, write):
    p = write(GOOD + "quick: [params.customers, 10]\n")
    user_error(cli("run", p, "--quick", "--out", p.parent / "o"), "'quick' must be a mapping")


def test_duplicate_keys_name_both_lines(cli, write):
    p = write(GOOD + "seed: 2\n")
    user_error(cli("validate", p), "'seed' is given twice (lines 4 and 9)", f"{p}:9")


def test_binary_and_folder_inputs(cli, write, tmp_path):
    user_error(cli("validate", write(b"\x00\x01\x02\xff", "bin.yaml")), "not UTF-8")
    user_error(cli("validate", tmp_path), "is a folder")
    user_error(cli("validate", "x" * 5000 + ".yaml"), "File name too long")


# -- 2. numbers that validate but break the run --------------------------------------------------
@pytest.mark.parametrize(
    "override,fragment",
    [
        ("params.arrival_rate=.inf", "finite"),
        ("params.arrival_rate=.nan", "finite"),
        ("params.service_rate=1e-320", "greater than or equal"),
        ("params.servers=1000000000000", "less than or equal"),
        ("params.customers=1e30", "integer"),
        ("replications=100000000", "less than or equal"),
        ("stop.duration_s=1e300", "less than or equal"),
        ("seed=-1", "greater than or equal"),
    ],
)
def test_numbers_out_of_bounds(cli, override, fragment):
    user_error(cli("validate", MMC, "--set", override), fragment, "--set")


def test_collective_bounds(cli):
    ar = ROOT / "experiments" / "hw" / "allreduce.yaml"
    user_error(cli("validate", ar, "--set", "params.ranks=10000000"), "less than or equal")
    user_error(cli("validate", ar, "--set", "params.link_bandwidth_GBps=1e-300"), "greater")


def test_nan_time_is_an_error_naming_the_model(monkeypatch):
    from sim.core import Simulation
    from sim.errors import RunError

    sim = Simulation(0)
    with pytest.raises(RunError, match="infinite or NaN|zero, denormal"):
        sim.env.timeout(float("nan"))
    with pytest.raises(RunError):
        sim.env.timeout(float("inf"))
    exp = experiment.load(MMC, ["params.customers=100"])
    from sim import runner

    def broken_build(self, sim):
        sim.env.timeout(1e308).callbacks.append(lambda _e: sim.env.timeout(1e308))

    monkeypatch.setattr(type(exp.build_model()), "build", broken_build)
    with pytest.raises(RunError, match="model 'queueing.mmc'"):
        runner.run_experiment(exp, None)


def test_wall_time_limit_stops_a_runaway(cli, tmp_path):
    t0 = time.monotonic()
    result = cli("run", MMC, "--set", "params.customers=100000000", "--max-run-s", "1",
                 "--out", tmp_path / "o")  # fmt: skip
    user_error(result, "wall-time limit of 1 s", "queueing.mmc")
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "o" / "summary.json").exists()


# -- 3. paths and output folders -------------------------------------------------------------------
def test_out_folder_checks(cli, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    user_error(cli("run", MMC, "--quick", "--out", f), "is a file", str(f))
    user_error(cli("run", MMC, "--quick", "--out", f / "sub"), "is under a file")
    user_error(cli("run", MMC, "--quick", "--out", ""), "empty")
    user_error(cli("run", MMC, "--quick", "--out", "/proc/sim-results"), "system folder")
    user_error(cli("run", MMC, "--quick", "--out", tmp_path / ("x" * 300)), "cannot write")


def test_data_path_checks(cli, tmp_path, root):
    flows = root / "experiments" / "hw" / "flows.yaml"
    user_error(cli("validate", flows, "--set", f"params.flows_file={tmp_path}"),
               "not a regular file", "params.flows_file")  # fmt: skip
    user_error(cli("validate", flows, "--set", "params.flows_file=" + "y" * 3000),
               "too long")  # fmt: skip
    user_error(cli("run", flows, "--set", "params.topology_file=nope.csv",
                   "--out", tmp_path / "o"), "not found")  # fmt: skip


# -- 4. sweeps -----------------------------------------------------------------------------------
def test_validate_checks_every_sweep_point(cli, write):
    p = write(GOOD + "sweep:\n  params.servers: [2, 3, 0]\n")
    user_error(cli("validate", p), "sweep point params.servers=0")


def test_huge_grid_is_counted_not_built(cli, write):
    values = "[" + ", ".join(str(i) for i in range(1000)) + "]"
    p = write(GOOD + f"sweep:\n  params.servers: {values}\n  params.customers: {values}\n")
    t0 = time.monotonic()
    user_error(cli("validate", p), "1,000,000 points")
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("workers", ["0", "-3", "100000", "two"])
def test_workers_bounded(cli, workers, tmp_path):
    code, _, err = cli("sweep", MMC, "--workers", workers, "--out", tmp_path / "o")
    assert code == 2 and "--workers" in err


def test_sweep_records_a_runaway_point_as_failed(cli, write, tmp_path):
    p = write(GOOD + "sweep:\n  params.customers: [1000, 100000000]\n")
    code, out, err = cli("sweep", p, "--workers", "1", "--max-run-s", "1", "--out", tmp_path / "s")
    assert code == 1 and "wall-time limit" in err
    table = __import__("pandas").read_parquet(tmp_path / "s" / "sweep.parquet")
    assert list(table["status"]) == ["ok", "failed"]


# -- 5. Dask -------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["", "tcp://", "http://x:1", "host:99999", "a b:1"])
def test_malformed_dask_address(cli, address, tmp_path):
    user_error(cli("sweep", MMC, "--dask", address, "--out", tmp_path / "o"), "--dask")


def test_silent_server_times_out(cli, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    port = server.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        t0 = time.monotonic()
        result = cli("sweep", MMC, "--quick", "--dask", f"tcp://127.0.0.1:{port}",
                     "--dask-timeout", "2", "--out", tmp_path / "o")  # fmt: skip
        user_error(result, "no Dask scheduler answered", "2 s")
        assert time.monotonic() - t0 < 60
    finally:
        stop.set()
        server.close()
        for c in held:
            c.close()


# -- 6. messages -----------------------------------------------------------------------------------
def test_bad_set_value_is_reported_as_the_override(cli):
    line = user_error(cli("validate", MMC, "--set", "params.servers=many"), "--set params.servers")
    assert MMC.name not in line.split(":")[0]


def test_bad_quick_value_is_reported_as_quick(cli, write):
    p = write(GOOD + "quick:\n  params.servers: -4\n")
    user_error(cli("validate", p, "--quick"), "quick: params.servers")


def test_long_values_are_shortened(cli):
    line = user_error(cli("validate", MMC, "--set", "params.servers=" + "9" * 5000))
    assert len(line) < 400


# -- 7. a killed run never leaves a folder that passes for finished ------------------------------
def test_interrupted_run_keeps_the_old_finished_folder(tmp_path, monkeypatch):
    from sim import results, runner

    out = tmp_path / "o"
    exp = experiment.load(MMC, ["params.customers=2000"])
    runner.run_experiment(exp, out)
    old_summary = (out / "summary.json").read_text()
    old_config = (out / "config.yaml").read_text()

    real = results.write_json

    def killed(path, obj):
        if Path(path).name == "summary.json":
            raise KeyboardInterrupt
        return real(path, obj)

    monkeypatch.setattr(runner, "write_json", killed)
    exp2 = experiment.load(MMC, ["params.customers=3000", "params.servers=4"])
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(exp2, out)
    assert (out / "summary.json").read_text() == old_summary
    assert (out / "config.yaml").read_text() == old_config
    assert not list(tmp_path.glob(".o.staging-*"))


def test_fewer_replications_leave_no_stale_rep_folders(tmp_path):
    from sim import runner

    out = tmp_path / "o"
    runner.run_experiment(experiment.load(MMC, ["params.customers=500", "replications=3"]), out)
    assert (out / "rep-2").is_dir()
    runner.run_experiment(experiment.load(MMC, ["params.customers=500", "replications=2"]), out)
    assert sorted(p.name for p in out.glob("rep-*")) == ["rep-0", "rep-1"]


def test_killed_process_keeps_the_old_folder_and_staging_is_cleaned_next_time(tmp_path):
    from sim import runner

    out = tmp_path / "o"
    runner.run_experiment(experiment.load(MMC, ["params.customers=500"]), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", str(MMC), "--set", "params.customers=50000000",
         "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a staging folder left by a process killed while writing (its pid is gone)
    stale = tmp_path / ".o.staging-999999999"
    (stale / "rep-0").mkdir(parents=True)
    (stale / "config.yaml").write_text("half-written")
    runner.run_experiment(experiment.load(MMC, ["params.customers=600"]), out)
    assert not stale.exists()
    assert json.loads((out / "summary.json").read_text())["customers"] == 600


# -- 8. pool workers exit with their parent --------------------------------------------------------
def _children(pid: int) -> set[int]:
    kids = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat_file.parent.name))
    return kids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sweep_workers_exit_when_the_main_process_is_killed(tmp_path, write):
    p = write(GOOD + "sweep:\n  params.servers: [2, 3, 4, 5]\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "sweep", str(p), "--workers", "2", "--set",
         "params.customers=20000000", "--out", str(tmp_path / "s")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = {k for k in _children(proc.pid) if "spawn_main" in _cmdline(k)}
        time.sleep(0.2)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


# -- 9. file modes follow the umask ----------------------------------------------------------------
def test_result_files_follow_the_umask(tmp_path):
    from sim import results

    p = results.write_json(tmp_path / "x.json", {"a": 1})
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


# -- 10. NaN metrics say why; numpy warnings stay quiet ---------------------------------------------
def test_empty_flow_set_explained(cli, tmp_path, root):
    flows = tmp_path / "flows.csv"
    flows.write_text("id,src,dst,bytes,start_s\n")
    exp = root / "experiments" / "hw" / "flows.yaml"
    code, out, err = cli("run", exp, "--set", f"params.flows_file={flows}", "--out", tmp_path / "o")
    assert code == 0 and "RuntimeWarning" not in err
    assert "metric(s) are empty" in out
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["nan_metrics"]["fct_s.mean"] == "no observations of fct_s"
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["fct_s.mean"] is None


def test_one_line_errors_for_config_errors():
    with pytest.raises(ConfigError) as exc:
        experiment.from_dict({"name": "bad/name", "model": "queueing.mmc"})
    assert "\n" not in str(exc.value)
