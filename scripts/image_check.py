#!/usr/bin/env python3
"""Smoke test of the image `make image` builds, run the way the Helm chart runs it.

Unpacks the OCI archive with umoci (the root filesystem, and the runtime spec derived from
the image's configuration) and runs containers of it with runc (as root, or through sudo):
Envoy with the chart's rendered envoy.yaml mounted read-only at /etc/envoy (the ConfigMap)
and the Deployment's command and arguments, the rate-limit sidecar with its container's
arguments, and the image's restrouter-storage; each as the pod's user, read-only root, no
capabilities. They share the host's network namespace (a pod shares one among its
containers), where the development back-end (target/release/restrouter-devbackend) stands in
for Parsoid and the other services. Checks: the image's configuration is the Dockerfile's,
Envoy's /ready answers on the metrics port, a page is fetched from the back-end, stored and
then served from storage through the filter, the sidecar's /healthz answers, and the
processes run as the pod's user.

Usage: scripts/image_check.py target/image/restrouter-TAG.oci.tar   (exit status 1 on failure)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chart_check  # noqa: E402  (the chart's rendering and the HTTP helpers)

ROOT = chart_check.ROOT
DEVBACKEND = ROOT / "target" / "release" / "restrouter-devbackend"
SUDO = [] if os.geteuid() == 0 else ["sudo", "-n"]
START_SECONDS = 90
failures = []


def fail(what, detail):
    failures.append(what)
    print(f"FAIL {what}: {detail}")


def dockerfile_config():
    """USER, ENV, WORKDIR, ENTRYPOINT and CMD as the Dockerfile states them."""
    lines = dict(re.findall(r"^(USER|ENV|WORKDIR|ENTRYPOINT|CMD) (.*)$", (ROOT / "Dockerfile").read_text(), re.M))
    return {"User": lines["USER"], "Env": [lines["ENV"]], "WorkingDir": lines["WORKDIR"],
            "Entrypoint": json.loads(lines["ENTRYPOINT"]), "Cmd": json.loads(lines["CMD"])}


def image_config(layout):
    index = json.loads((layout / "index.json").read_text())
    blob = lambda digest: json.loads((layout / "blobs" / digest.replace(":", "/")).read_text())  # noqa: E731
    manifest = blob(index["manifests"][0]["digest"])
    return index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], blob(manifest["config"]["digest"])["config"]


def render(ports, storage, backend):
    values = {
        "backends": {"storage": storage, "parsoid": backend, "mobileapps": backend, "wikifeeds": backend, "aqs": backend, "cxserver": backend, "mathoid": backend, "proton": backend, "citoid": backend, "recommendation": backend, "graphoid": backend, "mwapi": backend, "eventgate": backend},
        "envoy": {"concurrency": 1, "adminPort": ports["admin"]},
        "ports": {"http": ports["http"], "metrics": ports["metrics"], "dht": ports["dht"], "ratelimitApi": ports["ratelimitApi"]},
    }
    # The chart deploys the Envoy config restrouter-render renders from the same values.
    with tempfile.TemporaryDirectory() as tmp:
        docs = chart_check.render(chart_check.with_config(values, [], tmp))
    config = next(d["data"]["envoy.yaml"] for _, d in docs if d["kind"] == "ConfigMap" and "envoy.yaml" in d.get("data", {}))
    pod = next(d for _, d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    return config, pod


def kube_args(container, env):
    """The container's command and arguments with $(VAR) expanded as the kubelet does."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in container["command"] + container.get("args", [])]


class Runtime:
    """Containers of one image, run by runc on the root filesystem umoci unpacked."""

    def __init__(self, work, layout, tag):
        self.work, self.running = work, []
        self.prefix = f"restrouter-smoke-{os.getpid()}"
        # One unpacked root filesystem (read-only) for every container, and the runtime spec
        # umoci derives from the image's configuration as the template of each.
        unpacked = work / "unpacked"
        subprocess.run(SUDO + ["umoci", "unpack", "--image", f"{layout}:{tag}", str(unpacked)], check=True, capture_output=True)
        self.spec = json.loads(subprocess.run(SUDO + ["cat", str(unpacked / "config.json")], check=True, capture_output=True, text=True).stdout)
        self.spec["root"] = {"path": str(unpacked / "rootfs"), "readonly": True}

    def start(self, name, args, user, env=(), mounts=()):
        bundle = self.work / name
        bundle.mkdir()
        spec = json.loads(json.dumps(self.spec))
        process = spec["process"]
        process.update(args=args, terminal=False, noNewPrivileges=True, capabilities={k: [] for k in ["bounding", "effective", "inheritable", "permitted", "ambient"]})
        process["user"] = {"uid": user[0], "gid": user[1]}
        process["env"] = process["env"] + list(env)
        # The pod's network namespace is the host's here, so the test and the back-end reach it.
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
        spec["mounts"] += [{"destination": d, "type": "bind", "source": str(s), "options": ["rbind", "ro"]} for d, s in mounts]
        (bundle / "config.json").write_text(json.dumps(spec))
        log = open(self.work / f"{name}.log", "w+")
        cid = f"{self.prefix}-{name}"
        proc = subprocess.Popen(SUDO + ["runc", "run", "--bundle", str(bundle), cid], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.running.append((cid, proc, log))
        return proc, log

    def pid(self, name):
        state = subprocess.run(SUDO + ["runc", "state", f"{self.prefix}-{name}"], capture_output=True, text=True)
        return json.loads(state.stdout)["pid"] if state.returncode == 0 else None

    def stop(self):
        for cid, proc, log in reversed(self.running):
            subprocess.run(SUDO + ["runc", "kill", cid, "TERM"], capture_output=True)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                subprocess.run(SUDO + ["runc", "kill", cid, "KILL"], capture_output=True)
                proc.wait(timeout=10)
            subprocess.run(SUDO + ["runc", "delete", "--force", cid], capture_output=True)
            log.close()


def wait_for(what, check, procs):
    deadline = time.monotonic() + START_SECONDS
    while not check():
        for name, (proc, log) in procs.items():
            if proc.poll() is not None:
                log.seek(0)
                fail(what, f"{name} exited ({proc.returncode}): {log.read()[-2000:]}")
                return False
        if time.monotonic() > deadline:
            fail(what, f"no answer within {START_SECONDS} s")
            return False
        time.sleep(0.25)
    return True


def metric(text, name):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(rf"{name}(\{{| )", line))


def smoke(runtime, work):
    ports = {name: chart_check.free_port() for name in ["http", "metrics", "admin", "dht", "ratelimitApi", "storage", "backend"]}
    backend, storage = f"127.0.0.1:{ports['backend']}", f"127.0.0.1:{ports['storage']}"
    config, pod = render(ports, storage, backend)
    (work / "envoy-config").mkdir()
    (work / "envoy-config" / "envoy.yaml").write_text(config)
    containers = {c["name"]: c for c in pod["containers"]}
    user = (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"])
    env = {"POD_IP": "127.0.0.1"}

    procs = {}
    devlog = open(work / "devbackend.log", "w+")
    procs["devbackend"] = (subprocess.Popen([str(DEVBACKEND), "--listen", backend], stdout=devlog, stderr=devlog), devlog)
    try:
        procs["storage"] = runtime.start("storage", ["restrouter-storage", "--listen", storage, "--db", ":memory:", "--mwapi", f"http://{backend}/w/api.php"], user)
        procs["ratelimit"] = runtime.start("ratelimit", kube_args(containers["ratelimit"], env), user,
                                           env=[f"POD_IP={env['POD_IP']}", "RUST_LOG=info"])
        procs["envoy"] = runtime.start("envoy", kube_args(containers["envoy"], env), user, mounts=[("/etc/envoy", work / "envoy-config")])

        if not wait_for("Envoy /ready on the metrics port", lambda: chart_check.get(ports["metrics"], "/ready")[0] == 200, procs):
            return
        print("ok   image: Envoy runs the chart's config from the image (/ready answers on the metrics port)")
        if wait_for("sidecar /healthz", lambda: chart_check.get(ports["ratelimitApi"], "/healthz")[0] == 200, procs):
            print("ok   image: the rate-limit sidecar runs with the chart's arguments (/healthz answers)")

        page = "/en.wikipedia.org/v1/page/html/Earth"
        first = fetch(ports["http"], page)
        second = fetch(ports["http"], page)
        stats = chart_check.get(ports["metrics"], "/stats/prometheus")[1]
        if first[0] != 200 or "text/html" not in first[1].get("content-type", "") or not first[1].get("etag"):
            fail("image: page through the filter", f"{first[0]} {first[1]}")
        elif second[0] != 200 or second[1].get("etag") != first[1]["etag"] or second[2] != first[2]:
            fail("image: stored page", f"second answer differs: {second[0]} {second[1]}")
        elif metric(stats, "restrouter_storage_write_ok") < 1 or metric(stats, "restrouter_storage_hit") < 1:
            fail("image: stored page", "storage write or hit not counted: " + " ".join(l for l in stats.splitlines() if "restrouter_storage" in l))
        else:
            print(f"ok   image: {page} fetched, stored in the image's restrouter-storage, then served from it (ETag {first[1]['etag']})")

        for name in ["envoy", "ratelimit", "storage"]:
            pid = runtime.pid(name)
            status = Path(f"/proc/{pid}/status").read_text() if pid else ""
            uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
            if not uid or int(uid.group(1)) != user[0]:
                fail(f"image: {name} user", f"runs as {uid.group(1) if uid else '?'}, not {user[0]}")
        print(f"ok   image: envoy, restrouter-ratelimit and restrouter-storage run as uid {user[0]}, read-only root, no capabilities")
    finally:
        runtime.stop()
        procs["devbackend"][0].terminate()
        procs["devbackend"][0].wait(timeout=30)
        devlog.close()
        if failures:
            for name in ["envoy", "ratelimit", "storage"]:
                log = work / f"{name}.log"
                if log.exists():
                    print(f"--- {name} log (end)\n{log.read_text()[-1500:]}")


def fetch(port, path):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except OSError as e:
        return None, {"error": str(e)}, b""


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    archive = Path(sys.argv[1])
    for tool in ["umoci", "runc"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: `scripts/image.sh` installs it")
    work = Path(tempfile.mkdtemp(prefix="restrouter-image-"))
    try:
        layout = work / "layout"
        layout.mkdir()
        subprocess.run(["tar", "-xf", str(archive), "-C", str(layout)], check=True)
        tag, config = image_config(layout)
        wanted = dockerfile_config()
        differing = {k: (config.get(k), v) for k, v in wanted.items() if config.get(k) != v}
        if differing:
            fail("image: configuration equals the Dockerfile's", differing)
        else:
            print(f"ok   image: {archive.name} configured as the Dockerfile states (user {wanted['User']}, entrypoint {wanted['Entrypoint']})")
        smoke(Runtime(work, layout, tag), work)
    finally:
        subprocess.run(SUDO + ["rm", "-rf", str(work)], check=False)
    if failures:
        print(f"{len(failures)} image check(s) failed")
        return 1
    print("image checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
