#!/usr/bin/env python3
"""restrouter benchmarks, side by side with plain Envoy (run by `make bench` via scripts/bench.sh).

Everything listens on 127.0.0.1 and is stopped at the end (children also get SIGTERM if this
script dies). One run measures every variant, interleaved round by round, so the ratios hold on
a noisy machine; the table shows medians over the rounds.

Layout on a machine with 2 or more cores: every Envoy under load is pinned to CPU 0; wrk, the
storage service and the development back-end share CPU 1. Envoy CPU per request is
utime+stime of the Envoy process (all threads, /proc/PID/stat) over the run, divided by the
requests wrk completed.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
RENDER = os.path.join(BIN, "restrouter-render")
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

# Ports (loopback only), away from `make run`'s and the tests' defaults.
STORAGE = 27233
BACKEND = 27888
RR = (27231, 27901)        # restrouter, shipped spec (rate limiter on; the hit route has no limit)
RL_ON = (27241, 27911)     # restrouter, bench spec (a never-reached limit on the hit route), limiter on
RL_OFF = (27251, 27921)    # same spec, limiter off
BASE = (27331, 27931)      # plain Envoy
SCRATCH = (27261, 27941)   # start-up and memory runs
VARIANT = (27271, 27951)   # restrouter built another way (--variant), shipped spec
NOREV = (27281, 27961)     # restrouter, shipped spec without page_revisions lookups
COALESCE = (27291, 27971)  # restrouter, 2 workers, a slow Parsoid (one render per title)
SOAK = (27301, 27981)      # restrouter, 2 workers, 800 domains, every operation for minutes
SLOW_PARSOID = 27889

HIT = "/en.wikipedia.org/v1/page/html/Earth"
STORED = "/en.wikipedia.org/v1/key_value/parsoidphp/Earth"
FEED = "/en.wikipedia.org/v1/feed/onthisday/births/01/01"
WRONG_METHOD = "/en.wikipedia.org/v1/page/summary/Earth"  # with DELETE (bench/delete.lua)
OPERATIONS = os.path.join(ROOT, "tests", "fixtures", "restbase-2020-operations.tsv")
# The wiki each of RESTBase's projects is tried on (as tests/support/api_table.rs).
PROJECT_WIKIS = {"wikipedia": "en.wikipedia.org", "wikivoyage": "en.wikivoyage.org", "wiktionary": "en.wiktionary.org",
                 "wikidata": "www.wikidata.org", "default": "en.wikibooks.org", "wikimedia": "wikimedia.org"}
# Signs of a trapped filter in Envoy's log (as tests/support/envoy.rs).
TRAP_SIGNS = ("panicked at", "Uncaught RuntimeError")

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, argv, cpus=None, log=None):
        if cpus is not None and NCPU >= 2 and shutil.which("taskset"):
            argv = ["taskset", "-c", cpus] + argv
        out = open(log, "ab") if log else subprocess.DEVNULL
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                             preexec_fn=_die_with_parent, cwd=ROOT)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def envoy_binary():
    e = os.environ.get("ENVOY")
    if e:
        return e
    venv = os.path.join(ROOT, ".venv", "lib")
    for d in sorted(os.listdir(venv)) if os.path.isdir(venv) else []:
        cand = os.path.join(venv, d, "site-packages", "envoy", "_bin", "envoy")
        if os.path.exists(cand):
            return cand
    sys.exit("bench: no Envoy binary (run `make build`, or set ENVOY)")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def http_get(port, path, headers=None, timeout=2.0):
    """Status of a GET (None when the connection fails)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            s.sendall(f"GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{h}\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def http_text(port, path, timeout=5.0):
    """Body of a GET to Envoy's admin port ("" when it fails)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.read().decode(errors="replace")
    except OSError:
        return ""


def soak_requests():
    """Every operation of RESTBase's 2020 table on its project's wiki, with a body where it
    takes one (the bodies of tests/api_coverage.rs): (label, method, path, headers, body)."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    bodies = (("/transform/wikitext/", form, b"wikitext=Hello%20%27%27world%27%27"),
              ("/transform/html/", form, b"html=%3Cp%3EHello%3C%2Fp%3E"),
              ("/media/math/check/", form, b"q=E%3Dmc%5E2"),
              ("/page/wikitext/", form, b"wikitext=Hello&csrf_token=%2B%5C"),
              ("/page/html/", form, b"html=%3Cp%3EHello%3C%2Fp%3E&csrf_token=%2B%5C"),
              ("/data/lists/", {"content-type": "application/json"},
               b'{"name":"Saved","description":"","project":"https://en.wikipedia.org","title":"Earth","batch":[]}'))
    out = []
    with open(OPERATIONS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            project, method, template, example = line.rstrip("\n").split("\t")
            path, headers, body = f"/{PROJECT_WIKIS[project]}/v1{example}", {}, None
            if method not in ("GET", "DELETE"):
                for prefix, h, b in bodies:
                    if template.startswith(prefix):
                        headers, body = h, b
                        break
                if template.startswith("/data/lists/"):
                    path += "?csrf_token=%2B%5C"
            out.append((f"{project} {method} {template}", method, path, headers, body))
    return out


def wait_status(port, path, want=200, timeout=30.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if http_get(port, path, timeout=0.5) == want:
            return True
        time.sleep(0.005)
    return False


def render(template, out, port, admin, extra=(), spec=None, extra_domains=0, wasm=None):
    argv = [RENDER, "envoy", "--template", template,
            "--set", f"http_port={port}", "--set", f"admin_port={admin}",
            "--set", f"storage=127.0.0.1:{STORAGE}"]
    for c in ("parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver", "mathoid", "proton", "citoid", "recommendation", "graphoid", "mwapi", "eventgate"):
        argv += ["--set", f"{c}=127.0.0.1:{BACKEND}"]
    argv += ["--set", "ratelimit_sidecar="]
    if wasm:
        argv += ["--set", f"wasm={wasm}"]
    if spec:
        argv += ["--spec", spec]
    if extra_domains:
        argv += ["--extra-domains", str(extra_domains)]
    for s in extra:
        argv += ["--set", s]
    with open(out, "w") as f:
        subprocess.run(argv, stdout=f, check=True, cwd=ROOT)
    return out


def bench_spec(src, dst):
    """The shipped spec with a limit on the stored HTML route that is never reached."""
    with open(src) as f:
        text = f.read()
    # The generated spec's spelling of the route's last setting (`make spec` writes it).
    anchor = "        events:\n        - /page/html/{title}/{revision}\n        - /page/html/{title}\n"
    if anchor not in text:
        sys.exit("bench: the shipped spec changed: cannot add the bench rate limit")
    text = text.replace(anchor, anchor + "        rate_limit: {internal: 1000000000, external: 1000000000}\n", 1)
    with open(dst, "w") as f:
        f.write(text)
    return dst


def no_revisions_spec(src, dst):
    """The shipped spec without page_revisions lookups: the hit path as it was before them."""
    with open(src) as f:
        text = f.read()
    # The `revisions:` setting and the lines indented under it.
    stripped = re.sub(r"^( +)revisions:.*\n(?:\1 +.*\n)*", "", text, flags=re.M)
    if stripped == text:
        sys.exit("bench: the shipped spec changed: no page_revisions lookups to leave out")
    with open(dst, "w") as f:
        f.write(stripped)
    return dst


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def wrk(port, path, seconds, conns, script=None, script_args=(), cpus=None):
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        argv += ["-s", script]
    argv.append(f"http://127.0.0.1:{port}{path}")
    if script_args:
        argv += ["--"] + list(script_args)
    if cpus is not None and NCPU >= 2:
        argv = ["taskset", "-c", cpus] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    r = {"raw": out}
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", out, re.M)
        r[f"p{q}"] = ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    r["socket_errors"] = m.group(1).strip() if m else ""
    return r


class Bench:
    def __init__(self, args):
        self.a = args
        self.envoy = envoy_binary()
        self.wasm = os.path.join(ROOT, args.wasm)
        self.dir = tempfile.mkdtemp(prefix="restrouter-bench-")
        self.procs = Procs()
        self.results = {}
        self.load_cpu = "1" if NCPU >= 2 else None
        self.envoy_cpu = "0" if NCPU >= 2 else None

    def log(self, msg):
        print(msg, file=sys.stderr, flush=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    # --- services -------------------------------------------------------------------------
    def start_services(self):
        self.procs.start([os.path.join(BIN, "restrouter-storage"), "--listen", f"127.0.0.1:{STORAGE}",
                          "--db", self.path("storage.sqlite3"), "--mwapi", f"http://127.0.0.1:{BACKEND}/w/api.php"],
                         cpus=self.load_cpu, log=self.path("storage.log"))
        self.procs.start([os.path.join(BIN, "restrouter-devbackend"), "--listen", f"127.0.0.1:{BACKEND}"],
                         cpus=self.load_cpu, log=self.path("devbackend.log"))
        for port in (STORAGE, BACKEND):
            t0 = time.monotonic()
            while http_get(port, "/") is None:
                if time.monotonic() - t0 > 10:
                    sys.exit(f"bench: nothing listening on 127.0.0.1:{port}")
                time.sleep(0.05)

    def variant(self):
        """The variant's name and module (the measured one when --variant names none)."""
        name, path = self.a.variant.split("=", 1)
        return name, os.path.abspath(path) if path else self.wasm

    def start_envoy(self, config, admin, concurrency=1, cpus="pin", log_name=None, log_level="warning"):
        cpus = self.envoy_cpu if cpus == "pin" else cpus
        argv = [self.envoy, "-c", config, "--concurrency", str(concurrency), "--disable-hot-restart",
                "--log-level", log_level]
        if log_level != "warning":
            argv += ["--component-log-level", "wasm:debug"]
        return self.procs.start(argv, cpus=cpus, log=self.path(log_name or os.path.basename(config) + ".log"))

    def ready(self, port, path, want=200):
        if not wait_status(port, path, want, timeout=60):
            sys.exit(f"bench: 127.0.0.1:{port}{path} never answered {want} (logs in {self.dir})")

    # --- load runs ------------------------------------------------------------------------
    def run(self, proc, port, path, conns, script=None, script_args=()):
        c0 = cpu_ticks(proc.pid)
        r = wrk(port, path, self.a.duration, conns, script, script_args, cpus=self.load_cpu)
        c1 = cpu_ticks(proc.pid)
        r["cpu_us"] = (c1 - c0) / HZ * 1e6 / r["requests"] if r["requests"] else float("nan")
        r["cpu_pct"] = (c1 - c0) / HZ / self.a.duration * 100
        r.pop("raw")
        return r

    def load_phase(self):
        a = self.a
        spec = bench_spec(os.path.join(ROOT, "spec", "wikimedia.yaml"), self.path("bench-spec.yaml"))
        tpl = "envoy/restrouter.yaml.j2"
        rr = self.start_envoy(render(tpl, self.path("rr.yaml"), *RR, wasm=self.wasm), RR[1])
        on = self.start_envoy(render(tpl, self.path("rl-on.yaml"), *RL_ON, spec=spec, wasm=self.wasm), RL_ON[1])
        off = self.start_envoy(render(tpl, self.path("rl-off.yaml"), *RL_OFF, spec=spec, wasm=self.wasm,
                                      extra=["ratelimit=off"]), RL_OFF[1])
        norev_spec = no_revisions_spec(os.path.join(ROOT, "spec", "wikimedia.yaml"), self.path("norev-spec.yaml"))
        norev = self.start_envoy(render(tpl, self.path("norev.yaml"), *NOREV, spec=norev_spec, wasm=self.wasm), NOREV[1])
        base = self.start_envoy(render("envoy/baseline.yaml.j2", self.path("base.yaml"), *BASE), BASE[1])
        ready = [RR[0], RL_ON[0], RL_OFF[0], NOREV[0]]
        if a.variant:
            vname, vwasm = self.variant()
            var = self.start_envoy(render(tpl, self.path("variant.yaml"), *VARIANT, wasm=vwasm, extra=a.variant_set), VARIANT[1])
            t0 = time.monotonic()
            while http_get(VARIANT[0], "/") is None and time.monotonic() - t0 < 60:
                time.sleep(0.02)
        for port in ready:
            self.ready(port, HIT)  # the first one is the warm-up miss that stores the page
        self.ready(BASE[0], STORED)
        # (name, restrouter side, baseline side): each side is (label, proc, port, path, script)
        miss = os.path.join(ROOT, "bench", "miss.lua")
        delete = os.path.join(ROOT, "bench", "delete.lua")
        run_id = str(int(time.time()))
        cases = [
            ("storage hit, c=1", ("restrouter", rr, RR[0], HIT, None),
             ("envoy proxy → storage", base, BASE[0], STORED, None)),
            ("storage hit", ("restrouter", rr, RR[0], HIT, None),
             ("envoy proxy → storage", base, BASE[0], STORED, None)),
            ("page_revisions lookup, hit path", ("with the lookup", rr, RR[0], HIT, None),
             ("without (spec minus revisions)", norev, NOREV[0], HIT, None)),
            ("miss (back-end + store + event)", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/page/html/", miss),
             ("envoy proxy → back-end", base, BASE[0], "/en.wikipedia.org/v3/page/html/", miss)),
            ("pass-through (feed)", ("restrouter", rr, RR[0], FEED, None),
             ("envoy proxy → back-end", base, BASE[0], FEED, None)),
            ("validation 400", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/page/html/Earth/abc", None),
             ("envoy direct_response", base, BASE[0], "/bench/400", None)),
            ("unknown route 404", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/no/such/route", None),
             ("envoy direct_response", base, BASE[0], "/en.wikipedia.org/v1/no/such/route", None)),
            # The same Envoy answer against a direct_response with the same headers: what the
            # edge route costs beyond the answer's own headers.
            ("unknown route 404, same headers", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/no/such/route", None),
             ("direct_response, policy headers", base, BASE[0], "/bench/404-policy", None)),
            # The 405 and the unknown domain are answered by Envoy's edge routes from the spec
            # (the filter not on the stream), as the unknown route above.
            ("wrong method 405", ("restrouter", rr, RR[0], WRONG_METHOD, delete),
             ("envoy direct_response", base, BASE[0], "/bench/405", delete)),
            ("unknown domain 404", ("restrouter", rr, RR[0], "/nope.example.org/v1/page/html/Earth", None),
             ("envoy direct_response", base, BASE[0], "/nope.example.org/v1/page/html/Earth", None)),
            # The limiter's cost two ways: the bench spec (a limit on the route) against the
            # shipped one (none), and the bench spec with rate limiting on against off.
            ("rate limiter, hit path", ("limit on the route", on, RL_ON[0], HIT, None),
             ("no limit on the route", rr, RR[0], HIT, None)),
            ("rate limiter on/off, hit path", ("ratelimit=on", on, RL_ON[0], HIT, None),
             ("ratelimit=off", off, RL_OFF[0], HIT, None)),
        ]
        if a.variant:
            cases += [
                ("module variant, storage hit", ("restrouter", rr, RR[0], HIT, None), (vname, var, VARIANT[0], HIT, None)),
                ("module variant, 404", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/no/such/route", None),
                 (vname, var, VARIANT[0], "/en.wikipedia.org/v1/no/such/route", None)),
                ("module variant, pass-through", ("restrouter", rr, RR[0], FEED, None), (vname, var, VARIANT[0], FEED, None)),
                ("module variant, miss", ("restrouter", rr, RR[0], "/en.wikipedia.org/v1/page/html/", miss),
                 (vname, var, VARIANT[0], "/en.wikipedia.org/v1/page/html/", miss)),
            ]
        if a.cases:
            cases = [c for c in cases if any(w in c[0] for w in a.cases.split(","))]
        expect = {"validation 400": 400, "wrong method 405": 405, "unknown route 404": 404, "unknown route 404, same headers": 404, "unknown domain 404": 404, "module variant, 404": 404}
        for name, x, y in cases:
            for side in (x, y) if "variant" not in name else (x,):
                if side[4] is None:
                    got = http_get(side[2], side[3])
                    if got != expect.get(name, 200):
                        sys.exit(f"bench: {name}: {side[0]} answered {got} for {side[3]}")
        for name, _, _ in cases:
            self.results[name] = ([], [])
        for rnd in range(a.rounds):
            self.log(f"round {rnd + 1}/{a.rounds}")
            for ci, (name, x, y) in enumerate(cases):
                order = [(0, x), (1, y)] if rnd % 2 == 0 else [(1, y), (0, x)]
                for i, (label, proc, port, path, script) in order:
                    # Titles nobody asked for: one prefix per case, round and side.
                    args = (f"{path}Bench_{run_id}_{ci}_{rnd}_{i}_",) if script else ()
                    r = self.run(proc, port, path, 1 if name.endswith("c=1") else a.conns, script, args)
                    self.results[name][i].append(r)
                    self.log(f"  {name:34} {label:24} {r['rps']:9.0f} req/s  p50 {r['p50']:.3f} ms"
                             f"  p99 {r['p99']:.3f} ms  {r['cpu_us']:6.1f} µs/req ({r['cpu_pct']:.0f} % CPU)  non-2xx {r['non2xx']}"
                             f"{'  socket errors: ' + r['socket_errors'] if r['socket_errors'] else ''}")
                    time.sleep(a.gap)
        self.cases = cases
        self.long_run_rss = {"restrouter (concurrency 1, after the load runs)": status_kb(rr.pid, "VmRSS"),
                             "plain Envoy (concurrency 1, after the load runs)": status_kb(base.pid, "VmRSS")}
        for p in (rr, on, off, base):
            self.procs.stop(p)
        if a.variant:
            self.procs.stop(var)

    # --- start-up -------------------------------------------------------------------------
    def startup_once(self, config, admin, port, path, concurrency=2):
        """Seconds from spawning Envoy to the first 200, Envoy CPU seconds by then, and the
        seconds V8 took to compile the module (from Envoy's log)."""
        log = self.path("startup-run.log")
        open(log, "w").close()
        t0 = time.monotonic()
        p = self.start_envoy(config, admin, concurrency=concurrency, cpus=None,
                             log_name="startup-run.log", log_level="info")
        ok = wait_status(port, path, 200, timeout=60)
        t = time.monotonic() - t0
        cpu = cpu_ticks(p.pid) / HZ
        self.procs.stop(p)
        with open(log, "rb") as src, open(self.path("startup.log"), "ab") as dst:
            dst.write(src.read())
        return (t if ok else float("nan")), cpu, self.wasm_compile_times(log)

    def startup_phase(self):
        big = render("envoy/restrouter.yaml.j2", self.path("startup.yaml"), *SCRATCH, extra_domains=800, wasm=self.wasm)
        shipped = render("envoy/restrouter.yaml.j2", self.path("startup-shipped.yaml"), *SCRATCH, wasm=self.wasm)
        base = render("envoy/baseline.yaml.j2", self.path("startup-base.yaml"), *SCRATCH)
        runs = {"restrouter, shipped spec + 800 domains": [], "restrouter, shipped spec": [],
                "plain Envoy (no wasm), proxy to storage": []}
        var = None
        if self.a.variant:
            vname, vwasm = self.variant()
            var = render("envoy/restrouter.yaml.j2", self.path("startup-variant.yaml"), *SCRATCH, extra_domains=800,
                         wasm=vwasm, extra=self.a.variant_set)
            vkey = f"restrouter ({vname}), shipped spec + 800 domains"
            runs[vkey] = []
        for _ in range(self.a.startup_reps):
            if var:
                runs[vkey].append(self.startup_once(var, SCRATCH[1], SCRATCH[0], HIT))
            runs["restrouter, shipped spec + 800 domains"].append(self.startup_once(big, SCRATCH[1], SCRATCH[0], HIT))
            runs["restrouter, shipped spec"].append(self.startup_once(shipped, SCRATCH[1], SCRATCH[0], HIT))
            runs["plain Envoy (no wasm), proxy to storage"].append(self.startup_once(base, SCRATCH[1], SCRATCH[0], STORED))
        self.startup = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in runs.items()}
        self.startup_all = {k: [round(r[0], 3) for r in v] for k, v in runs.items()}
        with open(big) as f:
            self.plugin_config_bytes = len(f.read())

    @staticmethod
    def wasm_compile_times(log):
        """Base Wasm created → first Thread-Local Wasm created: V8 compiling the module."""
        ts = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]")
        out, start = [], None
        with open(log, errors="replace") as f:
            for line in f:
                m = ts.match(line)
                if not m:
                    continue
                t = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S")) + int(m.group(1)[20:]) / 1000
                if "Base Wasm created" in line:
                    start = t
                elif "Thread-Local Wasm created" in line and start is not None:
                    out.append(t - start)
                    start = None
        return out[0] if out else float("nan")

    # --- one render per title -----------------------------------------------------------
    def coalesce_phase(self):
        """50 concurrent misses of one title through 2 workers, against a Parsoid stand-in
        that takes RENDER_S to answer: how many renders and storage writes they cost, with
        sharing on (the default) and off (coalesce_wait_ms=0)."""
        calls = []

        class SlowParsoid(BaseHTTPRequestHandler):
            def do_GET(self):
                calls.append(self.path)
                time.sleep(self.server.render_s)
                body = b"<p>rendered</p>"
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                # Parsoid's ETag names the revision it rendered (the path's last segment).
                self.send_header("etag", f'"{self.path.rsplit("/", 1)[-1]}/bench"')
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            # Every miss may reach it at once when sharing is off.
            request_queue_size = 256
            daemon_threads = True

        srv = Server(("127.0.0.1", SLOW_PARSOID), SlowParsoid)
        srv.render_s = self.a.render_s
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.coalesce = {}
        try:
            for label, wait in (("sharing on", None), ("sharing off", "0")):
                extra = [f"parsoid=127.0.0.1:{SLOW_PARSOID}"] + ([f"coalesce_wait_ms={wait}"] if wait else [])
                cfg = render("envoy/restrouter.yaml.j2", self.path("coalesce.yaml"), *COALESCE, extra=extra, wasm=self.wasm)
                p = self.start_envoy(cfg, COALESCE[1], concurrency=2, cpus=None, log_name="coalesce.log")
                self.ready(COALESCE[1], "/ready")
                # The wiki's siteinfo first (shared by the workers), as a running Envoy has it.
                http_get(COALESCE[0], "/en.wikipedia.org/v1/page/title/Earth", timeout=60)
                title = f"Bench_{label.replace(' ', '_')}_{os.getpid()}"
                statuses = [None] * self.a.misses
                go = threading.Barrier(self.a.misses)

                def client(i):
                    go.wait()
                    statuses[i] = http_get(COALESCE[0], f"/en.wikipedia.org/v1/page/html/{title}", timeout=60)

                threads = [threading.Thread(target=client, args=(i,)) for i in range(self.a.misses)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                renders = sum(1 for c in calls if f"/page/html/{title}" in c)
                others = {st: statuses.count(st) for st in set(statuses) if st != 200}
                self.coalesce[label] = (renders, statuses.count(200), others)
                self.procs.stop(p)
                self.log(f"one render per title, {label}: {self.coalesce[label]}")
        finally:
            srv.shutdown()

    # --- soak -----------------------------------------------------------------------------
    def soak_phase(self):
        """Every operation of the 2020 table, new titles (misses that render and store) and
        error paths, from a few keep-alive clients for --soak-seconds against Envoy with 2
        workers and the 800-domain spec: RSS over time, answers by status, VM reloads."""
        import http.client
        cfg = render("envoy/restrouter.yaml.j2", self.path("soak.yaml"), *SOAK, extra_domains=800, wasm=self.wasm)
        p = self.start_envoy(cfg, SOAK[1], concurrency=2, cpus=None, log_name="soak.log")
        self.ready(SOAK[0], HIT)
        ops = soak_requests()
        errors = [("400", "GET", "/en.wikipedia.org/v1/page/html/Earth/abc", {}, None),
                  ("404 route", "GET", "/en.wikipedia.org/v1/no/such/route", {}, None),
                  ("404 domain", "GET", "/nope.example.org/v1/page/html/Earth", {}, None),
                  ("405", "DELETE", "/en.wikipedia.org/v1/page/html/Earth", {}, None)]
        counts, lock, stop = {}, threading.Lock(), time.monotonic() + self.a.soak_seconds
        run = f"Soak_{int(time.time())}"

        def client(k):
            conn, n = None, 0
            while time.monotonic() < stop:
                # One pass: every operation, the error paths, and a title nobody asked for.
                for label, method, path, headers, body in ops + errors + [
                        ("miss", "GET", f"/en.wikipedia.org/v1/page/html/{run}_{k}_{n}", {}, None)]:
                    if time.monotonic() >= stop:
                        break
                    try:
                        conn = conn or http.client.HTTPConnection("127.0.0.1", SOAK[0], timeout=30)
                        conn.request(method, path, body=body, headers=headers)
                        r = conn.getresponse()
                        r.read()
                        status = r.status
                        if r.getheader("connection", "").lower() == "close":
                            conn.close()
                            conn = None
                    except (OSError, http.client.HTTPException):
                        status = "connection error"
                        conn = None
                    with lock:
                        per = counts.setdefault(label, {})
                        per[status] = per.get(status, 0) + 1
                n += 1

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(self.a.soak_clients)]
        t0 = time.monotonic()
        rss = [(0.0, status_kb(p.pid, "VmRSS"))]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(min(10, max(0.1, stop - time.monotonic())))
            rss.append((time.monotonic() - t0, status_kb(p.pid, "VmRSS")))
        for t in threads:
            t.join()
        stats = http_text(SOAK[1], "/stats")
        # Summed over the filter's and the service's VMs.
        reloads = {}
        for name, _, value in (l.partition(": ") for l in stats.splitlines() if "vm_reload_" in l):
            short = name.rsplit(".", 1)[-1]
            reloads[short] = reloads.get(short, 0) + int(value)
        with open(self.path("soak.log"), errors="replace") as f:
            log = f.read()
        self.procs.stop(p)
        # RSS growth from the end of the first minute (the page cache of a fresh Envoy, the
        # wikis' siteinfo and the first renders settle in it) to the end.
        settled = next((kb for s, kb in rss if s >= 60), rss[-1][1])
        self.soak = {"seconds": self.a.soak_seconds, "clients": self.a.soak_clients, "rss": rss, "settled_kb": settled,
                     "counts": counts, "reloads": reloads, "traps": [s for s in TRAP_SIGNS if s in log]}
        self.log(f"soak: RSS {rss[0][1] / 1024:.1f} → {settled / 1024:.1f} (1 min) → {rss[-1][1] / 1024:.1f} MB, "
                 f"reloads {reloads}, traps {self.soak['traps']}")

    # --- memory ---------------------------------------------------------------------------
    def memory_phase(self):
        cfg = render("envoy/restrouter.yaml.j2", self.path("mem.yaml"), *SCRATCH, extra_domains=800, wasm=self.wasm)
        base = render("envoy/baseline.yaml.j2", self.path("mem-base.yaml"), *SCRATCH)
        self.memory = {}
        for conc in self.a.mem_workers:
            row = {}
            for label, c, path in (("restrouter", cfg, HIT), ("plain Envoy", base, STORED)):
                p = self.start_envoy(c, SCRATCH[1], concurrency=conc, cpus=None, log_name="mem.log")
                self.ready(SCRATCH[0], path)
                t_end = time.monotonic() + self.a.mem_seconds
                while time.monotonic() < t_end:
                    wrk(SCRATCH[0], path, min(5, self.a.mem_seconds), max(conc * 4, 8), cpus=None)
                row[label] = (status_kb(p.pid, "VmRSS"), status_kb(p.pid, "VmHWM"))
                self.procs.stop(p)
            self.memory[conc] = row
            self.log(f"memory, concurrency {conc}: {row}")

    # --- report ---------------------------------------------------------------------------
    def report(self):
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        lines = []
        add = lines.append
        summary = {}
        if hasattr(self, "cases"):
            add(f"rounds: {self.a.rounds} × {self.a.duration} s per variant, wrk -t1 -c{self.a.conns}, HTTP/1.1 keep-alive, "
                f"Envoy --concurrency 1" + (" pinned to CPU 0, wrk + storage + back-end on CPU 1" if NCPU >= 2 else ""))
            add("")
            add("| path | variant | req/s | p50 ms | p99 ms | Envoy CPU µs/req | ratio req/s | added p99 ms | non-2xx |")
            add("|---|---|---|---|---|---|---|---|---|")
            for name, x, y in self.cases:
                rx, ry = self.results[name]
                for label, rs in ((x[0], rx), (y[0], ry)):
                    add(f"| {name} | {label} | {med(rs, 'rps'):.0f} | {med(rs, 'p50'):.3f} | {med(rs, 'p99'):.3f} | "
                        f"{med(rs, 'cpu_us'):.1f} | " + (f"{med(rx, 'rps') / med(ry, 'rps'):.2f} | {med(rx, 'p99') - med(ry, 'p99'):+.3f} |"
                                                          if rs is rx else " | |") + f" {sum(r['non2xx'] for r in rs)} |")
                # paired per-round figures (robust against drift)
                ratio = statistics.median(a["rps"] / b["rps"] for a, b in zip(rx, ry))
                dcpu = statistics.median(a["cpu_us"] - b["cpu_us"] for a, b in zip(rx, ry))
                summary[name] = {"rps_ratio_paired": round(ratio, 3), "cpu_us_delta_paired": round(dcpu, 2)}
            add("")
            add("Paired per round (median over rounds): " + "; ".join(
                f"{k}: ratio {v['rps_ratio_paired']:.2f}, Δ CPU {v['cpu_us_delta_paired']:+.1f} µs/req" for k, v in summary.items()))
        if hasattr(self, "startup"):
            add("")
            add("| start-up (spawn → first 200, --concurrency 2, not pinned) | median s | Envoy CPU s by then | V8 compile s | runs (s) |")
            add("|---|---|---|---|---|")
            for k, (t, cpu, comp) in self.startup.items():
                add(f"| {k} | {t:.3f} | {cpu:.2f} | {'' if comp != comp else f'{comp:.3f}'} | {', '.join(f'{x:.2f}' for x in self.startup_all[k])} |")
            add("")
            add(f"V8 compile = Envoy's log from 'Base Wasm created' to the first 'Thread-Local Wasm created'. "
                f".wasm {os.path.getsize(self.wasm):,} bytes" + (f", variant {os.path.getsize(self.variant()[1]):,} bytes" if self.a.variant else "") +
                f"; Envoy config with the 800-domain spec {self.plugin_config_bytes:,} bytes")
        if hasattr(self, "memory"):
            add("")
            add(f"| memory after {self.a.mem_seconds} s of hit-path load | " +
                " | ".join(f"concurrency {c}" for c in self.memory) + " |")
            add("|---|" + "---|" * len(self.memory))
            for label in ("restrouter", "plain Envoy"):
                add(f"| {label} VmRSS MB (peak) | " + " | ".join(
                    f"{r[label][0] / 1024:.1f} ({r[label][1] / 1024:.1f})" for r in self.memory.values()) + " |")
            cs = sorted(self.memory)
            if len(cs) >= 2:
                slope = (self.memory[cs[-1]]["restrouter"][0] - self.memory[cs[0]]["restrouter"][0]) / 1024 / (cs[-1] - cs[0])
                add(f"\nrestrouter per extra worker: {slope:.1f} MB")
        if hasattr(self, "coalesce"):
            add("")
            add(f"| {self.a.misses} concurrent misses of one title (--concurrency 2, Parsoid takes {self.a.render_s} s) | back-end calls | 200s | other answers |")
            add("|---|---|---|---|")
            for label, (renders, ok, others) in self.coalesce.items():
                add(f"| {label} | {renders} | {ok} | {', '.join(f'{k}: {v}' for k, v in others.items()) or '–'} |")
        if hasattr(self, "soak"):
            k = self.soak
            total = sum(sum(c.values()) for c in k["counts"].values())
            by_status = {}
            for c in k["counts"].values():
                for st, n in c.items():
                    by_status[st] = by_status.get(st, 0) + n
            bad = {label: c for label, c in k["counts"].items()
                   if any(st == "connection error" or (isinstance(st, int) and st >= 500) for st in c)}
            add("")
            add(f"Soak: {k['seconds']} s, {k['clients']} keep-alive clients, every operation of the 2020 table "
                f"({len(k['counts'])} request kinds with the misses and error paths), Envoy --concurrency 2, 800 domains")
            add("")
            add("| requests | by status | RSS start MB | after 1 min | end | growth after 1 min | VM reloads | traps |")
            add("|---|---|---|---|---|---|---|---|")
            add(f"| {total} | {', '.join(f'{st}: {n}' for st, n in sorted(by_status.items(), key=str))} | "
                f"{k['rss'][0][1] / 1024:.1f} | {k['settled_kb'] / 1024:.1f} | {k['rss'][-1][1] / 1024:.1f} | "
                f"{(k['rss'][-1][1] - k['settled_kb']) / 1024:+.1f} | "
                f"{', '.join(f'{n} {v}' for n, v in k['reloads'].items()) or 'no vm_reload stats'} | "
                f"{', '.join(k['traps']) or 'none'} |")
            if bad:
                add("")
                add("5xx or connection errors: " + "; ".join(f"{label}: {c}" for label, c in sorted(bad.items())))
        if hasattr(self, "long_run_rss"):
            add("")
            add("RSS after the load runs: " + "; ".join(f"{k}: {v / 1024:.1f} MB" for k, v in self.long_run_rss.items()))
        text = "\n".join(lines)
        print(text)
        with open(self.path("results.json"), "w") as f:
            json.dump({"results": {k: v for k, v in self.results.items()}, "summary": summary,
                       "startup": getattr(self, "startup_all", None), "memory": getattr(self, "memory", None),
                       "soak": getattr(self, "soak", None)}, f, indent=1, default=str)
        self.log(f"raw results and logs: {self.dir}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=6, help="seconds per load run")
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--gap", type=float, default=0.5, help="seconds between load runs")
    ap.add_argument("--startup-reps", type=int, default=5)
    ap.add_argument("--mem-workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    ap.add_argument("--mem-seconds", type=int, default=20)
    ap.add_argument("--only", default="load,startup,memory,coalesce,soak", help="phases: load,startup,memory,coalesce,soak")
    ap.add_argument("--soak-seconds", type=int, default=600, help="length of the soak (every operation, 2 workers)")
    ap.add_argument("--soak-clients", type=int, default=4, help="keep-alive clients of the soak")
    ap.add_argument("--misses", type=int, default=50, help="concurrent misses of one title (coalesce phase)")
    ap.add_argument("--render-s", type=float, default=1.0, help="seconds the slow Parsoid takes (coalesce phase)")
    ap.add_argument("--wasm", default="target/wasm32-wasip1/wasm/restrouter.wasm")
    ap.add_argument("--variant", help="NAME=PATH: also compare restrouter with this .wasm (hit, 404, pass-through and miss "
                    "paths); NAME= for the same module configured by --variant-set")
    ap.add_argument("--variant-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a template variable of the variant's config (repeatable), e.g. edge_answers=off")
    ap.add_argument("--cases", help="only the load cases whose names contain one of these (comma separated)")
    ap.add_argument("--quick", action="store_true", help="1 round of 2 s, 1 start-up, 4 s memory runs")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.startup_reps, a.mem_seconds, a.gap, a.soak_seconds = 1, 2, 1, 4, 0.2, 20
    if {"load", "memory"} & set(a.only.split(",")) and not shutil.which("wrk"):
        sys.exit("bench: wrk not found")
    b = Bench(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        phases = a.only.split(",")
        b.start_services()
        if "load" in phases:
            b.load_phase()
        if "startup" in phases:
            b.startup_phase()
        if "memory" in phases:
            b.memory_phase()
        if "coalesce" in phases:
            b.coalesce_phase()
        if "soak" in phases:
            b.soak_phase()
        b.report()
    finally:
        b.procs.stop_all()


if __name__ == "__main__":
    main()
