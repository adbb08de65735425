"""bench/results.md's summary is rebuilt from its sections whenever a bench writes one."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import harness  # noqa: E402

RESULTS = """# Benchmarks

<!-- summary -->
## Summary

| section | measure | measured / target |  |
|---|---|---|---|
| Speed | old row | 9 s / ≤ 1 s | MISSED |
<!-- /summary -->

<!-- speed -->
## Speed

| measure | p50 | p95 | target |  |
|---|---|---|---|---|
| whole view | 0.15 s | 0.19 s | ≤ 0.15 s | MISSED |
| pictures | 0.13 s | 0.17 s | ≤ 0.25 s | MET |
| bytes per click | 11.5 kB |  |  |  |
<!-- /speed -->
"""


def test_the_summary_is_rebuilt_from_the_sections(tmp_path):
    path = tmp_path / "results.md"
    path.write_text(RESULTS)
    harness.write_section("memory", "Memory", "| measure | measured | target |  |\n|---|---|---|---|\n"
                                              "| 30 sessions | 732 MB | ≤ 1024 MB | MET |", path)
    text = path.read_text()
    summary = text.split("<!-- summary -->")[1].split("<!-- /summary -->")[0]
    assert "old row" not in summary  # what an older run said is gone
    assert "| Speed | whole view | 0.15 s / 0.19 s / ≤ 0.15 s | MISSED |" in summary
    assert "| Speed | pictures | 0.13 s / 0.17 s / ≤ 0.25 s | MET |" in summary
    assert "| Memory | 30 sessions | 732 MB / ≤ 1024 MB | MET |" in summary  # the section just written
    assert "bytes per click" not in summary  # no verdict, no summary row
