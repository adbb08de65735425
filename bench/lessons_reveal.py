"""How long a lesson's Reveal takes once its results are cached: each lesson opened revealed from a link
(the first run computes and caches its answer), then the revealed page rerun again and again, timed.

AppTest runs the page's whole script in this process, so the figures include Streamlit's own script
cost but not the browser's drawing (see browser_latency.py for that).

    python bench/lessons_reveal.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, ms, server_settings, table, timed, verdict, write_section  # noqa: E402

TARGET_P95_MS = 1000.0  # "a reveal takes well under a second after the first time"
LINKS = {1: "worse", 2: "7@2500", 3: "vae", 4: "vae", 5: "near_mu", 6: "5", 7: "A", 8: "0.05", 9: "0.5", 10: "prior"}


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    settings = server_settings()
    from streamlit.testing.v1 import AppTest

    rows = []
    for number, answer in LINKS.items():
        app = AppTest.from_string("from ui import lessons_page\nlessons_page.render()\n", default_timeout=600)
        app.query_params.update({"lesson": str(number), "answer": answer, "reveal": "1"})
        start = time.perf_counter()
        app.run()
        first = time.perf_counter() - start
        assert not app.exception and (app.success or app.warning), f"lesson {number} did not reveal"
        p50, p95 = ms(timed(lambda _: app.run(), args.repeats, warmup=1))
        rows.append((f"lesson {number}: revealed page rerun", f"p50 {p50:.0f} ms, p95 {p95:.0f} ms "
                     f"(first {first:.1f} s)", f"p95 ≤ {TARGET_P95_MS:.0f} ms", verdict(p95, TARGET_P95_MS)))
    body = f"{settings}\n\n{table(rows)}"
    print(body)
    write_section("lessons_reveal", "Lessons: a reveal after the first time", body,
                  path=ROOT / "bench" / "results_lessons.md")


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
