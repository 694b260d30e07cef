"""The interactive HTML report: self-contained, true to the run's tables, private, and usable in a
real browser (headless Chromium driven by Playwright: no console error, no network request, a click
on a drug draws its course, the sound plays, a screenshot is saved)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from p4core.plugins.render_report import ReportConfig
from p4core.plugins.render_report.build import region_of

IDENTIFIERS = (b"DEMO-MRN-0042", b"5550001", b"DEMO_SAMPLE")  # in the demo context's source files


def run_p4core(run: Path, *overrides: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The demo patient with its whole context (record, registers, imaging, PGS), as a user runs it."""
    run = tmp_path_factory.mktemp("report") / "run"
    proc = run_p4core(run, "context=[demo]", "twin.n_twins=8", "render=[table,midi,html]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="p4-data">(.*?)</script>', html, re.S)
    assert found
    return json.loads(found.group(1).replace("<\\/", "</"))


@pytest.mark.slow
def test_report_is_self_contained(demo_run):
    path = demo_run / "report.html"
    html = path.read_text(encoding="utf-8")
    # nothing is fetched: every src/href is inline (data:) or an in-page anchor, and the page forbids
    # any other source by its Content-Security-Policy
    markup = re.sub(
        r"(<script[^>]*>).*?</script>", r"\1</script>", html, flags=re.S
    )  # the page, not the code
    for attr, value in re.findall(r'\b(src|href)\s*=\s*["\']([^"\']*)', markup):
        assert value.startswith(("data:", "#")), (attr, value[:80])
    assert "default-src 'none'" in html
    assert re.search(r"<link\b", html) is None
    assert "plotly.js v" in html  # Plotly's bundle embedded from the plotly package
    assert len(re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)) == 3
    size = path.stat().st_size
    assert 3e6 < size < 12e6, size  # Plotly (~4.8 MB) + MP3 + data


@pytest.mark.slow
def test_report_sound_is_the_rendered_wav(demo_run):
    import soundfile as sf

    html = (demo_run / "report.html").read_text(encoding="utf-8")
    uri = re.search(r'<audio id="course-audio"[^>]*src="data:audio/mpeg;base64,([A-Za-z0-9+/=]+)"', html)
    assert uri, "an MP3 in the audio element"
    mp3, rate = sf.read(io.BytesIO(base64.b64decode(uri.group(1))))
    wav, wav_rate = sf.read(demo_run / "course.wav")
    assert rate == wav_rate
    # the same sound: same length (MP3 adds at most a frame or two of padding), same loudness envelope
    assert abs(len(mp3) - len(wav)) / rate < 0.2
    n = min(len(mp3), len(wav)) // rate * rate
    env_mp3 = np.abs(mp3[:n]).reshape(-1, rate, 2).mean((1, 2))
    env_wav = np.abs(wav[:n]).reshape(-1, rate, 2).mean((1, 2))
    assert np.corrcoef(env_mp3, env_wav)[0, 1] > 0.99
    assert "What you hear" in html and "cello" in html  # the legend: the first voice's instrument


@pytest.mark.slow
def test_report_numbers_are_the_runs(demo_run):
    html = (demo_run / "report.html").read_text(encoding="utf-8")
    d = page_data(html)
    drugs = pd.read_csv(demo_run / "drugs.csv")
    shown = pd.DataFrame(d["drugs"])
    assert list(shown["drug"]) == list(drugs["drug"].head(len(shown)))
    np.testing.assert_allclose(shown["score"], drugs["score_mean"].head(len(shown)), atol=1e-6)
    np.testing.assert_allclose(shown["fdr"], drugs["fdr"].head(len(shown)), atol=1e-6)
    np.testing.assert_allclose(shown["p_top"], drugs["p_top10"].head(len(shown)), atol=1e-6)
    assert [c for r in d["drugs"][:3] for c in r["drivers"]]
    # every one of the run's scenarios is in the page, with the run's own numbers
    traj = pd.read_csv(demo_run / "trajectories.csv")
    course = d["course"]
    assert set(traj["scenario"]) <= set(course["scenarios"])
    for scen in set(traj["scenario"]):
        sub = traj[(traj["scenario"] == scen) & (traj["celltype"] == "burden")].set_index("time")
        got = course["series"][scen]["burden"]["mean"]
        np.testing.assert_allclose(got, sub.loc[course["time"], "mean"], atol=1e-4)
    # the best drugs beyond the run's scenarios get their course too (render.html.courses)
    extra = [r["drug"] for r in d["drugs"][:10] if r["drug"] not in set(traj["scenario"])]
    assert extra and all(x in course["series"] for x in extra)
    # ... and are written beside the report, so every number the page shows is in a file of the run
    written = pd.read_csv(demo_run / "report_courses.csv")
    assert set(written["scenario"]) == set(course["scenarios"]) - set(traj["scenario"])
    for x in extra:
        sub = written[(written["scenario"] == x) & (written["celltype"] == "burden")].set_index("time")
        np.testing.assert_allclose(
            course["series"][x]["burden"]["mean"], sub.loc[course["time"], "mean"], atol=1e-4
        )
    for x in extra:  # a drug's course starts as the untreated one and departs after the treatment day
        ours, base = (
            np.array(course["series"][x]["burden"]["mean"]),
            np.array(course["series"]["untreated"]["burden"]["mean"]),
        )
        t = np.array(course["time"])
        np.testing.assert_allclose(
            ours[t <= course["treatment_day"]], base[t <= course["treatment_day"]], atol=1e-4
        )
        assert abs(ours[-1] - base[-1]) > 1e-3  # and then departs: the drug acts
    # the patient overview: tissue on the body, the imaging course, the scores
    assert (
        "synovium (knee)" in html
        and "lung involvement" in html
        and "Charlson index, Swedish adaptation" in html
    )


@pytest.mark.slow
def test_report_never_holds_an_identifier(demo_run):
    data = (demo_run / "report.html").read_bytes()
    for raw in IDENTIFIERS:
        assert raw not in data
    assert b"P-" in data  # the pseudonym is there


@pytest.mark.parametrize(
    "tissue, region",
    [
        ("synovium (knee)", "knee"),
        ("PBMC", "blood"),
        ("peripheral blood", "blood"),
        ("urinary bladder tumour", "bladder"),
        ("lung parenchyma", "lung"),
        ("skin of body", "skin"),
        ("transverse colon", "intestine"),
        ("bone marrow", "bone marrow"),
    ],
)
def test_tissue_to_body_region(tissue, region):
    assert region_of(tissue)["region"] == region


def test_unknown_tissue_has_no_region():
    assert region_of(None) is None and region_of("") is None and region_of("organoid") is None


@pytest.mark.parametrize(
    "field, value",
    [("audio", "ogg"), ("file", "../report.html"), ("file", "report.pdf"), ("rows", 0), ("courses", -1)],
)
def test_bad_report_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"render.html.{field}"):
        ReportConfig(**{field: value})


@pytest.mark.slow
def test_report_alone_synthesises_the_sound_and_fails_cleanly(tmp_path):
    """Without the midi renderer the report synthesises the same score itself; a bad option exits
    non-zero, names it, and leaves no report."""
    run = tmp_path / "alone"
    proc = run_p4core(
        run, "twin.n_twins=3", "render=[html]", "render.html.courses=0", "render.html.audio=wav"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'src="data:audio/wav;base64,' in html
    assert not (run / "course.wav").exists()
    bad = tmp_path / "bad"
    proc = run_p4core(bad, "twin.n_twins=3", "render=[html]", "render.html.audio=flac")
    assert proc.returncode != 0
    assert "render.html.audio" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(bad.glob("*.html"))


# ---- in a real browser -------------------------------------------------------------------------


def chromium_path() -> str | None:
    for name in (os.environ.get("P4CORE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        exe = None
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium (see .ci/run)")
        pytest.skip("no Chromium found (apt-get install chromium, or set P4CORE_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        yield b
        b.close()


CONTRAST_JS = """() => {
  const lum = (rgb) => rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                          .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const bg = (el) => {  // the background seen through semi-transparent layers, down to the page's white
    const layers = [];
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor), a = c.length === 3 ? 1 : c[3];
      if (a > 0) layers.push([c[0], c[1], c[2], a]);
      if (a === 1) break;
    }
    return layers.reverse().reduce((under, c) => under.map((u, i) => c[3] * c[i] + (1 - c[3]) * u), [255, 255, 255]);
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(".js-plotly-plot, script, style, .sr-only") || el.closest("[hidden]")) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const r = el.getBoundingClientRect(); if (!r.width || !r.height) continue;
    const a = lum(rgba(getComputedStyle(el).color).slice(0, 3)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(el.tagName + " " + el.textContent.trim().slice(0, 40) + " " + ratio.toFixed(2));
  }
  return out;
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_report_in_a_browser(demo_run, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console, requests = [], []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
    page.on("request", lambda r: requests.append(r.url))
    url = (demo_run / "report.html").resolve().as_uri()
    page.goto(url)
    page.wait_for_function("window.p4coreReady === true", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 7  # 5 static figures, futures, mechanism
    # nothing can send a figure away: no cloud/Chart Studio button in any toolbar
    titles = page.evaluate(
        "[...document.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title'))"
    )
    assert titles and not [t for t in titles if re.search("cloud|chart studio|share", t or "", re.I)]
    # figures keep their height when the window is resized
    heights = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(d => d.offsetHeight)")
    page.set_viewport_size({"width": 900, "height": 1000})
    page.wait_for_timeout(400)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(400)
    assert (
        page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(d => d.offsetHeight)") == heights
    )

    # on a 1,280 px screen the drug table shows every column: nothing cut, no sideways scrolling
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.wait_for_timeout(200)
    fit = page.evaluate(
        "(() => { const w = document.querySelector('#drug-table').parentElement;"
        " return [w.scrollWidth, w.clientWidth, document.documentElement.scrollWidth]; })()"
    )
    assert fit[0] <= fit[1] and fit[2] <= 1280, fit
    page.set_viewport_size({"width": 1400, "height": 1000})
    # a drug that is not the first: its trajectory appears in the futures plot, its cell types light up
    d = page_data((demo_run / "report.html").read_text(encoding="utf-8"))
    pick = next(
        r
        for r in d["drugs"][1:10]
        if r["drug"] in d["course"]["series"]
        and r["targets"][0]["gene"] != d["drugs"][0]["targets"][0]["gene"]
    )
    legend = page.locator("#fig-futures .legendtext", has_text=pick["drug"])
    assert legend.count() == 0
    page.locator(f"#drug-table button.drug[data-drug='{pick['drug']}']").click()
    legend.wait_for(state="visible", timeout=10_000)
    names = page.evaluate("document.getElementById('fig-futures').data.map(t => t.name)")
    assert pick["drug"] in names and "without a new drug" in names
    path_d = page.evaluate(
        "[...document.querySelectorAll('#fig-futures .scatterlayer .trace path.js-line')].map(p => p.getAttribute('d').length)"
    )
    assert len(path_d) >= 2 and min(path_d) > 100  # two curves actually drawn
    # compare a second drug: its curve joins, the first keeps its colour
    first_colour = page.evaluate(
        f"document.getElementById('fig-futures').data.find(t => t.name === '{pick['drug']}').line.color"
    )
    other = next(
        r for r in d["drugs"][:10] if r["drug"] != pick["drug"] and r["drug"] in d["course"]["series"]
    )
    page.locator(f"input.compare[data-drug='{other['drug']}']").check()
    page.locator("#fig-futures .legendtext", has_text=other["drug"]).wait_for(state="visible", timeout=10_000)
    lines = page.evaluate("document.getElementById('fig-futures').data.filter(t => t.mode === 'lines')")
    assert {t["name"] for t in lines} == {"without a new drug", pick["drug"], other["drug"]}
    assert next(t for t in lines if t["name"] == pick["drug"])["line"]["color"] == first_colour
    page.locator(f"input.compare[data-drug='{other['drug']}']").uncheck()
    colours = page.evaluate("document.getElementById('fig-graph').data.at(-1).marker.color")
    acting = [ct for ct, c in zip(d["graph_order"], colours, strict=True) if c == "#009E73"]
    assert sorted(acting) == sorted(pick["drivers"])
    assert pick["targets"][0]["gene"] in page.locator("#sel-facts").inner_text()

    # a cell type filters the ranking (the button, then Escape from the keyboard)
    ct = d["graph_order"][-1]
    total = page.locator("#drug-table tbody tr").count()
    page.locator(f"button.celltype[data-celltype='{ct}']").click()
    rows = page.locator("#drug-table tbody tr:not([hidden])")
    shown = [rows.nth(i).get_attribute("data-drivers").split("|") for i in range(rows.count())]
    assert 0 < len(shown) < total and all(ct in s for s in shown)
    assert ct in page.locator("#filter-status").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#drug-table tbody tr:not([hidden])").count() == total

    # keyboard only, from a fresh load: the first Tab lands on the skip link, further Tabs reach the
    # ranking's drug buttons, Enter selects one
    page.reload()
    page.wait_for_function("window.p4coreReady === true", timeout=60_000)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('drug')"):
            break
    focused = page.evaluate("document.activeElement.dataset.drug")
    assert focused, "Tab never reached a drug"
    page.keyboard.press("Enter")
    assert page.locator("#sel-name").inner_text() == focused
    # the keyboard lands on the drug's panel; "Back to the ranking" returns to the same drug
    assert page.evaluate("document.activeElement.id") == "sel-name"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "back-to-ranking"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.drug") == focused

    # the sound plays: jump to the second scenario's segment, the playhead follows it
    seek = page.locator("button.seek").nth(1)
    start = float(seek.get_attribute("data-seconds"))
    seek.click()
    page.wait_for_function(
        f"(() => {{ const a = document.getElementById('course-audio'); return !a.paused && a.currentTime > {start + 0.5}; }})()",
        timeout=15_000,
    )
    assert page.evaluate("document.getElementById('course-audio').error") is None
    assert page.evaluate("document.getElementById('course-audio').duration") > 30
    assert "Now playing" in page.locator("#now-playing").inner_text()
    shapes = page.evaluate("document.getElementById('fig-futures').layout.shapes.length")
    assert shapes == 2  # treatment start and the playhead
    page.evaluate("document.getElementById('course-audio').pause()")

    # readable contrast: every piece of text outside the plots has >= 4.5:1 against its background
    low = page.evaluate(CONTRAST_JS)
    assert not low, low[:5]

    shot = tmp_path / "report.png"
    page.locator("#treatments").scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 100_000
    if os.environ.get("P4CORE_SCREENSHOT"):  # keep it (the closing note and docs use it)
        shutil.copy(shot, os.environ["P4CORE_SCREENSHOT"])

    errors = [m for m in console if m[0] in ("error", "pageerror")]
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), [u[:80] for u in requests]
    assert requests and requests[0] == url
    page.close()


@pytest.mark.slow
def test_report_numbers_do_not_depend_on_threads(tmp_path):
    """Same seed, same report data (figures, ranking, courses), on 1 or 2 threads."""
    pages = []
    for n in (1, 2):
        run = tmp_path / f"t{n}"
        proc = run_p4core(
            run,
            "twin.n_twins=3",
            "render=[html]",
            "render.html.courses=3",
            "render.html.audio=none",
            f"engine.n_threads={n}",
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        pages.append(page_data((run / "report.html").read_text(encoding="utf-8")))
    assert pages[0] == pages[1]
