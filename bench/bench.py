#!/usr/bin/python3
"""Times nnheat against its own forward pass, ONNX Runtime and the NumPy
reference, and prints the table and the ratios of issue 5. Run by
bench/run.sh, which builds nnheat and makes the models and samples first.

    bench.py --nnheat BIN --data DIR --out DIR [--reps 3] [--threads T]
             [--samples 10000] [--vgg-reference 1000]
             [--sizes 1000,10000,100000] [--scaling mlp]

Every measurement is one child process, timed from spawn to exit; its CPU
time and peak resident memory come from wait4(2) (for nnheat costs also its
own closing line "peak memory X MB"). The repetitions are interleaved
(every measurement once, then every one again) so that a slow spell of the
machine hits them all alike; the table shows medians.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
FASHION = os.path.join(os.path.dirname(HERE), "examples", "fashion_mnist", "model.onnx")
IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def mem_total_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def limit_memory():
    """The reference holds every activation of every sample: keep it from
    taking the whole machine (it then fails with MemoryError instead)."""
    lim = int(mem_total_kb() * 1024 * 0.7)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))


def busy_seconds():
    """CPU seconds the whole machine has spent busy since boot."""
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def spawn(cmd, stdout_path, stderr_path, limit=False, env=None):
    """Runs cmd; returns (wall s, cpu s, system cpu s, peak rss MB, exit code,
    cores that other processes kept busy meanwhile)."""
    full_env = dict(os.environ, **env) if env else None
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        b0 = busy_seconds()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env,
                             preexec_fn=limit_memory if limit else None)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        busy = busy_seconds() - b0
    p.returncode = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    others = max(0.0, busy - cpu) / wall if wall > 0 else 0.0
    return wall, cpu, ru.ru_stime, ru.ru_maxrss / 1024.0, p.returncode, others


class Bench:
    def __init__(self, args):
        self.a = args
        self.tmp = args.out
        self.meas = {}     # key -> {"cmd", "runs": [...], ...}
        self.order = []

    def add(self, key, cmd, limit=False, keep=None, env=None):
        """A measurement; keep names a file (the --json output) to keep from
        the first repetition; env holds extra environment variables."""
        if key not in self.meas:
            self.meas[key] = {"cmd": cmd, "runs": [], "limit": limit, "keep": keep,
                              "env": env}
            self.order.append(key)

    def run_all(self, reps):
        total = len(self.order) * reps
        done = 0
        for r in range(reps):
            for key in self.order:
                m = self.meas[key]
                done += 1
                so = os.path.join(self.tmp, f"{key}.out")
                se = os.path.join(self.tmp, f"{key}.err")
                wall, cpu, sys_s, rss, rc, others = spawn(m["cmd"], so, se, m["limit"],
                                                          m["env"])
                with open(se, errors="replace") as f:
                    err = f.read()
                with open(so, errors="replace") as f:
                    out = f.read()
                run = {"wall": wall, "cpu": cpu, "sys": sys_s, "rss_mb": rss, "rc": rc,
                       "others": others}
                pm = re.search(r"peak memory ([0-9.]+) MB", err)
                if pm:
                    run["nnheat_peak_mb"] = float(pm.group(1))
                if key.startswith("ort"):
                    try:
                        run["ort"] = json.loads(out.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        pass
                if rc != 0:
                    run["error"] = err.strip().splitlines()[-3:]
                    print(f"  [{done}/{total}] {key}: FAILED (exit {rc}): "
                          f"{' | '.join(run['error'])}", file=sys.stderr)
                else:
                    print(f"  [{done}/{total}] {key}: {wall:.2f} s (other processes: "
                          f"{others:.1f} cores)", file=sys.stderr)
                m["runs"].append(run)
                if m["keep"] and r == 0 and rc == 0:
                    os.replace(m["keep"], m["keep"] + ".kept")

    def med(self, key, field="wall"):
        runs = [r for r in self.meas[key]["runs"] if r["rc"] == 0 and field in r]
        if not runs:
            return None
        return statistics.median(r[field] for r in runs)

    def ok(self, key):
        return key in self.meas and any(r["rc"] == 0 for r in self.meas[key]["runs"])


def num(v):
    return f"{v:.2g}" if isinstance(v, float) else str(v)


def fmt(v, unit="", digits=2):
    if v is None:
        return "-"
    return f"{v:.{digits}f}{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nnheat", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--vgg-reference", type=int, default=1000)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--scaling", default="mlp")
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    nh, d, T, N = args.nnheat, args.data, args.threads, args.samples
    sizes = [int(s) for s in args.sizes.split(",")]
    models = {"fashion": FASHION, "mlp": f"{d}/mlp.onnx", "vgg": f"{d}/vgg.onnx"}
    b = Bench(args)
    o = args.out

    def x(m, n):
        return f"{d}/{m}_x{n}.npy"

    def p(m, n):
        return f"{d}/{m}_p{n}.npy"

    def costs(key, m, n, t, env=None):
        b.add(key, [nh, "costs", models[m], "-i", x(m, n), "-p", p(m, n), "-t", str(t),
                    "--batch", str(args.batch), "--json", f"{o}/{key}.json"],
              keep=f"{o}/{key}.json", env=env)

    # --- main comparison, every model at N samples, T threads
    ref_n = {"fashion": N, "mlp": N, "vgg": min(N, args.vgg_reference)}
    for m in models:
        costs(f"costs_{m}", m, N, T)
        for role, f in (("x", x(m, N)), ("p", p(m, N))):
            b.add(f"run_{m}_{role}", [nh, "run", models[m], "-i", f, "-o", "/dev/null",
                                      "--batch", str(args.batch), "-q"])
        b.add(f"ort_{m}", ["node", f"{HERE}/ort_run.js", models[m], str(T), str(args.batch),
                           x(m, N), p(m, N)])
        if ref_n[m] != N:
            costs(f"costs_{m}_ref{ref_n[m]}", m, ref_n[m], T)
        b.add(f"ref_{m}", [PY, f"{HERE}/reference.py", models[m], "-i", x(m, ref_n[m]),
                           "-p", p(m, ref_n[m]), "--json", f"{o}/ref_{m}.json"],
              limit=True, keep=f"{o}/ref_{m}.json")
    # --- one thread against T, for identical results and the speed-up
    for m in models:
        n = ref_n[m]
        if n == N:
            costs(f"costs_{m}_t1", m, n, 1)
        else:
            costs(f"costs_{m}_ref{n}_t1", m, n, 1)
    # --- the forward passes at one thread too (fashion and mlp at N, vgg at
    # its reference size): `nnheat run` has no -t, OMP_THREAD_LIMIT=1 keeps
    # it to one thread
    one = {"OMP_THREAD_LIMIT": "1"}
    for m in models:
        n = ref_n[m]
        for role, f in (("x", x(m, n)), ("p", p(m, n))):
            b.add(f"run1_{m}_{role}", [nh, "run", models[m], "-i", f, "-o", "/dev/null",
                                       "--batch", str(args.batch), "-q"], env=one)
        b.add(f"ort1_{m}", ["node", f"{HERE}/ort_run.js", models[m], "1", str(args.batch),
                            x(m, n), p(m, n)])
        if n != N:
            for role, f in (("x", x(m, n)), ("p", p(m, n))):
                b.add(f"run_{m}_{role}_ref{n}", [nh, "run", models[m], "-i", f, "-o",
                                                 "/dev/null", "--batch", str(args.batch),
                                                 "-q"])
            b.add(f"ort_{m}_ref{n}", ["node", f"{HERE}/ort_run.js", models[m], str(T),
                                      str(args.batch), x(m, n), p(m, n)])
    # --- diagnosis: T threads that sleep instead of spinning while they wait
    if T > 1:
        for m in models:
            n = ref_n[m]
            costs(f"passive_{m}", m, n, T, env={"OMP_WAIT_POLICY": "passive"})
    # --- scaling: the scaling model at every size, 1 and T threads
    sm = args.scaling
    for n in sizes:
        for t in sorted({1, T}):
            key = f"scale_{sm}_{n}_t{t}"
            if n == N and t == T:
                key = f"costs_{sm}"
            elif n == N and t == 1 and ref_n[sm] == N:
                key = f"costs_{sm}_t1"
            costs(key, sm, n, t)

    load0 = os.getloadavg()
    start = time.time()
    busy0 = busy_seconds()
    b.run_all(args.reps)
    elapsed = time.time() - start
    own = sum(r["cpu"] for m in b.meas.values() for r in m["runs"])
    others_mean = max(0.0, busy_seconds() - busy0 - own) / elapsed
    load1 = os.getloadavg()

    # --- checks that are not timed
    checks = {}
    # the .npy of the images is what nnheat reads from the IDX file
    idx_json = f"{o}/fashion_idx.json"
    subprocess.run([nh, "costs", FASHION, "-i", IMAGES, "--scale", "1/255", "-n", str(N),
                    "-p", p("fashion", N), "-t", str(T), "-q", "--json", idx_json],
                   check=False)

    def layers_of(path):
        try:
            with open(path) as f:
                return json.load(f)["layers"]
        except (OSError, ValueError, KeyError):
            return None
    checks["fashion_idx_same_as_npy"] = (
        layers_of(idx_json) is not None
        and layers_of(idx_json) == layers_of(f"{o}/costs_fashion.json.kept"))
    # both runtimes compute the same outputs
    for m in models:
        a_npy, b_npy = f"{o}/nh_out_{m}.npy", f"{o}/ort_out_{m}.npy"
        subprocess.run([nh, "run", models[m], "-i", x(m, N), "-o", a_npy, "-q"], check=False)
        subprocess.run(["node", f"{HERE}/ort_run.js", models[m], str(T), str(args.batch),
                        x(m, N), "--out", b_npy], check=False, stdout=subprocess.DEVNULL)
        try:
            import numpy as np
            A, B = np.load(a_npy), np.load(b_npy)
            checks[f"ort_max_abs_diff_{m}"] = float(np.abs(A - B).max())
            checks[f"ort_max_abs_out_{m}"] = float(np.abs(A).max())
        except (OSError, ValueError) as e:
            checks[f"ort_max_abs_diff_{m}"] = f"failed: {e}"
    # identical JSON for 1 and T threads
    same = {}
    for m in models:
        n = ref_n[m]
        k1 = f"costs_{m}_t1" if n == N else f"costs_{m}_ref{n}_t1"
        kt = f"costs_{m}" if n == N else f"costs_{m}_ref{n}"
        try:
            with open(f"{o}/{k1}.json.kept", "rb") as f1, open(f"{o}/{kt}.json.kept", "rb") as f2:
                same[m] = f1.read() == f2.read()
        except OSError:
            same[m] = None
    for n in sizes:
        k1 = f"scale_{sm}_{n}_t1"
        kt = f"scale_{sm}_{n}_t{T}"
        if n == N:
            kt = f"costs_{sm}"
            k1 = f"costs_{sm}_t1" if ref_n[sm] == N else k1
        if T == 1:
            continue
        try:
            with open(f"{o}/{k1}.json.kept", "rb") as f1, open(f"{o}/{kt}.json.kept", "rb") as f2:
                same[f"{sm}_{n}"] = f1.read() == f2.read()
        except OSError:
            same[f"{sm}_{n}"] = None
    # the reference against nnheat
    agree = {}
    for m in models:
        n = ref_n[m]
        kt = f"costs_{m}" if n == N else f"costs_{m}_ref{n}"
        rj, nj = f"{o}/ref_{m}.json.kept", f"{o}/{kt}.json.kept"
        if not (os.path.exists(rj) and os.path.exists(nj)):
            agree[m] = None
            continue
        print(f"\nreference against nnheat, {m}, {n} samples:", flush=True)
        cj = f"{o}/compare_{m}.json"
        subprocess.run([PY, f"{HERE}/compare.py", rj, nj, "--json", cj, "--explain", nh,
                        models[m], x(m, n), p(m, n)], check=False)
        with open(cj) as f:
            agree[m] = json.load(f)

    # --- the table
    L = []
    pr = L.append
    pr("")
    pr(f"nnheat benchmark, {datetime.date.today().isoformat()}, {os.cpu_count()} cores "
       f"({cpu_model()}), {mem_total_kb() // 1024 // 1024} GB; {T} threads, batch "
       f"{args.batch}; medians of {args.reps} runs; {elapsed / 60:.1f} min; other processes "
       f"kept {others_mean:.2f} of the {os.cpu_count()} cores busy on average (load average "
       f"{load0[0]:.2f} before, {load1[0]:.2f} after)")
    pr("")
    pr("Times in seconds (wall, spawn to exit); peak memory in MB. When other processes "
       "use the cores, the wall times of multi-threaded runs suffer most; "
       "results.json holds every run with the cores that others kept busy meanwhile.")
    pr("")
    hdr = (f"| {'model':8} | {'samples':>7} | {'costs':>7} | {'forward':>7} | {'ORT':>7} | "
           f"{'ORT run':>7} | {'ref n':>6} | {'ref':>7} | {'costs@ref n':>11} | "
           f"{'costs MB':>8} | {'fwd MB':>6} | {'ORT MB':>6} | {'ref MB':>7} |")
    pr(hdr)
    pr("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    R = {}

    def ort_inner(key):
        runs = [r["ort"]["run_s"] for r in b.meas[key]["runs"] if "ort" in r]
        return statistics.median(runs) if runs else None

    def fwd(kx, kp):
        fx, fp = b.med(kx), b.med(kp)
        return fx + fp if fx is not None and fp is not None else None
    for m in models:
        n = ref_n[m]
        c = b.med(f"costs_{m}")
        fx, fp = b.med(f"run_{m}_x"), b.med(f"run_{m}_p")
        fw = fx + fp if fx is not None and fp is not None else None
        ort = b.med(f"ort_{m}")
        ort_run = ort_inner(f"ort_{m}")
        ref = b.med(f"ref_{m}")
        cref = c if n == N else b.med(f"costs_{m}_ref{n}")
        R[m] = {"costs": c, "forward": fw, "ort": ort, "ort_run": ort_run, "ref": ref,
                "costs_at_ref_n": cref, "ref_n": n,
                "costs_mb": b.med(f"costs_{m}", "nnheat_peak_mb"),
                "fwd_mb": max(filter(None, [b.med(f"run_{m}_x", "rss_mb"),
                                            b.med(f"run_{m}_p", "rss_mb")]), default=None),
                "ort_mb": b.med(f"ort_{m}", "rss_mb"), "ref_mb": b.med(f"ref_{m}", "rss_mb")}
        r = R[m]
        pr(f"| {m:8} | {N:>7} | {fmt(c):>7} | {fmt(fw):>7} | {fmt(ort):>7} | "
           f"{fmt(ort_run):>7} | {n:>6} | {fmt(ref):>7} | {fmt(cref):>11} | "
           f"{fmt(r['costs_mb'], '', 0):>8} | {fmt(r['fwd_mb'], '', 0):>6} | "
           f"{fmt(r['ort_mb'], '', 0):>6} | {fmt(r['ref_mb'], '', 0):>7} |")
    pr("")
    pr("costs: `nnheat costs` (Landauer + independent Mismatch), input and optimal samples. "
       "forward: `nnheat run -o /dev/null` over the input file plus the same over the "
       "optimal file (two processes). ORT: one node process running both files through "
       "one session; ORT run: the same without node's start and the session's creation. "
       f"ref: bench/reference.py; for vgg on {ref_n['vgg']} other samples (it holds "
       "every activation in memory), compared with nnheat costs on those (costs@ref n).")
    pr("")
    pr("The same comparisons at 1 thread (`costs -t 1`, `nnheat run` with "
       "OMP_THREAD_LIMIT=1, ORT with 1 intra-op thread), and at "
       f"{T} threads with OMP_WAIT_POLICY=passive (waiting threads sleep instead of "
       "spinning); vgg on its smaller sample set:")
    pr("")
    hdr = (f"| {'model':8} | {'samples':>7} | {'threads':>12} | {'costs':>7} | "
           f"{'costs CPU':>9} | {'forward':>7} | {'ORT':>7} | {'ORT run':>7} | "
           f"{'costs/fwd':>9} | {'fwd/ORT':>7} | {'fwd sys':>7} |")
    pr(hdr)
    pr("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    R1 = {}

    def sys_share(kx, kp):
        """The share of the forward passes' CPU time spent in the kernel."""
        c = [b.med(k, "cpu") for k in (kx, kp)]
        y = [b.med(k, "sys") for k in (kx, kp)]
        if None in c or None in y or not sum(c):
            return None
        return sum(y) / sum(c)
    for m in models:
        n = ref_n[m]
        small = "" if n == N else f"_ref{n}"
        kt = (f"run_{m}_x{small}", f"run_{m}_p{small}")
        rows1 = [("1", f"costs_{m}{small}_t1", ("run1_" + m + "_x", "run1_" + m + "_p"),
                  f"ort1_{m}"),
                 (str(T), f"costs_{m}{small}", kt, f"ort_{m}{small}")]
        if T > 1:
            rows1.append((f"{T} passive", f"passive_{m}", kt, f"ort_{m}{small}"))
        for label, ck, fk, ok in rows1:
            c, cc, ort, ortr = b.med(ck), b.med(ck, "cpu"), b.med(ok), ort_inner(ok)
            fw, sh = fwd(*fk), sys_share(*fk)
            R1[(m, label)] = {"costs": c, "costs_cpu": cc, "forward": fw, "ort": ort,
                              "ort_run": ortr, "samples": n, "forward_sys_share": sh}
            cf = c / fw if c and fw else None
            fo = fw / ort if fw and ort else None
            pr(f"| {m:8} | {n:>7} | {label:>12} | {fmt(c):>7} | {fmt(cc):>9} | "
               f"{fmt(fw):>7} | {fmt(ort):>7} | {fmt(ortr):>7} | {fmt(cf):>9} | "
               f"{fmt(fo):>7} | {fmt(sh * 100 if sh is not None else None, ' %', 0):>7} |")
    pr("")
    pr("fwd sys: the share of `nnheat run`'s CPU time spent in the kernel, most of it "
       "page faults: `nnheat run` sets up its buffers anew for every batch, `nnheat costs` "
       "once. costs/fwd would be higher against a forward pass without that.")
    pr("")
    pr(f"Scaling ({sm}, `nnheat costs`, input and as many optimal samples):")
    pr("")
    hdr = (f"| {'samples':>7} | {'threads':>7} | {'time s':>7} | {'us/sample':>9} | "
           f"{'CPU s':>7} | {'peak MB':>7} |")
    pr(hdr)
    pr("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    S = {}

    def skey(n, t):
        if n == N and t == T:
            return f"costs_{sm}"
        if n == N and t == 1 and ref_n[sm] == N:
            return f"costs_{sm}_t1"
        return f"scale_{sm}_{n}_t{t}"
    for n in sizes:
        for t in sorted({1, T}):
            k = skey(n, t)
            w = b.med(k)
            S[(n, t)] = {"wall": w, "cpu": b.med(k, "cpu"), "mb": b.med(k, "nnheat_peak_mb")}
            pr(f"| {n:>7} | {t:>7} | {fmt(w):>7} | "
               f"{fmt(w / n * 1e6 if w else None, '', 1):>9} | {fmt(S[(n, t)]['cpu']):>7} | "
               f"{fmt(S[(n, t)]['mb'], '', 1):>7} |")
    pr("")

    # --- ratios against the targets
    def ratio(a, c):
        return a / c if a is not None and c else None
    rows = []

    def target(name, value, goal, ok, note=""):
        rows.append((name, value, goal, ok, note))
    def one(m, field):
        r = R1.get((m, "1"), {})
        return r.get(field)
    for m in models:
        v = ratio(R[m]["costs"], R[m]["forward"])
        v1 = ratio(one(m, "costs"), one(m, "forward"))
        sh = one(m, "forward_sys_share")
        v2 = ratio(v1, 1 - sh) if v1 is not None and sh is not None else None
        target(f"costs / forward, {m}", fmt(v), "<= 2", v is not None and v <= 2,
               f"{fmt(v1)} at 1 thread ({ref_n[m]} samples), about {fmt(v2)} without the "
               f"forward's system time")
    for m in models:
        v = ratio(R[m]["forward"], R[m]["ort"])
        v2 = ratio(R[m]["forward"], R[m]["ort_run"])
        v1 = ratio(one(m, "forward"), one(m, "ort"))
        target(f"nnheat forward / ORT, {m}", fmt(v), "<= 1.5", v is not None and v <= 1.5,
               f"{fmt(v2)} against ORT's run time alone; {fmt(v1)} at 1 thread")
    for m in models:
        v = ratio(R[m]["ref"], R[m]["costs_at_ref_n"])
        v1 = ratio(R[m]["ref"], one(m, "costs"))
        target(f"reference / costs, {m}", fmt(v, "", 1), ">= 10", v is not None and v >= 10,
               f"{R[m]['ref_n']} samples; {fmt(v1, '', 1)} against costs -t 1")
    for m in models:
        n = ref_n[m]
        k1 = f"costs_{m}_t1" if n == N else f"costs_{m}_ref{n}_t1"
        kt = f"costs_{m}" if n == N else f"costs_{m}_ref{n}"
        v = ratio(b.med(k1), b.med(kt))
        vp = ratio(b.med(k1), b.med(f"passive_{m}")) if T > 1 else None
        target(f"time 1 thread / {T} threads, {m}", fmt(v), ">= 1.7",
               v is not None and v >= 1.7,
               f"{n} samples; {fmt(vp)} with OMP_WAIT_POLICY=passive")
    for n in sizes:
        if (n, 1) in S and (n, T) in S and T != 1:
            v = ratio(S[(n, 1)]["wall"], S[(n, T)]["wall"])
            target(f"time 1 thread / {T} threads, {sm} {n}", fmt(v), ">= 1.7",
                   v is not None and v >= 1.7)
    for k, v in same.items():
        target(f"same JSON, 1 and {T} threads, {k}", {True: "yes", False: "NO"}.get(v, "-"),
               "identical", v is True)
    big, mid = sizes[-1], sizes[-2] if len(sizes) > 1 else sizes[-1]
    v = ratio(S[(big, T)]["mb"], S[(mid, T)]["mb"])
    target(f"peak memory {big} / {mid}, {sm}", fmt(v), "<= 1.3", v is not None and v <= 1.3,
           f"{fmt(S[(big, T)]['mb'], '', 1)} / {fmt(S[(mid, T)]['mb'], '', 1)} MB")
    for t in sorted({1, T}):
        a1, a2 = S[(big, t)]["wall"], S[(mid, t)]["wall"]
        v = ratio(a1 / big if a1 else None, a2 / mid if a2 else None)
        target(f"time per sample {big} / {mid}, {sm}, {t} thread{'s' * (t > 1)}", fmt(v),
               "<= 1.1 (linear)", v is not None and v <= 1.1)
    for m in models:
        a = agree.get(m)
        if a is None:
            target(f"reference agrees, {m}", "-", "1e-6 rel", False, "no comparison")
            continue
        w = a["worst"]
        note = f"largest at layer {w['index']} {w['name']} {w['cost']}"
        ex = a.get("explained") or {}
        moved = [f"layer {li}: {sum(v[r]['moved'] for r in ('input', 'optimal') if v.get(r))} "
                 f"values in another bin" for li, v in ex.items()]
        if moved:
            note += "; " + ", ".join(moved)
        target(f"reference agrees, {m} ({ref_n[m]} samples)", f"{w['rel']:.1e}",
               "<= 1e-6 rel", a["ok"], note)
    hdr = f"| {'figure':44} | {'value':>9} | {'target':>15} | {'met':>3} | note"
    pr(hdr)
    pr(f"|{'-' * 46}|{'-' * 11}|{'-' * 17}|{'-' * 5}|------")
    for name, value, goal, ok, note in rows:
        pr(f"| {name:44} | {value:>9} | {goal:>15} | {'yes' if ok else 'NO':>3} | {note}")
    pr("")
    pr("Checks: fashion costs from the IDX file with --scale 1/255 give the same layers as "
       f"from the .npy: {checks['fashion_idx_same_as_npy']}; largest |nnheat - ORT| output: "
       + ", ".join(f"{m} {num(checks.get('ort_max_abs_diff_' + m))} (outputs up to "
                   f"{num(checks.get('ort_max_abs_out_' + m))})" for m in models) + ".")
    text = "\n".join(L)
    print(text)
    with open(f"{o}/table.md", "w") as f:
        f.write(text + "\n")
    with open(f"{o}/results.json", "w") as f:
        json.dump({"measurements": b.meas, "summary": R,
                   "scaling": {f"{n}_{t}": v for (n, t), v in S.items()},
                   "targets": rows, "checks": checks, "same_json": same,
                   "load": [load0, load1], "others_cores": others_mean,
                   "elapsed_s": elapsed}, f, indent=1, default=str)
    failed = [k for k in b.order if not b.ok(k)]
    if failed:
        print(f"\nfailed measurements: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
