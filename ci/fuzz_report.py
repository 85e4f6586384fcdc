#!/usr/bin/env python3
"""Writes a fuzz campaign's report: OUT/report/index.html, summary.txt, summary.json.

Usage: ci/fuzz_report.py OUT

Reads what ci/fuzz-campaign.sh leaves in OUT (docs/fuzzing.md describes it):

  campaign.tsv                  key<TAB>value: started, finished, commit, jobs,
                                libfuzzer_jobs, afl_jobs, seconds_per_target,
                                targets (space-separated), inject
  TARGET/stats.tsv              key<TAB>value: seeds, merged_corpus, ...
  TARGET/libfuzzer/fuzz.log     libFuzzer's fork-mode status lines
                                  "#RUNS: cov: C ft: F corp: N exec/s E
                                   oom/timeout/crash: O/T/C time: Ts ..."
                                and "INFO: Loaded 1 modules (N inline 8-bit counters)"
  TARGET/libfuzzer/coverage.log one pass of the target over its corpus and the
                                seeds (-runs=0): "#N INITED cov: C ...", the
                                coverage fork mode misreports (libfuzzer_engine)
  TARGET/afl/INSTANCE/          AFL++'s output per instance: plot_data (a row
                                every 5 s after the first minute), fuzzer_stats
                                (totals), and queue/, crashes/, hangs/ whose
                                file names carry time:MS,execs:N
  failures/TARGET/index.tsv     signature, engines, inputs, kept file, replay command
  report/previous-summary.json  the previous run's summary.json, if the
                                campaign found one (its --previous)
  coverage/index.html           llvm-cov's source-level report, if
                                ci/coverage.sh --html OUT/coverage wrote one

The page is static (no JavaScript, nothing fetched): a one-line verdict, the
failures with links to their reproducers, the previous run's figures beside
this one's, a table per engine, and SVG line charts drawn here that scale to
the window. summary.json keeps this run's figures for the next run's
comparison. Only the standard library is used.
"""

import html
import json
import math
import os
import re
import sys
import urllib.parse

FORK_LINE = re.compile(r"^#(\d+): cov: (\d+) ft: \d+ corp: (\d+) exec/s:? \d+ "
                       r"(?:oom/timeout/crash: (\d+)/(\d+)/(\d+) )?.*time: (\d+)s")
LOADED = re.compile(r"^INFO: Loaded \d+ modules? +\((\d+) inline 8-bit counters\)")
INITED = re.compile(r"^#\d+\s+INITED cov: (\d+)")
AFL_NAME = re.compile(r"(?:^|,)time:(\d+),execs:(\d+)")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
ENGINES = (("libfuzzer", "libFuzzer"), ("afl", "AFL++"))


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
    """fuzz.log -> (status points as dicts, instrumented edge count or None)."""
    points, total = [], None
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = LOADED.match(line)
                if m and total is None:
                    total = int(m.group(1))
                m = FORK_LINE.match(line)
                if m:
                    runs, cov, corp, oom, timeout, crash, t = (int(g or 0) for g in m.groups())
                    points.append({"t": t, "runs": runs, "cov": cov, "corp": corp,
                                   "crash": crash, "timeout_oom": oom + timeout})
    return points, total


def read_inited(path):
    """coverage.log -> the edges its single-process pass covered, or None."""
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = INITED.match(line)
                if m:
                    return int(m.group(1))
    return None


def read_plot_data(path):
    """AFL++ plot_data -> list of dicts keyed by the header's column names, with 't' in seconds."""
    rows, names = [], None
    if not os.path.isfile(path):
        return rows
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


def read_afl_names(folder):
    """(seconds, executions) of each AFL++ file whose name carries time:MS,execs:N."""
    out = []
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            m = AFL_NAME.search(name)
            if name.startswith("id:") and m:
                out.append((int(m.group(1)) / 1000, int(m.group(2))))
    return sorted(out)


def read_afl_instance(folder):
    """Every sample one AFL++ instance leaves: plot rows, fuzzer_stats, file names."""
    rows = read_plot_data(os.path.join(folder, "plot_data"))
    stats = {}
    stats_path = os.path.join(folder, "fuzzer_stats")
    if os.path.exists(stats_path):
        with open(stats_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                try:
                    stats[key.strip()] = float(value.strip().rstrip("%"))
                except ValueError:
                    pass
    if not rows and not stats:
        return None
    queue = read_afl_names(os.path.join(folder, "queue"))
    crashes = read_afl_names(os.path.join(folder, "crashes"))
    hangs = read_afl_names(os.path.join(folder, "hangs"))
    last = rows[-1] if rows else {}
    run_time = stats.get("run_time", last.get("t", 0))
    # fuzzer_stats is a sample too, taken at last_update.
    stats_t = stats.get("last_update", 0) - stats.get("start_time", 0)
    stats_t = stats_t if stats_t > 0 else run_time
    execs = stats.get("execs_done", last.get("total_execs", 0))

    cumulative = {0.0: 0.0}
    for t, e in queue + crashes + hangs:
        cumulative[t] = max(cumulative.get(t, 0), e)
    for r in rows:
        cumulative[r["t"]] = max(cumulative.get(r["t"], 0), r.get("total_execs", 0))
    cumulative[stats_t] = max(cumulative.get(stats_t, 0), execs)
    exec_series, high = [], 0.0
    for t in sorted(cumulative):
        high = max(high, cumulative[t])
        exec_series.append((t, high))

    if queue:
        corpus_series = count_series([t for t, _ in queue], run_time)
    else:
        corpus_series = [(r["t"], r.get("corpus_count", r.get("paths_total", 0))) for r in rows]
    edges = {r["t"]: r.get("edges_found", 0) for r in rows}
    if "edges_found" in stats:
        edges[stats_t] = stats["edges_found"]
    return {
        "execs": execs, "run_time": run_time,
        "edges": stats.get("edges_found", last.get("edges_found", 0)),
        "total_edges": stats.get("total_edges"),
        "corpus": stats.get("corpus_count", last.get("corpus_count", len(queue))),
        "exec_series": exec_series, "corpus_series": corpus_series,
        "edge_series": sorted(edges.items()),
        "crash_times": [t for t, _ in crashes], "hang_times": [t for t, _ in hangs],
    }


def read_afl(afl_dir):
    instances = {}
    if os.path.isdir(afl_dir):
        for name in sorted(os.listdir(afl_dir)):
            if os.path.isdir(os.path.join(afl_dir, name)):
                inst = read_afl_instance(os.path.join(afl_dir, name))
                if inst:
                    instances[name] = inst
    return instances


def count_series(times, end):
    """Event times -> cumulative count [(t, n)], from (0, events at 0) to (end, all)."""
    times = sorted(times)
    out = [(0.0, float(sum(1 for t in times if t <= 0)))]
    for i, t in enumerate(times):
        if t > 0:
            out.append((t, float(i + 1)))
    if end > out[-1][0]:
        out.append((end, float(len(times))))
    return out


def interp_sum(series_list):
    """Sums cumulative series [(t, y)], each interpolated linearly between its samples
    (and held at its last value after it), at every t any of them has."""
    times = sorted({t for s in series_list for t, _ in s})
    out = []
    for t in times:
        total = 0.0
        for s in series_list:
            if not s or t < s[0][0]:
                continue
            prev = s[0]
            for st, y in s:
                if st >= t:
                    if st > t and st > prev[0]:
                        y = prev[1] + (y - prev[1]) * (t - prev[0]) / (st - prev[0])
                    break
                prev = (st, y)
            else:
                y = s[-1][1]
            total += y
        out.append((t, total))
    return out


def rate(points, window):
    """[(t, cumulative)] -> [(t, per-second rate over at least the last `window` seconds)]:
    no rate before a whole window has passed (AFL++'s first finds come milliseconds
    after its start, and a rate over a millisecond means nothing)."""
    out = []
    for i, (t, v) in enumerate(points):
        j = i
        while j > 0 and points[j][0] > t - window:
            j -= 1
        t0, v0 = points[j]
        if t - t0 >= window:
            out.append((t, (v - v0) / (t - t0)))
    return out


def growth(series, end, what):
    """Is `series` still rising? -> (rising, text), judged on the last quarter of the run."""
    if len(series) < 2 or series[0][0] > 0.75 * end:
        return None, f"too few {what} samples to tell"
    cut = 0.75 * end
    before = [y for t, y in series if t <= cut][-1]
    last_rise = 0
    for (_, y0), (t1, y1) in zip(series, series[1:]):
        if y1 > y0:
            last_rise = t1
    gain = series[-1][1] - before
    if gain > 0:
        return True, (f"still growing: +{gain:.0f} {what} in the last quarter "
                      f"({duration(cut)} to {duration(end)})")
    return False, f"flat: no new {what} since {duration(last_rise)} of {duration(end)}"


def duration(s):
    if s >= 3 * 3600:
        return f"{s / 3600:.1f} h"
    if s >= 180:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"


def coverage_text(edges, total):
    if total:
        return f"{edges:.0f}/{total:.0f} edges ({100 * edges / total:.1f}%)"
    return f"{edges:.0f} edges"


def staircase(s):
    """[(t, y)] of a count that jumps at each sample -> the corners of its steps."""
    out = s[:1]
    for (_, y0), (t1, y1) in zip(s, s[1:]):
        if y1 != y0:
            out.append((t1, y0))
        out.append((t1, y1))
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


def chart(title, ylabel, series, tmax, note=""):
    """An SVG line chart that scales to its container (viewBox, width 100%), in a
    figure with an HTML legend. series: [(label, [(seconds, y), ...], step)]; a
    step series is drawn as a staircase (a count that jumps). Every sample is
    marked when there are few; a series of one sample is one marked point."""
    width, height = 440, 240
    left, right, top, bottom = 52, 12, 10, 36
    pw, ph = width - left - right, height - top - bottom
    pts = [p for _, s, _ in series for p in s]
    e = html.escape
    parts = [f'<figure class="chart"><figcaption>{e(title)}</figcaption>',
             f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{e(title)}">',
             f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}" '
             'fill="none" stroke="#888"/>']
    tmax = max([tmax] + [p[0] for p in pts]) or 1
    unit, div = ("h", 3600) if tmax > 3 * 3600 else ("min", 60) if tmax > 180 else ("s", 1)
    xmax = tmax / div
    ymax = max([p[1] for p in pts] + [0]) * 1.05 or 1
    ystep, xstep = nice_step(ymax), nice_step(xmax)
    if all(float(p[1]).is_integer() for p in pts):
        ystep = max(ystep, 1)  # counts: no tick at half an input
    ymax = math.ceil(ymax / ystep) * ystep

    def x(t):
        return left + pw * (t / div) / xmax

    def y(v):
        return top + ph - ph * v / ymax

    v = 0.0
    while v <= ymax + 1e-9:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{fmt(v)}</text>')
        v += ystep
    v = 0.0
    while v <= xmax + 1e-9:
        parts.append(f'<text x="{left + pw * v / xmax:.1f}" y="{top + ph + 14}" '
                     f'font-size="11" text-anchor="middle">{v:g}</text>')
        v += xstep
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" font-size="12" '
                 f'text-anchor="middle">time ({unit})</text>')
    parts.append(f'<text x="12" y="{top + ph / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + ph / 2})">{e(ylabel)}</text>')
    legend = []
    for i, (label, s, step) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        if len(s) > 1:
            path = " ".join(f"{x(t):.1f},{y(val):.1f}" for t, val in
                            (staircase(s) if step else s))
            parts.append(f'<polyline class="series" fill="none" stroke="{color}" '
                         f'stroke-width="1.5" points="{path}"/>')
        if len(s) <= 60:
            r = 4 if len(s) == 1 else 2.5
            parts.extend(f'<circle class="pt" cx="{x(t):.1f}" cy="{y(val):.1f}" r="{r}" '
                         f'fill="{color}"/>' for t, val in s)
        samples = " (1 sample)" if len(s) == 1 else " (no data)" if not s else ""
        legend.append(f'<span><i class="key" style="background:{color}"></i>'
                      f"{e(label)}{samples}</span>")
    parts.append("</svg>")
    parts.append(f'<p class="legend">{" ".join(legend)}</p>')
    if note:
        parts.append(f'<p class="note">{note}</p>')
    parts.append("</figure>")
    return "\n".join(parts)


def libfuzzer_engine(d, meta):
    lf, total = read_libfuzzer(os.path.join(d, "libfuzzer", "fuzz.log"))
    if not lf:
        return None
    jobs = int(meta.get("libfuzzer_jobs") or 1)
    last = lf[-1]
    secs = last["t"] or 1
    window = max(5, secs / 30)
    start = [(0.0, 0.0)]
    cov = [(p["t"], p["cov"]) for p in lf]
    # Fork mode before LLVM 19 counts the seeds' features as covered edges
    # (llvm-project issue 82307), and later PCs against those numbers, so its
    # cov: is neither right nor off by a constant (fuzz_all, 60 s: 16074 for
    # 4993; its first point 11748 where the seeds alone cover 3980). The
    # campaign measures the coverage of the corpus and the seeds in one
    # process afterwards: where that disagrees, it is the one point drawn.
    edges, note = last["cov"], ""
    measured = read_inited(os.path.join(d, "libfuzzer", "coverage.log"))
    if measured is not None and measured != last["cov"]:
        edges, cov = measured, [(secs, measured)]
        growth_of = growth([(p["t"], p["corp"]) for p in lf], secs, "corpus inputs")
        note = (f"libFuzzer's fork mode said {last['cov']} edges; one pass over its corpus and "
                f"the seeds covers {measured}, the point drawn (before LLVM 19 fork mode counts "
                f"the seeds' features as edges: llvm-project issue 82307). Whether it still "
                f"grows is read from its corpus.")
    else:
        growth_of = growth(cov, secs, "edges")
    return {
        "label": "libFuzzer", "instances": f"-fork={jobs}",
        "execs": last["runs"], "seconds": secs, "exec_s": last["runs"] / secs,
        "per_core": last["runs"] / secs / jobs,
        "edges": edges, "total_edges": total, "corpus": last["corp"],
        "exec_series": rate([(0, 0)] + [(p["t"], p["runs"]) for p in lf], window),
        "window": window,
        "corpus_series": [(p["t"], p["corp"]) for p in lf],
        "edge_series": cov, "edge_note": note,
        "growth": growth_of,
        "failure_series": [
            ("libFuzzer crashes", start + [(p["t"], p["crash"]) for p in lf]),
            ("libFuzzer timeouts and out-of-memory", start + [(p["t"], p["timeout_oom"])
                                                             for p in lf])],
    }


def afl_engine(d, meta):
    afl = read_afl(os.path.join(d, "afl"))
    if not afl:
        return None
    execs = sum(i["execs"] for i in afl.values())
    secs = max(i["run_time"] for i in afl.values()) or 1
    main = afl.get("main") or next(iter(afl.values()))
    window = max(5, secs / 30)
    n = len(afl)
    edges = main["edge_series"]
    if len(edges) == 1:
        edge_note = (f"AFL++ left one coverage sample (at {duration(edges[0][0])}): it writes "
                     "plot_data every 5 s from its first minute on, and fuzzer_stats once more "
                     "at the end, so a short run has a single point, drawn as a dot. Its "
                     "corpus and executions above come from its queue's file names, which "
                     "carry the time of each find.")
    else:
        edge_note = ""
    growth_of = growth(edges, secs, "edges")
    if growth_of[0] is None:
        growth_of = growth(main["corpus_series"], secs, "corpus inputs")
    return {
        "label": "AFL++", "instances": f"{n} instance{'s' if n > 1 else ''}",
        "execs": execs, "seconds": secs, "exec_s": execs / secs, "per_core": execs / secs / n,
        "edges": main["edges"], "total_edges": main["total_edges"], "corpus": int(main["corpus"]),
        "exec_series": rate(interp_sum([i["exec_series"] for i in afl.values()]), window),
        "window": window,
        "corpus_series": main["corpus_series"], "edge_series": edges, "edge_note": edge_note,
        "growth": growth_of,
        "failure_series": [
            ("AFL++ crashes", count_series([t for i in afl.values() for t in i["crash_times"]],
                                           secs)),
            ("AFL++ hangs", count_series([t for i in afl.values() for t in i["hang_times"]],
                                         secs))],
    }


def read_failures(out, target):
    failures = []
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
                failures.append({"target": target, "signature": sig,
                                 "engines": engines.replace(",", ", "),
                                 "inputs": int(inputs or 0), "file": path,
                                 "replay": replay, "trace": text})
    return failures


def target_data(out, target, meta):
    d = os.path.join(out, target)
    t = {"name": target, "stats": read_tsv_dict(os.path.join(d, "stats.tsv")),
         "libfuzzer": libfuzzer_engine(d, meta), "afl": afl_engine(d, meta),
         "failures": read_failures(out, target)}
    ran = [t[k] for k, _ in ENGINES if t[k]]
    verdicts = [g[0] for g in (x["growth"] for x in ran)]
    t["growing"] = True if True in verdicts else False if False in verdicts else None
    return t


def summary_json(out, meta, targets):
    """This run's figures, for the next run's comparison."""
    keep = ("execs", "exec_s", "edges", "total_edges", "corpus")
    return {
        "format": 1, "out": os.path.abspath(out),
        **{k: meta.get(k, "") for k in ("started", "finished", "commit", "seconds_per_target")},
        "targets": {t["name"]: {k: ({f: t[k][f] for f in keep} if t[k] else None)
                                for k, _ in ENGINES} for t in targets},
        "failures": [{"target": f["target"], "signature": f["signature"]}
                     for t in targets for f in t["failures"]],
    }


def read_previous(out):
    path = os.path.join(out, "report", "previous-summary.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            prev = json.load(f)
        return prev if isinstance(prev, dict) and prev.get("format") == 1 else None
    except (OSError, ValueError):
        return None


def compare_failures(targets, prev):
    """-> (new, fixed, still) lists of (target, signature); fixed only for targets
    fuzzed in this run."""
    today = {(f["target"], f["signature"]) for t in targets for f in t["failures"]}
    names = {t["name"] for t in targets}
    before = {(f.get("target"), f.get("signature")) for f in prev.get("failures", [])}
    return (sorted(today - before), sorted(p for p in before - today if p[0] in names),
            sorted(today & before))


def verdict(meta, targets, prev):
    failures = [f for t in targets for f in t["failures"]]
    n = len(failures)
    parts = []
    if meta.get("inject"):
        status = "PASS" if n else "FAIL"
        parts.append(f"the planted mutant {meta['inject']} was "
                     f"{'found' if n else 'not found'} ({n} unique failure(s))")
    else:
        status = "FAIL" if n else "PASS"
        parts.append(f"{n} unique failure(s)" if n else "no failures")
    if prev:
        new, fixed, _ = compare_failures(targets, prev)
        parts.append(f"{len(new)} new, {len(fixed)} fixed since the previous run")
    not_run = [f"{label} on {t['name']}" for t in targets for k, label in ENGINES if not t[k]]
    if not_run:
        status = "FAIL" if status == "FAIL" else "INCOMPLETE"
        parts.append("did not run: " + ", ".join(not_run))
    growing = sum(1 for t in targets if t["growing"])
    parts.append(f"coverage still growing on {growing} of {len(targets)} target(s)")
    parts.append(f"{len(targets)} target(s) × {meta.get('seconds_per_target', '?')} s")
    return status, f"{status}: " + "; ".join(parts) + "."


def prev_figure(prev, target, key, field):
    try:
        return prev["targets"][target][key][field]
    except (KeyError, TypeError):
        return None


def summary_text(out, meta, targets, prev):
    lines = [
        verdict(meta, targets, prev)[1],
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
                 f"{'coverage':<27}{'corpus':>7}")
    for t in targets:
        for key, label in ENGINES:
            x = t[key]
            if not x:
                lines.append(f"{t['name']:<8}{label:<11}{'did not run':>11}")
                continue
            cov = coverage_text(x["edges"], x["total_edges"])
            lines.append(f"{t['name']:<8}{label:<11}{x['execs']:>11.0f}{x['exec_s']:>9.0f}"
                         f"{x['per_core']:>10.0f}  {cov:<27}{x['corpus']:>7}")
            lines.append(f"{'':<19}{x['growth'][1]}")
        s = t["stats"]
        lines.append(f"{'':<8}merged corpus {s.get('merged_corpus', '?')} inputs "
                     f"(libFuzzer -merge=1), {s.get('afl_cmin_corpus', '?')} (afl-cmin); "
                     f"seeds {s.get('seeds', '?')}")
        if int(s.get("unconfirmed_hangs", 0) or 0):
            lines.append(f"{'':<8}{s['unconfirmed_hangs']} hang/oom input(s) ran fine alone "
                         "(machine load): not counted as failures")
    lines.append("exec/s: executions over the whole run divided by its length; coverage: "
                 "edges covered of those instrumented")
    failures = [f for t in targets for f in t["failures"]]
    inputs = sum(int(t["stats"].get("failure_inputs", 0) or 0) for t in targets)
    lines.append("")
    lines.append(f"failures: {len(failures)} unique signature(s) from {inputs} failing input(s)")
    for f in failures:
        lines.append(f"  {f['target']:<6}{f['signature']}  ({f['inputs']} input(s), "
                     f"{f['engines']})")
        lines.append(f"        {f['replay']}")
    lines.append("")
    if prev:
        new, fixed, _ = compare_failures(targets, prev)
        lines.append(f"previous run: {prev.get('started', '?')}, commit {prev.get('commit', '?')}"
                     f" ({prev.get('out', '?')})")
        for label, items in (("new", new), ("fixed", fixed)):
            lines.extend(f"  {label}: {t} {sig}" for t, sig in items)
        for t in targets:
            for key, label in ENGINES:
                p_exec = prev_figure(prev, t["name"], key, "exec_s")
                p_edges = prev_figure(prev, t["name"], key, "edges")
                if t[key] and p_exec is not None:
                    lines.append(f"  {t['name']:<8}{label:<11}exec/s {p_exec:.0f} -> "
                                 f"{t[key]['exec_s']:.0f}, edges {p_edges:.0f} -> "
                                 f"{t[key]['edges']:.0f}")
    else:
        lines.append("previous run: none found (ci/fuzz-campaign.sh --previous)")
    lines.append("")
    lines.append(f"report: {os.path.join(out, 'report', 'index.html')}")
    return "\n".join(lines) + "\n"


CSS = """
body{font-family:sans-serif;max-width:1100px;margin:0 auto;padding:0 12px 2em;line-height:1.4}
#verdict{font-size:1.15em;font-weight:bold;padding:8px 12px;border-radius:4px;margin:12px 0}
#verdict.PASS{background:#e3f4e6}#verdict.FAIL{background:#fbe3e3}
#verdict.INCOMPLETE{background:#fdf3d8}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:4px 0}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td:first-child,th:first-child,td.l,th.l{text-align:left}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap}
code,pre,a,p,li{overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,400px),1fr));
gap:16px}
figure.chart{margin:0;min-width:0}figure.chart svg{display:block;width:100%;height:auto}
figcaption{font-weight:bold}.legend,.note{margin:2px 0;font-size:.9em}.note{color:#555}
.legend span{margin-right:12px}
.key{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:4px}
.fail{border-left:4px solid #d62728;padding-left:8px}.small{font-size:.9em;color:#444}
"""


def link(report_dir, path, label):
    """A relative link from the report to `path`, or plain text when it is absent."""
    if not os.path.exists(path):
        return None
    rel = os.path.relpath(path, report_dir)
    if os.path.isdir(path):
        rel += "/"
    return f'<a href="{html.escape(urllib.parse.quote(rel))}">{html.escape(label)}</a>'


def page(out, meta, targets, prev):
    e = html.escape
    report_dir = os.path.join(out, "report")
    status, line = verdict(meta, targets, prev)
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>netverify fuzz campaign</title>",
        f"<style>{CSS}</style>",
        "</head><body>",
        f'<p id="verdict" class="{status}">{e(line)}</p>',
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
    files = [link(report_dir, os.path.join(out, n), label) for n, label in
             (("build.log", "build log"), ("campaign.tsv", "campaign.tsv"),
              ("report/summary.txt", "summary.txt"), ("report/summary.json", "summary.json"),
              ("failures", "failures/"))]
    body.append(f"<p>Files: {', '.join(f for f in files if f)}.</p>")
    cov = link(report_dir, os.path.join(out, "coverage", "index.html"),
               "source-level coverage report (llvm-cov)")
    body.append(f"<p>{cov}.</p>" if cov else
                "<p>Source-level coverage report: absent (<code>bash ci/coverage.sh --html "
                "OUT/coverage --campaign OUT</code> writes one from this run's corpora, or "
                "<code>ci/fuzz-campaign.sh --coverage</code>; then <code>python3 "
                "ci/fuzz_report.py OUT</code> links it here).</p>")

    failures = [f for t in targets for f in t["failures"]]
    body.append(f"<h2>Failures: {len(failures)} unique</h2>")
    if not failures:
        body.append("<p>None: the engines agreed on every input.</p>")
    new = set(compare_failures(targets, prev)[0]) if prev else set()
    for i, f in enumerate(failures, 1):
        tag = " <b>new</b>" if (f["target"], f["signature"]) in new else ""
        body.append(f'<div class="fail"><h3>{i}. {e(f["target"])}: <code>{e(f["signature"])}'
                    f"</code>{tag}</h3><p>{f['inputs']} failing input(s), found by "
                    f"{e(f['engines'])}. Reproduce:</p><pre>{e(f['replay'])}</pre>")
        kept = link(report_dir, f["file"], os.path.relpath(f["file"], out))
        if f["trace"] is not None:
            body.append(f"<p>Minimized trace ({kept}):</p><pre>{e(f['trace'])}</pre>")
        else:
            body.append(f"<p>Input kept as {kept or e(f['file'])} (netverify does not "
                        "reproduce it; the command above runs the fuzz target on it).</p>")
        body.append("</div>")

    body.append("<h2>Compared with the previous run</h2>")
    if prev:
        body.extend(previous_section(report_dir, targets, prev))
    else:
        body.append("<p>No previous run was found (the campaign keeps the previous run's "
                    "summary as <code>report/previous-summary.json</code>; see "
                    "<code>ci/fuzz-campaign.sh --help</code>, <code>--previous</code>).</p>")

    body.append('<h2>Targets</h2><div class="scroll"><table><tr><th>target</th><th>engine</th>'
                "<th>executions</th><th>exec/s (run average)</th><th>per core</th>"
                '<th>coverage (edges covered/instrumented)</th><th>corpus (inputs)</th>'
                '<th class="l">coverage growth</th></tr>')
    for t in targets:
        for key, label in ENGINES:
            x = t[key]
            if x:
                body.append(f"<tr><td>{e(t['name'])}</td><td>{label}</td><td>{x['execs']:.0f}</td>"
                            f"<td>{x['exec_s']:.0f}</td><td>{x['per_core']:.0f}</td>"
                            f"<td>{e(coverage_text(x['edges'], x['total_edges']))}</td>"
                            f"<td>{x['corpus']}</td><td class=\"l\">{e(x['growth'][1])}</td></tr>")
            else:
                body.append(f"<tr><td>{e(t['name'])}</td><td>{label}</td>"
                            '<td colspan="6" class="l">did not run</td></tr>')
    body.append("</table></div><p class=\"small\">Executions are totals over each engine's "
                "jobs, and exec/s is that total divided by the run's length (the charts show "
                "the rate over a short window). Coverage is in edges: libFuzzer's "
                "<code>cov:</code> of the inline 8-bit counters it loaded (the code in "
                "fuzz/coverage_allowlist.txt: model/, impl/, the ops), AFL++'s "
                "<code>edges_found</code> of the edges its build instrumented (the whole "
                "binary), so the percentages have different denominators. libFuzzer's fork "
                "mode adds up the runs of jobs that end normally: a job stopped by a failure is "
                "not counted, so with many failures libFuzzer's numbers are low.</p>")
    for t in targets:
        body.extend(target_section(out, report_dir, meta, t))
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def previous_section(report_dir, targets, prev):
    e = html.escape
    out = []
    prev_page = os.path.join(prev.get("out", ""), "report", "index.html")
    where = link(report_dir, prev_page, "its report") if prev.get("out") else None
    out.append(f"<p>Previous run: {e(prev.get('started', '?'))}, commit "
               f"<code>{e(prev.get('commit', '?'))}</code>, "
               f"{e(str(prev.get('seconds_per_target', '?')))} s per target"
               f"{' (' + where + ')' if where else ''}.</p>")
    new, fixed, still = compare_failures(targets, prev)
    for label, items in (("New failures", new), ("Fixed (failed then, not now)", fixed),
                         ("Still failing", still)):
        listed = ", ".join(f"{e(t)}: <code>{e(s)}</code>" for t, s in items) or "none"
        out.append(f"<p><b>{label}:</b> {listed}.</p>")
    out.append('<div class="scroll"><table><tr><th>target</th><th>engine</th>'
               "<th>exec/s then</th><th>exec/s now</th><th>edges then</th><th>edges now</th>"
               "<th>corpus then</th><th>corpus now</th></tr>")
    for t in targets:
        for key, label in ENGINES:
            cells = []
            for field, form in (("exec_s", "{:.0f}"), ("edges", "{:.0f}"), ("corpus", "{}")):
                p = prev_figure(prev, t["name"], key, field)
                cells.append(form.format(p) if p is not None else "-")
                cells.append(form.format(t[key][field]) if t[key] else "did not run")
            out.append(f"<tr><td>{e(t['name'])}</td><td>{label}</td>" +
                       "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table></div>")
    return out


def target_section(out, report_dir, meta, t):
    e = html.escape
    s = t["stats"]
    lf, afl = t["libfuzzer"], t["afl"]
    d = os.path.join(out, t["name"])
    body = [f"<h2>{e(t['name'])}</h2>"]
    links = [link(report_dir, path, label) for path, label in (
        (os.path.join(d, "seeds"), "seeds"), (os.path.join(d, "libfuzzer", "fuzz.log"),
                                              "libFuzzer log"),
        (os.path.join(d, "libfuzzer", "corpus"), "libFuzzer corpus"),
        (os.path.join(d, "libfuzzer", "artifacts"), "libFuzzer failing inputs"),
        (os.path.join(d, "afl", "main.log"), "AFL++ log"),
        (os.path.join(d, "afl"), "AFL++ output (queue, crashes, hangs)"),
        (os.path.join(d, "merge.log"), "merge log"), (os.path.join(d, "corpus"), "merged corpus"),
        (os.path.join(d, "corpus-afl"), "afl-cmin corpus"),
        (os.path.join(out, "failures", t["name"]), "triaged failures"))]
    links = [x for x in links if x]
    if links:
        body.append(f"<p>Files: {', '.join(links)}.</p>")
    if not s:
        body.append("<p>No statistics (<code>stats.tsv</code>): the campaign did not get "
                    "this far on this target.</p>")
    else:
        lf_corp = (f"{lf['corpus']} inputs in its last status line (<code>corp:</code>), the "
                   "seeds it kept for their coverage plus the new inputs it found; ") if lf else ""
        body.append(
            f"<p>Seeds {e(s.get('seeds', '?'))} (left out as already failing: "
            f"{e(s.get('seeds_dropped', '0'))}). libFuzzer corpus: {lf_corp}"
            f"{e(s.get('libfuzzer_corpus', '?'))} files in <code>libfuzzer/corpus/</code>, the "
            "new inputs it saved (it does not copy seeds there), so the two counts differ. "
            f"AFL++ queue {e(s.get('afl_queue', '?'))} inputs (every instance's, seeds "
            f"included). Merged: {e(s.get('merged_corpus', '?'))} (libFuzzer -merge=1), "
            f"{e(s.get('afl_cmin_corpus', '?'))} after afl-cmin. Hang or oom inputs that ran "
            f"fine alone (not failures): {e(s.get('unconfirmed_hangs', '0'))}.</p>")
    if not lf and not afl:
        body.append("<p>Neither engine ran on this target: no charts.</p>")
        return body
    tmax = max(x["seconds"] for x in (lf, afl) if x)
    ran = [x for x in (lf, afl) if x]

    def cov_label(x):
        total = f" of {x['total_edges']:.0f}" if x["total_edges"] else ""
        return f"{x['label']}: edges covered{total}"

    windows = ", ".join(f"{x['label']} {x['window']:.0f} s" for x in ran)
    body.append('<div class="charts">')
    body.append(chart("Executions per second", "executions per second",
                      [(f"{x['label']} ({x['instances']})", x["exec_series"], False)
                       for x in ran], tmax,
                      f"The rate over a sliding window ({e(windows)}); the table's exec/s is "
                      "the average over the whole run."))
    body.append(chart("Coverage", "edges covered",
                      [(cov_label(x), x["edge_series"], False) for x in ran], tmax,
                      " ".join(e(x["growth"][1].capitalize()) + f" ({x['label']})."
                               for x in ran) + " " + " ".join(e(x["edge_note"]) for x in ran)))
    body.append(chart("Corpus size", "inputs",
                      [(f"{x['label']}" + (" (main instance's queue)" if x is afl else
                                            " (status line corp:)"), x["corpus_series"],
                        x is afl) for x in ran], tmax))
    body.append(chart("Failing inputs found", "failing inputs (cumulative)",
                      [(label, series, True) for x in ran
                       for label, series in x["failure_series"]], tmax,
                      "Every failing input the engines saved, before triage (the same bug "
                      "found many times counts many times; a hang may be machine load)."))
    body.append("</div>")
    return body


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
    prev = read_previous(out)
    report = os.path.join(out, "report")
    os.makedirs(report, exist_ok=True)
    # The page last: it links the files written before it.
    for name, text in (("summary.txt", lambda: summary_text(out, meta, targets, prev)),
                       ("summary.json", lambda: json.dumps(summary_json(out, meta, targets),
                                                           indent=1) + "\n"),
                       ("index.html", lambda: page(out, meta, targets, prev))):
        tmp = os.path.join(report, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text())
        os.replace(tmp, os.path.join(report, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
