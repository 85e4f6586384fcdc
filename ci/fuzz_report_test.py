#!/usr/bin/env python3
"""Tests ci/fuzz_report.py on a synthetic campaign folder, ci/testdata/fuzz-campaign/.

The fixture's numbers: frag ran libFuzzer (-fork=2) for 100 s, 12000 runs
(120 exec/s, 60 per core), cov 800, corpus 90; AFL++ ran two instances for
100 s, 30000 + 20000 executions (500 exec/s, 250 per core), main's edges
1234/7000, corpus 321; one failure signature from 3 inputs. Target `all`
has no fuzzer output at all, so the report must say it did not run.
"""

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


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.out = os.path.join(cls.tmp, "campaign")
        shutil.copytree(os.path.join(HERE, "testdata", "fuzz-campaign"), cls.out)
        subprocess.run([sys.executable, os.path.join(HERE, "fuzz_report.py"), cls.out],
                       check=True)
        with open(os.path.join(cls.out, "report", "summary.txt"), encoding="utf-8") as f:
            cls.summary = f.read()
        with open(os.path.join(cls.out, "report", "index.html"), encoding="utf-8") as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_summary_has_each_engines_numbers(self):
        self.assertRegex(self.summary, r"frag +libFuzzer +12000 +120 +60 +cov 800 +90\n")
        self.assertRegex(self.summary, r"frag +AFL\+\+ +50000 +500 +250 +edges 1234/7000 +321\n")
        self.assertIn("merged corpus 150 inputs (libFuzzer -merge=1), 77 (afl-cmin)", self.summary)
        self.assertRegex(self.summary, r"all +libFuzzer +did not run")
        self.assertIn("4 jobs (libFuzzer -fork=2, AFL++ 2 instance(s)), 100 s per target",
                      self.summary)

    def test_summary_lists_each_failure_with_its_replay_command(self):
        self.assertIn("failures: 1 unique signature(s) from 3 failing input(s)", self.summary)
        self.assertIn("divergence:frag:deliver/kill.overlap  (3 input(s), libFuzzer, AFL++)",
                      self.summary)
        self.assertIn("build/default/netverify replay "
                      "failures/frag/1-divergence_frag_deliver_kill.overlap.trace", self.summary)

    def test_page_has_plots_failures_and_tables(self):
        self.assertEqual(self.html.count("<svg"), 8)  # four charts per target
        self.assertIn("frag init v4 id=0 off=0 len=1 mf=1", self.html)
        self.assertIn("<td>frag</td><td>AFL++</td><td>50000</td><td>500</td><td>250</td>",
                      self.html)
        self.assertIn("no data", self.html)  # target `all`
        # The libFuzzer coverage line ends at (100 s, 800): the right edge of a
        # 370-pixel-wide plot at x=58, and 0.8 of the way up a 0..1000 y axis.
        self.assertTrue(re.search(r'<polyline[^>]*points="[^"]* 428\.0,61\.2"', self.html))

    def test_afl_instances_add_up_as_step_functions(self):
        main = [(60, 200.0), (65, 300.0), (100, 310.0)]
        s1 = [(60, 100.0), (70, 150.0)]
        self.assertEqual(fuzz_report.step_sum([main, s1]),
                         [(60, 300.0), (65, 400.0), (70, 450.0), (100, 460.0)])

    def test_rate_over_a_window(self):
        runs = [(10, 1000), (50, 6000), (100, 12000)]
        self.assertEqual(fuzz_report.rate(runs, 30), [(50, 125.0), (100, 120.0)])


if __name__ == "__main__":
    unittest.main()
