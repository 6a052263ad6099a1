#!/usr/bin/env node
// The engine tier against a real Kubernetes API server (test/cluster): every shipped stack and
// stacks of our own deployed through mtls:kubernetes.context with Pulumi's kubernetes provider,
// and every claim checked on what the API server holds (kubectl get -o json), not on what we sent.
//
//   npm run e2e:cluster               starts the control plane if it is not running, stops it afterwards
//   npm run e2e:cluster -- --keep     keep the temp dir (holds keys: delete it yourself)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { BIN, CONTEXT, KUBECONFIG, start, status, stop } from "../cluster/cluster.mjs";
import {
    Pulumi,
    ROOT,
    changedSteps,
    layOut,
    listFiles,
    makeProject,
    readManifests,
    runPeers,
    runTier,
    section,
    serviceMaterial,
    writeStack,
} from "./lib.mjs";

const SHIPPED = ["dev", "staging", "prod"];
const HOUR = 3_600_000;
const OWN_NS = "shop-cluster";

function kubectl(args, { input, allowFail = false } = {}) {
    const r = spawnSync(path.join(BIN, "kubectl"), ["--kubeconfig", KUBECONFIG, "--context", CONTEXT, ...args], {
        encoding: "utf8",
        input,
        maxBuffer: 256 * 1024 * 1024,
    });
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r;
}

/** Objects of `kinds` in `namespace`, as the API server holds them. */
function get(kinds, namespace) {
    const r = kubectl(["get", kinds, "-n", namespace, "-o", "json"]);
    return JSON.parse(r.stdout).items;
}

/** The JSON values of a stream of concatenated JSON objects, as `kubectl get --watch -o json` prints them. */
function splitJsonStream(text) {
    const docs = [];
    let depth = 0;
    let start = -1;
    let inString = false;
    for (let i = 0; i < text.length; i += 1) {
        const ch = text[i];
        if (inString) {
            if (ch === "\\") i += 1;
            else if (ch === '"') inString = false;
        } else if (ch === '"') inString = true;
        else if (ch === "{") {
            if (depth === 0) start = i;
            depth += 1;
        } else if (ch === "}") {
            depth -= 1;
            if (depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
        }
    }
    return docs;
}

/**
 * Watches `kind` in `namespace` from now on; `stop()` resolves to the watch events in the API
 * server's order, each with its object's resourceVersion (etcd's revision, one counter for all kinds).
 */
function watch(kind, namespace) {
    const child = spawn(
        path.join(BIN, "kubectl"),
        [
            "--kubeconfig",
            KUBECONFIG,
            "--context",
            CONTEXT,
            "get",
            kind,
            "-n",
            namespace,
            "--watch-only",
            "--output-watch-events",
            "-o",
            "json",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
        out += d;
    });
    return {
        stop: () =>
            new Promise((resolve) => {
                child.on("exit", () => {
                    const docs = splitJsonStream(out);
                    resolve(
                        docs.map((e) => ({
                            type: e.type,
                            object: e.object,
                            revision: BigInt(e.object.metadata.resourceVersion),
                        })),
                    );
                });
                setTimeout(() => child.kill("SIGTERM"), 1500);
            }),
    };
}

function namespaceExists(namespace) {
    return kubectl(["get", "namespace", namespace], { allowFail: true }).status === 0;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the deployment controller has acted on every Deployment's latest spec. */
async function settled(namespace, seconds = 60) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const deployments = get("deployments", namespace);
        const replicaSets = get("replicasets", namespace);
        const pending = deployments.filter(
            (d) =>
                (d.status?.observedGeneration ?? 0) < d.metadata.generation ||
                !replicaSets.some(
                    (rs) =>
                        rs.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid) &&
                        rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ===
                            d.metadata.annotations?.["deployment.kubernetes.io/revision"],
                ),
        );
        if (pending.length === 0) return;
        if (Date.now() > deadline)
            throw new Error(
                `Deployments not observed by the controller-manager after ${seconds}s: ${pending.map((d) => d.metadata.name).join(", ")}`,
            );
        await sleep(500);
    }
}

/** ReplicaSet names per Deployment. */
function replicaSets(namespace) {
    const deployments = get("deployments", namespace);
    const sets = get("replicasets", namespace);
    return Object.fromEntries(
        deployments.map((d) => [
            d.metadata.name,
            sets
                .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid))
                .map((rs) => rs.metadata.name)
                .sort(),
        ]),
    );
}

/** Deployments that got a ReplicaSet they did not have before. */
function rolled(before, after) {
    return Object.keys(after)
        .filter((d) => after[d].some((rs) => !(before[d] ?? []).includes(rs)))
        .sort();
}

function events(namespace) {
    return get("events", namespace);
}

function podSecurityRefusals(namespace) {
    return events(namespace).filter((e) => e.reason === "FailedCreate" && /PodSecurity/.test(e.message ?? ""));
}

/** The shipped stack's config, deployed to the test cluster instead of rendered. */
function shippedOnCluster(stack) {
    const config = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config;
    config["mtls:kubernetes"] = { context: CONTEXT, kubeconfig: KUBECONFIG, skipAwait: true };
    return config;
}

function ownConfig(overrides = {}) {
    const { ca = {}, payment = {}, kubernetes = {} } = overrides;
    return {
        "mtls:namespace": OWN_NS,
        "mtls:trustDomain": "cluster.shop.internal",
        "mtls:ca": { commonName: "shop cluster root CA", validityHours: 8760, ...ca },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": [
            {
                name: "user-service",
                image: "example/user-service:1.0",
                port: 8443,
                allowFrom: ["order-service", "payment-service"],
            },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
            {
                name: "payment-service",
                image: "example/payment-service:1.0",
                usage: "client",
                mountPath: "/var/run/mtls",
                ...payment,
            },
            { name: "audit-service", image: "example/audit-service:1.0", usage: "client" },
            { name: "report-service", image: "example/report-service:1.0", usage: "server", port: 9443 },
        ],
        "mtls:kubernetes": { context: CONTEXT, kubeconfig: KUBECONFIG, skipAwait: true, ...kubernetes },
    };
}

/** The claims of the README, checked on what the API server holds for one stack. */
function checkObjects(checks, label, namespace, services) {
    const cms = get("configmaps", namespace).filter((o) => o.metadata.labels?.["app.kubernetes.io/part-of"] === "mtls");
    const secrets = get("secrets", namespace).filter(
        (o) => o.metadata.labels?.["app.kubernetes.io/part-of"] === "mtls",
    );
    const accounts = get("serviceaccounts", namespace).filter(
        (o) => o.metadata.labels?.["app.kubernetes.io/part-of"] === "mtls",
    );
    const svcs = get("services", namespace);
    const deployments = get("deployments", namespace);
    const n = services.length;
    const servers = services
        .filter((s) => (s.usage ?? "both") !== "client")
        .map((s) => s.name)
        .sort();
    checks.ok(
        cms.length === n && secrets.length === n && accounts.length === n && deployments.length === n,
        `${label}: the API server holds one ConfigMap, Secret, ServiceAccount and Deployment per service`,
        `${cms.length}/${secrets.length}/${accounts.length}/${deployments.length} for ${n}`,
    );
    checks.ok(
        JSON.stringify(svcs.map((s) => s.metadata.name).sort()) === JSON.stringify(servers),
        `${label}: a Service for each server only (${servers.join(", ")})`,
        svcs.map((s) => s.metadata.name).join(", "),
    );
    checks.ok(
        cms.every(
            (cm) =>
                Object.keys(cm.data).sort().join() === "ca.crt,tls.crt" && !JSON.stringify(cm).includes("PRIVATE KEY"),
        ),
        `${label}: ConfigMaps hold ca.crt and tls.crt and no private key`,
    );
    checks.ok(
        secrets.every(
            (s) =>
                s.type === "Opaque" &&
                Object.keys(s.data).join() === "tls.key" &&
                /PRIVATE KEY/.test(Buffer.from(s.data["tls.key"], "base64").toString()),
        ),
        `${label}: each Secret holds tls.key only`,
    );
    checks.ok(
        deployments.every(
            (d) =>
                !JSON.stringify(d.metadata.annotations ?? {}).includes("PRIVATE KEY") &&
                !JSON.stringify(d.spec.template).includes("PRIVATE KEY"),
        ),
        `${label}: no key in any Deployment or annotation`,
    );
    const objects = [...cms, ...secrets, ...deployments];
    for (const svc of services) {
        const material = serviceMaterial(objects, svc.name);
        const d = material.deployment;
        const pod = d.spec.template.spec;
        const delivery = svc.delivery ?? "files";
        const wired =
            delivery === "files"
                ? material.delivery === "files" &&
                  material.readOnly === true &&
                  material.mountPath === (svc.mountPath ?? "/etc/mtls") &&
                  material.files["tls.key"].mode === 0o400 &&
                  material.files["tls.crt"].mode === 0o444
                : material.delivery === "env" && material.env.MTLS_KEY?.valueFrom?.secretKeyRef?.key === "tls.key";
        const complete = ["ca.crt", "tls.crt", "tls.key"].every((f) => material.files[f]?.text?.includes("-----BEGIN"));
        const restricted =
            pod.securityContext?.runAsNonRoot === true &&
            pod.securityContext?.seccompProfile?.type === "RuntimeDefault" &&
            pod.containers[0].securityContext?.allowPrivilegeEscalation === false &&
            pod.containers[0].securityContext?.capabilities?.drop?.join() === "ALL" &&
            pod.containers[0].securityContext?.readOnlyRootFilesystem === true;
        checks.ok(
            wired && complete && restricted && pod.serviceAccountName === svc.name,
            `${label}: ${svc.name} is wired by ${delivery}, its references resolve to its own material, and its pod meets restricted`,
            JSON.stringify({ wired, complete, restricted, sa: pod.serviceAccountName }),
        );
    }
}

async function checkPodsAdmitted(checks, label, namespace, expectedPods) {
    await settled(namespace);
    const deadline = Date.now() + 30_000;
    let pods = [];
    while (Date.now() < deadline) {
        pods = get("pods", namespace);
        if (pods.length >= expectedPods) break;
        await sleep(500);
    }
    const refusals = podSecurityRefusals(namespace);
    checks.ok(
        pods.length >= expectedPods && refusals.length === 0,
        `${label}: the controller-manager's pods are admitted under Pod Security restricted (${pods.length} pods, Pending with no kubelet; no FailedCreate)`,
        refusals
            .map((e) => e.message)
            .slice(0, 2)
            .join(" | "),
    );
}

await runTier("e2e-cluster", async ({ work, checks }) => {
    const wasRunning = (await status()).running;
    section("control plane");
    const started = Date.now();
    const state = await start();
    console.log(
        `  Kubernetes v${state.version} at ${state.server} (${((Date.now() - started) / 1000).toFixed(1)}s; no kubelet: pods stay Pending)`,
    );
    const readyz = kubectl(["get", "--raw", "/readyz"]).stdout.trim();
    checks.ok(readyz === "ok", "kubectl get --raw /readyz answers ok through .cluster/kubeconfig", readyz);
    try {
        const project = makeProject(work, {});
        const pulumi = new Pulumi(project, work);

        for (const stack of SHIPPED) {
            section(`shipped stack ${stack}, deployed to the cluster`);
            const config = shippedOnCluster(stack);
            const namespace = config["mtls:namespace"];
            writeStack(project, stack, config);
            pulumi.run(["stack", "init", stack]);
            const preview = pulumi.json(["preview", "--stack", stack]).json;
            checks.ok(
                changedSteps(preview).length > 0 && changedSteps(preview).every((s) => s.startsWith("create ")),
                `${stack}: the first preview only creates`,
            );
            pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack]);
            const ns = JSON.parse(kubectl(["get", "namespace", namespace, "-o", "json"]).stdout);
            checks.ok(
                ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted",
                `${stack}: namespace ${namespace} enforces Pod Security restricted`,
            );
            checkObjects(checks, stack, namespace, config["mtls:services"]);
            await checkPodsAdmitted(checks, stack, namespace, config["mtls:services"].length);
            const again = pulumi.run(["up", "--yes", "--expect-no-changes", "--stack", stack], { allowFail: true });
            checks.ok(
                again.status === 0,
                `${stack}: a second up changes nothing (--expect-no-changes)`,
                again.stdout.slice(-600),
            );
            const refreshed = pulumi.run(["up", "--yes", "--refresh", "--expect-no-changes", "--stack", stack], {
                allowFail: true,
            });
            checks.ok(
                refreshed.status === 0,
                `${stack}: up --refresh reads every object back from the API server and finds no drift`,
                refreshed.stdout.slice(-800),
            );
        }

        section("Pod Security: a non-compliant workload in the same namespace is refused");
        const badNs = shippedOnCluster("dev")["mtls:namespace"];
        kubectl(["create", "deployment", "not-restricted", "--image=example/app:1", "-n", badNs]);
        let refusals = [];
        for (let i = 0; i < 60 && refusals.length === 0; i += 1) {
            refusals = podSecurityRefusals(badNs).filter((e) => e.involvedObject?.name?.startsWith("not-restricted"));
            if (refusals.length === 0) await sleep(500);
        }
        checks.ok(
            refusals.length > 0 && /violates PodSecurity "restricted/.test(refusals[0].message),
            "its ReplicaSet records FailedCreate: violates PodSecurity restricted",
            refusals[0]?.message,
        );
        kubectl(["delete", "deployment", "not-restricted", "-n", badNs, "--wait=true"]);

        section("a stack of our own: SAN change, renewal and every CA rotation phase on the cluster");
        const t0 = new Date();
        const at = (hours) => ({ MTLS_NOW: new Date(t0.getTime() + hours * HOUR).toISOString() });
        const lifecycle = { payment: { validityHours: 48, renewBeforeHours: 24 } };
        writeStack(project, "own", ownConfig(lifecycle));
        pulumi.run(["stack", "init", "own"]);
        pulumi.run(["up", "--yes", "--skip-preview", "--stack", "own"], { env: at(0) });
        await settled(OWN_NS);
        const services = ownConfig()["mtls:services"];
        checkObjects(checks, "own", OWN_NS, services);

        // Peers over the material exactly as the API server holds it.
        const material = path.join(work, "material");
        const fromApi = () => [...get("configmaps", OWN_NS), ...get("secrets", OWN_NS), ...get("deployments", OWN_NS)];
        for (const svc of services) layOut(serviceMaterial(fromApi(), svc.name), path.join(material, svc.name));
        const spiffe = (svc) => `spiffe://cluster.shop.internal/ns/${OWN_NS}/sa/${svc}`;
        const peers = runPeers(
            work,
            "cluster",
            {
                server: {
                    name: "user-service",
                    dir: path.join(material, "user-service"),
                    dnsName: `user-service.${OWN_NS}.svc.cluster.local`,
                    allowedClients: ["order-service", "payment-service"],
                },
                clients: [
                    {
                        label: "order-service (env, read from the API server)",
                        dir: path.join(material, "order-service"),
                        expect: "ok",
                        expectCN: "order-service",
                        expectURI: spiffe("order-service"),
                    },
                    {
                        label: "payment-service (files, read from the API server)",
                        dir: path.join(material, "payment-service"),
                        expect: "ok",
                        expectCN: "payment-service",
                        expectURI: spiffe("payment-service"),
                    },
                    {
                        label: "audit-service (valid, not in allowFrom)",
                        dir: path.join(material, "audit-service"),
                        expect: "forbidden",
                        expectCN: "audit-service",
                    },
                    {
                        label: "report-service: server-only cert as a client",
                        dir: path.join(material, "report-service"),
                        expect: "refused",
                    },
                    { label: "no client certificate", dir: null, expect: "refused" },
                ],
                plainTcp: true,
                builtins: true,
            },
            ["--tls", "1.3"],
        );
        checks.ok(
            peers.status === 0 && peers.failed === 0 && peers.passed > 0,
            `peers over the API server's material: ${peers.passed} passed, ${peers.failed} failed`,
        );

        const noChange = pulumi.run(["up", "--yes", "--expect-no-changes", "--stack", "own"], {
            env: at(1),
            allowFail: true,
        });
        checks.ok(noChange.status === 0, "own: a no-change up changes nothing", noChange.stdout.slice(-600));

        // SAN change, watched on the API server: the old ConfigMap may only go once the Deployment points at its successor.
        let before = replicaSets(OWN_NS);
        const oldConfigMaps = get("configmaps", OWN_NS)
            .filter((cm) => cm.metadata.name.startsWith("payment-service"))
            .map((cm) => cm.metadata.name);
        const san = ownConfig({ payment: { ...lifecycle.payment, dnsNames: ["payments.shop.example"] } });
        writeStack(project, "own", san);
        const configMapWatch = watch("configmaps", OWN_NS);
        const deploymentWatch = watch("deployments", OWN_NS);
        await sleep(1000);
        pulumi.run(["up", "--yes", "--skip-preview", "--stack", "own"], { env: at(2) });
        await settled(OWN_NS);
        const [cmEvents, deploymentEvents] = [await configMapWatch.stop(), await deploymentWatch.stop()];
        let after = replicaSets(OWN_NS);
        checks.ok(
            rolled(before, after).join() === "payment-service",
            "SAN change: the controller-manager made a new ReplicaSet for payment-service only",
            rolled(before, after).join(),
        );
        const deleted = cmEvents.find((e) => e.type === "DELETED" && oldConfigMaps.includes(e.object.metadata.name));
        const repointed = deploymentEvents.find(
            (e) =>
                e.object.metadata.name === "payment-service" &&
                !oldConfigMaps.includes(
                    e.object.spec.template.spec.volumes?.[0]?.projected?.sources?.[0]?.configMap?.name,
                ),
        );
        checks.ok(
            deleted !== undefined && repointed !== undefined && repointed.revision < deleted.revision,
            "on the API server the old ConfigMap is deleted only after the Deployment points at the new one (etcd revisions)",
            `deployment repointed at ${repointed?.revision}, old ConfigMap deleted at ${deleted?.revision}`,
        );
        const leftover = get("configmaps", OWN_NS)
            .map((cm) => cm.metadata.name)
            .filter((n) => oldConfigMaps.includes(n));
        const pointed = get("deployments", OWN_NS).find((d) => d.metadata.name === "payment-service").spec.template.spec
            .volumes[0].projected.sources[0].configMap.name;
        checks.ok(
            leftover.length === 0 && get("configmaps", OWN_NS).some((cm) => cm.metadata.name === pointed),
            "the API server no longer holds the old ConfigMap, and holds the one the Deployment points at",
            `${leftover.join(",")} -> ${pointed}`,
        );
        const sanCert = Buffer.from(
            get("configmaps", OWN_NS).find((cm) => cm.metadata.name === pointed).data["tls.crt"],
        ).toString();
        checks.ok(sanCert.includes("-----BEGIN CERTIFICATE-----"), "the new ConfigMap holds the reissued chain");

        // Renewal: payment-service (48 h, renewed 24 h before its end) is due at +30 h; nothing else is.
        before = replicaSets(OWN_NS);
        pulumi.run(["up", "--yes", "--skip-preview", "--stack", "own"], { env: at(30) });
        await settled(OWN_NS);
        after = replicaSets(OWN_NS);
        checks.ok(
            rolled(before, after).join() === "payment-service",
            "renewal (MTLS_NOW +30 h): only payment-service is reissued and rolls",
            rolled(before, after).join(),
        );

        const phases = [
            { label: "introduce", ca: { rotation: "introduce" }, bundle: 2, rolls: true },
            { label: "switch", ca: { rotation: "switch" }, bundle: 2, rolls: true },
            { label: "retire", ca: { rotation: "retire" }, bundle: 1, rolls: true },
            { label: "generation 2", ca: { generation: 2 }, bundle: 1, rolls: false },
        ];
        const allDeployments = services
            .map((s) => s.name)
            .sort()
            .join();
        for (const phase of phases) {
            before = replicaSets(OWN_NS);
            writeStack(project, "own", ownConfig({ ...lifecycle, ca: phase.ca }));
            pulumi.run(["up", "--yes", "--skip-preview", "--stack", "own"], { env: at(31) });
            await settled(OWN_NS);
            after = replicaSets(OWN_NS);
            const bundles = get("configmaps", OWN_NS)
                .filter((cm) => cm.metadata.labels?.["app.kubernetes.io/part-of"] === "mtls")
                .map((cm) => (cm.data["ca.crt"].match(/BEGIN CERTIFICATE/g) ?? []).length);
            checks.ok(
                bundles.length === services.length && bundles.every((b) => b === phase.bundle),
                `rotation ${phase.label}: every ConfigMap on the API server trusts ${phase.bundle} CA${phase.bundle > 1 ? "s" : ""}`,
                bundles.join(","),
            );
            checks.ok(
                rolled(before, after).join() === (phase.rolls ? allDeployments : ""),
                `rotation ${phase.label}: ${phase.rolls ? "every Deployment rolls" : "nothing rolls"}`,
                rolled(before, after).join(),
            );
        }
        await checkPodsAdmitted(checks, "own after rotation", OWN_NS, services.length);

        section("refresh of a rendered stack is refused up front by our scripts");
        const wrapper = path.join(ROOT, "scripts", "pulumi.mjs");
        for (const args of [
            ["up", "--stack", "dev", "--refresh"],
            ["--", "refresh", "--stack", "dev"],
        ]) {
            const r = spawnSync(process.execPath, [wrapper, ...args], { encoding: "utf8", cwd: ROOT });
            checks.ok(
                r.status === 2 &&
                    /^refused: stack dev renders its Kubernetes objects to out\/dev/.test(r.stderr) &&
                    !/Error:|at .*\.js:/.test(r.stderr),
                `npm run ${args[0] === "--" ? "pulumi -- refresh" : "up -- --refresh"} on the rendered dev stack: one clear refusal, no provider error`,
                r.stderr.slice(-400),
            );
        }

        section("destroy leaves the namespaces empty of our objects");
        for (const stack of [...SHIPPED, "own"]) {
            pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack]);
            const resources =
                JSON.parse(pulumi.run(["stack", "export", "--stack", stack]).stdout).deployment.resources ?? [];
            checks.ok(resources.length === 0, `destroy ${stack}: nothing left in state`, `${resources.length} left`);
        }
        for (const namespace of [...SHIPPED.map((s) => shippedOnCluster(s)["mtls:namespace"]), OWN_NS]) {
            const left = namespaceExists(namespace)
                ? get("configmaps,secrets,serviceaccounts,services,deployments", namespace).filter(
                      (o) => o.metadata.labels?.["app.kubernetes.io/part-of"] === "mtls",
                  )
                : [];
            checks.ok(
                left.length === 0,
                `${namespace}: none of our objects is left`,
                left.map((o) => `${o.kind}/${o.metadata.name}`).join(", "),
            );
        }
        section("rendered manifests are accepted by the API server too");
        for (const stack of SHIPPED) {
            // Rendered as the shipped stack file says, after the deployed copy is gone: its namespace is fresh.
            const renderDir = path.join(work, "render", stack);
            const renderConfig = YAML.parse(
                fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"),
            ).config;
            renderConfig["mtls:kubernetes"] = { renderDirectory: renderDir };
            const namespace = renderConfig["mtls:namespace"];
            writeStack(project, `${stack}-rendered`, renderConfig);
            pulumi.run(["stack", "init", `${stack}-rendered`]);
            pulumi.run(["up", "--yes", "--skip-preview", "--stack", `${stack}-rendered`]);
            const files = listFiles(renderDir).filter((f) => /\.ya?ml$/.test(f));
            const namespaceFiles = readManifests(renderDir)
                .filter((o) => o.kind === "Namespace")
                .map((o) => o.__file);
            const apply = (extra, list) =>
                kubectl(
                    [
                        "apply",
                        "--server-side",
                        "--validate=strict",
                        "--field-manager=mtls-e2e",
                        ...extra,
                        ...list.flatMap((f) => ["-f", f]),
                    ],
                    { allowFail: true },
                );
            const created = apply([], namespaceFiles);
            const dry = apply(["--dry-run=server"], files);
            checks.ok(
                created.status === 0 && dry.status === 0,
                `${stack}: kubectl apply --server-side --dry-run=server --validate=strict accepts all ${files.length} rendered files`,
                (created.stderr + dry.stderr).slice(-800),
            );
            const applied = apply([], files);
            checks.ok(
                applied.status === 0,
                `${stack}: a real server-side apply of the rendered directory into the fresh namespace ${namespace}`,
                applied.stderr.slice(-800),
            );
            checkObjects(checks, `${stack} rendered`, namespace, renderConfig["mtls:services"]);
            await checkPodsAdmitted(checks, `${stack} rendered`, namespace, renderConfig["mtls:services"].length);
            kubectl(["delete", "namespace", namespace, "--wait=true"]);
        }
    } finally {
        if (!wasRunning) stop();
    }
});
