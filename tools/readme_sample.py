"""Regenerate the README's sample closing table and docs/images/report.png from a real run of the demo.

    python tools/readme_sample.py [--rows 3] [--check]

Runs ``python -m p4core`` (the built-in demo, every default) as the README's first command does, takes the
closing table it prints (the diagnosis line, the header and the first ``--rows`` drugs) into the README
between the ``demo-sample`` markers, and photographs the report (Chromium through Playwright, a 1,280 px
window: the ranking, then the second drug selected and a third ticked for comparison) into
docs/images/report.png. ``--check`` changes nothing: it exits 1 when the README's table is not what the demo
prints now (``tests/core/test_cli.py`` checks the same on every test run). Prints the machine and the demo's
wall time beside it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
IMAGE = ROOT / "docs" / "images" / "report.png"
BEGIN = "<!-- demo-sample: the closing table of `python -m p4core`; regenerate with python tools/readme_sample.py -->"
END = "<!-- /demo-sample -->"


def closing_table(stdout: str, rows: int) -> list[str]:
    """The diagnosis line, the header and the first ``rows`` drugs of the demo's closing table."""
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("diagnosis:"))
    head = next(i for i in range(start, len(lines)) if lines[i].startswith("rank  drug"))
    return [*lines[start : head + 1 + rows], "   ..."]


def readme_table(text: str) -> list[str]:
    """The lines of the README's sample block (empty when the markers are missing)."""
    found = re.search(re.escape(BEGIN) + r"\n```\n(.*?)\n```\n" + re.escape(END), text, re.S)
    return found.group(1).splitlines() if found else []


def write_table(table: list[str]) -> None:
    text = README.read_text(encoding="utf-8")
    block = f"{BEGIN}\n```\n" + "\n".join(table) + f"\n```\n{END}"
    if BEGIN not in text:
        raise SystemExit(f"{README}: no '{BEGIN}' marker to write the sample into")
    new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.S)
    tmp = README.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(README)


def screenshot(report: Path, out: Path) -> None:
    """The report's ranking with the second drug selected and a third compared, 1,280 px wide."""
    from playwright.sync_api import sync_playwright

    exe = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if exe is None:
        raise SystemExit("no Chromium found for the screenshot (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page.goto(report.resolve().as_uri())
        page.wait_for_function("window.p4coreReady === true", timeout=60_000)
        drugs = page.evaluate(
            "[...document.querySelectorAll('#drug-table tbody tr')].map(r => r.dataset.drug)"
        )
        page.locator(f"#drug-table button.drug[data-drug='{drugs[1]}']").click()
        page.locator(f"input.compare[data-drug='{drugs[2]}']").check()
        page.wait_for_timeout(800)
        top, height = page.evaluate(
            "(() => { const r = document.getElementById('treatments').getBoundingClientRect();"
            " return [r.top + window.scrollY, r.height]; })()"
        )
        tmp = out.with_suffix(".tmp.png")
        clip = {"x": 0.0, "y": float(top), "width": 1280.0, "height": float(min(height, 1700))}
        page.screenshot(path=str(tmp), full_page=True, clip=clip)  # type: ignore[arg-type]
        browser.close()
    tmp.replace(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=3, help="drugs shown in the sample table")
    ap.add_argument("--check", action="store_true", help="only compare the README with the demo's output")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from machine import line

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "p4core", f"hydra.run.dir={run}"],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"the demo failed:\n{proc.stderr[-3000:]}")
        table = closing_table(proc.stdout, args.rows)
        print(line())
        print(f"demo: {wall:.1f} s wall (python -m p4core, every default)")
        if args.check:
            same = readme_table(README.read_text(encoding="utf-8")) == table
            print(
                "README sample table: " + ("the same as the demo prints" if same else "DIFFERS from the demo")
            )
            return 0 if same else 1
        write_table(table)
        screenshot(run / "report.html", IMAGE)
    print(f"wrote the sample table into {README.name} and {IMAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
