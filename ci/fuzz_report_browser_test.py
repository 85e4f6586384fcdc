#!/usr/bin/env python3
"""Renders the campaign report in headless Chromium and checks the page as a
person sees it: every chart has data points inside its plot, the verdict is
the first thing on the screen, and nothing sticks out of a narrow window.

The report (ci/fuzz_report.py on ci/testdata/fuzz-campaign and
fuzz-campaign-smoke) has no JavaScript. This test writes a harness page
beside it, harness.html, that loads the report into two iframes, 360 and
1280 CSS pixels wide (a phone and a desktop), and measures the laid-out
report with the DOM after Chromium has loaded it; `chromium --headless
--dump-dom` prints the harness's DOM with the measurements appended as JSON.
An iframe is a real viewport of its width: the report's media and width:100%
rules resolve against it, as in a window of that width, less the vertical
scrollbar (the report is taller than the frame), so 345 pixels are left of
360. (A window cannot be used: headless Chromium widens any window to at
least 500 pixels.)

Overflow is measured, not guessed from pixels: the report's root scrollWidth
must not exceed the viewport's clientWidth (the page would scroll sideways),
and no element outside a scroll container (the wide tables scroll inside
their own box, on purpose) may have a bounding box past the viewport's right
or left edge. A screenshot's right-edge pixels would miss overflow that is
white or clipped; the layout boxes cannot.

Chromium is a dependency (Debian package `chromium`, installed by
ci/setup.sh): without it the test fails and says so; it does not skip.
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = (360, 1280)
HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
%(frames)s
<script>
function describe(el) {
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
         (el.getAttribute('class') ? '.' + el.getAttribute('class') : '');
}
function inScroller(win, el) {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const ox = win.getComputedStyle(p).overflowX;
    if (ox === 'auto' || ox === 'scroll') return true;
  }
  return false;
}
function inside(b, box, slack) {
  return b.left >= box.left - slack && b.right <= box.right + slack &&
         b.top >= box.top - slack && b.bottom <= box.bottom + slack;
}
function measure(win) {
  const doc = win.document, root = doc.documentElement, vw = root.clientWidth;
  const r = {viewport: vw, height: win.innerHeight, scrollWidth: root.scrollWidth,
             overflow: [], charts: [], verdict: null, headings: []};
  for (const el of doc.body.querySelectorAll('*')) {
    const b = el.getBoundingClientRect();
    if (b.width > 0 && (b.right > vw + 0.5 || b.left < -0.5) && !inScroller(win, el))
      r.overflow.push(describe(el) + ' spans ' + b.left.toFixed(1) + '..' + b.right.toFixed(1));
  }
  for (const fig of doc.querySelectorAll('figure.chart')) {
    const svg = fig.querySelector('svg'), plot = svg.querySelector('rect.plot');
    const box = plot.getBoundingClientRect(), s = svg.getBoundingClientRect();
    let points = 0, outside = 0;
    // A mark counts if it is drawn (a box of some size) inside the plot; a
    // line of one vertex draws nothing.
    for (const c of svg.querySelectorAll('circle')) {
      const b = c.getBoundingClientRect();
      if (!(b.width > 0)) continue;
      if (inside(b, box, 6)) points++; else outside++;
    }
    for (const l of svg.querySelectorAll('polyline')) {
      const b = l.getBoundingClientRect();
      if (l.points.numberOfItems < 2 || !(b.width > 0 || b.height > 0)) continue;
      if (inside(b, box, 2)) points += l.points.numberOfItems; else outside++;
    }
    r.charts.push({title: fig.querySelector('figcaption').textContent, width: s.width,
                   height: s.height, points: points, outside: outside});
  }
  const v = doc.getElementById('verdict');
  if (v) {
    const b = v.getBoundingClientRect();
    r.verdict = {text: v.textContent, top: b.top, bottom: b.bottom, height: b.height,
                 color: win.getComputedStyle(v).backgroundColor};
  }
  for (const h of doc.querySelectorAll('h1, h2')) r.headings.push(h.getBoundingClientRect().top);
  return r;
}
window.addEventListener('load', () => {
  const out = {};
  for (const f of document.querySelectorAll('iframe'))
    out[f.dataset.width] = measure(f.contentWindow);
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body></html>
"""


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(tmp, fixture):
    """Writes the fixture's report and measures it in Chromium -> (html, {width: layout})."""
    out = os.path.join(tmp, fixture)
    shutil.copytree(os.path.join(HERE, "testdata", fixture), out)
    subprocess.run([sys.executable, os.path.join(HERE, "fuzz_report.py"), out], check=True)
    report = os.path.join(out, "report")
    frames = "\n".join(f'<iframe data-width="{w}" src="index.html" '
                       f'style="width:{w}px;height:800px;border:0;display:block"></iframe>'
                       for w in WIDTHS)
    with open(os.path.join(report, "harness.html"), "w", encoding="utf-8") as f:
        f.write(HARNESS % {"frames": frames})
    run = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--allow-file-access-from-files", "--window-size=1400,1800",
         f"--user-data-dir={os.path.join(tmp, 'profile-' + fixture)}", "--dump-dom",
         "file://" + os.path.join(report, "harness.html")],
        capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="measured">(.*?)</pre>', run.stdout, re.S)
    if not m:
        raise AssertionError(f"chromium printed no measurements (exit {run.returncode}):\n"
                             f"{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    with open(os.path.join(report, "index.html"), encoding="utf-8") as f:
        page = f.read()
    return page, {int(k): v for k, v in json.loads(html.unescape(m.group(1))).items()}


class RenderedReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not chromium():
            raise AssertionError("chromium is not installed: this test renders the report in "
                                 "it (Debian package chromium; ci/setup.sh installs it)")
        cls.tmp = tempfile.mkdtemp()
        cls.rendered = {fx: render(cls.tmp, fx)
                        for fx in ("fuzz-campaign", "fuzz-campaign-smoke")}

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "tmp"):
            shutil.rmtree(cls.tmp)

    def cases(self):
        """(fixture, page, width, layout) for each fixture and window width."""
        return [(fixture, page, width, layout)
                for fixture, (page, layouts) in self.rendered.items()
                for width, layout in layouts.items()]

    def test_viewports_are_the_widths_asked_for(self):
        # Less a vertical scrollbar's width: the page is taller than the frame.
        for fixture, _, width, layout in self.cases():
            with self.subTest(fixture=fixture, width=width):
                self.assertLessEqual(layout["viewport"], width)
                self.assertGreater(layout["viewport"], width - 20)

    def test_nothing_overflows_the_window(self):
        for fixture, _, width, layout in self.cases():
            with self.subTest(fixture=fixture, width=width):
                self.assertLessEqual(layout["scrollWidth"], layout["viewport"],
                                     "the page scrolls sideways")
                self.assertEqual(layout["overflow"], [])

    def test_every_chart_is_drawn_with_data_points(self):
        for fixture, page, width, layout in self.cases():
            with self.subTest(fixture=fixture, width=width):
                self.assertEqual(len(layout["charts"]), page.count("<svg"))
                self.assertGreater(len(layout["charts"]), 0)
                for c in layout["charts"]:
                    self.assertGreater(c["points"], 0, f"chart {c['title']!r} has no data point")
                    self.assertEqual(c["outside"], 0, f"chart {c['title']!r} draws off its plot")
                    self.assertGreater(c["height"], 100, f"chart {c['title']!r} is squashed")

    def test_charts_scale_to_the_window(self):
        for fixture, (_, layouts) in self.rendered.items():
            with self.subTest(fixture=fixture):
                narrow, wide = layouts[360]["charts"][0], layouts[1280]["charts"][0]
                self.assertGreaterEqual(narrow["width"], 300)  # the phone's width less margins
                self.assertGreater(wide["width"], narrow["width"] + 50)

    def test_the_verdict_is_on_the_first_screen(self):
        for fixture, _, width, layout in self.cases():
            with self.subTest(fixture=fixture, width=width):
                v = layout["verdict"]
                self.assertIsNotNone(v, "no verdict")
                self.assertRegex(v["text"], r"^(PASS|FAIL|INCOMPLETE): .*\.$")
                self.assertGreater(v["height"], 10)
                self.assertLess(v["bottom"], layout["height"])
                self.assertLess(v["top"], min(layout["headings"]))
                self.assertNotEqual(v["color"], "rgba(0, 0, 0, 0)")  # it stands out


if __name__ == "__main__":
    unittest.main()
