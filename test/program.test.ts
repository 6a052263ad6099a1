import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { parseCertificate, signedBy } from "./support/certs";
import {
    byType,
    named,
    recorded,
    resetRecorded,
    resolveDeep,
    settle,
    setupMocks,
    useConfig,
} from "./support/pulumiMocks";
import { PROJECT_ROOT, SHIPPED_STACKS, engineConfigFromYaml, shippedStackConfig } from "./support/stackConfig";

type Program = typeof import("../infra/program");
let program: Program;

beforeAll(async () => {
    await setupMocks({ stack: "dev" });
    program = await import("../infra/program");
});
beforeEach(resetRecorded);
afterEach(() => vi.restoreAllMocks());

/** Runs the program with a stack's config, as `pulumi up` would, and returns its outputs fully resolved. */
async function runStack(config: Record<string, string>): Promise<any> {
    useConfig(config);
    const outputs = program.main();
    const resolved = await resolveDeep(outputs);
    await settle();
    return resolved;
}

function serviceEnv(name: string): Record<string, any> {
    const deployment = named("kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs;
    return Object.fromEntries(
        deployment.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );
}

describe.each(SHIPPED_STACKS)("the %s stack under mocks", (stack) => {
    let outputs: any;
    let logged: string[];

    beforeEach(async () => {
        logged = [];
        const capture = (...args: unknown[]) => {
            logged.push(args.map(String).join(" "));
        };
        for (const level of ["log", "info", "warn", "error", "debug"] as const)
            vi.spyOn(console, level).mockImplementation(capture);
        // Debug level is left out: there the SDK traces its own RPC payloads, and the mock monitor
        // hands resource state back unmarked, so the trace would show what mocks echo, not what we log.
        for (const level of ["info", "warn", "error"] as const)
            vi.spyOn(pulumi.log, level).mockImplementation(async (msg: string) => capture(msg));
        outputs = await runStack(shippedStackConfig(stack));
    });

    it("creates one namespace, one CA and per service a key, CSR, certificate, ConfigMap, Secret and Deployment", () => {
        const services = ["user-service", "order-service", "payment-service"];
        expect(byType("kubernetes:core/v1:Namespace")).toHaveLength(1);
        expect(byType("tls:index/selfSignedCert:SelfSignedCert").map((r) => r.name)).toEqual(["ca-root"]);
        expect(
            byType("tls:index/locallySignedCert:LocallySignedCert")
                .map((r) => r.name)
                .sort(),
        ).toEqual([...(stack === "prod" ? ["ca-intermediate"] : []), ...services.map((s) => `${s}-cert`)].sort());
        for (const type of [
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:Secret",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:ServiceAccount",
        ]) {
            expect(byType(type)).toHaveLength(3);
        }
        expect(byType("kubernetes:core/v1:Service").map((r) => r.inputs.metadata.name)).toEqual(["user-service"]);
    });

    it("sends every Kubernetes object to the stack's provider, rendering to out/<stack>", () => {
        const provider = named("pulumi:providers:kubernetes", "kubernetes");
        expect(provider.inputs.renderYamlToDirectory).toBe(path.join(PROJECT_ROOT, "out", stack));
        const k8sObjects = recorded.filter((r) => r.type.startsWith("kubernetes:"));
        // The namespace, per service a ConfigMap, Secret, ServiceAccount and Deployment, and for the one server a Service and a NetworkPolicy.
        expect(k8sObjects.length).toBe(1 + 3 * 4 + 2);
        for (const object of k8sObjects)
            expect(object.provider, object.name).toMatch(/pulumi:providers:kubernetes::kubernetes::/);
        expect(fs.statSync(provider.inputs.renderYamlToDirectory).mode & 0o777).toBe(0o700);
    });

    it("issues certificates whose chain verifies against the exported CA and carries the service identity", () => {
        const namespace = outputs.namespace;
        const user = outputs.services["user-service"];
        expect(user.dnsNames).toEqual([
            "user-service",
            `user-service.${namespace}`,
            `user-service.${namespace}.svc`,
            `user-service.${namespace}.svc.cluster.local`,
        ]);
        expect(user.uris).toEqual([
            expect.stringMatching(new RegExp(`^spiffe://[a-z.]+/ns/${namespace}/sa/user-service$`)),
        ]);
        expect(user.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
        expect(Date.parse(user.renewAt)).toBeLessThan(Date.parse(user.notAfter));
        const chain = named("kubernetes:core/v1:ConfigMap", "user-service-certs").inputs.data["tls.crt"];
        const intermediate = chain.split("-----END CERTIFICATE-----\n")[1];
        expect(
            signedBy(intermediate ? `${intermediate}-----END CERTIFICATE-----\n` : chain, outputs.trustBundlePem),
        ).toBe(true);
        expect(parseCertificate(outputs.trustBundlePem).isCa).toBe(true);
        expect(parseCertificate(chain).node.subject).toContain("CN=user-service");
    });

    it("wires user-service with files and its allowlist, order-service with env", () => {
        const user = serviceEnv("user-service");
        expect(user).toMatchObject({
            MTLS_CERT_FILE: "/etc/mtls/tls.crt",
            MTLS_KEY_FILE: "/etc/mtls/tls.key",
            MTLS_ALLOWED_CLIENTS: "order-service,payment-service",
            MTLS_PORT: "8443",
        });
        expect(user.MTLS_ALLOWED_SPIFFE_IDS.split(",")).toHaveLength(2);
        const order = serviceEnv("order-service");
        expect(order.MTLS_KEY.secretKeyRef.key).toBe("tls.key");
        expect(order.MTLS_ALLOWED_CLIENTS).toBe("");
        expect(
            named("kubernetes:apps/v1:Deployment", "order-service-deployment").inputs.spec.template.spec.volumes,
        ).toEqual([]);
    });

    it("keeps private keys out of ConfigMaps, annotations, stack outputs and logs, and in secrets", () => {
        for (const cm of byType("kubernetes:core/v1:ConfigMap"))
            expect(JSON.stringify(cm.inputs)).not.toContain("PRIVATE KEY");
        for (const d of byType("kubernetes:apps/v1:Deployment")) {
            expect(JSON.stringify(d.inputs.spec.template.metadata.annotations)).not.toContain("PRIVATE KEY");
            expect(JSON.stringify(d.inputs.metadata)).not.toContain("PRIVATE KEY");
        }
        expect(JSON.stringify(outputs)).not.toContain("PRIVATE KEY");
        expect(logged.join("\n")).not.toContain("PRIVATE KEY");
        for (const secret of byType("kubernetes:core/v1:Secret")) {
            expect(secret.inputs.stringData["tls.key"]).toMatch(/PRIVATE KEY/);
            expect(
                secret.secretInputs.some((p) => p.startsWith("stringData")),
                secret.name,
            ).toBe(true);
        }
        // Every key output of every tls resource that the program passes on travels as a secret.
        for (const cert of byType("tls:index/locallySignedCert:LocallySignedCert")) {
            expect(cert.secretInputs).toContain("caPrivateKeyPem");
        }
    });
});

describe("a stack that asks for keystores", () => {
    let outputs: any;
    let logged: string[];

    /** dev, with keystores by default, jks for user-service, and none for order-service (env delivery). */
    function keystoreConfig(): Record<string, string> {
        const config = shippedStackConfig("dev");
        config["mtls:certificates"] = JSON.stringify({
            ...JSON.parse(config["mtls:certificates"] ?? "{}"),
            keystores: ["pkcs12"],
        });
        const services = JSON.parse(config["mtls:services"]);
        services[0].keystores = ["pkcs12", "jks"];
        services[1].keystores = [];
        config["mtls:services"] = JSON.stringify(services);
        return config;
    }

    beforeEach(async () => {
        logged = [];
        const capture = (...args: unknown[]) => {
            logged.push(args.map(String).join(" "));
        };
        for (const level of ["log", "info", "warn", "error", "debug"] as const)
            vi.spyOn(console, level).mockImplementation(capture);
        for (const level of ["info", "warn", "error"] as const)
            vi.spyOn(pulumi.log, level).mockImplementation(async (msg: string) => capture(msg));
        outputs = await runStack(keystoreConfig());
    });

    const secretOf = (svc: string) => named("kubernetes:core/v1:Secret", `${svc}-key`);

    it("puts the stores and a password into the Secret of each service that asks, and none into order-service's", () => {
        expect(Object.keys(secretOf("user-service").inputs.data).sort()).toEqual([
            "keystore.p12",
            "truststore.jks",
            "truststore.p12",
        ]);
        expect(Object.keys(secretOf("payment-service").inputs.data).sort()).toEqual(["keystore.p12", "truststore.p12"]);
        expect(secretOf("order-service").inputs.data).toBeUndefined();
        expect(Object.keys(secretOf("order-service").inputs.stringData)).toEqual(["tls.key"]);
        expect(
            byType("random:index/randomPassword:RandomPassword")
                .map((r) => r.name)
                .sort(),
        ).toEqual(["payment-service-keystore-password", "user-service-keystore-password"]);
    });

    it("mounts the stores and points MTLS_KEYSTORE_* at them, the password by secretKeyRef", () => {
        const user = serviceEnv("user-service");
        expect(user).toMatchObject({
            MTLS_KEYSTORE_FILE: "/etc/mtls/keystore.p12",
            MTLS_TRUSTSTORE_FILE: "/etc/mtls/truststore.p12",
            MTLS_TRUSTSTORE_JKS_FILE: "/etc/mtls/truststore.jks",
            MTLS_KEYSTORE_TYPE: "PKCS12",
        });
        expect(user.MTLS_KEYSTORE_PASSWORD).toEqual({
            secretKeyRef: { name: secretOf("user-service").state.metadata.name, key: "keystore-password" },
        });
        expect(serviceEnv("order-service").MTLS_KEYSTORE_FILE).toBeUndefined();
        const volume = named("kubernetes:apps/v1:Deployment", "payment-service-deployment").inputs.spec.template.spec
            .volumes[0];
        expect(volume.projected.sources[1].secret.items.map((i: any) => `${i.path}:${i.mode.toString(8)}`)).toEqual([
            "tls.key:400",
            "keystore.p12:400",
            "truststore.p12:400",
        ]);
    });

    it("keeps passwords and keystore bytes out of ConfigMaps, Deployments, annotations, stack outputs and logs, and in secrets", () => {
        const passwords = byType("random:index/randomPassword:RandomPassword").map((r) => r.state.result as string);
        const stores = byType("kubernetes:core/v1:Secret").flatMap(
            (secret) => Object.entries(secret.inputs.data ?? {}) as Array<[string, string]>,
        );
        expect(passwords).toHaveLength(2);
        expect(stores).toHaveLength(5);
        // Pieces that are the store's own: a PKCS#12 file's encrypted middle (its first bytes are structure
        // every PKCS#12 file shares), a JKS file's keyed digest at its end (the rest is public certificates).
        const piece = (b64: string, at: number) =>
            b64.slice(Math.floor(b64.length * at), Math.floor(b64.length * at) + 24);
        const needles = [
            ...passwords,
            ...stores.flatMap(([file, b64]) =>
                file.endsWith(".jks") ? [b64.slice(-26, -2)] : [piece(b64, 0.5), piece(b64, 0.75)],
            ),
        ];
        const places: Record<string, string> = {
            configMaps: JSON.stringify(byType("kubernetes:core/v1:ConfigMap").map((r) => [r.inputs, r.state])),
            deployments: JSON.stringify(byType("kubernetes:apps/v1:Deployment").map((r) => [r.inputs, r.state])),
            outputs: JSON.stringify(outputs),
            logs: logged.join("\n"),
        };
        for (const [where, text] of Object.entries(places)) {
            for (const needle of needles)
                expect(text.includes(needle), `${where} holds a password or keystore bytes`).toBe(false);
        }
        for (const svc of ["user-service", "payment-service"]) {
            expect(secretOf(svc).secretInputs, svc).toEqual(expect.arrayContaining(["data", "stringData"]));
            expect(secretOf(svc).inputs.stringData["keystore-password"]).toMatch(/^[A-Za-z0-9]{32}$/);
        }
    });

    it("refuses keystores on an env-delivered service by key path, before any resource", () => {
        const config = keystoreConfig();
        const services = JSON.parse(config["mtls:services"]);
        delete services[1].keystores;
        useConfig({ ...config, "mtls:services": JSON.stringify(services) });
        resetRecorded();
        expect(() => program.main()).toThrow(
            /mtls:services\[1\]\.delivery: "env" cannot carry keystores pkcs12 \(a keystore is a binary file/,
        );
        expect(recorded).toEqual([]);
    });
});

describe("the program's config handling", () => {
    it("refuses bad config with every key path before registering any resource", () => {
        useConfig({
            ...shippedStackConfig("dev"),
            "mtls:namespace": "Shop",
            "mtls:services": JSON.stringify([
                { name: "a", image: "i", port: 99999 },
                { name: "a", image: "i", usage: "client", allowFrom: ["ghost"] },
            ]),
        });
        let error: unknown;
        try {
            program.main();
        } catch (err) {
            error = err;
        }
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        const message = (error as Error).message;
        for (const key of [
            "mtls:namespace",
            "mtls:services[0].port",
            "mtls:services[1].name",
            "mtls:services[1].allowFrom[0]",
        ]) {
            expect(message).toContain(`${key}:`);
        }
        expect(recorded).toEqual([]);
    });

    it("sets the app's allowlists from the resolved callers, callers outside the stack included, in allowFrom order", async () => {
        const config = shippedStackConfig("dev");
        const services = JSON.parse(config["mtls:services"]);
        services[0].allowFrom = [
            {
                spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
            },
            "order-service",
            { namespace: "reports-dev", service: "report-service" },
        ];
        await runStack({ ...config, "mtls:services": JSON.stringify(services) });
        const user = serviceEnv("user-service");
        expect(user.MTLS_ALLOWED_CLIENTS).toBe("invoicer,order-service,report-service");
        expect(user.MTLS_ALLOWED_SPIFFE_IDS).toBe(
            [
                "spiffe://billing.internal/ns/billing/sa/invoicer",
                "spiffe://dev.shop.internal/ns/shop-dev/sa/order-service",
                "spiffe://dev.shop.internal/ns/reports-dev/sa/report-service",
            ].join(","),
        );
    });

    it("lists only the SPIFFE IDs callers have when the stack has no trust domain", async () => {
        const config = shippedStackConfig("dev");
        delete config["mtls:trustDomain"];
        const services = JSON.parse(config["mtls:services"]);
        services[0].allowFrom = [
            "order-service",
            {
                spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
            },
        ];
        await runStack({ ...config, "mtls:services": JSON.stringify(services) });
        const user = serviceEnv("user-service");
        expect(user.MTLS_ALLOWED_CLIENTS).toBe("order-service,invoicer");
        expect(user.MTLS_ALLOWED_SPIFFE_IDS).toBe("spiffe://billing.internal/ns/billing/sa/invoicer");
    });

    it("deploys to a kubeconfig context instead of rendering when one is configured", async () => {
        const config = engineConfigFromYaml(
            fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "Pulumi.dev.yaml"), "utf8"),
        );
        config["mtls:kubernetes"] = JSON.stringify({ context: "kind-shop" });
        await runStack(config);
        const provider = named("pulumi:providers:kubernetes", "kubernetes");
        expect(provider.inputs).toMatchObject({ context: "kind-shop" });
        expect(provider.inputs.renderYamlToDirectory).toBeUndefined();
        expect(provider.inputs.kubeconfig).toBeUndefined();
    });

    it("reads the context from the configured kubeconfig file, resolved against the project root", async () => {
        const config = shippedStackConfig("dev");
        config["mtls:kubernetes"] = JSON.stringify({
            context: "mtls-test",
            kubeconfig: ".cluster/kubeconfig",
            skipAwait: true,
        });
        await runStack(config);
        expect(named("pulumi:providers:kubernetes", "kubernetes").inputs).toMatchObject({
            context: "mtls-test",
            kubeconfig: path.join(PROJECT_ROOT, ".cluster", "kubeconfig"),
        });
        expect(named("kubernetes:apps/v1:Deployment", "user-service-deployment").inputs.metadata.annotations).toEqual({
            "pulumi.com/skipAwait": "true",
        });
    });

    it("labels the namespace it creates with the Pod Security level, restricted by default", async () => {
        await runStack(shippedStackConfig("dev"));
        const labels = byType("kubernetes:core/v1:Namespace")[0].inputs.metadata.labels;
        expect(labels).toEqual({
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        });
        resetRecorded();
        const config = shippedStackConfig("dev");
        config["mtls:kubernetes"] = JSON.stringify({ podSecurity: "baseline" });
        await runStack(config);
        expect(
            byType("kubernetes:core/v1:Namespace")[0].inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
        ).toBe("baseline");
    });

    it("uses an existing namespace when createNamespace is false", async () => {
        const config = shippedStackConfig("dev");
        config["mtls:kubernetes"] = JSON.stringify({ renderDirectory: "out/dev", createNamespace: false });
        await runStack(config);
        expect(byType("kubernetes:core/v1:Namespace")).toEqual([]);
        expect(named("kubernetes:core/v1:ConfigMap", "user-service-certs").inputs.metadata.namespace).toBe("shop-dev");
    });
});

describe("renewal of the stack's certificates", () => {
    const SCHEDULE = "pulumi-nodejs:dynamic/mtls:RenewalSchedule";
    const CLOCK = "pulumi-nodejs:dynamic/mtls:RenewalClock";

    it("keeps one RenewalSchedule for every Pulumi-issued certificate, with each one's lifetime, and no clock per certificate", async () => {
        const config = shippedStackConfig("dev");
        const services = JSON.parse(config["mtls:services"]);
        services[1].validityHours = 480;
        services[1].renewBeforeHours = 100;
        config["mtls:services"] = JSON.stringify(services);
        await runStack(config);
        expect(byType(CLOCK)).toEqual([]);
        const [schedule, ...more] = byType(SCHEDULE);
        expect(more).toEqual([]);
        expect(schedule.name).toBe("renewal");
        const entries = schedule.inputs.certificates;
        expect(Object.keys(entries).sort()).toEqual(services.map((svc: any) => svc.name).sort());
        expect(entries[services[1].name]).toEqual({ validityHours: 480, renewBeforeHours: 100 });
        // The schedule's CA end is the signing CA's, so a renewal past it is refused at preview.
        expect(typeof schedule.inputs.issuerNotAfter).toBe("string");
    });

    it("keeps a RenewalClock per certificate with mtls:certificates.renewalClock: certificate", async () => {
        const config = shippedStackConfig("dev");
        config["mtls:certificates"] = JSON.stringify({ renewalClock: "certificate" });
        await runStack(config);
        expect(byType(SCHEDULE)).toEqual([]);
        expect(
            byType(CLOCK)
                .map((r) => r.name)
                .sort(),
        ).toEqual(["order-service-renewal", "payment-service-renewal", "user-service-renewal"]);
    });

    it("refuses another renewalClock by key path, before any resource", () => {
        const config = shippedStackConfig("dev");
        config["mtls:certificates"] = JSON.stringify({ renewalClock: "hourly" });
        useConfig(config);
        expect(() => program.main()).toThrow(
            /mtls:certificates\.renewalClock: "hourly" is not a renewal clock; use stack/,
        );
        expect(recorded).toEqual([]);
    });
});

describe("who may call whom, enforced beyond the app", () => {
    const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
    const withServices = (stack: string, services: unknown[], extra: Record<string, unknown> = {}) => {
        const config = shippedStackConfig(stack);
        config["mtls:services"] = JSON.stringify(services);
        for (const [key, value] of Object.entries(extra))
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        return config;
    };
    const graph = [
        {
            name: "user-service",
            image: "i",
            port: 8443,
            allowFrom: [
                "order-service",
                { namespace: "reports-dev", service: "report-service" },
                {
                    spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                    networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
                },
            ],
        },
        { name: "order-service", image: "i", usage: "client" },
        { name: "ledger", image: "i", usage: "server", port: 7443 },
    ];

    it("gives every server a NetworkPolicy built from its callers, and clients none", async () => {
        await runStack(withServices("dev", graph));
        expect(
            byType(NETWORK_POLICY)
                .map((p) => p.name)
                .sort(),
        ).toEqual(["ledger-ingress", "user-service-ingress"]);
        const user = named(NETWORK_POLICY, "user-service-ingress").inputs;
        expect(user.metadata.namespace).toBe("shop-dev");
        expect(user.spec.ingress).toEqual([
            {
                from: [
                    {
                        podSelector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "order-service",
                                "app.kubernetes.io/part-of": "mtls",
                            },
                        },
                    },
                    {
                        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "reports-dev" } },
                        podSelector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "report-service",
                                "app.kubernetes.io/part-of": "mtls",
                            },
                        },
                    },
                    { ipBlock: { cidr: "192.0.2.0/24" } },
                ],
                ports: [{ protocol: "TCP", port: 8443 }],
            },
        ]);
        expect(named(NETWORK_POLICY, "ledger-ingress").inputs.spec).toMatchObject({
            policyTypes: ["Ingress"],
            ingress: [],
        });
    });

    it("writes no NetworkPolicy with mtls:kubernetes.networkPolicy: false", async () => {
        const open = graph.map((svc) => ({
            ...svc,
            allowFrom: svc.allowFrom?.map((c: any) => (c.spiffeId ? { spiffeId: c.spiffeId } : c)),
        }));
        await runStack(
            withServices("dev", open, { "mtls:kubernetes": { renderDirectory: "out/dev", networkPolicy: false } }),
        );
        expect(byType(NETWORK_POLICY)).toEqual([]);
        expect(byType("kubernetes:apps/v1:Deployment")).toHaveLength(3);
    });

    it("with mtls:mesh: istio, a STRICT PeerAuthentication for the namespace and an AuthorizationPolicy per server from the callers' SPIFFE IDs", async () => {
        await runStack(withServices("dev", graph, { "mtls:mesh": "istio" }));
        const [pa] = byType("kubernetes:security.istio.io/v1:PeerAuthentication");
        expect(pa.inputs).toMatchObject({ metadata: { namespace: "shop-dev" }, spec: { mtls: { mode: "STRICT" } } });
        const policies = byType("kubernetes:security.istio.io/v1:AuthorizationPolicy");
        expect(policies.map((p) => p.name).sort()).toEqual(["ledger-authorization", "user-service-authorization"]);
        const user = named("kubernetes:security.istio.io/v1:AuthorizationPolicy", "user-service-authorization").inputs;
        expect(user.spec.rules[0].from[0].source.principals).toEqual([
            "dev.shop.internal/ns/shop-dev/sa/order-service",
            "dev.shop.internal/ns/reports-dev/sa/report-service",
            "billing.internal/ns/billing/sa/invoicer",
        ]);
        // The same identities the app's allowlist holds, without the scheme.
        expect(
            serviceEnv("user-service")
                .MTLS_ALLOWED_SPIFFE_IDS.split(",")
                .map((id: string) => id.replace("spiffe://", "")),
        ).toEqual(user.spec.rules[0].from[0].source.principals);
        expect(user.spec.rules[0].to).toEqual([{ operation: { ports: ["8443"] } }]);
        expect(
            named("kubernetes:security.istio.io/v1:AuthorizationPolicy", "ledger-authorization").inputs.spec.rules,
        ).toEqual([]);
        expect(byType("kubernetes:core/v1:Secret").map((s) => s.inputs.metadata.name)).not.toContain("cacerts");
        for (const object of [pa, ...policies])
            expect(object.provider).toMatch(/pulumi:providers:kubernetes::kubernetes::/);
    });

    it("with pluginCa on prod, puts the intermediate and its key in istio-system's cacerts only, as secret data", async () => {
        const logged: string[] = [];
        const capture = (...args: unknown[]) => {
            logged.push(args.map(String).join(" "));
        };
        for (const level of ["log", "info", "warn", "error", "debug"] as const)
            vi.spyOn(console, level).mockImplementation(capture);
        for (const level of ["info", "warn", "error"] as const)
            vi.spyOn(pulumi.log, level).mockImplementation(async (msg: string) => capture(msg));
        const config = shippedStackConfig("prod");
        config["mtls:mesh"] = JSON.stringify({ provider: "istio", pluginCa: true });
        const outputs = await runStack(config);
        const secret = byType("kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === "cacerts")!;
        expect(secret.inputs.metadata.namespace).toBe("istio-system");
        expect(Object.keys(secret.inputs.stringData).sort()).toEqual([
            "ca-cert.pem",
            "ca-key.pem",
            "cert-chain.pem",
            "root-cert.pem",
        ]);
        expect(secret.secretInputs).toContain("stringData");
        const key = secret.inputs.stringData["ca-key.pem"];
        const intermediateKey = named("tls:index/privateKey:PrivateKey", "ca-intermediate-key").state.privateKeyPem;
        expect(key).toBe(intermediateKey.endsWith("\n") ? intermediateKey : `${intermediateKey}\n`);
        const caCert = secret.inputs.stringData["ca-cert.pem"];
        expect(signedBy(caCert, outputs.trustBundlePem)).toBe(true);
        expect(secret.inputs.stringData["cert-chain.pem"]).toBe(caCert + secret.inputs.stringData["root-cert.pem"]);
        // The leaves the app uses come from the same intermediate istiod is given.
        expect(
            signedBy(named("kubernetes:core/v1:ConfigMap", "user-service-certs").inputs.data["tls.crt"], caCert),
        ).toBe(true);
        const body = key.trim().split("\n").slice(1, -1).join("");
        for (const cm of byType("kubernetes:core/v1:ConfigMap"))
            expect(JSON.stringify(cm.inputs)).not.toContain(body.slice(0, 40));
        for (const other of recorded.filter((r) => r !== secret && !r.type.startsWith("tls:")))
            expect(JSON.stringify(other.inputs), other.name).not.toContain(body.slice(0, 40));
        expect(JSON.stringify(outputs)).not.toContain("PRIVATE KEY");
        expect(logged.join("\n")).not.toContain("PRIVATE KEY");
    });

    it("refuses pluginCa on a stack without an intermediate before registering anything", () => {
        useConfig({ ...shippedStackConfig("dev"), "mtls:mesh": JSON.stringify({ provider: "istio", pluginCa: true }) });
        expect(() => program.main()).toThrow(/mtls:mesh\.pluginCa: needs mtls:ca\.intermediate: true/);
        expect(recorded).toEqual([]);
    });
});
