#!/usr/bin/env python3
"""Tests ci/fuzz_report.py on two synthetic campaign folders in ci/testdata/.

fuzz-campaign/: frag ran libFuzzer (-fork=2) for 100 s, 12000 runs (120
exec/s, 60 per core), cov 800 of 1000 counters, corpus 90; AFL++ ran two
instances for 100 s, 30000 + 20000 executions (500 exec/s, 250 per core),
main's edges 1234/7000, corpus 321; one failure signature from 3 inputs.
Target `all` has no fuzzer output at all, so the report must say it did not
run. No previous run.

fuzz-campaign-smoke/: a 60 s run of defer, the shape of CI's smoke: AFL++
wrote one plot_data row (at 60 s) and fuzzer_stats, and its queue, crashes
and hangs file names carry time:MS,execs:N (4 seeds and 8 finds, 2 crashes,
1 hang); libFuzzer's status lines count a crash at 37 s and a timeout at
56 s. Two failure signatures; report/previous-summary.json is a previous
run that had one of them, one fixed since, and one on a target not fuzzed
now (so not "fixed").
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzz_report  # noqa: E402


def render(tmp, fixture):
    out = os.path.join(tmp, fixture)
    if not os.path.exists(out):
        shutil.copytree(os.path.join(HERE, "testdata", fixture), out)
    subprocess.run([sys.executable, os.path.join(HERE, "fuzz_report.py"), out], check=True)
    texts = {}
    for name in ("summary.txt", "index.html", "summary.json"):
        with open(os.path.join(out, "report", name), encoding="utf-8") as f:
            texts[name] = f.read()
    return out, texts


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        _, t = render(cls.tmp, "fuzz-campaign")
        cls.summary, cls.html = t["summary.txt"], t["index.html"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_summary_has_each_engines_numbers(self):
        self.assertRegex(self.summary,
                         r"frag +libFuzzer +12000 +120 +60 +800/1000 edges \(80\.0%\) +90\n")
        self.assertRegex(self.summary,
                         r"frag +AFL\+\+ +50000 +500 +250 +1234/7000 edges \(17\.6%\) +321\n")
        self.assertIn("merged corpus 150 inputs (libFuzzer -merge=1), 77 (afl-cmin)", self.summary)
        self.assertRegex(self.summary, r"all +libFuzzer +did not run")
        self.assertIn("4 jobs (libFuzzer -fork=2, AFL++ 2 instance(s)), 100 s per target",
                      self.summary)

    def test_verdict_comes_first(self):
        self.assertTrue(self.summary.startswith(
            "FAIL: 1 unique failure(s); did not run: libFuzzer on all, AFL++ on all; coverage "
            "still growing on 1 of 2 target(s); 2 target(s) × 100 s.\n"), self.summary)
        self.assertRegex(self.html, r'<body>\n<p id="verdict" class="FAIL">FAIL: 1 unique')

    def test_summary_lists_each_failure_with_its_replay_command(self):
        self.assertIn("failures: 1 unique signature(s) from 3 failing input(s)", self.summary)
        self.assertIn("divergence:frag:deliver/kill.overlap  (3 input(s), libFuzzer, AFL++)",
                      self.summary)
        self.assertIn("build/default/netverify replay "
                      "failures/frag/1-divergence_frag_deliver_kill.overlap.trace", self.summary)
        self.assertIn("previous run: none found", self.summary)

    def test_page_has_charts_failures_and_tables(self):
        self.assertEqual(self.html.count("<svg"), 4)  # four charts for frag, none for `all`
        self.assertIn("Neither engine ran on this target", self.html)
        self.assertIn("frag init v4 id=0 off=0 len=1 mf=1", self.html)
        self.assertIn("<td>frag</td><td>AFL++</td><td>50000</td><td>500</td><td>250</td>"
                      "<td>1234/7000 edges (17.6%)</td>", self.html)
        self.assertIn('<meta name="viewport" content="width=device-width, initial-scale=1">',
                      self.html)
        # Charts scale: a viewBox and width 100%, no fixed pixel size.
        self.assertEqual(len(re.findall(r'<svg viewBox="0 0 440 240" width="100%"', self.html)), 4)
        self.assertNotRegex(self.html, r"<svg[^>]* height=")
        # The libFuzzer coverage line ends at (100 s, 800): the right edge of a
        # 376-unit-wide plot at x=52, and 800/1500 of the way up its 194-unit
        # axis (0..1500: AFL++'s 1234 edges share the chart) from y=204.
        self.assertRegex(self.html, r'<polyline[^>]*points="[^"]* 428\.0,100\.5"')
        self.assertNotIn("<script", self.html)
        self.assertNotRegex(self.html, r'(href|src)="(https?:)?//')

    def test_libfuzzer_corpus_counts_are_explained(self):
        self.assertIn("libFuzzer corpus: 90 inputs in its last status line", self.html)
        self.assertIn("90 files in <code>libfuzzer/corpus/</code>, the new inputs it saved",
                      self.html)

    def test_afl_instances_add_up_interpolated(self):
        main = [(0, 0.0), (60, 600.0), (100, 1000.0)]
        s1 = [(0, 0.0), (50, 100.0)]
        self.assertEqual(fuzz_report.interp_sum([main, s1]),
                         [(0, 0.0), (50, 600.0), (60, 700.0), (100, 1100.0)])

    def test_rate_over_a_window(self):
        runs = [(10, 1000), (50, 6000), (100, 12000)]
        self.assertEqual(fuzz_report.rate(runs, 30), [(50, 125.0), (100, 120.0)])
        # No rate over less than a window (AFL++'s first find a millisecond in).
        self.assertEqual(fuzz_report.rate([(0, 0), (0.001, 62)], 5), [])

    def test_growth_on_the_last_quarter(self):
        self.assertEqual(fuzz_report.growth([(0, 1), (50, 5), (100, 9)], 100, "edges"),
                         (True, "still growing: +4 edges in the last quarter (75 s to 100 s)"))
        self.assertEqual(fuzz_report.growth([(0, 1), (30, 5), (100, 5)], 100, "edges"),
                         (False, "flat: no new edges since 30 s of 100 s"))
        self.assertEqual(fuzz_report.growth([(60, 5)], 60, "edges")[0], None)


class ShortRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.out, t = render(cls.tmp, "fuzz-campaign-smoke")
        cls.summary, cls.html, cls.json = t["summary.txt"], t["index.html"], t["summary.json"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def afl(self):
        meta = fuzz_report.read_tsv_dict(os.path.join(self.out, "campaign.tsv"))
        return fuzz_report.afl_engine(os.path.join(self.out, "defer"), meta)

    def test_afl_curves_come_from_every_sample(self):
        afl = self.afl()
        # Corpus: the queue's file names, 4 seeds at 0 s and 8 finds, to the run's end.
        self.assertEqual(afl["corpus_series"][0], (0.0, 4.0))
        self.assertEqual(afl["corpus_series"][-1], (60, 12.0))
        self.assertEqual(len(afl["corpus_series"]), 10)
        # Executions: file names, the plot row and fuzzer_stats; rates over at
        # least 5 s (at 60 s: since the sample at 45 s).
        self.assertGreater(len(afl["exec_series"]), 5)
        self.assertAlmostEqual(afl["exec_series"][-1][1], (120000 - 100000) / 15, places=3)
        # Coverage: one sample (the plot row and fuzzer_stats, both at 60 s), said so.
        self.assertEqual(afl["edge_series"], [(60, 2492.0)])
        self.assertIn("AFL++: edges covered of 36592 (1 sample)", self.html)
        self.assertIn("AFL++ left one coverage sample (at 60 s)", self.html)
        self.assertEqual(afl["growth"],
                         (True, "still growing: +1 corpus inputs in the last quarter "
                                "(45 s to 60 s)"))

    def test_failures_over_time(self):
        afl = dict(self.afl()["failure_series"])
        self.assertEqual(afl["AFL++ crashes"], [(0.0, 0.0), (33.278, 1.0), (58.31, 2.0),
                                                 (60, 2.0)])
        self.assertEqual(afl["AFL++ hangs"], [(0.0, 0.0), (40.0, 1.0), (60, 1.0)])
        self.assertIn("libFuzzer timeouts and out-of-memory", self.html)
        self.assertIn("Failing inputs found", self.html)

    def test_previous_run_new_and_fixed(self):
        self.assertTrue(self.summary.startswith(
            "FAIL: 2 unique failure(s); 1 new, 1 fixed since the previous run; coverage still "
            "growing on 1 of 1 target(s); 1 target(s) × 60 s.\n"), self.summary)
        self.assertIn("  new: defer divergence:skb free:skb-free.local/skb-defer\n", self.summary)
        self.assertIn("  fixed: defer divergence:skb free:flush/skb-defer\n", self.summary)
        self.assertNotIn("mem.v4", self.summary)  # frag was not fuzzed this time
        self.assertIn("defer   AFL++      exec/s 1500 -> 2000, edges 2300 -> 2492", self.summary)
        self.assertIn("<b>Still failing:</b> defer: <code>divergence:skb free:none/skb-defer",
                      self.html)
        self.assertIn("<td>defer</td><td>libFuzzer</td><td>1500</td><td>1985</td><td>2400</td>"
                      "<td>2617</td><td>180</td><td>223</td>", self.html)

    def test_summary_json_is_next_runs_previous(self):
        j = json.loads(self.json)
        self.assertEqual(j["targets"]["defer"]["afl"]["edges"], 2492)
        self.assertEqual(len(j["failures"]), 2)
        self.assertEqual(j["out"], os.path.abspath(self.out))

    def test_links_are_relative_and_resolve(self):
        hrefs = re.findall(r'href="([^"]*)"', self.html)
        for rel in ("../failures/defer/1-divergence_skb_free_skb-free.local_skb-defer.trace",
                    "../defer/libfuzzer/fuzz.log", "../defer/afl/main.log", "../defer/corpus/",
                    "../defer/corpus-afl/", "../build.log", "summary.json"):
            self.assertIn(rel, hrefs)
        report = os.path.join(self.out, "report")
        for h in hrefs:
            self.assertTrue(os.path.exists(os.path.join(report, h)), h)

    def test_libfuzzer_coverage_measured_after_fork_mode(self):
        # The campaign's single-process pass (coverage.log) covered 600 where
        # fork mode said 800: the table says 600, the one point drawn, and
        # growth is the corpus's.
        out = os.path.join(self.tmp, "measured")
        shutil.copytree(os.path.join(HERE, "testdata", "fuzz-campaign"), out)
        with open(os.path.join(out, "frag", "libfuzzer", "coverage.log"), "w") as f:
            f.write("INFO: Seed: 1\n#27\tINITED cov: 600 ft: 830 corp: 27/2Kb exec/s: 0 rss: 40Mb\n")
        subprocess.run([sys.executable, os.path.join(HERE, "fuzz_report.py"), out], check=True)
        with open(os.path.join(out, "report", "summary.txt"), encoding="utf-8") as f:
            self.assertRegex(f.read(), r"frag +libFuzzer +12000 +120 +60 +600/1000 edges \(60\.0%\)")
        with open(os.path.join(out, "report", "index.html"), encoding="utf-8") as f:
            self.assertIn("one pass over its corpus and the seeds covers 600", f.read())
        lf = fuzz_report.libfuzzer_engine(os.path.join(out, "frag"), {"libfuzzer_jobs": "2"})
        self.assertEqual(lf["edge_series"], [(100, 600)])
        self.assertEqual(lf["growth"][1],
                         "still growing: +30 corpus inputs in the last quarter (75 s to 100 s)")

    def test_coverage_report_linked_when_present(self):
        self.assertIn("Source-level coverage report: absent", self.html)
        os.makedirs(os.path.join(self.out, "coverage"))
        with open(os.path.join(self.out, "coverage", "index.html"), "w") as f:
            f.write("llvm-cov\n")
        _, t = render(self.tmp, "fuzz-campaign-smoke")
        self.assertIn('<a href="../coverage/index.html">source-level coverage report (llvm-cov)'
                      "</a>", t["index.html"])
        shutil.rmtree(os.path.join(self.out, "coverage"))


if __name__ == "__main__":
    unittest.main()
