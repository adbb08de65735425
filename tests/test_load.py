"""A scaled-down classroom: three sessions browse the real app for about ten seconds, each a tab
speaking Streamlit's websocket protocol (bench/load.py at small settings); nothing may fail. Latency is not asserted:
it depends on the machine. Run the full benchmark with `python bench/load.py`."""

import pytest

from bench import load


@pytest.mark.slow
def test_three_sessions_browse_without_errors(checkpoint_copy):
    result = load.run_load(sessions=3, duration=10, checkpoints_dir=checkpoint_copy, think=(0.2, 0.6))
    assert result.record.errors == []
    assert {"open map link", "map: interpolation steps"} <= set(result.record.latencies)
    assert result.interactions >= 6
    assert result.record.rss  # the server's memory was sampled
    assert "| errors (lost connections, timeouts, exceptions, `st.error`) | 0 | 0 | yes |" in load.report(result)
