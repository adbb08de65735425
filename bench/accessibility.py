"""axe-core's violations on every registered page of the app, per page and rule.

    python bench/accessibility.py                     # this checkout
    python bench/accessibility.py --root /tmp/old     # another checkout of the app (e.g. a worktree of an older commit)

Each page is opened on a fresh `streamlit run` of ROOT's app.py and its checkpoints, in headless Chromium at
1400×900, left to settle, then axe-core 4.14 (`.ci/install` puts it in .cache/axe-core/) runs on the whole
document. Target (the accessibility issue): 0 serious and 0 critical violations. Writes
bench/results_accessibility.md.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE))

from bench.harness import load_note  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, open_page, start_server, wait_healthy, wait_idle  # noqa: E402

AXE = HERE / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v =>
    [v.id, v.impact, v.nodes.length])"""


def page_paths(root: Path) -> list[str]:
    """The URL paths of ROOT's page registry, read from its ui/pages.py without importing it into this process."""
    import ast

    tree = ast.parse((root / "ui" / "pages.py").read_text())
    return [call.args[3].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "PageInfo" and len(call.args) > 3]


def measure(root: Path) -> dict[str, list[tuple[str, str, int]]]:
    """{path: [(rule, impact, elements)]} for every page of ROOT's app."""
    from playwright.sync_api import sync_playwright

    found = {}
    server = start_server(root / "app.py", checkpoints_dir=root / "checkpoints", cwd=root)
    try:
        wait_healthy(server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for path in page_paths(root):
                open_page(page, f"{server.url}/{path}")
                page.wait_for_timeout(2000)  # pictures and charts finish drawing
                wait_idle(page)
                page.add_script_tag(path=str(AXE))
                found[f"/{path}"] = [tuple(v) for v in page.evaluate(RUN_AXE)]
            browser.close()
    finally:
        server.stop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE), help="the checkout whose app is measured")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_accessibility.md")))
    args = parser.parse_args()
    if not AXE.exists():
        sys.exit(f"axe-core is not in {AXE.parent}: run bash .ci/install")
    root = Path(args.root).resolve()
    found = measure(root)
    per_rule = collections.Counter()
    lines = [f"## axe-core 4.14 on every page of {root} ({load_note()})", "",
             "| page | violations (rule, impact, elements) |", "|---|---|"]
    for path, violations in found.items():
        for rule, impact, count in violations:
            per_rule[(rule, impact)] += count
        lines.append(f"| {path} | " + (", ".join(f"{r} ({i}) {n}" for r, i, n in violations) or "none") + " |")
    severe = sum(n for (_, impact), n in per_rule.items() if impact in SEVERE)
    lines += ["", "| rule | impact | elements over all pages |", "|---|---|---|"]
    lines += [f"| {rule} | {impact} | {n} |" for (rule, impact), n in sorted(per_rule.items(), key=lambda kv: -kv[1])]
    lines += ["", "| figure | measured | target | verdict |", "|---|---|---|---|",
              f"| serious and critical violations, all pages | {severe} | 0 | {'MET' if severe == 0 else 'MISSED'} |"]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
