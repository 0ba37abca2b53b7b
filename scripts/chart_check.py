#!/usr/bin/env python3
"""Checks the Helm chart without a helm binary or a cluster.

For the default values and every values file given (default: the chart's
values-production.yaml): render the Envoy config as an operator does (`restrouter-render chart
-f <file>`, from the envoy/ templates: the chart has no Envoy template of its own), `helm lint
--strict` and render the chart with it (`envoyConfig`), validate every manifest against the
Kubernetes schemas of KUBE_VERSION (kubernetes-validate, strict: unknown fields fail), check the
ConfigMap holds the rendered config unchanged, run `envoy --mode validate` on it (the in-image
module and TLS paths pointed at local files) and start Envoy on it. Also checks that bad values,
a missing config and a config rendered from other values are refused.

Usage: scripts/chart_check.py [values.yaml ...]   (exit status 1 on any failure)
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "restrouter"
KUBE_VERSION = os.environ.get("KUBE_VERSION", "1.30.0")
ENVOY = os.environ.get("ENVOY", str(ROOT / ".venv" / "bin" / "envoy"))
WASM = ROOT / "target" / "wasm32-wasip1" / "wasm" / "restrouter.wasm"
RENDER = ROOT / "target" / "release" / "restrouter-render"
RELEASE, NAMESPACE = "production", "restrouter"

failures = []
helm.disable_logging()  # the loader notes the spec symlink on every load


def fail(what, detail):
    failures.append(what)
    print(f"FAIL {what}: {detail}")


def render_config(files):
    """`restrouter-render chart -f ...`: (exit status, config or error)."""
    args = [str(RENDER), "chart", "--chart", str(CHART), "--templates", str(ROOT / "envoy")]
    for f in files:
        args += ["-f", str(f)]
    r = subprocess.run(args, cwd=ROOT, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    return r.returncode, r.stdout if r.returncode == 0 else r.stderr


def with_config(values, files, tmp):
    """The values plus `envoyConfig` rendered from them (a values dict goes through a file)."""
    if not files:
        files = [Path(tmp) / f"values-{len(os.listdir(tmp))}.yaml"]
        files[0].write_text(yaml.safe_dump(values))
    code, config = render_config(files)
    if code != 0:
        raise RuntimeError(config)
    return {**values, "envoyConfig": config}


def lint(label, values):
    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report.get("errors", [])]
    if problems:
        fail(f"{label}: helm lint", "; ".join(str(p.get("error")) for p in problems))
    else:
        print(f"ok   {label}: helm lint --strict ({len(report['messages'])} info)")


def render(values):
    rendered = helm.Chart.load(str(CHART)).render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt") or "/tests/" in path:
            continue
        docs += [(path, d) for d in yaml.safe_load_all(text) if d]
    return docs


def validate_manifests(label, docs):
    for path, doc in docs:
        what = f"{label}: {doc['kind']}/{doc['metadata']['name']} ({Path(path).name})"
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            fail(what, f"{'.'.join(map(str, e.path))}: {e.message}")
    print(f"ok   {label}: {len(docs)} manifests checked against Kubernetes {KUBE_VERSION} schemas")


def validate_envoy(label, values, docs, tls_dir):
    config = next(d["data"]["envoy.yaml"] for _, d in docs if d["kind"] == "ConfigMap" and "envoy.yaml" in d.get("data", {}))
    deployment = next(d for _, d in docs if d["kind"] == "Deployment")
    parsed = yaml.safe_load(config)
    wasm_path = parsed["bootstrap_extensions"][0]["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"]
    # The paths exist only in the image and the pod: point them at local copies (the runtime
    # ConfigMap laid out as the kubelet mounts it).
    local = config.replace(wasm_path, str(WASM)).replace("/etc/restrouter/tls/", f"{tls_dir}/")
    runtime = next((d for _, d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-runtime")), None)
    runtime_dir = Path(tls_dir) / f"runtime-{len(failures)}-{time.monotonic_ns()}"
    if runtime:
        data = runtime_dir / "..2026_01_01_00_00_00.1"
        data.mkdir(parents=True)
        for key, value in runtime["data"].items():
            (data / key).write_text(value)
            (runtime_dir / key).symlink_to(Path("..data") / key)
        (runtime_dir / "..data").symlink_to(data.name)
        local = local.replace("/etc/restrouter/runtime/", f"{runtime_dir}/")
    envoy_files = next(d["data"] for _, d in docs if d["kind"] == "ConfigMap" and "envoy.yaml" in d.get("data", {}))
    if "tls-secret.yaml" in envoy_files and not check_tls_secret(label, envoy_files["tls-secret.yaml"], parsed, deployment):
        return
    if "tls-secret.yaml" in envoy_files:
        # The SDS file beside the config, pointing at the local certificate.
        secret_file = Path(tls_dir) / f"tls-secret-{time.monotonic_ns()}.yaml"
        secret_file.write_text(envoy_files["tls-secret.yaml"].replace("/etc/restrouter/tls", tls_dir))
        local = local.replace("/etc/envoy/tls-secret.yaml", str(secret_file))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(local)
    try:
        r = subprocess.run([ENVOY, "--mode", "validate", "-c", f.name, "--base-id", str(40000 + os.getpid() % 20000)], capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        fail(f"{label}: envoy --mode validate", (r.stderr or r.stdout)[-2000:])
        return
    # The probes and scrape annotations reach the metrics listener, and the admin stays local.
    if parsed["admin"]["address"]["socket_address"]["address"] != "127.0.0.1":
        fail(f"{label}: admin", "not on loopback")
    envoy = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "envoy")
    metrics = next(p["containerPort"] for p in envoy["ports"] if p["name"] == "metrics")
    listeners = {l["name"]: l["address"]["socket_address"]["port_value"] for l in parsed["static_resources"]["listeners"]}
    if listeners.get("metrics") != metrics:
        fail(f"{label}: metrics listener", f"{listeners} vs container port {metrics}")
    print(f"ok   {label}: envoy --mode validate (listeners {', '.join(f'{n}:{p}' for n, p in listeners.items())})")
    check_runtime(label, values, docs, parsed, envoy)
    smoke_envoy(label, local, "restbase_legacy" in config, dashboard_metrics(label, values, docs), runtime["data"] if runtime else {})
    # The chart deploys what restrouter-render produced, byte for byte.
    if config.strip() != values["envoyConfig"].strip():
        fail(f"{label}: ConfigMap", "envoy.yaml differs from the rendered envoyConfig")
    else:
        print(f"ok   {label}: the ConfigMap holds the config restrouter-render rendered from the same values")


def check_tls_secret(label, secret, parsed, deployment):
    """The chart's SDS file is what envoy/tls-secret.yaml.j2 renders for the Secret's mount, and
    the config reads it where the chart mounts it."""
    envoy = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "envoy")
    mounts = {m["name"]: m["mountPath"] for m in envoy["volumeMounts"]}
    tls_dir = mounts.get("tls")
    r = subprocess.run([str(RENDER), "envoy", "--template", str(ROOT / "envoy" / "tls-secret.yaml.j2"), "--set", f"tls_cert={tls_dir}/tls.crt",
                        "--set", f"tls_key={tls_dir}/tls.key"], cwd=ROOT, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    https = next(l for l in parsed["static_resources"]["listeners"] if l["name"] == "https")
    sds = https["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"]["tls_certificate_sds_secret_configs"][0]
    path = sds["sds_config"]["path_config_source"]["path"]
    if r.returncode != 0 or yaml.safe_load(r.stdout) != yaml.safe_load(secret):
        fail(f"{label}: tls-secret.yaml", f"differs from envoy/tls-secret.yaml.j2 for {tls_dir}: {r.stdout or r.stderr}")
        return False
    if path != f"{mounts.get('envoy-config')}/tls-secret.yaml":
        fail(f"{label}: tls-secret.yaml", f"the config reads {path}, the ConfigMap is mounted at {mounts.get('envoy-config')}")
        return False
    print(f"ok   {label}: the certificate is read through the SDS file the templates render, watched at {tls_dir}")
    return True


def check_runtime(label, values, docs, parsed, envoy):
    """Under rollout: the disk runtime layer reads the runtime ConfigMap where the pod mounts it
    (whole, so the kubelet's `..data` swap reaches Envoy), and the ConfigMap holds one key per
    `rollout.percent` entry."""
    layers = [l for l in parsed.get("layered_runtime", {}).get("layers", []) if "disk_layer" in l]
    runtime = next((d for _, d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-runtime")), None)
    if not values.get("rollout", {}).get("enabled"):
        if layers or runtime:
            fail(f"{label}: runtime", "a disk layer or runtime ConfigMap without rollout.enabled")
        return
    percent = {**yaml.safe_load((CHART / "values.yaml").read_text())["rollout"]["percent"], **values["rollout"].get("percent", {})}
    want = {f"restrouter.rollout.{k}": str(v) for k, v in percent.items()}
    if runtime is None or runtime.get("data") != want:
        fail(f"{label}: runtime ConfigMap", f"{runtime and runtime.get('data')} vs {want}")
        return
    names = [l["disk_layer"]["symlink_root"] for l in layers]
    volume = next((v["name"] for v in envoy_volumes(docs) if v.get("configMap", {}).get("name") == runtime["metadata"]["name"]), None)
    mounts = [m for m in envoy["volumeMounts"] if m["name"] == volume and "subPath" not in m]
    if len(names) != 1 or len(mounts) != 1 or names[0] != f"{mounts[0]['mountPath']}/..data":
        fail(f"{label}: runtime mount", f"disk layers {names}, mounts of the runtime ConfigMap {mounts}")
        return
    order = [next(iter(k for k in l if k != "name")) for l in parsed["layered_runtime"]["layers"]]
    if order[-1] != "admin_layer":
        fail(f"{label}: runtime layers", f"the admin override is not on top: {order}")
        return
    print(f"ok   {label}: runtime ConfigMap ({len(want)} keys) mounted whole at the disk layer's root {mounts[0]['mountPath']}, admin layer on top")


def envoy_volumes(docs):
    deployment = next(d for _, d in docs if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["volumes"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, method="GET", headers=None):
    """(status, body, content-type); (None, "", "") when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode(errors="replace"), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), e.headers.get("content-type", "")
    except OSError:
        return None, "", ""


def dashboard_metrics(label, values, docs):
    """Every metric name the Grafana dashboard queries (Envoy's own and restrouter's); a missing
    dashboard (unless the values turn it off), or a query naming no metric, fails the check."""
    dashboards = [d for _, d in docs if d["kind"] == "ConfigMap" and "restrouter.json" in d.get("data", {})]
    if not dashboards:
        if values.get("monitoring", {}).get("dashboard") is False:
            print(f"skip {label}: dashboard turned off (monitoring.dashboard: false)")
        else:
            fail(f"{label}: dashboard", "no ConfigMap with restrouter.json among the rendered manifests")
        return set()
    names = set()
    for d in dashboards:
        dashboard = json.loads(d["data"]["restrouter.json"])
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        if not exprs:
            fail(f"{label}: dashboard", "no queries")
        for e in exprs:
            # Every query selects its series by namespace: `name{...}`.
            found = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", e)
            if not found:
                fail(f"{label}: dashboard", f"query names no metric (or selects none by label): {e}")
            names.update(found)
    return names


def smoke_envoy(label, local_config, rollout, wanted_metrics, runtime):
    """Runs the chart's Envoy config for real (listeners moved to free loopback ports): the filter
    loads the chart's plugin configuration, /ready and /stats/prometheus answer on the metrics
    port and nothing else of the admin does; the runtime ConfigMap's values are in force."""
    config = yaml.safe_load(local_config)
    ports = {}
    for listener in config["static_resources"]["listeners"]:
        address = listener["address"]["socket_address"]
        ports[listener["name"]] = address["port_value"] = free_port()
        address["address"] = "127.0.0.1"
    config["admin"]["address"]["socket_address"]["port_value"] = admin = free_port()
    for cluster in config["static_resources"]["clusters"]:
        if cluster["name"] == "envoy_admin":
            cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] = admin
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "envoy.yaml"
        path.write_text(yaml.safe_dump(config))
        log = open(Path(d) / "envoy.log", "w+")
        envoy = subprocess.Popen([ENVOY, "-c", str(path), "--concurrency", "1", "--disable-hot-restart", "--log-level", "warning"], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while get(ports["metrics"], "/ready")[0] != 200:
                if envoy.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    fail(f"{label}: Envoy start", log.read()[-2000:])
                    return
                time.sleep(0.25)
            checks = {
                "GET /stats/prometheus": (get(ports["metrics"], "/stats/prometheus"), lambda r: r[0] == 200 and "restrouter_route_rq{" in r[1]),
                "GET /server_info (admin only)": (get(ports["metrics"], "/server_info"), lambda r: r[0] == 404),
                "POST /ready": (get(ports["metrics"], "/ready", "POST"), lambda r: r[0] == 404),
                # Served by the filter, or by legacy RESTBase (unreachable here) under rollout.
                "GET /en.wikipedia.org/v1/?spec": (get(ports["http"], "/en.wikipedia.org/v1/?spec"), lambda r: r[0] == (503 if rollout else 200)),
                "GET /en.wikipedia.org/v1/page/html/Earth/abc (bad revision)": (get(ports["http"], "/en.wikipedia.org/v1/page/html/Earth/abc"), lambda r: r[0] in (400, 404, 503)),
                # A forged routing header selects nothing: the write is a problem, not storage's
                # 503 (unreachable here); under rollout it is RESTBase's path (unreachable too).
                "PUT key_value with x-restrouter-cluster: storage": (
                    get(ports["http"], "/en.wikipedia.org/v1/key_value/parsoidphp/Earth", "PUT", {"x-restrouter-cluster": "storage"}),
                    lambda r: r[0] == 503 if rollout else r[0] in (404, 405) and "problem" in r[2]),
            }
            before = len(failures)
            if runtime:
                status, body, _ = get(admin, "/runtime")
                entries = json.loads(body).get("entries", {}) if status == 200 else {}
                in_force = {k: entries.get(k, {}).get("final_value") for k in runtime}
                if in_force != runtime:
                    fail(f"{label}: runtime values", f"admin /runtime shows {in_force}, the ConfigMap holds {runtime}")
            # A request that reaches an upstream (storage, or legacy RESTBase under rollout; both
            # unreachable here), so Envoy's per-class counters exist, then every dashboard metric
            # must be among those Envoy exports.
            get(ports["http"], "/en.wikipedia.org/v1/page/html/Earth")
            metrics = get(ports["metrics"], "/stats/prometheus")[1]
            exposed = {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if line and not line.startswith("#")}
            missing = sorted(wanted_metrics - exposed)
            if missing:
                fail(f"{label}: dashboard", f"queries metrics Envoy does not export: {missing}")
            for what, (result, ok) in checks.items():
                if not ok(result):
                    fail(f"{label}: live {what}", f"{result[0]} {result[1][:300]}")
            if len(failures) == before:
                print(f"ok   {label}: Envoy runs the config (ready, metrics the dashboard uses, admin hidden, public answers, a forged routing header selects nothing)")
        finally:
            envoy.terminate()
            envoy.wait(timeout=30)
            log.close()


def expect_refused(label, values, needle):
    try:
        render(values)
    except helm.HelmError as e:
        if needle in str(e):
            print(f"ok   refused: {label}")
            return
        fail(f"refused: {label}", f"wrong error: {e}")
        return
    fail(f"refused: {label}", "rendered without error")


def expect_render_refused(label, values, needle, tmp):
    path = Path(tmp) / "refused.yaml"
    path.write_text(yaml.safe_dump(values))
    code, out = render_config([path])
    if code != 0 and needle in out:
        print(f"ok   refused by restrouter-render: {label}")
    else:
        fail(f"refused by restrouter-render: {label}", f"exit {code}: {out[:300]}")


def storage_network_policy(tmp):
    """networkPolicy.storage: only this release's pods reach the storage pods' port."""
    values = with_config({"networkPolicy": {"storage": {"enabled": True, "podLabels": {"app": "restrouter-storage"}}}}, [], tmp)
    docs = render(values)
    validate_manifests("storage NetworkPolicy", docs)
    policy = next((d for _, d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-storage")), None)
    rule = policy["spec"]["ingress"] if policy else []
    if not policy or policy["spec"]["podSelector"]["matchLabels"] != {"app": "restrouter-storage"} or len(rule) != 1 \
            or rule[0]["ports"] != [{"port": 7233, "protocol": "TCP"}] \
            or rule[0]["from"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/instance") != RELEASE:
        fail("storage NetworkPolicy", f"{policy}")
    else:
        print("ok   storage NetworkPolicy: the storage port admits this release's pods only")


def main():
    if not WASM.is_file():
        sys.exit(f"{WASM} not found: run `make wasm` first")
    files = [Path(a) for a in sys.argv[1:]] or [CHART / "values-production.yaml"]
    with tempfile.TemporaryDirectory() as tls_dir, tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", f"{tls_dir}/tls.key", "-out", f"{tls_dir}/tls.crt"], check=True, capture_output=True)
        cases = [("default values", {}, [])] + [(f.name, yaml.safe_load(f.read_text()) or {}, [f]) for f in files]
        for label, values, sources in cases:
            # The config an operator renders and passes with --set-file envoyConfig=...
            code, config = render_config(sources)
            if code != 0:
                fail(f"{label}: restrouter-render chart", config)
                continue
            values = {**values, "envoyConfig": config}
            lint(label, values)
            try:
                docs = render(values)
            except helm.HelmError as e:
                fail(f"{label}: render", e)
                continue
            validate_manifests(label, docs)
            validate_envoy(label, values, docs, tls_dir)
        storage_network_policy(tmp)
        expect_refused("TLS without a Secret", with_config({"tls": {"enabled": True}}, [], tmp), "tls.secretName")
        expect_refused("no envoyConfig", {}, "envoyConfig is required")
        production = yaml.safe_load(files[0].read_text()) or {}
        expect_refused("envoyConfig rendered from other values", {**production, "envoyConfig": render_config([])[1]}, "rendered from other values")
        expect_refused("envoyConfig after a value it depends on changed",
                       {**with_config({}, [], tmp), "backends": {"storage": "elsewhere.example.org:7233"}}, "rendered from other values")
        expect_refused("storage NetworkPolicy without pod labels",
                       with_config({"networkPolicy": {"storage": {"enabled": True}}}, [], tmp), "networkPolicy.storage.podLabels")
        rollout = with_config({"rollout": {"enabled": True}}, [], tmp)
        expect_refused("rollout percent above 100", {**rollout, "rollout": {"enabled": True, "percent": {"feed": 101}}}, "not a percentage")
        expect_refused("rollout percent of no service", {**rollout, "rollout": {"enabled": True, "percent": {"feeds": 10}}}, "not a service of envoyConfig")
        expect_render_refused("rollout.services (the old list)", {"rollout": {"enabled": True, "services": [{"name": "feed", "percent": 1}]}},
                              "replaced by rollout.percent", tmp)
        # Moving traffic is a values change alone: the config rendered before still applies.
        moved = render({**rollout, "rollout": {"enabled": True, "percent": {"feed": 10}}})
        data = next((d["data"] for _, d in moved if d["metadata"]["name"].endswith("-runtime")), {})
        if data.get("restrouter.rollout.feed") == "10":
            print("ok   rollout.percent changed without a new render: the runtime ConfigMap carries it")
        else:
            fail("rollout.percent without a new render", f"{data}")
    if failures:
        print(f"{len(failures)} chart check(s) failed")
        return 1
    print("chart checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
