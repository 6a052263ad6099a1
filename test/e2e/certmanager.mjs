#!/usr/bin/env node
// Hand-over to cert-manager on a real API server (test/cluster): cert-manager's and
// trust-manager's own CRDs (from their Go modules, test/certmanager/build.sh) installed, a stack
// switched to cert-manager and a mixed one deployed with Pulumi's kubernetes provider, every
// object read back and accepted by strict server-side validation. Then cert-manager's
// controllers and trust-manager, built from their Go modules, run against the API server,
// issue the certificates and write the trust bundle; the Secrets they wrote complete mutual
// TLS with Pulumi-issued services through the peers harness, and a foreign CA is refused.
// When the controllers cannot be built, a TEST DOUBLE issues from the same Certificate
// specs instead, and every line that depends on it says so.
//
//   npm run e2e:certmanager              starts the control plane if it is not running, stops it afterwards
//   npm run e2e:certmanager -- --keep    keep the temp dir (holds keys: delete it yourself)
import { spawn, spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { BIN, CONTEXT, KUBECONFIG, start, status, stop } from "../cluster/cluster.mjs";
import { Pulumi, ROOT, layOut, makeProject, runPeers, runTier, section, serviceMaterial, writeStack } from "./lib.mjs";

const NS = { all: "cm-shop", mixed: "cm-mixed" };
const TRUST_NAMESPACE = "cert-manager";
const TRUST_DOMAIN = "cm.shop.internal";
const CM_HOME =
    process.env.MTLS_CERTMANAGER_HOME ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME, ".cache"), "mtls-certmanager");
const CM_VERSION = process.env.MTLS_CERT_MANAGER_VERSION ?? "1.21.2";
const TM_VERSION = process.env.MTLS_TRUST_MANAGER_VERSION ?? "0.25.0";

function kubectl(args, { input, allowFail = false } = {}) {
    const r = spawnSync(`${BIN}/kubectl`, ["--kubeconfig", KUBECONFIG, "--context", CONTEXT, ...args], {
        encoding: "utf8",
        input,
        maxBuffer: 256 * 1024 * 1024,
    });
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r;
}

const get = (kinds, namespace) =>
    JSON.parse(kubectl(["get", kinds, ...(namespace ? ["-n", namespace] : ["-A"]), "-o", "json"]).stdout).items;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pemBlocks = (text) => text?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

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

/** JSON with sorted keys, so that two objects compare by content. */
function canonical(value) {
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    if (value && typeof value === "object")
        return `{${Object.keys(value)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
            .join(",")}}`;
    return JSON.stringify(value);
}

/** An object as read back, without what the API server adds, ready to be applied again. */
function asSent(object) {
    const { status: _status, ...rest } = object;
    const { name, namespace, labels, annotations } = object.metadata;
    return {
        ...rest,
        metadata: {
            name,
            ...(namespace ? { namespace } : {}),
            ...(labels ? { labels } : {}),
            ...(annotations ? { annotations } : {}),
        },
    };
}

function stackConfigs() {
    const cluster = { context: CONTEXT, kubeconfig: KUBECONFIG, skipAwait: true };
    const image = (name) => `example/${name}:1.0`;
    return {
        // The whole stack switched: a namespaced Issuer, every key algorithm cert-manager is handed.
        all: {
            "mtls:namespace": NS.all,
            "mtls:trustDomain": TRUST_DOMAIN,
            "mtls:ca": { commonName: "cm shop root CA", validityHours: 8760 },
            "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
            "mtls:issuance": "cert-manager",
            "mtls:services": [
                { name: "user-service", image: image("user-service"), port: 8443, allowFrom: ["order-service"] },
                { name: "order-service", image: image("order-service"), usage: "client", keyAlgorithm: "ED25519" },
                { name: "rsa-2048", image: image("x"), usage: "client", keyAlgorithm: "RSA-2048" },
                { name: "rsa-3072", image: image("x"), usage: "server", port: 9443, keyAlgorithm: "RSA-3072" },
                { name: "rsa-4096", image: image("x"), usage: "client", keyAlgorithm: "RSA-4096" },
                {
                    name: "ecdsa-p384",
                    image: image("x"),
                    usage: "client",
                    keyAlgorithm: "ECDSA-P384",
                    validityHours: 48,
                    renewBeforeHours: 12,
                },
            ],
            "mtls:kubernetes": cluster,
        },
        // Mixed: Pulumi by default, two services handed to cert-manager through a ClusterIssuer, one CA.
        mixed: {
            "mtls:namespace": NS.mixed,
            "mtls:trustDomain": TRUST_DOMAIN,
            "mtls:ca": { commonName: "cm mixed root CA", validityHours: 8760, intermediate: true },
            "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
            "mtls:issuance": {
                provider: "pulumi",
                issuerKind: "ClusterIssuer",
                clusterResourceNamespace: TRUST_NAMESPACE,
            },
            "mtls:services": [
                {
                    name: "user-service",
                    image: image("user-service"),
                    port: 8443,
                    issuance: "cert-manager",
                    allowFrom: ["order-service", "payment-service"],
                },
                { name: "order-service", image: image("order-service"), usage: "client" },
                {
                    name: "payment-service",
                    image: image("payment-service"),
                    usage: "client",
                    issuance: "cert-manager",
                    keyAlgorithm: "RSA-2048",
                },
                { name: "ledger", image: image("ledger"), port: 7443, allowFrom: ["user-service"] },
            ],
            "mtls:kubernetes": cluster,
        },
    };
}

/** Runs test/certmanager/build.sh; returns what it built. */
function build() {
    const r = spawnSync("nice", ["-n", "10", "bash", path.join(ROOT, "test", "certmanager", "build.sh")], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    process.stdout.write(
        r.stdout
            .split("\n")
            .filter(Boolean)
            .map((l) => `  ${l}\n`)
            .join(""),
    );
    const bin = (name, version) => {
        const file = path.join(CM_HOME, "bin", `${name}-v${version}`);
        return fs.existsSync(file) ? file : undefined;
    };
    return {
        status: r.status,
        output: r.stdout + r.stderr,
        crds: {
            certManager: path.join(CM_HOME, "crds", `cert-manager-v${CM_VERSION}`),
            trustManager: path.join(CM_HOME, "crds", `trust-manager-v${TM_VERSION}`),
        },
        controller: bin("cert-manager-controller", CM_VERSION),
        trustManager: bin("trust-manager", TM_VERSION),
    };
}

/** A long-running process whose output goes to a log file; `stop()` ends it by its own pid. */
function background(name, bin, args, work) {
    const log = path.join(work, `${name}.log`);
    const out = fs.openSync(log, "a");
    const child = spawn(bin, args, { stdio: ["ignore", out, out] });
    let exited;
    child.on("exit", (code, signal) => {
        exited = { code, signal };
    });
    return {
        log,
        exited: () => exited,
        tail: (n = 30) => fs.readFileSync(log, "utf8").trim().split("\n").slice(-n).join("\n"),
        stop: async () => {
            if (exited) return;
            child.kill("SIGTERM");
            for (let i = 0; i < 50 && !exited; i += 1) await sleep(100);
            if (!exited) child.kill("SIGKILL");
        },
    };
}

/** A self-signed serving certificate for trust-manager's webhook server (no webhook is registered with the API server). */
function webhookCertDir(work) {
    const dir = path.join(work, "trust-manager-webhook");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const r = spawnSync(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=trust-manager-webhook",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            path.join(dir, "tls.key"),
            "-out",
            path.join(dir, "tls.crt"),
        ],
        { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`openssl for the webhook certificate failed: ${r.stderr}`);
    return dir;
}

const ready = (object) => (object.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

async function waitFor(seconds, probe) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > deadline) return undefined;
        await sleep(1000);
    }
}

/**
 * TEST DOUBLE of cert-manager's CA issuer and trust-manager, used only when their binaries could
 * not be built: from each Certificate spec as the API server holds it, a key of the spec's
 * algorithm and a certificate signed by the issuer's CA Secret with the spec's CN, SANs, usages and
 * duration, written as cert-manager writes its Secret (type kubernetes.io/tls: tls.crt = leaf +
 * chain without the self-signed root, tls.key, ca.crt = root); each Bundle's inline sources
 * written as its target ConfigMap's ca.crt.
 */
function issueWithDouble(work, namespace) {
    const dir = path.join(work, "double", namespace);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const run = (args, input) => {
        const r = spawnSync("openssl", args, { encoding: "utf8", input, cwd: dir });
        if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    for (const cert of get("certificates.cert-manager.io", namespace)) {
        const spec = cert.spec;
        const issuer =
            spec.issuerRef.kind === "ClusterIssuer"
                ? get("clusterissuers.cert-manager.io").find((i) => i.metadata.name === spec.issuerRef.name)
                : get("issuers.cert-manager.io", namespace).find((i) => i.metadata.name === spec.issuerRef.name);
        const caSecretNs = spec.issuerRef.kind === "ClusterIssuer" ? TRUST_NAMESPACE : namespace;
        const caSecret = JSON.parse(
            kubectl(["get", "secret", issuer.spec.ca.secretName, "-n", caSecretNs, "-o", "json"]).stdout,
        );
        const data = (k) => Buffer.from(caSecret.data[k], "base64").toString("utf8");
        fs.writeFileSync(path.join(dir, "ca.crt"), pemBlocks(data("tls.crt"))[0]);
        fs.writeFileSync(path.join(dir, "ca.key"), data("tls.key"), { mode: 0o600 });
        const key = spec.privateKey;
        const keyArgs =
            key.algorithm === "RSA"
                ? ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${key.size}`]
                : key.algorithm === "ECDSA"
                  ? ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:P-${key.size}`]
                  : ["-algorithm", "ED25519"];
        run(["genpkey", ...keyArgs, "-out", "leaf.key"]);
        const eku = spec.usages
            .filter((u) => u.endsWith(" auth"))
            .map((u) => (u === "server auth" ? "serverAuth" : "clientAuth"))
            .join(",");
        const ku = spec.usages
            .filter((u) => !u.endsWith(" auth"))
            .map((u) => u.replace(/ (\w)/, (_, c) => c.toUpperCase()))
            .join(",");
        const sans = [
            ...spec.dnsNames.map((d) => `DNS:${d}`),
            ...(spec.uris ?? []).map((u) => `URI:${u}`),
            ...(spec.ipAddresses ?? []).map((ip) => `IP:${ip}`),
        ].join(",");
        fs.writeFileSync(
            path.join(dir, "ext.cnf"),
            `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,${ku}\nextendedKeyUsage=${eku}\nsubjectAltName=${sans}\n`,
        );
        run(["req", "-new", "-key", "leaf.key", "-subj", `/CN=${spec.commonName}`, "-out", "leaf.csr"]);
        const days = Math.max(1, Math.ceil(Number(spec.duration.replace(/h$/, "")) / 24));
        run([
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            `0x${Date.now().toString(16)}`,
            "-days",
            String(days),
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.crt",
        ]);
        // RSA keys as PKCS#1 and EC keys as SEC1, as cert-manager's PKCS1 encoding writes them.
        const leafKey =
            key.algorithm === "RSA"
                ? run(["rsa", "-in", "leaf.key", "-traditional"])
                : key.algorithm === "ECDSA"
                  ? run(["ec", "-in", "leaf.key"])
                  : fs.readFileSync(path.join(dir, "leaf.key"), "utf8");
        const chain = pemBlocks(data("tls.crt")).filter((pem) => {
            const c = new X509Certificate(pem);
            return c.subject !== c.issuer;
        });
        const secret = {
            apiVersion: "v1",
            kind: "Secret",
            type: "kubernetes.io/tls",
            metadata: {
                name: spec.secretName,
                namespace,
                annotations: { "mtls.test/issued-by": "TEST DOUBLE of cert-manager (test/e2e/certmanager.mjs)" },
            },
            stringData: {
                "tls.crt": fs.readFileSync(path.join(dir, "leaf.crt"), "utf8") + chain.join(""),
                "tls.key": leafKey,
                "ca.crt": data("ca.crt"),
            },
        };
        kubectl(["apply", "--server-side", "--field-manager=cert-manager-test-double", "-f", "-"], {
            input: JSON.stringify(secret),
        });
    }
    for (const bundle of get("bundles.trust.cert-manager.io")) {
        if (bundle.spec.target.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] !== namespace) continue;
        const configMap = {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
                name: bundle.metadata.name,
                namespace,
                annotations: { "mtls.test/issued-by": "TEST DOUBLE of trust-manager (test/e2e/certmanager.mjs)" },
            },
            data: { [bundle.spec.target.configMap.key]: bundle.spec.sources.map((s) => s.inLine).join("") },
        };
        kubectl(["apply", "--server-side", "--field-manager=trust-manager-test-double", "-f", "-"], {
            input: JSON.stringify(configMap),
        });
    }
}

await runTier("e2e-certmanager", async ({ work, checks }) => {
    const wasRunning = (await status()).running;
    section("cert-manager and trust-manager from Go modules (test/certmanager/build.sh)");
    const built = build();
    checks.ok(
        fs.existsSync(path.join(built.crds.certManager, "cert-manager.io_certificates.yaml")) &&
            fs.existsSync(path.join(built.crds.trustManager, "trust.cert-manager.io_bundles.yaml")),
        `the CRDs of cert-manager v${CM_VERSION} and trust-manager v${TM_VERSION} were taken from their module sources`,
        built.output.slice(-800),
    );
    const real = Boolean(built.controller && built.trustManager);
    console.log(
        real
            ? "  the controllers were built: certificates are issued by cert-manager's own controllers and the bundle by trust-manager"
            : `  NOTE: ${built.controller ? "" : "cert-manager's controller "}${built.trustManager ? "" : "trust-manager "}could not be built; a TEST DOUBLE issues from the same specs (see the build output above)`,
    );

    section("control plane");
    const state = await start();
    console.log(`  Kubernetes v${state.version} at ${state.server} (no kubelet: pods stay Pending)`);
    const project = makeProject(work, {});
    const pulumi = new Pulumi(project, work);
    const configs = stackConfigs();
    const deployed = [];
    const processes = [];
    try {
        section("cert-manager's and trust-manager's CustomResourceDefinitions, applied server-side");
        const applied = kubectl(
            [
                "apply",
                "--server-side",
                "--field-manager=mtls-e2e",
                "-f",
                built.crds.certManager,
                "-f",
                built.crds.trustManager,
            ],
            { allowFail: true },
        );
        checks.ok(applied.status === 0, "kubectl apply --server-side of the CRDs", applied.stderr.slice(-600));
        const crdNames = [
            "certificates.cert-manager.io",
            "certificaterequests.cert-manager.io",
            "issuers.cert-manager.io",
            "clusterissuers.cert-manager.io",
            "bundles.trust.cert-manager.io",
        ];
        // Right after the apply a CRD may have no status.conditions yet, which kubectl wait reports as an error: retry.
        let established;
        for (let attempt = 0; attempt < 20; attempt += 1) {
            established = kubectl(
                ["wait", "--for=condition=Established", "--timeout=60s", ...crdNames.map((n) => `crd/${n}`)],
                {
                    allowFail: true,
                },
            );
            if (established.status === 0 || !/accessor error/.test(established.stderr)) break;
            await sleep(500);
        }
        checks.ok(established.status === 0, `the API server serves ${crdNames.join(", ")}`, established.stderr);
        kubectl(["create", "namespace", TRUST_NAMESPACE], { allowFail: true });

        section("refused at preview, by key path, before anything exists");
        const refusals = [
            [
                "delivery: env",
                { name: "user-service", image: "x", port: 8443, delivery: "env" },
                /mtls:services\[0\]\.delivery: env cannot follow cert-manager's renewals/,
            ],
            [
                "rollout: restart",
                { name: "user-service", image: "x", port: 8443, rollout: "restart" },
                /mtls:services\[0\]\.rollout: restart cannot work with cert-manager/,
            ],
            [
                "renewBeforeHours not under validityHours",
                { name: "user-service", image: "x", port: 8443, validityHours: 24, renewBeforeHours: 24 },
                /mtls:services\[0\]\.renewBeforeHours: 24 must be less than validityHours/,
            ],
        ];
        writeStack(project, "refused", { ...configs.all, "mtls:namespace": "cm-refused" });
        pulumi.run(["stack", "init", "refused"]);
        for (const [label, service, message] of refusals) {
            writeStack(project, "refused", {
                ...configs.all,
                "mtls:namespace": "cm-refused",
                "mtls:services": [service],
            });
            const r = pulumi.run(["preview", "--stack", "refused"], { allowFail: true });
            checks.ok(
                r.status !== 0 && message.test(r.stdout + r.stderr),
                `cert-manager with ${label}: pulumi preview fails naming the key and the fix`,
                (r.stdout + r.stderr).slice(-600),
            );
        }
        checks.ok(
            kubectl(["get", "namespace", "cm-refused"], { allowFail: true }).status !== 0,
            "and nothing reached the API server",
        );

        for (const [stack, config] of Object.entries(configs)) {
            section(`stack ${stack} (namespace ${config["mtls:namespace"]}) deployed to the cluster`);
            writeStack(project, stack, config);
            pulumi.run(["stack", "init", stack]);
            const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
            checks.ok(
                up.status === 0,
                `${stack}: pulumi up succeeded (the API server accepted every cert-manager and trust-manager object)`,
                up.stdout.slice(-1500) + up.stderr.slice(-1500),
            );
            if (up.status === 0) deployed.push(stack);
        }

        section("the objects read back: what the program sent, accepted by strict validation");
        const held = {
            certificates: [
                ...get("certificates.cert-manager.io", NS.all),
                ...get("certificates.cert-manager.io", NS.mixed),
            ],
            issuers: get("issuers.cert-manager.io", NS.all),
            clusterIssuers: get("clusterissuers.cert-manager.io"),
            bundles: get("bundles.trust.cert-manager.io"),
        };
        checks.ok(
            held.certificates.length === 8 &&
                held.issuers.length === 1 &&
                held.clusterIssuers.length === 1 &&
                held.bundles.length === 2,
            "the API server holds 8 Certificates (6 + 2), one Issuer in cm-shop, one ClusterIssuer and two Bundles",
            JSON.stringify(
                Object.fromEntries(Object.entries(held).map(([k, v]) => [k, v.map((o) => o.metadata.name)])),
            ),
        );
        const exported = Object.fromEntries(
            deployed.map((stack) => [
                stack,
                JSON.parse(pulumi.run(["stack", "export", "--stack", stack]).stdout).deployment.resources ?? [],
            ]),
        );
        for (const [stack, resources] of Object.entries(exported)) {
            const sent = resources.filter((r) =>
                /^kubernetes:(cert-manager\.io\/v1|trust\.cert-manager\.io\/v1alpha1):/.test(r.type),
            );
            const mismatched = sent.filter((r) => {
                const kind = r.type.split(":").pop();
                const list = {
                    Certificate: held.certificates,
                    Issuer: held.issuers,
                    ClusterIssuer: held.clusterIssuers,
                    Bundle: held.bundles,
                }[kind];
                const object = list.find(
                    (o) =>
                        o.metadata.name === r.outputs.metadata.name &&
                        (o.metadata.namespace ?? "") === (r.outputs.metadata.namespace ?? ""),
                );
                return !object || canonical(object.spec) !== canonical(r.inputs.spec);
            });
            checks.ok(
                sent.length > 0 && mismatched.length === 0,
                `${stack}: each of the ${sent.length} cert-manager/trust-manager objects the API server holds has exactly the spec the program sent`,
                mismatched.map((r) => r.urn).join(", "),
            );
        }
        const ours = [...held.certificates, ...held.issuers, ...held.clusterIssuers, ...held.bundles];
        const strict = kubectl(
            ["apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=mtls-e2e", "-f", "-"],
            { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: ours.map(asSent) }), allowFail: true },
        );
        checks.ok(
            strict.status === 0,
            `kubectl apply --server-side --dry-run=server --validate=strict accepts all ${ours.length} objects as read back`,
            strict.stderr.slice(-800),
        );
        const sample = held.certificates.find(
            (c) => c.metadata.namespace === NS.all && c.metadata.name === "user-service",
        );
        const broken = [
            [
                "a Certificate with privateKey.algorithm DSA",
                {
                    ...asSent(sample),
                    metadata: { name: "broken-1", namespace: NS.all },
                    spec: { ...sample.spec, privateKey: { algorithm: "DSA" } },
                },
                /Unsupported value: "DSA"/,
            ],
            [
                "a Certificate with an unknown field",
                {
                    ...asSent(sample),
                    metadata: { name: "broken-2", namespace: NS.all },
                    spec: { ...sample.spec, renewBeforeHours: 720 },
                },
                /\.spec\.renewBeforeHours: field not declared in schema/,
            ],
            [
                "a Bundle without sources",
                {
                    apiVersion: "trust.cert-manager.io/v1alpha1",
                    kind: "Bundle",
                    metadata: { name: "broken-3" },
                    spec: { target: { configMap: { key: "ca.crt" } } },
                },
                /spec\.sources: Required value/,
            ],
        ];
        for (const [label, object, message] of broken) {
            const r = kubectl(
                [
                    "apply",
                    "--server-side",
                    "--dry-run=server",
                    "--validate=strict",
                    "--field-manager=mtls-e2e",
                    "-f",
                    "-",
                ],
                { input: JSON.stringify(object), allowFail: true },
            );
            checks.ok(
                r.status !== 0 && message.test(r.stderr),
                `negative control: ${label} is refused by the same validation`,
                r.stderr.slice(-400),
            );
        }
        const userCert = held.certificates.find(
            (c) => c.metadata.namespace === NS.mixed && c.metadata.name === "user-service",
        );
        checks.ok(
            canonical(userCert?.spec) ===
                canonical({
                    secretName: "user-service-mtls-tls",
                    secretTemplate: {
                        labels: { "app.kubernetes.io/name": "user-service", "app.kubernetes.io/part-of": "mtls" },
                    },
                    commonName: "user-service",
                    dnsNames: [
                        "user-service",
                        `user-service.${NS.mixed}`,
                        `user-service.${NS.mixed}.svc`,
                        `user-service.${NS.mixed}.svc.cluster.local`,
                    ],
                    uris: [`spiffe://${TRUST_DOMAIN}/ns/${NS.mixed}/sa/user-service`],
                    usages: ["digital signature", "server auth", "client auth"],
                    duration: "720h",
                    renewBefore: "240h",
                    isCA: false,
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always", encoding: "PKCS1" },
                    issuerRef: {
                        name: held.clusterIssuers[0]?.metadata.name,
                        kind: "ClusterIssuer",
                        group: "cert-manager.io",
                    },
                }),
            "mixed: user-service's Certificate has the service's CN, DNS names, SPIFFE URI, usages, lifetime and key, and names the ClusterIssuer",
            JSON.stringify(userCert?.spec),
        );
        const caSecretName = held.clusterIssuers[0]?.spec.ca.secretName;
        const caSecret =
            caSecretName &&
            JSON.parse(kubectl(["get", "secret", caSecretName, "-n", TRUST_NAMESPACE, "-o", "json"]).stdout);
        checks.ok(
            caSecret?.type === "kubernetes.io/tls" &&
                canonical(Object.keys(caSecret.data).sort()) === canonical(["ca.crt", "tls.crt", "tls.key"]),
            `mixed: the ClusterIssuer's CA is a kubernetes.io/tls Secret in ${TRUST_NAMESPACE} with tls.crt, tls.key and ca.crt`,
        );
        const deployments = get("deployments", NS.mixed);
        const piece = (name) => {
            const pod = deployments.find((d) => d.metadata.name === name).spec.template.spec;
            const files = pod.volumes[0].projected.sources
                .flatMap((s) => (s.configMap ?? s.secret).items.map((i) => `${i.path}:${i.mode.toString(8)}`))
                .sort();
            const env = pod.containers[0].env.map((e) => `${e.name}=${(e.value ?? "").replaceAll(name, "<svc>")}`);
            return { files, env, mount: pod.containers[0].volumeMounts.map((m) => `${m.mountPath}:${m.readOnly}`) };
        };
        checks.ok(
            canonical(piece("user-service")) === canonical({ ...piece("ledger"), env: piece("user-service").env }) &&
                canonical(piece("payment-service")) === canonical(piece("order-service")),
            "mixed: cert-manager and Pulumi services mount the same files with the same modes at the same path and get the same variables",
            JSON.stringify([piece("user-service"), piece("ledger"), piece("payment-service"), piece("order-service")]),
        );
        checks.ok(
            canonical(piece("user-service").env.map((e) => e.split("=")[0])) ===
                canonical(piece("ledger").env.map((e) => e.split("=")[0])),
            "mixed: the cert-manager server and the Pulumi server get the same variable names",
        );

        if (real) {
            section("cert-manager's controllers and trust-manager, run against the API server");
            const controller = background(
                "cert-manager-controller",
                built.controller,
                [`--kubeconfig=${KUBECONFIG}`, `--cluster-resource-namespace=${TRUST_NAMESPACE}`, "--v=2"],
                work,
            );
            processes.push(controller);
            const [webhookPort, readyPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
            const trustManager = background(
                "trust-manager",
                built.trustManager,
                [
                    `--kubeconfig=${KUBECONFIG}`,
                    `--context=${CONTEXT}`,
                    "--leader-elect=false",
                    `--trust-namespace=${TRUST_NAMESPACE}`,
                    "--webhook-host=127.0.0.1",
                    `--webhook-port=${webhookPort}`,
                    `--webhook-certificate-dir=${webhookCertDir(work)}`,
                    `--readiness-probe-port=${readyPort}`,
                    `--metrics-port=${metricsPort}`,
                    "--log-level=2",
                ],
                work,
            );
            processes.push(trustManager);
            const t0 = Date.now();
            const allReady = await waitFor(180, () => {
                if (controller.exited() || trustManager.exited()) return "exited";
                const certs = [
                    ...get("certificates.cert-manager.io", NS.all),
                    ...get("certificates.cert-manager.io", NS.mixed),
                ];
                const maps = [NS.all, NS.mixed].map((ns) =>
                    get("configmaps", ns).filter((cm) =>
                        held.bundles.some((b) => b.metadata.name === cm.metadata.name),
                    ),
                );
                return certs.length === 8 && certs.every(ready) && maps.every((m) => m.length === 1)
                    ? certs
                    : undefined;
            });
            checks.ok(
                Array.isArray(allReady),
                `every Certificate became Ready and trust-manager wrote both bundle ConfigMaps (${Math.round((Date.now() - t0) / 1000)} s)`,
                `controller: ${JSON.stringify(controller.exited())}\n${controller.tail()}\ntrust-manager: ${JSON.stringify(trustManager.exited())}\n${trustManager.tail()}\n` +
                    JSON.stringify(
                        [
                            ...get("certificates.cert-manager.io", NS.all),
                            ...get("certificates.cert-manager.io", NS.mixed),
                        ].map((c) => [c.metadata.name, c.status?.conditions]),
                    ).slice(0, 2000),
            );
            const bundleReady = get("bundles.trust.cert-manager.io").every((b) =>
                (b.status?.conditions ?? []).some((c) => c.type === "Synced" && c.status === "True"),
            );
            checks.ok(
                bundleReady,
                "trust-manager reports both Bundles Synced",
                JSON.stringify(get("bundles.trust.cert-manager.io").map((b) => b.status)),
            );
        } else {
            section("TEST DOUBLE: issuing from the Certificate specs (the controllers could not be built)");
            for (const ns of Object.values(NS)) issueWithDouble(work, ns);
            checks.ok(
                true,
                "TEST DOUBLE wrote each Certificate's Secret and each Bundle's ConfigMap (not cert-manager, not trust-manager)",
            );
        }

        section(`the Secrets ${real ? "cert-manager" : "the TEST DOUBLE"} wrote, read back`);
        const issuedBy = real ? "cert-manager" : "TEST DOUBLE";
        for (const ns of Object.values(NS)) {
            const certs = get("certificates.cert-manager.io", ns);
            const secrets = get("secrets", ns);
            const wrong = [];
            for (const cert of certs) {
                const secret = secrets.find((s) => s.metadata.name === cert.spec.secretName);
                const data = Object.fromEntries(
                    Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
                );
                const leaf = pemBlocks(data["tls.crt"])[0] && new X509Certificate(pemBlocks(data["tls.crt"])[0]);
                const key = data["tls.key"] && createPrivateKey(data["tls.key"]);
                const want = cert.spec.privateKey;
                const keyOk =
                    key &&
                    (want.algorithm === "RSA"
                        ? key.asymmetricKeyType === "rsa" && key.asymmetricKeyDetails.modulusLength === want.size
                        : want.algorithm === "ECDSA"
                          ? key.asymmetricKeyType === "ec" &&
                            key.asymmetricKeyDetails.namedCurve === { 256: "prime256v1", 384: "secp384r1" }[want.size]
                          : key.asymmetricKeyType === "ed25519");
                const sans = leaf?.subjectAltName?.split(", ").sort();
                const wantSans = [
                    ...cert.spec.dnsNames.map((d) => `DNS:${d}`),
                    ...(cert.spec.uris ?? []).map((u) => `URI:${u}`),
                ].sort();
                const hours = leaf && Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 3_600_000);
                const ok =
                    secret?.type === "kubernetes.io/tls" &&
                    leaf &&
                    leaf.subject === `CN=${cert.spec.commonName}` &&
                    canonical(sans) === canonical(wantSans) &&
                    keyOk &&
                    leaf.checkPrivateKey(key) &&
                    Math.abs(hours - Number(cert.spec.duration.replace("h", ""))) <= (real ? 1 : 24) &&
                    data["ca.crt"];
                if (!ok)
                    wrong.push(
                        `${cert.metadata.name}: ${JSON.stringify({ type: secret?.type, subject: leaf?.subject, sans, keyOk, hours })}`,
                    );
            }
            checks.ok(
                certs.length > 0 && wrong.length === 0,
                `${ns}: each of the ${certs.length} Secrets ${issuedBy} wrote holds a leaf with the Certificate's CN, SANs and duration, and a key of its algorithm that matches`,
                wrong.join("\n"),
            );
        }

        section(`mutual TLS: ${issuedBy}-issued and Pulumi-issued services under one CA, a foreign CA refused`);
        const material = path.join(work, "material");
        const fromApi = (ns) => [...get("configmaps", ns), ...get("secrets", ns), ...get("deployments", ns)];
        for (const [ns, names] of [
            [NS.mixed, ["user-service", "order-service", "payment-service", "ledger"]],
            [NS.all, ["user-service", "order-service"]],
        ]) {
            for (const name of names) layOut(serviceMaterial(fromApi(ns), name), path.join(material, ns, name));
        }
        const mixedCa = JSON.parse(pulumi.run(["stack", "output", "--json", "--stack", "mixed"]).stdout).caCertPem;
        const caFile = fs.readFileSync(path.join(material, NS.mixed, "user-service", "ca.crt"), "utf8");
        const fingerprints = (pem) =>
            pemBlocks(pem)
                .map((block) => new X509Certificate(block).fingerprint256)
                .sort();
        checks.ok(
            fingerprints(caFile).length > 0 && canonical(fingerprints(caFile)) === canonical(fingerprints(mixedCa)),
            `mixed: the ca.crt a cert-manager service mounts (from ${real ? "trust-manager's" : "the TEST DOUBLE's"} ConfigMap) holds the stack's trust bundle`,
        );
        const chain = pemBlocks(fs.readFileSync(path.join(material, NS.mixed, "user-service", "tls.crt"), "utf8"));
        checks.ok(
            chain.length === 2 &&
                new X509Certificate(chain[1]).ca &&
                new X509Certificate(chain[0]).verify(new X509Certificate(chain[1]).publicKey),
            "mixed: the cert-manager leaf's tls.crt is leaf + intermediate, without the root, as the Pulumi path's is",
        );
        const spiffe = (ns, svc) => `spiffe://${TRUST_DOMAIN}/ns/${ns}/sa/${svc}`;
        const at = (ns, svc) => path.join(material, ns, svc);
        const toCertManager = runPeers(
            work,
            "to-cert-manager",
            {
                server: {
                    name: "user-service",
                    dir: at(NS.mixed, "user-service"),
                    dnsName: `user-service.${NS.mixed}.svc.cluster.local`,
                    allowedClients: ["order-service", "payment-service"],
                },
                clients: [
                    {
                        label: "order-service (Pulumi-issued)",
                        dir: at(NS.mixed, "order-service"),
                        expect: "ok",
                        expectCN: "order-service",
                        expectURI: spiffe(NS.mixed, "order-service"),
                    },
                    {
                        label: `payment-service (${issuedBy}, RSA-2048)`,
                        dir: at(NS.mixed, "payment-service"),
                        expect: "ok",
                        expectCN: "payment-service",
                        expectURI: spiffe(NS.mixed, "payment-service"),
                    },
                    {
                        label: `order-service of cm-shop (foreign CA, ${issuedBy}, ED25519)`,
                        dir: at(NS.all, "order-service"),
                        expect: "refused",
                    },
                    { label: "no client certificate", dir: null, expect: "refused" },
                ],
                badServers: [
                    {
                        label: "cm-shop's user-service (foreign CA)",
                        dir: at(NS.all, "user-service"),
                        dnsName: `user-service.${NS.mixed}.svc.cluster.local`,
                        expect: "refused",
                    },
                ],
                plainTcp: true,
                builtins: true,
            },
            ["--tls", "1.3"],
        );
        checks.ok(
            toCertManager.status === 0 && toCertManager.failed === 0 && toCertManager.passed > 0,
            `peers against the ${issuedBy}-issued server: ${toCertManager.passed} passed, ${toCertManager.failed} failed`,
        );
        const toPulumi = runPeers(
            work,
            "to-pulumi",
            {
                server: {
                    name: "ledger",
                    dir: at(NS.mixed, "ledger"),
                    dnsName: `ledger.${NS.mixed}.svc.cluster.local`,
                    allowedClients: ["user-service"],
                },
                clients: [
                    {
                        label: `user-service (${issuedBy})`,
                        dir: at(NS.mixed, "user-service"),
                        expect: "ok",
                        expectCN: "user-service",
                        expectURI: spiffe(NS.mixed, "user-service"),
                    },
                    {
                        label: "order-service (Pulumi-issued, not in allowFrom)",
                        dir: at(NS.mixed, "order-service"),
                        expect: "forbidden",
                        expectCN: "order-service",
                    },
                    {
                        label: `user-service of cm-shop (foreign CA, ${issuedBy})`,
                        dir: at(NS.all, "user-service"),
                        expect: "refused",
                    },
                ],
                plainTcp: false,
                builtins: true,
            },
            ["--tls", "1.3"],
        );
        checks.ok(
            toPulumi.status === 0 && toPulumi.failed === 0 && toPulumi.passed > 0,
            `peers against the Pulumi-issued server: ${toPulumi.passed} passed, ${toPulumi.failed} failed`,
        );

        section("private keys only in Secrets");
        const configMaps = get("configmaps");
        checks.ok(
            configMaps.every((cm) => !JSON.stringify(cm).includes("PRIVATE KEY")),
            `no ConfigMap in any namespace holds a private key (${configMaps.length} read)`,
        );
        for (const stack of deployed) {
            const outputText = pulumi.run(["stack", "output", "--json", "--stack", stack]).stdout;
            const stateText = pulumi.run(["stack", "export", "--stack", stack]).stdout;
            checks.ok(
                !outputText.includes("PRIVATE KEY") && !stateText.includes("PRIVATE KEY"),
                `${stack}: neither the stack outputs nor the plain state hold a private key`,
            );
        }
        const outputs = JSON.parse(pulumi.run(["stack", "output", "--json", "--stack", "mixed"]).stdout);
        checks.ok(
            outputs.services["user-service"].issueReason === "issued in cluster: renews 240 h before its end" &&
                outputs.services.ledger.notAfter,
            "mixed: the outputs say the cluster renews user-service 240 h before its end, and give ledger's notAfter",
            JSON.stringify(outputs.services["user-service"]),
        );

        section("destroy leaves no object of ours");
        for (const p of processes) await p.stop();
        for (const stack of [...deployed].reverse()) {
            const r = pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
            checks.ok(r.status === 0, `destroy ${stack}`, r.stdout.slice(-600));
        }
        deployed.length = 0;
        const left = [
            ...get("certificates.cert-manager.io"),
            ...get("issuers.cert-manager.io"),
            ...get("clusterissuers.cert-manager.io"),
            ...get("bundles.trust.cert-manager.io"),
        ];
        const leftSecrets = get("secrets", TRUST_NAMESPACE).filter((s) => s.type === "kubernetes.io/tls");
        checks.ok(
            left.length === 0 && leftSecrets.length === 0,
            "no Certificate, Issuer, ClusterIssuer, Bundle or CA Secret is left",
            left.map((o) => `${o.kind}/${o.metadata.name}`).join(", "),
        );
    } finally {
        for (const p of processes) await p.stop();
        for (const stack of deployed)
            pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
        if (!wasRunning) stop();
    }
});
