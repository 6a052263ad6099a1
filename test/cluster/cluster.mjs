#!/usr/bin/env node
// A real Kubernetes control plane on loopback for the test tiers: etcd,
// kube-apiserver and kube-controller-manager built from Go modules by
// test/cluster/build.sh. There is no kubelet: pods stay Pending, but the API
// server, its admission (PodSecurity included) and the controllers that make
// ReplicaSets and pods are real.
//
//   npm run cluster -- start     build if needed, start, wait for /readyz, print the kubeconfig path
//   npm run cluster -- stop      stop it and delete its data
//   npm run cluster -- status    exit 0 when it answers /readyz
//
// Everything lives in .cluster/ at the project root (git-ignored, 0700): the
// kubeconfig (context `mtls-test`), keys, logs, pids and etcd's data.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(HERE, "..", "..");
export const CLUSTER_DIR = process.env.MTLS_CLUSTER_DIR ?? path.join(PROJECT_ROOT, ".cluster");
export const KUBECONFIG = path.join(CLUSTER_DIR, "kubeconfig");
export const CONTEXT = "mtls-test";
const K8S_VERSION = process.env.MTLS_K8S_VERSION ?? "1.34.4";
const CLUSTER_HOME =
    process.env.MTLS_CLUSTER_HOME ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mtls-cluster");
export const BIN = path.join(CLUSTER_HOME, "bin", `v${K8S_VERSION}`);
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager"];

const say = (msg) => console.log(`[cluster] ${msg}`);
const file = (name) => path.join(CLUSTER_DIR, name);

function run(cmd, args, options = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...options });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** A CA, the API server's serving certificate, client certificates and the service-account key pair. */
function makeKeys() {
    const ssl = (...args) => run("openssl", args, { cwd: CLUSTER_DIR });
    ssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "30",
        "-subj",
        "/CN=mtls-test-cluster-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
    const leaf = (name, subject, ext) => {
        ssl(
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.csr`,
            "-subj",
            subject,
        );
        fs.writeFileSync(file(`${name}.ext`), ext);
        ssl(
            "x509",
            "-req",
            "-in",
            `${name}.csr`,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            `${name}.crt`,
            "-extfile",
            `${name}.ext`,
        );
        fs.rmSync(file(`${name}.csr`));
        fs.rmSync(file(`${name}.ext`));
    };
    leaf(
        "apiserver",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" +
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n",
    );
    const client = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
    leaf("admin", "/O=system:masters/CN=mtls-test-admin", client);
    leaf("controller-manager", "/CN=system:kube-controller-manager", client);
    ssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key");
    ssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub");
    for (const f of fs.readdirSync(CLUSTER_DIR)) if (f.endsWith(".key")) fs.chmodSync(file(f), 0o600);
}

function kubeconfig(server, user, context = CONTEXT) {
    const b64 = (name) => fs.readFileSync(file(name)).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        `current-context: ${context}`,
        "clusters:",
        `- name: ${context}`,
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${b64("ca.crt")}`,
        "users:",
        `- name: ${user}`,
        "  user:",
        `    client-certificate-data: ${b64(`${user}.crt`)}`,
        `    client-key-data: ${b64(`${user}.key`)}`,
        "contexts:",
        `- name: ${context}`,
        "  context:",
        `    cluster: ${context}`,
        `    user: ${user}`,
        "",
    ].join("\n");
}

function startProcess(name, args) {
    const log = fs.openSync(file(`${name}.log`), "a");
    const child = spawn(path.join(BIN, name), args, { detached: true, stdio: ["ignore", log, log], cwd: CLUSTER_DIR });
    child.unref();
    fs.writeFileSync(file(`${name}.pid`), String(child.pid));
    return child;
}

/** GET `urlPath` on the API server with the admin certificate; resolves to { status, body }. */
export function apiGet(urlPath, state = readState()) {
    return new Promise((resolve) => {
        const req = https.get(
            {
                host: "127.0.0.1",
                port: state.apiserverPort,
                path: urlPath,
                timeout: 2000,
                ca: fs.readFileSync(file("ca.crt")),
                cert: fs.readFileSync(file("admin.crt")),
                key: fs.readFileSync(file("admin.key")),
            },
            (res) => {
                let body = "";
                res.on("data", (d) => {
                    body += d;
                });
                res.on("end", () => resolve({ status: res.statusCode, body }));
            },
        );
        req.on("error", (err) => resolve({ status: 0, body: String(err.message) }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

function readState() {
    return JSON.parse(fs.readFileSync(file("state.json"), "utf8"));
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function waitFor(what, seconds, test) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const result = await test();
        if (result) return result;
        if (Date.now() > deadline) throw new Error(`${what} not ready after ${seconds}s (logs in ${CLUSTER_DIR})`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

function tail(name, lines = 15) {
    try {
        return fs
            .readFileSync(file(`${name}.log`), "utf8")
            .trim()
            .split("\n")
            .slice(-lines)
            .join("\n");
    } catch {
        return "";
    }
}

export async function status() {
    if (!fs.existsSync(file("state.json"))) return { running: false, why: "not started" };
    const state = readState();
    const dead = COMPONENTS.filter((c) => !alive(state.pids[c]));
    if (dead.length) return { running: false, why: `${dead.join(", ")} not running`, state };
    const ready = await apiGet("/readyz", state);
    return {
        running: ready.status === 200 && ready.body === "ok",
        why: `/readyz: ${ready.status} ${ready.body}`,
        state,
    };
}

export async function start({ quiet = false } = {}) {
    const current = await status();
    if (current.running) {
        if (!quiet) say(`already running: ${KUBECONFIG}`);
        return current.state;
    }
    stop({ quiet: true });
    const t0 = Date.now();
    const build = spawnSync("bash", [path.join(HERE, "build.sh")], {
        stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
        env: { ...process.env, MTLS_K8S_VERSION: K8S_VERSION },
    });
    if (build.status !== 0)
        throw new Error("the control plane could not be built (test/cluster/build.sh, output above)");
    const t1 = Date.now();
    fs.mkdirSync(CLUSTER_DIR, { recursive: true, mode: 0o700 });
    fs.chmodSync(CLUSTER_DIR, 0o700);
    makeKeys();
    const [etcdClient, etcdPeer, apiserverPort, cmPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
    ];
    const server = `https://127.0.0.1:${apiserverPort}`;
    fs.writeFileSync(file("controller-manager.kubeconfig"), kubeconfig(server, "controller-manager"), { mode: 0o600 });
    const pids = {};
    pids.etcd = startProcess("etcd", [
        "--name=mtls-test",
        `--data-dir=${file("etcd-data")}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=mtls-test=http://127.0.0.1:${etcdPeer}`,
        "--log-level=warn",
        "--quota-backend-bytes=2147483648",
    ]).pid;
    pids["kube-apiserver"] = startProcess("kube-apiserver", [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiserverPort}`,
        `--tls-cert-file=${file("apiserver.crt")}`,
        `--tls-private-key-file=${file("apiserver.key")}`,
        `--client-ca-file=${file("ca.crt")}`,
        `--service-account-key-file=${file("sa.pub")}`,
        `--service-account-signing-key-file=${file("sa.key")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC",
        // The defaults of this release (PodSecurity among them) plus what a hardened cluster adds.
        "--enable-admission-plugins=NodeRestriction",
        // A value the API server needs for Service IPs; nothing routes to it.
        "--service-cluster-ip-range=10.96.0.0/24",
        // With no kubelet and a loopback address, nothing should be written as the `kubernetes` Service's endpoints.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=false",
        "--profiling=false",
        "--v=1",
    ]).pid;
    const state = { version: K8S_VERSION, apiserverPort, etcdClient, pids, server };
    fs.writeFileSync(file("state.json"), JSON.stringify(state, null, 2));
    try {
        await waitFor("kube-apiserver", 90, async () => {
            if (!alive(pids["kube-apiserver"])) throw new Error(`kube-apiserver exited:\n${tail("kube-apiserver")}`);
            if (!alive(pids.etcd)) throw new Error(`etcd exited:\n${tail("etcd")}`);
            const r = await apiGet("/readyz", state);
            return r.status === 200 && r.body === "ok";
        });
    } catch (err) {
        stop({ quiet: true, keepLogs: true });
        throw err;
    }
    const t2 = Date.now();
    pids["kube-controller-manager"] = startProcess("kube-controller-manager", [
        `--kubeconfig=${file("controller-manager.kubeconfig")}`,
        `--authentication-kubeconfig=${file("controller-manager.kubeconfig")}`,
        `--authorization-kubeconfig=${file("controller-manager.kubeconfig")}`,
        `--service-account-private-key-file=${file("sa.key")}`,
        `--root-ca-file=${file("ca.crt")}`,
        "--use-service-account-credentials=true",
        // No nodes here: the controllers that manage nodes and their IP ranges have nothing to do.
        "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${cmPort}`,
        "--v=1",
    ]).pid;
    state.pids = pids;
    fs.writeFileSync(file("state.json"), JSON.stringify(state, null, 2));
    // Ready when the service-account controller has made `default` in a namespace.
    await waitFor("kube-controller-manager", 60, async () => {
        if (!alive(pids["kube-controller-manager"]))
            throw new Error(`kube-controller-manager exited:\n${tail("kube-controller-manager")}`);
        const r = await apiGet("/api/v1/namespaces/default/serviceaccounts/default", state);
        return r.status === 200;
    });
    fs.writeFileSync(KUBECONFIG, kubeconfig(server, "admin"), { mode: 0o600 });
    state.timings = {
        buildSeconds: (t1 - t0) / 1000,
        apiserverReadySeconds: (t2 - t1) / 1000,
        readySeconds: (Date.now() - t1) / 1000,
    };
    fs.writeFileSync(file("state.json"), JSON.stringify(state, null, 2));
    if (!quiet) {
        say(
            `Kubernetes v${K8S_VERSION} ready in ${state.timings.readySeconds.toFixed(1)}s (API server ${(state.timings.apiserverReadySeconds).toFixed(1)}s) at ${server}; no kubelet: pods stay Pending`,
        );
        console.log(KUBECONFIG);
    }
    return state;
}

export function stop({ quiet = false, keepLogs = false } = {}) {
    let stopped = 0;
    if (fs.existsSync(file("state.json"))) {
        const { pids } = readState();
        for (const name of ["kube-controller-manager", "kube-apiserver", "etcd"]) {
            const pid = pids[name];
            if (pid && alive(pid)) {
                try {
                    process.kill(-pid, "SIGTERM");
                } catch {
                    process.kill(pid, "SIGTERM");
                }
                const deadline = Date.now() + 10_000;
                while (alive(pid) && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
                if (alive(pid)) process.kill(pid, "SIGKILL");
                stopped += 1;
            }
        }
    }
    if (fs.existsSync(CLUSTER_DIR)) {
        for (const entry of fs.readdirSync(CLUSTER_DIR)) {
            if (keepLogs && entry.endsWith(".log")) continue;
            fs.rmSync(file(entry), { recursive: true, force: true });
        }
    }
    if (!quiet) say(stopped ? `stopped (${stopped} processes)` : "not running");
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
    const command = process.argv[2];
    try {
        if (command === "start") await start();
        else if (command === "stop") stop();
        else if (command === "status") {
            const s = await status();
            console.log(s.running ? `running: ${KUBECONFIG} (${s.state.server})` : `not running: ${s.why}`);
            process.exit(s.running ? 0 : 1);
        } else {
            console.error("usage: npm run cluster -- start|stop|status");
            process.exit(2);
        }
    } catch (err) {
        console.error(`[cluster] ${err.message}`);
        process.exit(1);
    }
}
