"""benchmarks/readme_table.py: the README's Performance tables made from one run's JSON."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import readme_table  # noqa: E402


def _run():
    def row(system, ms, x_torch=None):
        r = {"system": system, "ms_per_sample": ms}
        if x_torch is not None:
            r["x_torch"] = x_torch
        return r

    return {
        "command": "python benchmarks/run.py",
        "machine": {"commit": "abc1234", "cores": 2, "cpu": "Intel(R) Xeon(R) Processor",
                    "numpy": "2.4.6", "torch": "2.13.0", "threads": None,
                    "load_average_start": [0.5, 0.4, 0.3], "load_average_end": [0.75, 0.5, 0.4]},
        "elapsed_s": 600.0,
        "network-f64": {"rows": [row("tg nn", 2.0, 1.25), row("tg nn compiled", 0.96, 0.6),
                                 row("torch", 1.6)]},
        "batch32-f32": {"rows": [row("tg nn compiled", 0.0875, 0.875), row("torch", 0.1)]},
        "conv": {"batched_float32": {
            "medians_s": {"tg.conv2d": 0.009, "torch conv2d": 0.0095,
                          "tg.conv2d forward only": 0.0025, "torch conv2d forward only": 0.002},
            "time_ratio_tg_over_torch": 0.9 / 0.95}},
        "memory": {"rows": [{"system": "tg nn", "peak_mib": 118.2},
                            {"system": "tg nn compiled", "peak_mib": 118.4}]},
        "targets": [{"target": "batch 32 float32: tg nn compiled <= 1.0x torch",
                     "measured": "0.875x", "result": "PASS"}],
    }


def test_the_tables_hold_the_run_s_figures():
    text = readme_table.markdown(_run())
    lines = text.splitlines()
    prose = " ".join(text.split())
    assert all(len(line) <= readme_table.WIDTH for line in lines if not line.startswith("|"))
    assert "at commit abc1234, on 2 cores" in prose
    assert "load average 0.5 at the start, 0.8 at the end (10 min)" in prose
    assert "| | float64, one image | float32, batches of 32 |" in lines
    assert "| `tg.nn` | 2.00 (1.25×) | - |" in lines
    assert "| `tg.nn`, `tg.compile` | 0.960 (0.60×) | 0.087 (0.88×) |" in lines
    assert "| PyTorch | 1.60 | 0.100 |" in lines
    assert not any(line.startswith("| expressions") for line in lines)  # not in this run
    assert ("9.0 ms against PyTorch's 9.5 ms (0.95×); forward alone 2.5 ms against 2.0 ms."
            in prose)
    assert "`tg.nn` 118 MiB, `tg.nn`, `tg.compile` 118 MiB." in prose
    assert "BLAS products" not in prose  # the run has no products-alone row
    assert lines[-1] == "| batch 32 float32: tg nn compiled <= 1.0x torch | 0.875x | PASS |"


def test_the_parts_alone_follow_the_batched_convolution():
    run = _run()
    run["conv"]["batched_float32"]["medians_s"]["tg.conv2d's products alone"] = 0.0057
    prose = " ".join(readme_table.markdown(run).split())
    assert ("forward alone 2.5 ms against 2.0 ms. The BLAS products of `tg.conv2d`'s kernels "
            "alone, their operands laid out beforehand and in cache: 5.7 ms (0.60×).") in prose
    assert "least layout work" not in prose  # the run has no layouts-alone row
    run["conv"]["batched_float32"]["medians_s"]["tg.conv2d's layouts alone"] = 0.0038
    prose = " ".join(readme_table.markdown(run).split())
    assert ("in cache: 5.7 ms (0.60×). The least layout work of those kernels alone (padding, "
            "im2col, bias, spread cotangent, fold): 3.8 ms (0.40×).") in prose


def test_a_run_without_pytorch_or_the_optional_workloads():
    run = _run()
    run["network-f64"]["rows"] = [{"system": "tg nn", "ms_per_sample": 2.0}]
    for key in ("batch32-f32", "conv", "memory", "targets"):
        del run[key]
    text = readme_table.markdown(run)
    assert "| `tg.nn` | 2.00 |" in text.splitlines()
    assert "conv2d" not in text and "MiB" not in text


def test_compile_targets_only_lists_those_of_tg_compile_and_counts_the_rest():
    run = _run()
    run["targets"] += [{"target": "per sample float64: tg nn <= 0.5x torch", "measured": "1.3x",
                        "result": "MISS"},
                       {"target": "batched conv2d forward + backward <= 1.0x torch",
                        "measured": "1.5x", "result": "MISS"},
                       {"target": "forward overhead over NumPy, add: <= 3.0 us",
                        "measured": "1.3 us", "result": "PASS"}]
    text = readme_table.markdown(run, compile_only=True)
    lines = text.splitlines()
    assert "| batch 32 float32: tg nn compiled <= 1.0x torch | 0.875x | PASS |" in lines
    assert "| batched conv2d forward + backward <= 1.0x torch | 1.5x | MISS |" in lines
    hidden = ("| forward overhead", "| per sample float64: tg nn <=")
    assert not any(line.startswith(hidden) for line in lines)
    assert " ".join(text.split()).endswith(
        "The run's 2 other targets (eager speed, op overhead, memory against PyTorch): 1 PASS, "
        "1 MISS.")
