#!/usr/bin/env python3
"""Runs the pods of rendered manifests as Kubernetes would, on this one machine, as root: each pod
a network namespace on a bridge (its own IP, eth0), /etc/hosts naming every Service's pod, each
container a real process of its command, args and environment ($(VAR) expanded as the kubelet
does), chrooted into the image's root (read-only when asked) with its volumes mounted (a Secret as
files, a PersistentVolumeClaim as one folder shared by the pods that claim it, an emptyDir per
pod), as the manifest's user, restarted by its restart policy, probed by its tcpSocket probes from
the node, its peak memory held against its limit. Then it checks the run the pods made.

    pods.py RENDERED.yaml --image ROOT --containerfile FILE --work DIR [--kill-worker INDEX] [--tag N]

Not emulated (the script refuses what it does not know rather than skip it): Service port
remapping (a Service's port must equal its target port), NetworkPolicy, seccomp, cgroups (CPU
limits), scheduling. Exits 1 with the reasons when a check fails.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
POD_WORKLOADS = {"Job", "StatefulSet"}
KNOWN_KINDS = POD_WORKLOADS | {"Namespace", "NetworkPolicy", "PersistentVolumeClaim", "Service", "ConfigMap", "Secret"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Failure(Exception):
    pass


def log(message):
    print(f"pods.py: {message}", flush=True)


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def expand(text, env):
    """The kubelet's $(VAR) expansion: $(NAME) of a defined variable is replaced, $$ is $, the rest stays."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def quantity(text):
    """Bytes in a Kubernetes memory quantity (512Mi, 1Gi, 1G, 1000)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    return float(match.group(1)) * units.get(match.group(2), 1)


def image_settings(containerfile):
    """ENV and WORKDIR of the Containerfile's last stage: what the image gives every container."""
    env, workdir = {"PATH": DEFAULT_PATH}, "/"
    stage = open(containerfile).read().replace("\\\n", " ").split("\nFROM ")[-1]
    for line in stage.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                name, _, value = pair.partition("=")
                env[name] = value
        elif line.startswith("WORKDIR "):
            workdir = line.split(None, 1)[1].strip()
    return env, workdir


class Container:
    """One container of a pod: its process, restarts, log and peak memory."""

    def __init__(self, pod, spec):
        self.pod, self.spec, self.name = pod, spec, spec["name"]
        self.process, self.starts, self.exit_codes, self.peak = None, 0, [], 0
        self.done, self.restart_at = False, None
        self.cpu_seconds, self.cpu_now = 0.0, 0.0   # CPU time of the finished starts; of the running one, last seen
        self.log_path = os.path.join(pod.cluster.work, "logs", f"{pod.name}.log")
        self.ready_at, self.probe_failures, self.next_probe = None, 0, 0.0

    def start(self):
        pod, cluster = self.pod, self.pod.cluster
        env = dict(cluster.image_env)
        env["HOSTNAME"] = pod.name
        for source in self.spec.get("envFrom", []):
            if "configMapRef" not in source:
                raise Failure(f"{pod.name}: envFrom {source} is not emulated")
            env.update(cluster.config_map(source["configMapRef"]["name"]))
        for variable in self.spec.get("env", []):
            env[variable["name"]] = self.value_of(variable, env)
        argv = [expand(word, env) for word in self.spec.get("command", []) + self.spec.get("args", [])]
        if not self.spec.get("command"):
            raise Failure(f"{pod.name}: a container without a command runs the image's CMD; the manifests should say what runs")
        context = {**pod.template_spec.get("securityContext", {}), **self.spec.get("securityContext", {})}
        uid = context.get("runAsUser")
        if uid is None or (context.get("runAsNonRoot") and uid == 0):
            raise Failure(f"{pod.name}: runAsNonRoot needs a numeric runAsUser here")
        mounts = []
        for mount in self.spec.get("volumeMounts", []):
            source = pod.volumes.get(mount["name"])
            if source is None:
                raise Failure(f"{pod.name}: volumeMount {mount['name']} names no volume of the pod")
            os.makedirs(os.path.join(cluster.image, mount["mountPath"].lstrip("/")), exist_ok=True)
            mounts.append({"source": source, "mountPath": mount["mountPath"], "readOnly": bool(mount.get("readOnly"))})
        mount_point = os.path.join(cluster.work, "roots", pod.name)
        os.makedirs(mount_point, exist_ok=True)
        spec = {"image": cluster.image, "mountPoint": mount_point, "hostname": pod.name,
                "readOnlyRootFilesystem": bool(context.get("readOnlyRootFilesystem")),
                "mounts": mounts, "uid": uid, "gid": context.get("runAsGroup", uid),
                "groups": [g for g in [context.get("runAsGroup", uid), context.get("fsGroup")] if g is not None],
                "noNewPrivileges": context.get("allowPrivilegeEscalation") is False,
                "workingDir": self.spec.get("workingDir", cluster.image_workdir), "argv": argv, "env": env}
        spec_path = os.path.join(cluster.work, "specs", f"{pod.name}.{self.starts}.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f, indent=1)
        self.starts += 1
        with open(self.log_path, "a") as out:
            out.write(f"=== pods.py: start {self.starts}: {' '.join(argv)}\n")
            out.flush()
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", pod.namespace, "unshare", "--mount", "--uts", "--propagation", "private", "--",
                 sys.executable, os.path.join(HERE, "podinit.py"), spec_path],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.ready_at, self.probe_failures, self.next_probe = None, 0, time.monotonic()

    def value_of(self, variable, env):
        if "value" in variable:
            return expand(variable["value"], env)
        source = variable.get("valueFrom", {})
        if "fieldRef" in source:
            return self.pod.field(source["fieldRef"]["fieldPath"])
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return self.pod.cluster.config_map(ref["name"])[ref["key"]]
        raise Failure(f"{self.pod.name}: env {variable['name']}: {source} is not emulated")

    def log_text(self, start=None):
        text = open(self.log_path, errors="replace").read()
        if start is not None:
            text = text.split("=== pods.py: start ")[start] if text.count("=== pods.py: start ") >= start else ""
        return text

    def poll(self):
        """Notes an exit and applies the restart policy; samples memory; runs due probes."""
        if self.process is None or self.done:
            return
        if self.restart_at is not None:
            if time.monotonic() >= self.restart_at:
                self.restart_at = None
                self.start()
            return
        code = self.process.poll()
        if code is None:
            try:
                with open(f"/proc/{self.process.pid}/status") as f:
                    hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read())
                if hwm:
                    self.peak = max(self.peak, int(hwm.group(1)) * 1024)
                with open(f"/proc/{self.process.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                self.cpu_now = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime
            except OSError:
                pass
            self.probe()
            return
        code = 128 - code if code < 0 else code   # killed by a signal: as a shell reports it
        self.exit_codes.append(code)
        self.cpu_seconds += self.cpu_now
        self.cpu_now = 0.0
        policy = self.pod.template_spec.get("restartPolicy", "Always")
        log(f"{self.pod.name}: exited {code} (start {self.starts}); restartPolicy {policy}")
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            if self.starts >= 6:
                raise Failure(f"{self.pod.name}: crash-looping ({self.starts} starts, exits {self.exit_codes})")
            # The kubelet's back-off, shortened: at once, then 1, 2, 4 … s.
            self.restart_at = time.monotonic() + (0 if self.starts == 1 else 2 ** (self.starts - 2))
            if self.pod.workload["kind"] == "Job":
                self.pod.cluster.job_failures[self.pod.workload_name] = self.pod.cluster.job_failures.get(self.pod.workload_name, 0) + 1
                if self.pod.cluster.job_failures[self.pod.workload_name] > self.pod.workload["spec"].get("backoffLimit", 6):
                    raise Failure(f"job {self.pod.workload_name} passed its backoffLimit")
        else:
            self.done = True

    def probe(self):
        """tcpSocket readiness and liveness probes, from the node (the bridge's address), as the kubelet sends them."""
        now = time.monotonic()
        if now < self.next_probe:
            return
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = self.spec.get(kind)
            if probe and "tcpSocket" not in probe:
                raise Failure(f"{self.pod.name}: {kind} {sorted(probe)} is not emulated (tcpSocket only)")
        readiness = self.spec.get("readinessProbe")
        if readiness:
            port = self.pod.container_port(self, readiness["tcpSocket"]["port"])
            try:
                socket.create_connection((self.pod.ip, port), timeout=1).close()
                if self.ready_at is None:
                    self.ready_at = now
                    log(f"{self.pod.name}: ready (tcpSocket :{port}) {now - self.pod.cluster.started:.1f} s after apply")
            except OSError:
                pass
            self.pod.cluster.probes += 1
        # Every second rather than every periodSeconds, so that a short run shows its readiness.
        self.next_probe = now + min(1, (readiness or {}).get("periodSeconds", 10))

    def stop(self, grace):
        """SIGTERM, then SIGKILL after the grace period, as a pod's deletion does; the seconds it took."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Failure(f"{self.pod.name}: still running {grace} s after SIGTERM (terminationGracePeriodSeconds)")
        self.done = True
        return time.monotonic() - start


class Pod:
    def __init__(self, cluster, workload, name, labels, annotations, number):
        self.cluster, self.workload, self.name = cluster, workload, name
        self.workload_name = workload["metadata"]["name"]
        self.template_spec = workload["spec"]["template"]["spec"]
        self.labels, self.annotations = labels, annotations
        self.namespace = f"agk{cluster.tag}-{number}"
        self.ip = f"{cluster.subnet}.{10 + number}"
        self.number = number
        if self.template_spec.get("initContainers"):
            raise Failure(f"{name}: initContainers are not emulated")
        self.containers = [Container(self, c) for c in self.template_spec["containers"]]
        self.volumes = {}

    def field(self, path):
        values = {"metadata.name": self.name, "metadata.namespace": self.cluster.kube_namespace, "status.podIP": self.ip,
                  "spec.nodeName": "node-0", "spec.serviceAccountName": "default"}
        if path in values:
            return values[path]
        match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
        if match:
            table = self.labels if match.group(1) == "labels" else self.annotations
            return table.get(match.group(2), "")
        raise Failure(f"{self.name}: fieldRef {path} is not emulated")

    def container_port(self, container, port):
        if isinstance(port, int):
            return port
        for p in container.spec.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        raise Failure(f"{self.name}: no container port named {port}")

    def make_volumes(self):
        cluster, fs_group = self.cluster, self.template_spec.get("securityContext", {}).get("fsGroup", 0)
        for volume in self.template_spec.get("volumes", []):
            name = volume["name"]
            if "secret" in volume:
                self.volumes[name] = cluster.secret_volume(self, volume["secret"], fs_group)
            elif "persistentVolumeClaim" in volume:
                self.volumes[name] = cluster.claim(volume["persistentVolumeClaim"]["claimName"], fs_group)
            elif "emptyDir" in volume:
                path = os.path.join(cluster.work, "volumes", f"{self.name}-{name}")
                os.makedirs(path, exist_ok=True)
                os.chmod(path, 0o777)
                self.volumes[name] = path
            else:
                raise Failure(f"{self.name}: volume {name} {sorted(volume)} is not emulated")

    def make_network(self):
        tag, i = self.cluster.tag, self.number
        host, inside = f"agk{tag}h{i}", f"agk{tag}p{i}"
        run("ip", "netns", "add", self.namespace)
        run("ip", "link", "add", host, "type", "veth", "peer", "name", inside)
        run("ip", "link", "set", inside, "netns", self.namespace)
        run("ip", "link", "set", host, "master", self.cluster.bridge)
        run("ip", "link", "set", host, "up")
        run("ip", "-n", self.namespace, "link", "set", inside, "name", "eth0")
        run("ip", "-n", self.namespace, "addr", "add", f"{self.ip}/24", "dev", "eth0")
        run("ip", "-n", self.namespace, "link", "set", "eth0", "up")
        run("ip", "-n", self.namespace, "link", "set", "lo", "up")

    def write_hosts(self):
        lines = ["127.0.0.1\tlocalhost", f"{self.ip}\t{self.name}"]
        for service, ip in self.cluster.service_ips.items():
            ns = self.cluster.kube_namespace
            lines.append(f"{ip}\t{service} {service}.{ns} {service}.{ns}.svc {service}.{ns}.svc.cluster.local")
        folder = f"/etc/netns/{self.namespace}"
        os.makedirs(folder, exist_ok=True)
        with open(f"{folder}/hosts", "w") as f:
            f.write("\n".join(lines) + "\n")


class Cluster:
    def __init__(self, documents, image, containerfile, work, tag):
        self.documents, self.image, self.work = documents, image, work
        self.image_env, self.image_workdir = image_settings(containerfile)
        self.tag = tag
        self.subnet = f"10.213.{self.tag % 250}"
        self.bridge = f"agk{self.tag}br"
        self.pods, self.service_ips, self.job_failures, self.probes = [], {}, {}, 0
        self.started = time.monotonic()
        unknown = {d["kind"] for d in documents} - KNOWN_KINDS
        if unknown:
            raise Failure(f"kinds {sorted(unknown)} are not emulated")
        namespaces = {d["metadata"].get("namespace") for d in documents if d["kind"] != "Namespace"}
        if len(namespaces) != 1:
            raise Failure(f"the resources are in namespaces {namespaces}, expected one")
        self.kube_namespace = namespaces.pop() or "default"
        for folder in ("logs", "specs", "roots", "volumes"):
            os.makedirs(os.path.join(work, folder), exist_ok=True)

    def resource(self, kind, name):
        for d in self.documents:
            if d["kind"] == kind and d["metadata"]["name"] == name:
                return d
        raise Failure(f"{kind} {name} is referred to but not defined")

    def config_map(self, name):
        return dict(self.resource("ConfigMap", name).get("data", {}))

    def secret_volume(self, pod, source, fs_group):
        """A Secret as the kubelet mounts it: a timestamped folder, ..data linking to it, one link per key."""
        secret = self.resource("Secret", source["secretName"])
        data = {k: base64.b64decode(v) for k, v in secret.get("data", {}).items()}
        items = source.get("items") or [{"key": k, "path": k} for k in data]
        folder = os.path.join(self.work, "volumes", f"{pod.name}-secret-{source['secretName']}-{len(pod.volumes)}")
        stamp = os.path.join(folder, "..2026_01_01_00_00_00.000000000")
        os.makedirs(stamp)
        for item in items:
            if item["key"] not in data:
                raise Failure(f"{pod.name}: Secret {source['secretName']} has no key {item['key']}")
            path = os.path.join(stamp, item["path"])
            with open(path, "wb") as f:
                f.write(data[item["key"]])
            os.chown(path, 0, fs_group)
            os.chmod(path, item.get("mode", source.get("defaultMode", 0o644)))
            os.symlink(os.path.join("..data", item["path"]), os.path.join(folder, item["path"]))
        os.symlink(os.path.basename(stamp), os.path.join(folder, "..data"))
        for path in (folder, stamp):
            os.chown(path, 0, fs_group)
            os.chmod(path, 0o755)
        return folder

    def claim(self, name, fs_group):
        """One folder per PersistentVolumeClaim, shared by every pod that mounts it; fsGroup owns it (setgid)."""
        self.resource("PersistentVolumeClaim", name)
        path = os.path.join(self.work, "volumes", f"pvc-{name}")
        if not os.path.isdir(path):
            os.makedirs(path)
            os.chown(path, 0, fs_group)
            os.chmod(path, 0o2775)
        return path

    def create_pods(self):
        number = 0
        for workload in [d for d in self.documents if d["kind"] in POD_WORKLOADS]:
            name, spec = workload["metadata"]["name"], workload["spec"]
            template_labels = spec["template"]["metadata"].get("labels", {})
            selector = spec.get("selector", {}).get("matchLabels", {})
            if any(template_labels.get(k) != v for k, v in selector.items()):
                raise Failure(f"{name}: its selector {selector} does not match its pod template's labels")
            if workload["kind"] == "StatefulSet":
                pods = [(f"{name}-{i}", {"apps.kubernetes.io/pod-index": str(i), "statefulset.kubernetes.io/pod-name": f"{name}-{i}"}, {})
                        for i in range(spec.get("replicas", 1))]
            else:
                completions, parallelism = spec.get("completions", 1), spec.get("parallelism", 1)
                if parallelism != completions:
                    raise Failure(f"job {name}: parallelism {parallelism} != completions {completions}; only all-at-once is emulated")
                if spec.get("completionMode") == "Indexed":
                    key = "batch.kubernetes.io/job-completion-index"
                    pods = [(f"{name}-{i}", {key: str(i)}, {key: str(i)}) for i in range(completions)]
                else:
                    pods = [(f"{name}-{i}", {}, {}) for i in range(completions)]
            for pod_name, labels, annotations in pods:
                pod = Pod(self, workload, pod_name, {**template_labels, **labels}, annotations, number)
                if "batch.kubernetes.io/job-completion-index" in annotations:
                    for container in pod.containers:   # the Job controller adds it to every container
                        container.spec = {**container.spec, "env": [{"name": "JOB_COMPLETION_INDEX", "value": annotations["batch.kubernetes.io/job-completion-index"]}]
                                          + container.spec.get("env", [])}
                self.pods.append(pod)
                number += 1
        for service in [d for d in self.documents if d["kind"] == "Service"]:
            name, selector = service["metadata"]["name"], service["spec"]["selector"]
            chosen = [p for p in self.pods if all(p.labels.get(k) == v for k, v in selector.items())]
            if len(chosen) != 1:
                raise Failure(f"Service {name} selects {len(chosen)} pods ({[p.name for p in chosen]}); exactly one is emulated")
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                resolved = [chosen[0].container_port(c, target) for c in chosen[0].containers
                            if isinstance(target, int) or any(p.get("name") == target for p in c.spec.get("ports", []))]
                if resolved != [port["port"]]:
                    raise Failure(f"Service {name}: port {port['port']} goes to {resolved} in pod {chosen[0].name}; "
                                  "the emulation needs port = targetPort")
            self.service_ips[name] = chosen[0].ip

    def up(self):
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        self.create_pods()
        for pod in self.pods:
            pod.make_network()
            pod.write_hosts()
            pod.make_volumes()
        self.started = time.monotonic()
        for pod in self.pods:               # as `kubectl apply`: every pod at once, in no order
            for container in pod.containers:
                container.start()

    def down(self):
        for pod in self.pods:
            for container in pod.containers:
                if container.process and container.process.poll() is None:
                    os.killpg(container.process.pid, signal.SIGKILL)
                    container.process.wait()
        for pod in self.pods:
            subprocess.run(["ip", "netns", "del", pod.namespace], capture_output=True)
            # A namespace whose sockets still retransmit outlives its deletion, and keeps its veth pair.
            subprocess.run(["ip", "link", "del", f"agk{self.tag}h{pod.number}"], capture_output=True)
            shutil.rmtree(f"/etc/netns/{pod.namespace}", ignore_errors=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def poll(self):
        for pod in self.pods:
            for container in pod.containers:
                container.poll()

    def pod(self, name):
        return next(p for p in self.pods if p.name == name)

    def wait(self, what, condition, timeout):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise Failure(f"timed out after {timeout} s waiting for {what}")
            self.poll()
            time.sleep(0.2)

    def job_complete(self, name):
        pods = [p for p in self.pods if p.workload_name == name]
        return all(c.done and c.exit_codes and c.exit_codes[-1] == 0 for p in pods for c in p.containers)


def store_steps(db_path, tag="g_loss"):
    """{worker: set of steps} of a tag in run.db, read-only."""
    if not os.path.exists(db_path):
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        steps = {}
        for worker, step in db.execute("SELECT worker, step FROM scalars WHERE tag = ?", (tag,)):
            steps.setdefault(worker, set()).add(step)
        return steps
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def incarnations(db_path, worker):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM incarnations WHERE worker = ?", (worker,)).fetchone()[0]
    finally:
        db.close()


def scenario(cluster, kill_worker, timeout):
    settings = cluster.config_map("agon-run")
    steps, workers = int(settings["STEPS"]), int(settings["WORKERS"])
    worker_job = cluster.resource("Job", "agon-worker")["spec"]
    if worker_job["completions"] != workers or worker_job["parallelism"] != workers:
        raise Failure(f"WORKERS={workers} but the worker Job has completions {worker_job['completions']}, "
                      f"parallelism {worker_job['parallelism']}: kustomization.yaml's two worker counts differ")
    cluster.up()
    run_dir = cluster.claim("agon-run", 0)
    db = os.path.join(run_dir, "run.db")
    coordinator = cluster.pod("agon-coordinator-0").containers[0]
    killed = None
    if kill_worker is not None:
        killed = cluster.pod(f"agon-worker-{kill_worker}").containers[0]
        name = f"worker-{kill_worker}"
        cluster.wait(f"{name} to store 30 steps", lambda: len(store_steps(db).get(name, ())) >= 30, timeout)
        kill_step = max(store_steps(db)[name])
        log(f"kill -9 {killed.pod.name} (pid {killed.process.pid}) after it stored step {kill_step}")
        killed.process.send_signal(signal.SIGKILL)
        cluster.wait(f"{killed.pod.name} to start again and join",
                     lambda: killed.starts >= 2 and "worker: joined" in killed.log_text(2), 60)
        log(f"{killed.pod.name}: started again by its restart policy and joined: "
            + next(line for line in killed.log_text(2).splitlines() if "worker: joined" in line))
    cluster.wait("the coordinator's and the workers' Jobs to complete",
                 lambda: cluster.job_complete("agon-coordinator") and cluster.job_complete("agon-worker"), timeout)
    log(f"both Jobs complete {time.monotonic() - cluster.started:.1f} s after apply")

    problems, elapsed = [], time.monotonic() - cluster.started
    for pod in cluster.pods:
        if pod.workload["kind"] == "StatefulSet":
            seconds = pod.containers[0].stop(pod.template_spec.get("terminationGracePeriodSeconds", 30))
            log(f"{pod.name}: stopped {seconds:.1f} s after SIGTERM (grace {pod.template_spec.get('terminationGracePeriodSeconds', 30)} s)")
    for pod in cluster.pods:
        for container in pod.containers:
            limit = container.spec.get("resources", {}).get("limits", {}).get("memory")
            cpu = container.spec.get("resources", {}).get("limits", {}).get("cpu")
            log(f"{pod.name}: peak memory {container.peak / 2**20:.0f} MiB (limit {limit}), "
                f"CPU {container.cpu_seconds + container.cpu_now:.1f} s in {elapsed:.1f} s (limit {cpu} core), "
                f"starts {container.starts}, exits {container.exit_codes}")
            if limit and container.peak > quantity(limit):
                problems.append(f"{pod.name}: peak memory {container.peak / 2**20:.0f} MiB is over its limit {limit}")
            if pod.workload["kind"] == "StatefulSet" and container.ready_at is None:
                problems.append(f"{pod.name}: never ready (its readinessProbe never connected)")
    coordinator_log = coordinator.log_text()
    if f"coordinator: run complete after {steps} steps" not in coordinator_log:
        problems.append(f"the coordinator's log does not say 'run complete after {steps} steps'")
    if "refused" in coordinator_log or "refused" in cluster.pod("agon-aggregator-0").containers[0].log_text():
        problems.append(f"a refusal in the logs after {cluster.probes} probe connections: "
                        + "; ".join(l for l in coordinator_log.splitlines() if "refused" in l)[:500])
    checkpoint = os.path.join(run_dir, "checkpoints", f"step-{steps:08d}.safetensors")
    if not os.path.exists(checkpoint):
        problems.append(f"no final checkpoint {checkpoint}")
    stored = store_steps(db)
    everything = set(range(1, steps + 1))
    for index in range(workers):
        name = f"worker-{index}"
        have = stored.get(name, set())
        if kill_worker is None and have != everything:
            problems.append(f"run.db: {name} has {len(have)} of {steps} steps' g_loss")
        elif not have:
            problems.append(f"run.db: {name} has no steps")
        log(f"run.db: {name}: {len(have)} steps of g_loss, {incarnations(db, name)} start(s)")
    if killed is not None:
        after = {s for s in stored.get(f"worker-{kill_worker}", ()) if s > kill_step + 1}
        if not after:
            problems.append(f"worker-{kill_worker} stored no step after its restart (killed after step {kill_step})")
        if incarnations(db, f"worker-{kill_worker}") < 2:
            problems.append(f"run.db: worker-{kill_worker} has one start; its restart was not recorded as the same worker")
        if killed.exit_codes[0] != 137:
            problems.append(f"the killed worker exited {killed.exit_codes[0]}, not 137")
    if problems:
        raise Failure("; ".join(problems))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered")
    parser.add_argument("--image", required=True, help="the image's root folder")
    parser.add_argument("--containerfile", required=True)
    parser.add_argument("--work", required=True, help="an empty folder for logs, volumes and mount points")
    parser.add_argument("--kill-worker", type=int, help="kill -9 this worker index mid-run and see it rejoin")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--tag", type=int, default=os.getpid() % 10000,
                        help="names the namespaces agkTAG-N, the bridge agkTAGbr (test.sh's trap removes them)")
    args = parser.parse_args()
    with open(args.rendered) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    cluster = Cluster(documents, args.image, args.containerfile, args.work, args.tag)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(Failure("interrupted")))
    try:
        scenario(cluster, args.kill_worker, args.timeout)
    except Failure as failure:
        log(f"FAILED: {failure}")
        for pod in cluster.pods:
            for container in pod.containers:
                if os.path.exists(container.log_path):
                    print(f"--- {pod.name} (last lines)\n" + "\n".join(container.log_text().splitlines()[-12:]), file=sys.stderr)
        return 1
    finally:
        cluster.down()
    log("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
