#!/usr/bin/env python3
"""Writes a fuzz campaign's report: OUT/report/index.html and OUT/report/summary.txt.

Usage: ci/fuzz_report.py OUT

Reads what ci/fuzz-campaign.sh leaves in OUT (docs/fuzzing.md describes it):

  campaign.tsv                  key<TAB>value: started, finished, commit, jobs,
                                libfuzzer_jobs, afl_jobs, seconds_per_target,
                                targets (space-separated), inject
  TARGET/stats.tsv              key<TAB>value: seeds, merged_corpus, ...
  TARGET/libfuzzer/fuzz.log     libFuzzer's fork-mode status lines
                                  "#RUNS: cov: C ft: F corp: N exec/s E ... time: Ts ..."
  TARGET/afl/*/plot_data        AFL++'s time series, one file per instance
  TARGET/afl/*/fuzzer_stats     AFL++'s totals per instance
  failures/TARGET/index.tsv     signature, engines, inputs, kept file, replay command

The page is static: tables, SVG line charts drawn here (no plotting
dependency), and each unique failure with its minimized trace and the command
that replays it. Only the standard library is used.
"""

import html
import math
import os
import re
import sys

FORK_LINE = re.compile(r"^#(\d+): cov: (\d+) ft: \d+ corp: (\d+) exec/s:? \d+ .*time: (\d+)s")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def read_tsv_dict(path):
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                if key:
                    out[key] = value
    return out


def read_libfuzzer(path):
    """Fork-mode status lines -> list of (seconds, runs, cov, corpus)."""
    points = []
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = FORK_LINE.match(line)
                if m:
                    runs, cov, corp, t = (int(g) for g in m.groups())
                    points.append((t, runs, cov, corp))
    return points


def read_plot_data(path):
    """AFL++ plot_data -> list of dicts keyed by the header's column names, with 't' in seconds."""
    rows, names = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                names = [n.strip() for n in line[1:].split(",")]
                continue
            if not line or names is None:
                continue
            values = [v.strip() for v in line.split(",")]
            row = {}
            for name, value in zip(names, values):
                try:
                    row[name] = float(value.rstrip("%"))
                except ValueError:
                    pass
            rows.append(row)
    if rows:  # AFL++ 4 writes relative_time; older versions unix_time.
        key = "relative_time" if "relative_time" in rows[0] else "unix_time"
        t0 = 0 if key == "relative_time" else rows[0].get(key, 0)
        for row in rows:
            row["t"] = row.get(key, 0) - t0
    return rows


def read_afl(afl_dir):
    """Per-instance plot rows and totals (from fuzzer_stats, else the last plot row)."""
    instances = {}
    if not os.path.isdir(afl_dir):
        return instances
    for name in sorted(os.listdir(afl_dir)):
        plot = os.path.join(afl_dir, name, "plot_data")
        if not os.path.isfile(plot):
            continue
        rows = read_plot_data(plot)
        stats = {}
        stats_path = os.path.join(afl_dir, name, "fuzzer_stats")
        if os.path.exists(stats_path):
            with open(stats_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    stats[key.strip()] = value.strip()
        last = rows[-1] if rows else {}

        def stat(key, fallback):
            try:
                return float(stats[key].rstrip("%"))
            except (KeyError, ValueError):
                return float(last.get(fallback, 0))

        instances[name] = {
            "rows": rows,
            "execs": stat("execs_done", "total_execs"),
            "run_time": stat("run_time", "t"),
            "edges": stat("edges_found", "edges_found"),
            "total_edges": stat("total_edges", "edges_found"),
            "corpus": stat("corpus_count", "corpus_count"),
        }
    return instances


def step_sum(series_list):
    """Sums step functions [(t, y)] sampled at every t any of them has."""
    times = sorted({t for s in series_list for t, _ in s})
    out = []
    for t in times:
        total = 0.0
        for s in series_list:
            last = None
            for st, y in s:
                if st > t:
                    break
                last = y
            total += last or 0.0
        out.append((t, total))
    return out


def rate(points, window):
    """[(t, cumulative)] -> [(t, per-second rate over the last `window` seconds)]."""
    out = []
    for i, (t, v) in enumerate(points):
        j = i
        while j > 0 and points[j][0] > t - window:
            j -= 1
        t0, v0 = points[j]
        if t > t0:
            out.append((t, (v - v0) / (t - t0)))
    return out


def nice_step(span, ticks=5):
    raw = span / ticks if span > 0 else 1
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e4:
        return f"{v / 1e3:.3g}k"
    return f"{v:.4g}"


def chart(title, ylabel, series, width=440, height=230):
    """An SVG line chart. series: [(label, [(seconds, y), ...])]."""
    left, right, top, bottom = 58, 12, 28, 36
    pw, ph = width - left - right, height - top - bottom
    pts = [p for _, s in series for p in s]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>',
    ]
    if not pts:
        parts.append(f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" '
                     'fill="#888">no data</text></svg>')
        return "\n".join(parts)
    tmax = max(p[0] for p in pts) or 1
    unit, div = ("h", 3600) if tmax > 3 * 3600 else ("min", 60) if tmax > 180 else ("s", 1)
    xmax = tmax / div
    ymax = max(p[1] for p in pts) * 1.05 or 1
    ystep, xstep = nice_step(ymax), nice_step(xmax)
    ymax = math.ceil(ymax / ystep) * ystep

    def x(t):
        return left + pw * (t / div) / xmax

    def y(v):
        return top + ph - ph * v / ymax

    v = 0.0
    while v <= ymax + 1e-9:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{fmt(v)}</text>')
        v += ystep
    v = 0.0
    while v <= xmax + 1e-9:
        xv = left + pw * v / xmax
        parts.append(f'<text x="{xv:.1f}" y="{top + ph + 14}" font-size="10" '
                     f'text-anchor="middle">{v:g}</text>')
        v += xstep
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" font-size="11" '
                 f'text-anchor="middle">time ({unit})</text>')
    parts.append(f'<text x="12" y="{top + ph / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + ph / 2})">{html.escape(ylabel)}</text>')
    for i, (label, s) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        if s:
            path = " ".join(f"{x(t):.1f},{y(val):.1f}" for t, val in s)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                         f'points="{path}"/>')
            if len(s) <= 40:  # few samples (AFL++ plots every 5 s after its first minute)
                parts.extend(f'<circle cx="{x(t):.1f}" cy="{y(val):.1f}" r="2.5" fill="{color}"/>'
                             for t, val in s)
        parts.append(f'<text x="{left + 8}" y="{top + 14 + 13 * i}" font-size="11" '
                     f'fill="{color}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def target_data(out, target, meta):
    d = os.path.join(out, target)
    lf = read_libfuzzer(os.path.join(d, "libfuzzer", "fuzz.log"))
    afl = read_afl(os.path.join(d, "afl"))
    lf_jobs = int(meta.get("libfuzzer_jobs") or 1)
    afl_jobs = max(1, len(afl))
    t = {"name": target, "stats": read_tsv_dict(os.path.join(d, "stats.tsv"))}

    if lf:
        last = lf[-1]
        secs = last[0] or 1
        window = max(5, secs / 30)
        t["libfuzzer"] = {
            "execs": last[1], "exec_s": last[1] / secs, "per_core": last[1] / secs / lf_jobs,
            "coverage": f"cov {last[2]}", "corpus": last[3], "seconds": last[0],
            "exec_series": rate([(p[0], p[1]) for p in lf], window),
            "cov_series": [(p[0], p[2]) for p in lf],
            "corpus_series": [(p[0], p[3]) for p in lf],
        }
    if afl:
        execs = sum(i["execs"] for i in afl.values())
        secs = max(i["run_time"] for i in afl.values()) or 1
        main = afl.get("main") or next(iter(afl.values()))
        t["afl"] = {
            "execs": execs, "exec_s": execs / secs, "per_core": execs / secs / afl_jobs,
            "coverage": f"edges {main['edges']:.0f}/{main['total_edges']:.0f}",
            "corpus": int(main["corpus"]), "seconds": secs,
            "exec_series": step_sum([[(r["t"], r.get("execs_per_sec", 0)) for r in i["rows"]]
                                     for i in afl.values()]),
            "cov_series": [(r["t"], r.get("edges_found", 0)) for r in main["rows"]],
            "corpus_series": [(r["t"], r.get("corpus_count", r.get("paths_total", 0)))
                              for r in main["rows"]],
        }

    t["failures"] = []
    index = os.path.join(out, "failures", target, "index.tsv")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 5:
                    continue
                sig, engines, inputs, kept, replay = fields[:5]
                path = kept if os.path.isabs(kept) else os.path.join(out, kept)
                text = None
                if path.endswith(".trace") and os.path.exists(path):
                    with open(path, encoding="utf-8", errors="replace") as tf:
                        text = tf.read()
                t["failures"].append({"target": target, "signature": sig,
                                      "engines": engines.replace(",", ", "),
                                      "inputs": int(inputs or 0), "file": path,
                                      "replay": replay, "trace": text})
    return t


def summary_text(out, meta, targets):
    lines = [
        f"netverify fuzz campaign {meta.get('started', '?')} .. {meta.get('finished', '?')}, "
        f"commit {meta.get('commit', '?')}",
        f"{meta.get('jobs', '?')} jobs (libFuzzer -fork={meta.get('libfuzzer_jobs', '?')}, "
        f"AFL++ {meta.get('afl_jobs', '?')} instance(s)), "
        f"{meta.get('seconds_per_target', '?')} s per target",
    ]
    if meta.get("inject"):
        lines.append(f"inject: {meta['inject']} (a planted bug: failures are expected)")
    lines.append("")
    lines.append(f"{'target':<8}{'engine':<11}{'execs':>11}{'exec/s':>9}{'per core':>10}  "
                 f"{'coverage':<18}{'corpus':>7}")
    for t in targets:
        for key, label in (("libfuzzer", "libFuzzer"), ("afl", "AFL++")):
            e = t.get(key)
            if not e:
                lines.append(f"{t['name']:<8}{label:<11}{'did not run':>11}")
                continue
            lines.append(f"{t['name']:<8}{label:<11}{e['execs']:>11.0f}{e['exec_s']:>9.0f}"
                         f"{e['per_core']:>10.0f}  {e['coverage']:<18}{e['corpus']:>7}")
        s = t["stats"]
        lines.append(f"{'':<8}merged corpus {s.get('merged_corpus', '?')} inputs "
                     f"(libFuzzer -merge=1), {s.get('afl_cmin_corpus', '?')} (afl-cmin); "
                     f"seeds {s.get('seeds', '?')}")
        if int(s.get("unconfirmed_hangs", 0) or 0):
            lines.append(f"{'':<8}{s['unconfirmed_hangs']} hang/oom input(s) ran fine alone "
                         "(machine load): not counted as failures")
    failures = [f for t in targets for f in t["failures"]]
    inputs = sum(int(t["stats"].get("failure_inputs", 0) or 0) for t in targets)
    lines.append("")
    lines.append(f"failures: {len(failures)} unique signature(s) from {inputs} failing input(s)")
    for f in failures:
        lines.append(f"  {f['target']:<6}{f['signature']}  ({f['inputs']} input(s), "
                     f"{f['engines']})")
        lines.append(f"        {f['replay']}")
    lines.append("")
    lines.append(f"report: {os.path.join(out, 'report', 'index.html')}")
    return "\n".join(lines) + "\n"


def page(meta, targets, summary):
    e = html.escape
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>netverify fuzz campaign</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:1em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        "pre{background:#f6f6f6;padding:6px;overflow-x:auto}"
        "svg{margin:4px}.fail{border-left:4px solid #d62728;padding-left:8px}</style>",
        "</head><body>",
        "<h1>netverify fuzz campaign</h1>",
        f"<p>{e(meta.get('started', '?'))} .. {e(meta.get('finished', '?'))}, commit "
        f"<code>{e(meta.get('commit', '?'))}</code> on {e(meta.get('host', '?'))}; "
        f"{e(meta.get('jobs', '?'))} jobs (libFuzzer -fork={e(meta.get('libfuzzer_jobs', '?'))},"
        f" AFL++ {e(meta.get('afl_jobs', '?'))} instance(s)), "
        f"{e(meta.get('seconds_per_target', '?'))} s per target.</p>",
    ]
    if meta.get("inject"):
        body.append(f"<p><b>Mutant injected: <code>{e(meta['inject'])}</code></b> "
                    "(a planted bug: failures are expected).</p>")
    failures = [f for t in targets for f in t["failures"]]
    body.append(f"<h2>Failures: {len(failures)} unique</h2>")
    if not failures:
        body.append("<p>None: the engines agreed on every input.</p>")
    for i, f in enumerate(failures, 1):
        body.append(f'<div class="fail"><h3>{i}. {e(f["target"])}: <code>{e(f["signature"])}'
                    f"</code></h3><p>{f['inputs']} failing input(s), found by "
                    f"{e(f['engines'])}. Reproduce:</p><pre>{e(f['replay'])}</pre>")
        if f["trace"] is not None:
            body.append(f"<p>Minimized trace (<code>{e(f['file'])}</code>):</p>"
                        f"<pre>{e(f['trace'])}</pre>")
        else:
            body.append(f"<p>Input kept as <code>{e(f['file'])}</code> (netverify does not "
                        "reproduce it; the command above runs the fuzz target on it).</p>")
        body.append("</div>")
    body.append("<h2>Targets</h2><table><tr><th>target</th><th>engine</th><th>executions</th>"
                "<th>exec/s</th><th>exec/s per core</th><th>coverage</th><th>corpus</th></tr>")
    for t in targets:
        for key, label in (("libfuzzer", "libFuzzer"), ("afl", "AFL++")):
            x = t.get(key)
            if x:
                body.append(f"<tr><td>{e(t['name'])}</td><td>{label}</td><td>{x['execs']:.0f}</td>"
                            f"<td>{x['exec_s']:.0f}</td><td>{x['per_core']:.0f}</td>"
                            f"<td>{e(x['coverage'])}</td><td>{x['corpus']}</td></tr>")
            else:
                body.append(f"<tr><td>{e(t['name'])}</td><td>{label}</td>"
                            '<td colspan="5">did not run</td></tr>')
    body.append("</table><p><small>Executions and exec/s are totals over each engine's "
                "jobs. libFuzzer's fork mode adds up the runs of jobs that end normally: a "
                "job stopped by a failure is not counted, so with many failures libFuzzer's "
                "numbers are low. AFL++ writes its plot every 5 s from its first minute on."
                "</small></p>")
    for t in targets:
        s = t["stats"]
        lf, afl = t.get("libfuzzer") or {}, t.get("afl") or {}
        body.append(f"<h2>{e(t['name'])}</h2>")
        body.append(f"<p>Seeds {e(s.get('seeds', '?'))} (left out as already failing: "
                    f"{e(s.get('seeds_dropped', '0'))}); libFuzzer corpus "
                    f"{e(s.get('libfuzzer_corpus', '?'))}, AFL++ queue {e(s.get('afl_queue', '?'))};"
                    f" merged {e(s.get('merged_corpus', '?'))} (libFuzzer -merge=1), "
                    f"{e(s.get('afl_cmin_corpus', '?'))} after afl-cmin. Hang or oom inputs "
                    f"that ran fine alone (not failures): {e(s.get('unconfirmed_hangs', '0'))}.</p>")
        body.append(chart("executions per second", "exec/s",
                          [("libFuzzer", lf.get("exec_series", [])),
                           ("AFL++ (all instances)", afl.get("exec_series", []))]))
        body.append(chart("corpus size", "inputs",
                          [("libFuzzer corp", lf.get("corpus_series", [])),
                           ("AFL++ main corpus_count", afl.get("corpus_series", []))]))
        body.append(chart("libFuzzer coverage", "cov (edges)",
                          [("libFuzzer cov", lf.get("cov_series", []))]))
        body.append(chart("AFL++ coverage", "edges_found",
                          [("AFL++ main edges_found", afl.get("cov_series", []))]))
    body.append(f"<h2>Summary</h2><pre>{e(summary)}</pre></body></html>")
    return "\n".join(body) + "\n"


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 2
    out = argv[1]
    meta = read_tsv_dict(os.path.join(out, "campaign.tsv"))
    names = meta.get("targets", "").split()
    if not names:
        print(f"fuzz_report.py: {out}/campaign.tsv names no targets", file=sys.stderr)
        return 2
    targets = [target_data(out, name, meta) for name in names]
    summary = summary_text(out, meta, targets)
    report = os.path.join(out, "report")
    os.makedirs(report, exist_ok=True)
    for name, text in (("summary.txt", summary), ("index.html", page(meta, targets, summary))):
        tmp = os.path.join(report, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, os.path.join(report, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
