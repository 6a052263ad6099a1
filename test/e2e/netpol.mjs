#!/usr/bin/env node
// Who may call whom, enforced beyond the app, on a real API server (test/cluster): stacks of our
// own deployed with Pulumi's kubernetes provider, their NetworkPolicies read back and evaluated
// pair by pair by Kubernetes' NetworkPolicy semantics (test/support/networkPolicyEval.ts) over
// the pods the controller-manager made; Istio's own CRDs (Go module istio.io/api) installed and
// the PeerAuthentication, AuthorizationPolicies and plug-in CA Secret checked against them.
//
//   npm run e2e:netpol               starts the control plane if it is not running, stops it afterwards
//   npm run e2e:netpol -- --keep     keep the temp dir (holds keys: delete it yourself)
import { spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { BIN, CONTEXT, KUBECONFIG, start, status, stop } from "../cluster/cluster.mjs";
import { loadTypeScript } from "../../scripts/typescript.mjs";
import { Pulumi, makeProject, runTier, section, writeStack } from "./lib.mjs";

const evaluator = loadTypeScript("test/support/networkPolicyEval.ts");
const { parseStackConfig, rawStackConfigFromEngine } = loadTypeScript("infra/spec.ts");

/** The istio.io/api release whose CRDs the objects are checked against. */
const ISTIO_API = "istio.io/api@v1.31.4";
const TRUST_DOMAIN = "np.shop.internal";
const NS = { shop: "np-shop", reports: "np-reports", open: "np-open" };
const INVOICER_BLOCK = "192.0.2.0/24";

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
        metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    };
}

const services = (list, extra = {}) => list.map((svc) => ({ image: `example/${svc.name}:1.0`, ...svc, ...extra }));

function stackConfigs() {
    const cluster = { context: CONTEXT, kubeconfig: KUBECONFIG, skipAwait: true };
    const base = (namespace, commonName, list, more = {}) => ({
        "mtls:namespace": namespace,
        "mtls:trustDomain": TRUST_DOMAIN,
        "mtls:ca": { commonName, validityHours: 8760 },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": services(list),
        "mtls:kubernetes": cluster,
        ...more,
    });
    return {
        shop: base(
            NS.shop,
            "np shop root CA",
            [
                {
                    name: "user-service",
                    port: 8443,
                    allowFrom: [
                        "order-service",
                        "payment-service",
                        { namespace: NS.reports, service: "report-service" },
                    ],
                },
                {
                    name: "payment-service",
                    port: 9443,
                    allowFrom: [
                        "order-service",
                        {
                            spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                            networkPolicyFrom: [{ cidr: INVOICER_BLOCK }],
                        },
                    ],
                },
                { name: "order-service", usage: "client", delivery: "env" },
                { name: "audit-service", usage: "client" },
                { name: "ledger", usage: "server", port: 7443 },
            ],
            {
                "mtls:ca": { commonName: "np shop root CA", validityHours: 8760, intermediate: true },
                "mtls:mesh": { provider: "istio", pluginCa: true },
            },
        ),
        reports: base(NS.reports, "np reports root CA", [
            { name: "report-service", port: 8443, allowFrom: ["report-reader"] },
            { name: "report-reader", usage: "client" },
            // A namesake of the shop's caller in another namespace: its labels match, its namespace does not.
            { name: "order-service", usage: "client" },
        ]),
        open: base(
            NS.open,
            "np open root CA",
            [
                { name: "a-server", port: 8443, allowFrom: ["b-client"] },
                { name: "b-client", usage: "client" },
                { name: "c-client", usage: "client" },
            ],
            { "mtls:kubernetes": { ...cluster, networkPolicy: false } },
        ),
    };
}

/** The parsed spec of a stack config, as the program sees it. */
function specOf(config, stack) {
    const engine = Object.fromEntries(
        Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    return parseStackConfig(rawStackConfigFromEngine(engine), { project: "mtls", stack });
}

async function podsOf(namespace, expected, seconds = 60) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const pods = get("pods", namespace);
        if (pods.length >= expected) return pods;
        if (Date.now() > deadline)
            throw new Error(`${namespace}: ${pods.length} pods after ${seconds}s, expected ${expected}`);
        await sleep(500);
    }
}

/** The Istio CRDs of ISTIO_API, fetched through the Go module proxy. */
function istioCrdFile() {
    const r = spawnSync("go", ["mod", "download", "-json", ISTIO_API], { encoding: "utf8", cwd: "/tmp" });
    const info = r.stdout ? JSON.parse(r.stdout) : {};
    if (r.status !== 0 || !info.Dir) throw new Error(`go mod download ${ISTIO_API} failed: ${info.Error ?? r.stderr}`);
    return { file: `${info.Dir}/kubernetes/customresourcedefinitions.gen.yaml`, version: info.Version };
}

const pemBlocks = (text) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

await runTier("e2e-netpol", async ({ work, checks }) => {
    const wasRunning = (await status()).running;
    section("control plane");
    const state = await start();
    console.log(`  Kubernetes v${state.version} at ${state.server} (no kubelet: pods stay Pending)`);
    const project = makeProject(work, {});
    const pulumi = new Pulumi(project, work);
    const configs = stackConfigs();
    const deployed = [];
    try {
        section(`Istio's CustomResourceDefinitions from ${ISTIO_API}`);
        const crds = istioCrdFile();
        const applied = kubectl(["apply", "--server-side", "--field-manager=mtls-e2e", "-f", crds.file], {
            allowFail: true,
        });
        checks.ok(
            applied.status === 0,
            `kubectl apply --server-side of ${crds.version}'s kubernetes/customresourcedefinitions.gen.yaml`,
            applied.stderr.slice(-600),
        );
        const wanted = ["authorizationpolicies.security.istio.io", "peerauthentications.security.istio.io"];
        const established = kubectl(
            ["wait", "--for=condition=Established", "--timeout=60s", ...wanted.map((n) => `crd/${n}`)],
            { allowFail: true },
        );
        const served = wanted.map((n) =>
            JSON.parse(kubectl(["get", "crd", n, "-o", "json"]).stdout)
                .spec.versions.filter((v) => v.served)
                .map((v) => v.name),
        );
        checks.ok(
            established.status === 0 && served.every((v) => v.includes("v1")),
            `the API server serves ${wanted.join(" and ")} at v1`,
            `${established.stderr} ${JSON.stringify(served)}`,
        );
        kubectl(["create", "namespace", "istio-system"], { allowFail: true });

        section("a plug-in CA without an intermediate is refused at preview, by key path");
        const refusedConfig = {
            ...configs.open,
            "mtls:namespace": "np-refused",
            "mtls:mesh": { provider: "istio", pluginCa: true },
        };
        writeStack(project, "refused", refusedConfig);
        pulumi.run(["stack", "init", "refused"]);
        const refused = pulumi.run(["preview", "--stack", "refused"], { allowFail: true });
        checks.ok(
            refused.status !== 0 &&
                /mtls:mesh\.pluginCa: needs mtls:ca\.intermediate: true/.test(refused.stdout + refused.stderr),
            "pulumi preview fails with mtls:mesh.pluginCa and its fix",
            (refused.stdout + refused.stderr).slice(-600),
        );
        checks.ok(
            kubectl(["get", "namespace", "np-refused"], { allowFail: true }).status !== 0,
            "and nothing reached the API server",
        );

        const outputsLog = {};
        for (const [stack, config] of Object.entries(configs)) {
            section(`stack ${stack} (namespace ${config["mtls:namespace"]}) deployed to the cluster`);
            writeStack(project, stack, config);
            pulumi.run(["stack", "init", stack]);
            const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
            outputsLog[stack] = up.stdout + up.stderr;
            checks.ok(
                up.status === 0,
                `${stack}: pulumi up succeeded (the provider's server-side apply accepted every object)`,
                up.stdout.slice(-1500) + up.stderr.slice(-1500),
            );
            if (up.status === 0) deployed.push(stack);
        }

        // A pod of another namespace with the labels of the shop's caller: a label match alone must not let it in.
        kubectl([
            "run",
            "order-service-lookalike",
            "-n",
            "default",
            "--image=example/order-service:1.0",
            "--restart=Never",
            "--labels=app.kubernetes.io/name=order-service,app.kubernetes.io/part-of=mtls",
        ]);

        section("the policies read back, evaluated pair by pair");
        const specs = Object.fromEntries(
            Object.entries(configs).map(([stack, config]) => [stack, specOf(config, stack)]),
        );
        const pods = [];
        for (const [_stack, spec] of Object.entries(specs))
            pods.push(...(await podsOf(spec.namespace, spec.services.length)));
        pods.push(
            ...(await podsOf("default", 1).then((list) =>
                list.filter((p) => p.metadata.name === "order-service-lookalike"),
            )),
        );
        const namespaces = Object.fromEntries(get("namespaces").map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
        const policies = get("networkpolicies");
        const endpoints = pods.map(evaluator.endpointOfPod);
        const serviceOf = (endpoint) => endpoint.labels["app.kubernetes.io/name"];
        checks.ok(
            Object.values(NS).every((ns) => namespaces[ns]?.["kubernetes.io/metadata.name"] === ns),
            "every namespace carries kubernetes.io/metadata.name, which the cross-namespace selectors rely on",
        );

        for (const [stack, spec] of Object.entries(specs)) {
            const servers = spec.services.filter((s) => s.usage !== "client");
            const mine = policies.filter((p) => p.metadata.namespace === spec.namespace);
            const expectedNames = spec.kubernetes.networkPolicy ? servers.map((s) => `${s.name}-mtls`).sort() : [];
            checks.ok(
                canonical(mine.map((p) => p.metadata.name).sort()) === canonical(expectedNames),
                `${stack}: the API server holds ${spec.kubernetes.networkPolicy ? `one NetworkPolicy per server (${expectedNames.join(", ")}), none for clients` : "no NetworkPolicy (mtls:kubernetes.networkPolicy: false)"}`,
                mine.map((p) => p.metadata.name).join(", "),
            );
            for (const policy of mine) {
                const selected = endpoints
                    .filter(
                        (e) =>
                            e.namespace === spec.namespace &&
                            evaluator.selectorMatches(policy.spec.podSelector, e.labels),
                    )
                    .map(serviceOf);
                const deployment = get("deployments", spec.namespace).find(
                    (d) => `${d.metadata.name}-mtls` === policy.metadata.name,
                );
                checks.ok(
                    selected.length > 0 &&
                        selected.every((s) => `${s}-mtls` === policy.metadata.name) &&
                        evaluator.selectorMatches(policy.spec.podSelector, deployment.spec.template.metadata.labels) &&
                        canonical(policy.spec.policyTypes) === canonical(["Ingress"]),
                    `${stack}: ${policy.metadata.name} selects exactly its Deployment's pods (${selected.length}) for Ingress only`,
                    selected.join(","),
                );
            }

            // Every ordered pair: each pod of every namespace against each server of this stack, on the server's port.
            const rows = [];
            let mismatches = 0;
            for (const source of endpoints) {
                const cells = servers.map((server) => {
                    const target = endpoints.find(
                        (e) => e.namespace === spec.namespace && serviceOf(e) === server.name,
                    );
                    const allowed = evaluator.connectionAllowed(policies, namespaces, source, target, server.port);
                    const listed =
                        source.labels["app.kubernetes.io/part-of"] === "mtls" &&
                        server.callers.some((c) => c.namespace === source.namespace && c.service === serviceOf(source));
                    // Without NetworkPolicies the network admits everyone; the app's allowlist is then the only gate.
                    const expected = spec.kubernetes.networkPolicy ? listed : true;
                    const otherPort = evaluator.connectionAllowed(
                        policies,
                        namespaces,
                        source,
                        target,
                        server.port + 1,
                    );
                    const ok = allowed === expected && (spec.kubernetes.networkPolicy ? !otherPort : otherPort);
                    if (!ok) mismatches += 1;
                    return `${allowed ? "allow" : "deny"}${ok ? "" : "!"}`;
                });
                rows.push([
                    `${source.namespace}/${serviceOf(source)}${source.namespace === "default" ? " (lookalike)" : ""}`,
                    ...cells,
                ]);
            }
            const header = ["caller \\ server", ...servers.map((s) => `${s.name}:${s.port}`)];
            const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
            const line = (cells) => `    ${cells.map((c, i) => c.padEnd(widths[i])).join("  ")}`;
            console.log(line(header));
            for (const row of rows) console.log(line(row));
            checks.ok(
                mismatches === 0,
                `${stack}: ${rows.length * servers.length} pairs, each allowed on the mTLS port iff ${spec.kubernetes.networkPolicy ? "allowFrom lists the caller" : "(no policy) always"}, and ${spec.kubernetes.networkPolicy ? "denied" : "open"} on any other port`,
                `${mismatches} cells marked !`,
            );
        }
        const payments = endpoints.find((e) => e.namespace === NS.shop && serviceOf(e) === "payment-service");
        const users = endpoints.find((e) => e.namespace === NS.shop && serviceOf(e) === "user-service");
        checks.ok(
            evaluator.connectionAllowed(policies, namespaces, { ip: "192.0.2.10" }, payments, 9443) &&
                !evaluator.connectionAllowed(policies, namespaces, { ip: "198.51.100.10" }, payments, 9443) &&
                !evaluator.connectionAllowed(policies, namespaces, { ip: "192.0.2.10" }, users, 8443),
            `shop: the invoicer from another trust domain gets in from ${INVOICER_BLOCK} (its networkPolicyFrom), to payment-service only`,
        );

        section("strict server-side validation of what the API server holds");
        const ours = [
            ...policies.filter((p) => Object.values(NS).includes(p.metadata.namespace)),
            ...get("authorizationpolicies.security.istio.io", NS.shop),
            ...get("peerauthentications.security.istio.io", NS.shop),
        ];
        const again = kubectl(
            ["apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=mtls-e2e", "-f", "-"],
            { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: ours.map(asSent) }), allowFail: true },
        );
        checks.ok(
            again.status === 0,
            `kubectl apply --server-side --dry-run=server --validate=strict accepts all ${ours.length} policy objects as read back`,
            again.stderr.slice(-800),
        );
        const ap = get("authorizationpolicies.security.istio.io", NS.shop).find(
            (p) => p.metadata.name === "user-service-mtls",
        );
        const broken = [
            [
                "an AuthorizationPolicy with an unknown field",
                { ...asSent(ap), metadata: { name: "broken-1", namespace: NS.shop }, spec: { ...ap.spec, rulez: [] } },
                /\.spec\.rulez: field not declared in schema/,
            ],
            [
                "an AuthorizationPolicy with action PERMIT",
                {
                    ...asSent(ap),
                    metadata: { name: "broken-2", namespace: NS.shop },
                    spec: { ...ap.spec, action: "PERMIT" },
                },
                /Unsupported value: "PERMIT"/,
            ],
            [
                "a PeerAuthentication with mode STRICTER",
                {
                    apiVersion: "security.istio.io/v1",
                    kind: "PeerAuthentication",
                    metadata: { name: "broken-3", namespace: NS.shop },
                    spec: { mtls: { mode: "STRICTER" } },
                },
                /Unsupported value: "STRICTER"/,
            ],
            [
                "a NetworkPolicy with an unknown field",
                {
                    apiVersion: "networking.k8s.io/v1",
                    kind: "NetworkPolicy",
                    metadata: { name: "broken-4", namespace: NS.shop },
                    spec: { podSelector: {}, ingress: [{ fromm: [] }] },
                },
                /\.spec\.ingress\[0\]\.fromm: field not declared in schema/,
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

        section("the mesh objects read back as sent");
        const exported =
            JSON.parse(pulumi.run(["stack", "export", "--stack", "shop"]).stdout).deployment.resources ?? [];
        const sentOf = (type) => exported.filter((r) => r.type === type);
        for (const [type, kind] of [
            ["kubernetes:security.istio.io/v1:AuthorizationPolicy", "authorizationpolicies.security.istio.io"],
            ["kubernetes:security.istio.io/v1:PeerAuthentication", "peerauthentications.security.istio.io"],
            ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "networkpolicies"],
        ]) {
            const sent = sentOf(type);
            const held = get(kind, NS.shop);
            const same =
                sent.length > 0 &&
                sent.length === held.length &&
                sent.every((r) => {
                    const object = held.find((h) => h.metadata.name === r.inputs.metadata.name);
                    return object && canonical(object.spec) === canonical(r.inputs.spec);
                });
            checks.ok(
                same,
                `shop: each ${type.split(":").pop()} the API server holds has exactly the spec the program sent (${sent.length})`,
                JSON.stringify({ sent: sent.map((r) => r.inputs.spec), held: held.map((h) => h.spec) }).slice(0, 1500),
            );
        }
        const userAp = get("authorizationpolicies.security.istio.io", NS.shop).find(
            (p) => p.metadata.name === "user-service-mtls",
        );
        checks.ok(
            canonical(userAp?.spec) ===
                canonical({
                    selector: {
                        matchLabels: { "app.kubernetes.io/name": "user-service", "app.kubernetes.io/part-of": "mtls" },
                    },
                    action: "ALLOW",
                    rules: [
                        {
                            from: [
                                {
                                    source: {
                                        principals: [
                                            `${TRUST_DOMAIN}/ns/${NS.shop}/sa/order-service`,
                                            `${TRUST_DOMAIN}/ns/${NS.shop}/sa/payment-service`,
                                            `${TRUST_DOMAIN}/ns/${NS.reports}/sa/report-service`,
                                        ],
                                    },
                                },
                            ],
                            to: [{ operation: { ports: ["8443"] } }],
                        },
                    ],
                }),
            "shop: user-service's AuthorizationPolicy allows its three callers' identities on 8443 only",
            JSON.stringify(userAp?.spec),
        );
        const ledgerAp = get("authorizationpolicies.security.istio.io", NS.shop).find(
            (p) => p.metadata.name === "ledger-mtls",
        );
        checks.ok(
            ledgerAp && canonical(ledgerAp.spec.rules ?? []) === "[]" && ledgerAp.spec.action === "ALLOW",
            "shop: ledger (no callers) has an ALLOW policy without rules, which Istio reads as deny all",
            JSON.stringify(ledgerAp?.spec),
        );
        const pa = get("peerauthentications.security.istio.io", NS.shop);
        checks.ok(
            pa.length === 1 && pa[0].spec.mtls?.mode === "STRICT" && pa[0].spec.selector === undefined,
            "shop: one namespace-wide PeerAuthentication, mode STRICT",
        );
        checks.ok(
            get("authorizationpolicies.security.istio.io", NS.reports).length === 0 &&
                get("peerauthentications.security.istio.io", NS.reports).length === 0,
            "reports (no mtls:mesh): no Istio object",
        );

        section("Istio's plug-in CA: the cacerts Secret");
        const secret = JSON.parse(kubectl(["get", "secret", "cacerts", "-n", "istio-system", "-o", "json"]).stdout);
        const data = Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
        );
        checks.ok(
            canonical(Object.keys(data).sort()) ===
                canonical(["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]) && secret.type === "Opaque",
            "istio-system/cacerts holds ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem",
            Object.keys(data).join(","),
        );
        const outputs = JSON.parse(pulumi.run(["stack", "output", "--json", "--stack", "shop"]).stdout);
        const caCert = new X509Certificate(data["ca-cert.pem"]);
        const root = new X509Certificate(data["root-cert.pem"]);
        checks.ok(
            caCert.ca &&
                caCert.verify(root.publicKey) &&
                caCert.subject !== root.subject &&
                caCert.checkPrivateKey(createPrivateKey(data["ca-key.pem"])),
            "ca-cert.pem is a CA certificate signed by root-cert.pem (an intermediate, not the root), and ca-key.pem is its key",
        );
        checks.ok(
            data["root-cert.pem"] === outputs.trustBundlePem &&
                data["cert-chain.pem"] === data["ca-cert.pem"] + data["root-cert.pem"] &&
                pemBlocks(data["cert-chain.pem"]).length === 2,
            "root-cert.pem is the stack's trust bundle and cert-chain.pem the intermediate followed by the root",
        );
        const leafPem = Buffer.from(
            get("configmaps", NS.shop).find((cm) => cm.metadata.name.startsWith("user-service"))?.data?.["tls.crt"] ??
                "",
        ).toString();
        checks.ok(
            new X509Certificate(pemBlocks(leafPem)[0]).verify(caCert.publicKey),
            "the services' own leaves come from that same intermediate, so mesh and app certificates share one chain",
        );

        const keyBody = data["ca-key.pem"]
            .split("\n")
            .filter((l) => l && !l.startsWith("-----"))
            .join("");
        const probe = keyBody.slice(0, 48);
        const configMaps = get("configmaps");
        checks.ok(
            configMaps.every(
                (cm) => !JSON.stringify(cm).includes(probe) && !JSON.stringify(cm).includes("PRIVATE KEY"),
            ),
            `no ConfigMap in any namespace holds the intermediate key or any private key (${configMaps.length} read)`,
        );
        const outputText = pulumi.run(["stack", "output", "--json", "--stack", "shop"]).stdout;
        checks.ok(
            !outputText.includes(probe) && !outputText.includes("PRIVATE KEY"),
            "the stack outputs hold no private key",
        );
        checks.ok(
            Object.values(outputsLog).every((log) => !log.includes(probe) && !log.includes("PRIVATE KEY")),
            "the up logs hold no private key",
        );
        const stateText = pulumi.run(["stack", "export", "--stack", "shop"]).stdout;
        const caSecretState = exported.find(
            (r) => r.type === "kubernetes:core/v1:Secret" && r.inputs?.metadata?.name === "cacerts",
        );
        const caSecretJson = JSON.stringify(caSecretState ?? {});
        checks.ok(
            !stateText.includes(probe) &&
                caSecretState !== undefined &&
                caSecretJson.includes("ciphertext") &&
                !caSecretJson.includes("PRIVATE KEY"),
            "the state holds the cacerts data only as secrets (ciphertext), never the key in plain text",
            JSON.stringify({
                inputs: Object.keys(caSecretState?.inputs ?? {}),
                outputs: Object.keys(caSecretState?.outputs ?? {}),
            }),
        );
        const others = get("secrets")
            .filter((s) => s.metadata.name !== "cacerts" && JSON.stringify(s.data ?? {}).length > 0)
            .filter((s) =>
                Object.values(s.data ?? {}).some((v) => Buffer.from(v, "base64").toString().includes(probe)),
            );
        checks.ok(
            others.length === 0,
            "no other Secret holds the intermediate key",
            others.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).join(", "),
        );

        section("destroy leaves no policy of ours");
        for (const stack of [...deployed].reverse()) {
            const r = pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
            checks.ok(r.status === 0, `destroy ${stack}`, r.stdout.slice(-600));
        }
        deployed.length = 0;
        const leftPolicies = get("networkpolicies").filter((p) => Object.values(NS).includes(p.metadata.namespace));
        const leftMesh = [
            ...get("authorizationpolicies.security.istio.io"),
            ...get("peerauthentications.security.istio.io"),
        ];
        const leftCa = kubectl(["get", "secret", "cacerts", "-n", "istio-system"], { allowFail: true }).status === 0;
        checks.ok(
            leftPolicies.length === 0 && leftMesh.length === 0 && !leftCa,
            "no NetworkPolicy, AuthorizationPolicy, PeerAuthentication or cacerts Secret is left",
            [...leftPolicies, ...leftMesh].map((o) => `${o.kind}/${o.metadata.name}`).join(", ") +
                (leftCa ? " cacerts" : ""),
        );
    } finally {
        for (const stack of deployed)
            pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack], { allowFail: true });
        kubectl(["delete", "pod", "order-service-lookalike", "-n", "default", "--ignore-not-found", "--wait=false"], {
            allowFail: true,
        });
        if (!wasRunning) stop();
    }
});
