"""The benchmarks still run: each is driven here on the small `digits` dataset (figures come from the
real runs in bench/results*.md, never from these)."""

import re

import pytest

pytestmark = pytest.mark.slow


def test_anomaly_benchmark_writes_a_row_per_digit_and_the_mean(tmp_path, capsys):
    from bench import anomaly

    out = tmp_path / "anomaly.md"
    anomaly.main(["--dataset", "digits", "--epochs", "2", "--seeds", "0,1", "--out", str(out)])
    text = out.read_text()
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \| ([\d.]+)–([\d.]+) \|", text, flags=re.M)
    assert [int(r[0]) for r in rows] == list(range(10))
    for _, mean, low, high in rows:
        assert 0 <= float(low) <= float(mean) <= float(high) <= 1
    mean = float(re.search(r"\*\*mean\*\* \| \*\*([\d.]+)\*\*", text).group(1))
    assert mean == pytest.approx(sum(float(r[1]) for r in rows) / 10, abs=2e-3)
    assert "2 training seeds" in text and "Target: mean AUROC ≥ 0.90" in text
