#!/usr/bin/env python3
"""Merge the benchmark's results into tables, goals and chart data.

    report.py [--results DIR] table             the text tables and goals
    report.py [--results DIR] markdown          the generated sections
    report.py [--results DIR] plotdata FILE     data for plot.gp
    report.py [--results DIR] update-doc FILE   rewrite the generated
                                                sections of FILE in place
    report.py merge OUT IN...                   pool the repetitions of
                                                several benchmark runs

DIR (default build-bench/bench-results) holds what the scripts wrote:
machine.json (run.sh), bench.jsonl (the benchmark), redis.jsonl
(redis.sh) and callgrind.jsonl (callgrind.sh); any may be missing. A
generated section of a document sits between the lines
"<!-- BEGIN generated: NAME -->" and "<!-- END generated: NAME -->".
Nothing here judges a timing: the goal table states measured values.
"""
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    return rows


class Results:
    def __init__(self, d):
        self.dir = d
        m = load(os.path.join(d, "machine.json"))
        self.machine = m[0] if m else None
        m = load(os.path.join(d, "callgrind-machine.json"))
        self.cg_machine = m[0] if m else None
        self.bench = load(os.path.join(d, "bench.jsonl"))
        self.redis = load(os.path.join(d, "redis.jsonl"))
        self.cg = load(os.path.join(d, "callgrind.jsonl"))
        self.timed = [r for r in self.bench if "ns_per_op" in r]
        self.pending = [r for r in self.bench if r.get("status") == "pending"]
        self.memory = [r for r in self.bench if r.get("scenario") == "memory"]

    def time(self, scenario, variant, threads=1):
        for r in self.timed + self.redis:
            if r["scenario"] == scenario and r["variant"] == variant and r["threads"] == threads:
                return r
        return None

    def instr(self, scenario, variant):
        for r in self.cg:
            if r["scenario"] == scenario and r["variant"] == variant:
                return r["instructions_per_op"]
        return None

    def mem(self, variant):
        for r in self.memory:
            if r["variant"] == variant:
                return r
        return None

    def is_pending(self, scenario, variant=None):
        return any(r["scenario"] == scenario and (variant is None or r["variant"] == variant)
                   for r in self.pending)

    def raw(self, threads):
        return self.time("raw", "cas", threads)

    def redis_pipe(self):
        return self.time("redis", "pipeline32", 1)


def fnum(v, digits=None):
    """A number for a table: 3 significant digits, thousands separated."""
    if v is None:
        return "-"
    if digits is not None:
        return "%.*f" % (digits, v)
    if v >= 1000:
        return "{:,.0f}".format(v)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def frate(v):
    if v >= 1e6:
        return "%.2f M" % (v / 1e6)
    if v >= 1e3:
        return "%.1f k" % (v / 1e3)
    return "%.0f" % v


# ---- goals ---------------------------------------------------------------------

def goals(R):
    """(goal, target, measured, status) rows."""
    out = []

    def status(ok):
        if ok is None:
            return "not measured"
        return "met" if ok else "NOT met"

    def pend(name, target, why):
        out.append((name, target, "-", "pending: feature not built (%s)" % why))

    # Keyed consume + give-back.
    ki = R.instr("keyed", "uniform")
    kz = R.instr("keyed", "zipf1.1")
    out.append(("keyed consume + give-back, instructions per pair", "<= 400",
                "%s (uniform), %s (Zipf 1.1)" % (fnum(ki), fnum(kz)) if ki else "-",
                status(None if ki is None else ki <= 400)))
    kt = R.time("keyed", "uniform", 1)
    kzt = R.time("keyed", "zipf1.1", 1)
    out.append(("keyed consume + give-back, ns per pair (1 thread)", "< 100 ns",
                "%s ns (uniform; min %s, max %s), %s ns (Zipf 1.1)" % (
                    fnum(kt["ns_per_op"]), fnum(kt["ns_min"]), fnum(kt["ns_max"]),
                    fnum(kzt["ns_per_op"]) if kzt else "-") if kt else "-",
                status(None if kt is None else kt["ns_per_op"] < 100)))
    # Handle versus raw.
    h, raw = R.time("handle", "consume+give_back", 1), R.raw(1)
    if h and raw:
        x = h["ns_per_op"] / raw["ns_per_op"]
        out.append(("handle consume + give-back versus atomic raw (1 thread)", "<= 3x",
                    "%.2fx (%s ns vs %s ns; %s instructions vs %s)" % (
                        x, fnum(h["ns_per_op"]), fnum(raw["ns_per_op"]),
                        fnum(R.instr("handle", "consume+give_back")), fnum(R.instr("raw", "cas"))),
                    status(x <= 3)))
    else:
        out.append(("handle consume + give-back versus atomic raw (1 thread)", "<= 3x", "-",
                    status(None)))
    # Named acquire + release.
    ai = R.instr("claim", "acquire+release-1req")
    out.append(("named acquire + release (1 request), instructions per cycle", "<= 2,500",
                fnum(ai) if ai else "-", status(None if ai is None else ai <= 2500)))

    # Scaling.
    def scaling(variant):
        a, b = R.time("contention", variant, 1), R.time("contention", variant, 2)
        if not a or not b:
            return None, "-"
        x = b["ops_per_s"] / a["ops_per_s"]
        return x, "%.2fx (%s -> %s ops/s)" % (x, frate(a["ops_per_s"]), frate(b["ops_per_s"]))

    x, txt = scaling("disjoint-keyed/default")
    out.append(("2 threads on disjoint keys versus 1 thread", ">= 1.7x", txt,
                status(None if x is None else x >= 1.7)))
    a, b = R.time("contention", "disjoint-keyed/default", 2), R.time(
        "contention", "disjoint-keyed/1stripe", 2)
    if a and b:
        x = a["ops_per_s"] / b["ops_per_s"]
        out.append(("default stripes versus one stripe, 2 threads (disjoint keys)", ">= 1.5x",
                    "%.2fx (%s vs %s ops/s)" % (x, frate(a["ops_per_s"]), frate(b["ops_per_s"])),
                    status(x >= 1.5)))
    else:
        out.append(("default stripes versus one stripe, 2 threads (disjoint keys)", ">= 1.5x",
                    "-", status(None)))
    a, b = R.time("raw", "cas-shared", 1), R.time("raw", "cas-shared", 2)
    floor = "; raw cas on one shared counter: %.2fx" % (b["ops_per_s"] / a["ops_per_s"]) \
        if a and b else ""
    x, txt = scaling("hot-keyed/default")
    out.append(("one hot bucket, 2 threads versus 1 (by key)", ">= 0.5x", txt + floor,
                status(None if x is None else x >= 0.5)))
    x, txt = scaling("hot-handle/default")
    out.append(("one hot bucket, 2 threads versus 1 (shared handle)", ">= 0.5x", txt + floor,
                status(None if x is None else x >= 0.5)))
    # Memory.
    for variant, limit in (("bucket", 256), ("claim", 384)):
        m = R.mem(variant)
        if m:
            v = m["bytes_per_object_names_excluded"]
            out.append(("memory per %s at %s, names excluded" % (variant, "{:,}".format(m["objects"])),
                        "<= %d B" % limit,
                        "%s B resident (%s B heap; names %s B)" % (
                            fnum(v, 0), fnum(m["heap_bytes_per_object_names_excluded"], 0),
                            fnum(m["name_bytes_per_object"], 0)),
                        status(v <= limit)))
        else:
            out.append(("memory per %s, names excluded" % variant, "<= %d B" % limit, "-",
                        status(None)))
    # Pending features.
    if R.is_pending("admit"):
        pend("policy admission, instructions", "<= 100,000", "policy admission")
    else:
        ni = R.instr("admit", "json-2KB-3c-2t")
        out.append(("policy admission (2 KB JSON parsed, 3 constraints, 2 templates, release), "
                    "instructions", "<= 100,000", fnum(ni) if ni else "-",
                    status(None if ni is None else ni <= 100000)))
    mem_ar, none, batch = (R.time("claim", "acquire+release-1req", 1),
                           R.time("journal", "sync-none", 1), R.time("journal", "sync-batch", 1))
    if mem_ar and none:
        x = none["ops_per_s"] / mem_ar["ops_per_s"]
        out.append(("journal sync none versus in-memory acquire + release", ">= 50%",
                    "%.0f%% (%s vs %s pairs/s)" % (100 * x, frate(none["ops_per_s"]),
                                                   frate(mem_ar["ops_per_s"])),
                    status(x >= 0.5)))
    else:
        pend("journal sync none versus in-memory acquire + release", ">= 50%", "journal")
    if batch:
        out.append(("journal sync batch", ">= 100,000 ops/s",
                    "%s pairs/s" % frate(batch["ops_per_s"]),
                    status(batch["ops_per_s"] >= 100000)))
    else:
        pend("journal sync batch", ">= 100,000 ops/s", "journal")
    # Redis.
    rp = R.redis_pipe()
    if kt and rp:
        x = kt["ops_per_s"] / rp["ops_per_s"]
        out.append(("keyed ops/s on one core versus Redis pipelined ops/s", ">= 100x",
                    "%.0fx (%s pairs/s vs %s check-and-adds/s)" % (
                        x, frate(kt["ops_per_s"]), frate(rp["ops_per_s"])),
                    status(x >= 100)))
    else:
        out.append(("keyed ops/s on one core versus Redis pipelined ops/s", ">= 100x", "-",
                    status(None)))
    return out


# ---- tables --------------------------------------------------------------------

def results_rows(R):
    """Rows of the main table, in run order, with Redis at the end."""
    rp = R.redis_pipe()
    rows = []
    for r in R.bench + R.redis:
        if r.get("status") == "pending":
            rows.append([r["scenario"], r["variant"], str(r["threads"]), "", "", "pending: feature not built",
                         "", "", "", "", ""])
            continue
        if "ns_per_op" not in r:
            continue
        raw = R.raw(r["threads"])
        xraw = "%.2f" % (r["ns_per_op"] / raw["ns_per_op"]) if raw and r["scenario"] != "redis" else "-"
        xred = "%.1f" % (r["ops_per_s"] / rp["ops_per_s"]) if rp else "-"
        stripes = str(r.get("stripes") or "-")
        if r["scenario"] == "redis":
            stripes = "P%d" % r.get("pipeline", 1)
        rows.append([r["scenario"], r["variant"], str(r["threads"]), stripes,
                     "{:,}".format(r["ops"]), fnum(r["ns_per_op"]), fnum(r["ns_min"]),
                     fnum(r["ns_max"]), frate(r["ops_per_s"]), xraw, xred])
    return rows


RESULT_HEAD = ["scenario", "variant", "threads", "stripes", "ops/rep", "ns/op (median)", "min",
               "max", "ops/s", "x raw", "x Redis"]


def md_table(head, rows, align=None):
    align = align or ["---"] * len(head)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def text_table(head, rows):
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i])
              for i in range(len(head))]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(out)


def memory_rows(R):
    return [[m["variant"], "{:,}".format(m["objects"]), fnum(m["rss_bytes_per_object"], 1),
             fnum(m["heap_bytes_per_object"], 1), fnum(m["name_bytes_per_object"], 1),
             fnum(m["bytes_per_object_names_excluded"], 1),
             fnum(m["heap_bytes_per_object_names_excluded"], 1), fnum(m["ns_per_object"], 0)]
            for m in R.memory]


MEMORY_HEAD = ["object", "count", "RSS B/object", "heap B/object", "name B/object",
               "RSS B/object, names excluded", "heap B/object, names excluded", "ns to create"]


def instr_rows(R):
    rows = []
    for r in R.cg:
        t = R.time(r["scenario"], r["variant"], 1)
        rows.append([r["scenario"], r["variant"], r["unit"], "{:,}".format(r["ops"]),
                     "{:,.1f}".format(r["instructions_per_op"]),
                     fnum(t["ns_per_op"]) if t else "-"])
    return rows


INSTR_HEAD = ["scenario", "variant", "one op is", "ops counted", "instructions/op",
              "ns/op (timed run)"]


def machine_md(R):
    m = R.machine
    if not m:
        return "(machine not recorded)"
    return "\n".join([
        "- CPU: %s, %d CPUs%s" % (m["cpu"], m["cpus"],
                                  " (%s)" % m["virtualization"] if m.get("virtualization") else ""),
        "- Kernel: %s; %s; %s" % (m["kernel"], m["libc"], m["compiler"]),
        "- libquota commit %s, built with `-Dbuildtype=release` (`-O3`)" % m["commit"],
        "- %s run(s) of the benchmark, pooled: %s timed repetitions per case" % (
            R.timed[0].get("runs", 1) if R.timed else "?",
            R.timed[0].get("reps", "?") if R.timed else "?"),
        "- Run: %s; load average (1, 5, 15 min) %s before, %s after" % (
            m["date"], m.get("load_before") or "?", m.get("load_after") or "?"),
    ])


def sections(R):
    s = {}
    s["machine"] = machine_md(R)
    s["results"] = md_table(RESULT_HEAD, results_rows(R),
                            ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:",
                             "---:", "---:", "---:"])
    s["memory"] = md_table(MEMORY_HEAD, memory_rows(R),
                           ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]) \
        if R.memory else "(not measured)"
    s["instructions"] = md_table(INSTR_HEAD, instr_rows(R),
                                 ["---", "---", "---", "---:", "---:", "---:"]) \
        if R.cg else "(not measured: run tests/bench/run.sh --callgrind)"
    if R.cg and R.cg_machine:
        s["instructions"] += "\n\nCounted %s at commit %s." % (R.cg_machine["date"],
                                                              R.cg_machine["commit"])
    s["goals"] = md_table(["goal", "target", "measured", "status"],
                          [list(g) for g in goals(R)])
    return s


def update_doc(path, secs):
    with open(path) as f:
        text = f.read()
    for name, body in secs.items():
        pat = re.compile(r"(<!-- BEGIN generated: %s -->\n).*?(<!-- END generated: %s -->)"
                         % (re.escape(name), re.escape(name)), re.S)
        if not pat.search(text):
            print("report.py: %s has no generated section %s" % (path, name), file=sys.stderr)
            continue
        text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    with open(path, "w") as f:
        f.write(text)


def plot_label(scenario, variant):
    label = "%s/%s" % (scenario, variant)
    for a, b in (("/consume+give_back", ""), ("acquire+release", "acq+rel"),
                 ("reserve+commit+release", "res+com+rel"), ("contention/", "cont/"),
                 ("-keyed", ""), ("/default", "")):
        label = label.replace(a, b)
    return label


def plotdata(R, path):
    """Two blocks: (label, ns at 1 thread, ns at 2 threads) for every case
    and the Redis reference; (label, ops/s at 2 threads / at 1 thread) for
    the cases measured at both."""
    seen = []
    for r in R.timed:
        key = (r["scenario"], r["variant"])
        if key not in seen:
            seen.append(key)
    with open(path, "w") as f:
        f.write("# label ns1 ns2\n")
        for sc, v in seen:
            a, b = R.time(sc, v, 1), R.time(sc, v, 2)
            f.write('"%s" %s %s\n' % (plot_label(sc, v), "%.3f" % a["ns_per_op"] if a else "?",
                                      "%.3f" % b["ns_per_op"] if b else "?"))
        for r in R.redis:
            f.write('"redis/%s" %.3f ?\n' % (r["variant"], r["ns_per_op"]))
        f.write("\n\n# label scaling\n")
        for sc, v in seen:
            a, b = R.time(sc, v, 1), R.time(sc, v, 2)
            if a and b:
                f.write('"%s" %.3f\n' % (plot_label(sc, v), b["ops_per_s"] / a["ops_per_s"]))


def merge(out, inputs):
    """Pool several runs of the benchmark: per case, the median, min and max
    over every repetition of every run (a noisy minute then spoils a few
    repetitions of each case rather than all of one); memory results take
    the median of the runs; pending cases are listed once."""
    import statistics
    runs = [load(p) for p in inputs]
    order, groups = [], {}
    for run in runs:
        for r in run:
            key = (r.get("scenario"), r.get("variant"), r.get("threads"), r.get("stripes"),
                   r.get("status"), r.get("mode"))
            if key not in groups:
                order.append(key)
                groups[key] = []
            groups[key].append(r)
    with open(out, "w") as f:
        for key in order:
            rs = groups[key]
            m = dict(rs[0])
            if "samples" in m:
                pooled = [x for r in rs for x in r.get("samples", [])]
                pooled.sort()
                med = statistics.median(pooled)
                m.update({"reps": len(pooled), "runs": len(rs), "ns_per_op": round(med, 3),
                          "ns_min": pooled[0], "ns_max": pooled[-1],
                          "ops_per_s": round(1e9 * m["threads"] / med),
                          "run_medians": [r["ns_per_op"] for r in rs], "samples": pooled})
                m.pop("x_raw", None)
                m.pop("x_redis", None)
            elif m.get("scenario") == "memory":
                for k in list(m):
                    if k.endswith("_per_object") or k.endswith("names_excluded"):
                        m[k] = round(statistics.median(r[k] for r in rs), 1)
                m["runs"] = len(rs)
            f.write(json.dumps(m, separators=(",", ":")) + "\n")


def main(argv):
    d = os.path.join(ROOT, "build-bench", "bench-results")
    if len(argv) > 2 and argv[1] == "--results":
        d = argv[2]
        argv = [argv[0]] + argv[3:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "merge" and len(argv) > 3:
        merge(argv[2], argv[3:])
        return 0
    R = Results(d)
    if cmd == "table":
        print(text_table(RESULT_HEAD, results_rows(R)))
        if R.memory:
            print()
            print(text_table(MEMORY_HEAD, memory_rows(R)))
        if R.cg:
            print()
            print(text_table(INSTR_HEAD, instr_rows(R)))
        print()
        print(text_table(["goal", "target", "measured", "status"], [list(g) for g in goals(R)]))
    elif cmd == "markdown":
        for name, body in sections(R).items():
            print("<!-- BEGIN generated: %s -->\n%s\n<!-- END generated: %s -->\n" % (name, body, name))
    elif cmd == "plotdata" and len(argv) > 2:
        plotdata(R, argv[2])
    elif cmd == "update-doc" and len(argv) > 2:
        update_doc(argv[2], sections(R))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
