import { describe, expect, it } from "vitest";
import { readRawStackConfig } from "../infra/config";
import { RawStackConfig, StackConfigError, parseStackConfig } from "../infra/spec";
import { SHIPPED_STACKS, shippedStackConfig } from "./support/stackConfig";

const names = { project: "mtls", stack: "test" };

function validConfig(): RawStackConfig {
    return {
        namespace: "shop",
        trustDomain: "dev.shop.internal",
        services: [
            { name: "user-service", image: "example/user-service:1.0", port: 8443, allowFrom: ["order-service"] },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
        ],
    };
}

/** The problems parseStackConfig reports for `raw`; fails the test if it accepts it. */
function problemsOf(raw: RawStackConfig): string[] {
    try {
        parseStackConfig(raw, names);
    } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as StackConfigError).problems;
    }
    throw new Error("the config was accepted");
}

function withService(patch: Record<string, unknown>, index = 0): RawStackConfig {
    const raw = validConfig();
    const services = raw.services as Record<string, unknown>[];
    services[index] = { ...services[index], ...patch };
    return raw;
}

describe("parseStackConfig: accepted config", () => {
    it("fills the documented defaults", () => {
        const spec = parseStackConfig(validConfig(), names);
        expect(spec.ca).toEqual({
            commonName: "mtls test root CA",
            keyAlgorithm: "ECDSA-P256",
            validityHours: 43800,
            intermediate: false,
            generation: 1,
            exportPrivateKey: false,
        });
        expect(spec.certificates).toEqual({
            keyAlgorithm: "ECDSA-P256",
            validityHours: 2160,
            renewBeforeHours: 720,
            keystores: [],
            keystorePasswordVersion: 1,
        });
        expect(spec.services[0]).toMatchObject({
            usage: "both",
            delivery: "files",
            mountPath: "/etc/mtls",
            replicas: 1,
            port: 8443,
        });
        expect(spec.kubernetes).toEqual({
            renderDirectory: "out/test",
            context: undefined,
            kubeconfig: undefined,
            createNamespace: true,
            podSecurity: "restricted",
            skipAwait: false,
            runAs: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
            networkPolicy: true,
        });
        expect(spec.mesh).toBeUndefined();
        expect(spec.services[0].runAs).toEqual({ runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    });

    it("lets the stack set the workload identity and a service override part of it", () => {
        const raw = {
            ...withService({ runAsUser: 1001 }),
            kubernetes: { runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000 },
        };
        const spec = parseStackConfig(raw, names);
        expect(spec.services[0].runAs).toEqual({ runAsUser: 1001, runAsGroup: 3000, fsGroup: 4000 });
        expect(spec.services[1].runAs).toEqual({ runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000 });
    });

    it("deploys to a context from a kubeconfig file, without waiting when asked", () => {
        const spec = parseStackConfig(
            {
                ...validConfig(),
                kubernetes: {
                    context: "test",
                    kubeconfig: ".cluster/kubeconfig",
                    skipAwait: true,
                    podSecurity: "baseline",
                },
            },
            names,
        );
        expect(spec.kubernetes).toMatchObject({
            context: "test",
            kubeconfig: ".cluster/kubeconfig",
            skipAwait: true,
            podSecurity: "baseline",
            renderDirectory: undefined,
        });
    });

    it("lets a service override the certificate defaults", () => {
        const spec = parseStackConfig(
            withService({ keyAlgorithm: "RSA-3072", validityHours: 100, renewBeforeHours: 10 }),
            names,
        );
        expect(spec.services[0]).toMatchObject({ keyAlgorithm: "RSA-3072", validityHours: 100, renewBeforeHours: 10 });
        expect(spec.services[1]).toMatchObject({ keyAlgorithm: "ECDSA-P256", validityHours: 2160 });
    });

    it("gives no service keystores unless asked, and lets a service override the stack's keystores", () => {
        expect(parseStackConfig(validConfig(), names).services.map((s) => s.keystores)).toEqual([[], []]);
        const raw: RawStackConfig = {
            ...validConfig(),
            certificates: { keystores: ["pkcs12"], keystorePasswordVersion: 2 },
            services: [
                {
                    name: "user-service",
                    image: "i",
                    port: 8443,
                    keystores: ["pkcs12", "jks"],
                    keystorePasswordVersion: 3,
                },
                { name: "order-service", image: "i", usage: "client", delivery: "env", keystores: [] },
                { name: "audit-service", image: "i", usage: "client" },
            ],
        };
        expect(
            parseStackConfig(raw, names).services.map((s) => [s.name, s.keystores, s.keystorePasswordVersion]),
        ).toEqual([
            ["user-service", ["pkcs12", "jks"], 3],
            ["order-service", [], 2],
            ["audit-service", ["pkcs12"], 2],
        ]);
    });

    it.each(SHIPPED_STACKS)("accepts the shipped %s stack as the engine passes it", (stack) => {
        const spec = parseStackConfig(readRawStackConfig(shippedStackConfig(stack)), { project: "mtls", stack });
        expect(spec.services.map((s) => s.name)).toEqual(["user-service", "order-service", "payment-service"]);
        expect(spec.services[0].callers.map((caller) => caller.commonName)).toEqual([
            "order-service",
            "payment-service",
        ]);
        expect(spec.kubernetes.renderDirectory).toBe(`out/${stack}`);
    });

    it("gives prod an intermediate and the other stacks none, each its own namespace", () => {
        const specs = SHIPPED_STACKS.map((stack) =>
            parseStackConfig(readRawStackConfig(shippedStackConfig(stack)), { project: "mtls", stack }),
        );
        expect(specs.map((s) => s.ca.intermediate)).toEqual([false, false, true]);
        expect(new Set(specs.map((s) => s.namespace)).size).toBe(3);
        expect(new Set(specs.map((s) => s.ca.commonName)).size).toBe(3);
    });
});

describe("parseStackConfig: refused config names the key path", () => {
    const cases: Array<[string, RawStackConfig, RegExp]> = [
        ["missing namespace", { ...validConfig(), namespace: undefined }, /^mtls:namespace: is required/],
        [
            "invalid namespace",
            { ...validConfig(), namespace: "Shop_NS" },
            /^mtls:namespace: "Shop_NS" is not a DNS-1123 label/,
        ],
        [
            "invalid service name",
            withService({ name: "User_Service" }),
            /^mtls:services\[0\]\.name: "User_Service" is not a DNS-1123 label/,
        ],
        ["missing service name", withService({ name: undefined }), /^mtls:services\[0\]\.name: is required/],
        ["missing image", withService({ image: undefined }), /^mtls:services\[0\]\.image: is required/],
        [
            "duplicate service name",
            withService({ name: "user-service" }, 1),
            /^mtls:services\[1\]\.name: "user-service" is already used by services\[0\]/,
        ],
        [
            "allowFrom naming an unknown service",
            withService({ allowFrom: ["order-service", "billing"] }),
            /^mtls:services\[0\]\.allowFrom\[1\]: "billing" is not a service of this stack; use one of user-service, order-service/,
        ],
        [
            "unknown delivery",
            withService({ delivery: "volume" }),
            /^mtls:services\[0\]\.delivery: "volume" is not a delivery; use one of files, env/,
        ],
        [
            "unknown usage",
            withService({ usage: "peer" }),
            /^mtls:services\[0\]\.usage: "peer" is not a usage; use one of server, client, both/,
        ],
        [
            "unknown key algorithm",
            withService({ keyAlgorithm: "RSA-1024" }),
            /^mtls:services\[0\]\.keyAlgorithm: "RSA-1024" is not a supported key algorithm; use one of ECDSA-P256/,
        ],
        [
            "unknown CA key algorithm",
            { ...validConfig(), ca: { keyAlgorithm: "P-256" } },
            /^mtls:ca\.keyAlgorithm: "P-256" is not a supported key algorithm/,
        ],
        [
            "relative mountPath",
            withService({ mountPath: "etc/mtls" }),
            /^mtls:services\[0\]\.mountPath: "etc\/mtls" must be an absolute path/,
        ],
        [
            "mountPath with env delivery",
            withService({ mountPath: "/etc/mtls" }, 1),
            /^mtls:services\[1\]\.mountPath: only applies to delivery: files/,
        ],
        [
            "port out of range",
            withService({ port: 70000 }),
            /^mtls:services\[0\]\.port: 70000 is not a port; use a whole number from 1 to 65535/,
        ],
        [
            "port missing for a server",
            withService({ port: undefined, usage: "server" }),
            /^mtls:services\[0\]\.port: is required for usage: server/,
        ],
        [
            "renewBeforeHours >= validityHours",
            { ...validConfig(), certificates: { validityHours: 100, renewBeforeHours: 100 } },
            /^mtls:certificates\.renewBeforeHours: 100 must be less than validityHours \(100\)/,
        ],
        [
            "a service's renew window",
            withService({ validityHours: 48, renewBeforeHours: 72 }),
            /^mtls:services\[0\]\.renewBeforeHours: 72 must be less than validityHours \(48\)/,
        ],
        [
            "a leaf outliving its root",
            withService({ validityHours: 50000 }),
            /^mtls:services\[0\]\.validityHours: a 50000-hour certificate would outlive its CA \(ca\.validityHours: 43800\)/,
        ],
        [
            "default leaf outliving its CA",
            { ...validConfig(), ca: { validityHours: 1000 } },
            /^mtls:certificates\.validityHours: 2160 hours would outlive the CA \(ca\.validityHours: 1000\)/,
        ],
        [
            "a leaf outliving the intermediate",
            { ...withService({ validityHours: 5000 }), ca: { intermediate: true, intermediateValidityHours: 4000 } },
            /^mtls:services\[0\]\.validityHours: .*ca\.intermediateValidityHours: 4000/,
        ],
        [
            "an intermediate outliving its root",
            { ...validConfig(), ca: { validityHours: 10000, intermediate: true, intermediateValidityHours: 20000 } },
            /^mtls:ca\.intermediateValidityHours: 20000 exceeds validityHours \(10000\)/,
        ],
        ["an empty service list", { ...validConfig(), services: [] }, /^mtls:services: is empty/],
        ["no service list", { ...validConfig(), services: undefined }, /^mtls:services: is required/],
        [
            "both renderDirectory and context",
            { ...validConfig(), kubernetes: { renderDirectory: "out/x", context: "prod-cluster" } },
            /^mtls:kubernetes: sets both renderDirectory and context/,
        ],
        ["a root user", withService({ runAsUser: 0 }), /^mtls:services\[0\]\.runAsUser: must be a non-root numeric id/],
        [
            "a non-numeric fsGroup",
            { ...validConfig(), kubernetes: { fsGroup: "app" } },
            /^mtls:kubernetes\.fsGroup: must be a non-root numeric id/,
        ],
        [
            "an unknown Pod Security level",
            { ...validConfig(), kubernetes: { podSecurity: "strict" } },
            /^mtls:kubernetes\.podSecurity: "strict" is not a Pod Security level; use one of restricted, baseline, privileged/,
        ],
        [
            "a kubeconfig without a context",
            { ...validConfig(), kubernetes: { kubeconfig: "k.yaml" } },
            /^mtls:kubernetes\.kubeconfig: only applies with kubernetes\.context/,
        ],
        [
            "a misspelt top-level key",
            { ...validConfig(), namspace: "shop" },
            /^mtls:namspace: is not a known setting; use one of namespace/,
        ],
        [
            "a misspelt service key",
            withService({ alowFrom: [] }),
            /^mtls:services\[0\]\.alowFrom: is not a known setting/,
        ],
        ["a non-map ca block", { ...validConfig(), ca: "root" }, /^mtls:ca: must be a map of settings/],
        [
            "a bad extra DNS name",
            withService({ dnsNames: ["ok.example", "bad..name"] }),
            /^mtls:services\[0\]\.dnsNames\[1\]: "bad\.\.name" is not valid/,
        ],
        [
            "a bad trust domain",
            { ...validConfig(), trustDomain: "Shop Internal" },
            /^mtls:trustDomain: "Shop Internal" is not a SPIFFE trust domain/,
        ],
        [
            "an unknown rollout",
            withService({ rollout: "blue-green" }),
            /^mtls:services\[0\]\.rollout: "blue-green" is not a rollout; use one of restart, hot/,
        ],
        [
            "hot rollout with env delivery",
            withService({ rollout: "hot" }, 1),
            /^mtls:services\[1\]\.rollout: hot needs delivery: files/,
        ],
        [
            "an unknown rotation phase",
            { ...validConfig(), ca: { rotation: "rollover" } },
            /^mtls:ca\.rotation: "rollover" is not a rotation phase; use one of introduce, switch, retire/,
        ],
        [
            "a bad CA generation",
            { ...validConfig(), ca: { generation: 0 } },
            /^mtls:ca\.generation: must be a whole number from 1 up/,
        ],
        [
            "a non-integer validity",
            { ...validConfig(), certificates: { validityHours: "90d" } },
            /^mtls:certificates\.validityHours: must be a whole number of hours/,
        ],
        [
            "an unknown keystore format",
            withService({ keystores: ["pkcs12", "bks"] }),
            /^mtls:services\[0\]\.keystores\[1\]: "bks" is not a keystore format; use pkcs12 or jks$/,
        ],
        [
            "a keystore format twice",
            withService({ keystores: ["pkcs12", "pkcs12"] }),
            /^mtls:services\[0\]\.keystores\[1\]: pkcs12 is listed twice/,
        ],
        [
            "jks without pkcs12",
            { ...validConfig(), certificates: { keystores: ["jks"] } },
            /^mtls:certificates\.keystores: jks adds a JKS truststore next to the PKCS#12 keystore and truststore; write \[pkcs12, jks\]$/,
        ],
        [
            "keystores that are not a list",
            withService({ keystores: "pkcs12" }),
            /^mtls:services\[0\]\.keystores: must be a list of keystore formats, got "pkcs12"; write \[pkcs12\]/,
        ],
        [
            "keystores with env delivery",
            withService({ keystores: ["pkcs12"] }, 1),
            /^mtls:services\[1\]\.keystores: keystores need delivery: files \(a keystore is a binary file the JVM opens by path.*\); set delivery: files or remove keystores$/,
        ],
        [
            "a keystore default meeting env delivery",
            { ...validConfig(), certificates: { keystores: ["pkcs12"] } },
            /^mtls:services\[1\]\.delivery: "env" cannot carry keystores pkcs12 \(a keystore is a binary file .*\); set delivery: files, or ask for no keystores$/,
        ],
        [
            "a password version without keystores",
            withService({ keystorePasswordVersion: 2 }),
            /^mtls:services\[0\]\.keystorePasswordVersion: only applies with keystores; set keystores: \[pkcs12\] or remove keystorePasswordVersion$/,
        ],
        [
            "a bad password version",
            { ...validConfig(), certificates: { keystorePasswordVersion: 0 } },
            /^mtls:certificates\.keystorePasswordVersion: must be a whole number from 1 up/,
        ],
    ];

    it.each(cases)("%s", (_label, raw, expected) => {
        const problems = problemsOf(raw);
        expect(
            problems.some((p) => expected.test(p)),
            problems.join("\n"),
        ).toBe(true);
    });

    it("collects every problem and reports them together", () => {
        const raw: RawStackConfig = {
            namespace: "BAD",
            services: [
                { name: "a", image: "i", usage: "peer", port: 0 },
                { name: "a", image: "i", delivery: "ftp", usage: "client" },
            ],
            kubernetes: { renderDirectory: "x", context: "y" },
        };
        const problems = problemsOf(raw);
        expect(problems.length).toBeGreaterThanOrEqual(5);
        for (const key of [
            "mtls:namespace",
            "mtls:services[0].usage",
            "mtls:services[0].port",
            "mtls:services[1].name",
            "mtls:services[1].delivery",
            "mtls:kubernetes",
        ]) {
            expect(
                problems.some((p) => p.startsWith(`${key}:`)),
                `${key} in\n${problems.join("\n")}`,
            ).toBe(true);
        }
        const error = new StackConfigError(problems);
        expect(error.message).toMatch(/^the stack config has \d+ problems:\n {2}- mtls:/);
    });
});

/** A stack whose services all serve on a port (usage both) unless a patch says otherwise. */
function graphConfig(services: Array<Record<string, unknown>>, extra: RawStackConfig = {}): RawStackConfig {
    return {
        namespace: "shop",
        trustDomain: "dev.shop.internal",
        services: services.map((svc) => ({ image: `example/${String(svc.name)}:1.0`, port: 8443, ...svc })),
        ...extra,
    };
}

const callersOf = (raw: RawStackConfig, index = 0) => parseStackConfig(raw, names).services[index].callers;

describe("allowFrom: callers accepted", () => {
    it("resolves this stack's services to their CN, namespace and SPIFFE ID, in the order written", () => {
        const raw = graphConfig([
            { name: "user-service", allowFrom: ["payment-service", "order-service"] },
            { name: "order-service", usage: "client", port: undefined },
            { name: "payment-service", usage: "both" },
        ]);
        expect(callersOf(raw)).toEqual([
            {
                commonName: "payment-service",
                spiffeId: "spiffe://dev.shop.internal/ns/shop/sa/payment-service",
                namespace: "shop",
                service: "payment-service",
                inStack: true,
            },
            {
                commonName: "order-service",
                spiffeId: "spiffe://dev.shop.internal/ns/shop/sa/order-service",
                namespace: "shop",
                service: "order-service",
                inStack: true,
            },
        ]);
    });

    it("gives this stack's callers no SPIFFE ID when the stack has no trust domain", () => {
        const raw = { ...graphConfig([{ name: "a", allowFrom: ["b"] }, { name: "b" }]), trustDomain: undefined };
        expect(callersOf(raw)).toEqual([
            { commonName: "b", spiffeId: undefined, namespace: "shop", service: "b", inStack: true },
        ]);
    });

    it("lets a service that also calls accept calls from itself", () => {
        expect(callersOf(graphConfig([{ name: "a", usage: "both", allowFrom: ["a"] }]))[0]).toMatchObject({
            commonName: "a",
            inStack: true,
        });
    });

    it("accepts a caller in another namespace of the trust domain, its CN the service name", () => {
        const raw = graphConfig([{ name: "a", allowFrom: [{ namespace: "reports", service: "report-service" }] }]);
        expect(callersOf(raw)).toEqual([
            {
                commonName: "report-service",
                spiffeId: "spiffe://dev.shop.internal/ns/reports/sa/report-service",
                namespace: "reports",
                service: "report-service",
                inStack: false,
            },
        ]);
    });

    it("accepts a caller of this namespace that another stack runs", () => {
        const raw = graphConfig([{ name: "a", allowFrom: [{ namespace: "shop", service: "batch" }] }]);
        expect(callersOf(raw)).toEqual([
            {
                commonName: "batch",
                spiffeId: "spiffe://dev.shop.internal/ns/shop/sa/batch",
                namespace: "shop",
                service: "batch",
                inStack: false,
            },
        ]);
    });

    it("accepts a caller from another trust domain, its CN derived from a Kubernetes SPIFFE path or given", () => {
        const raw = graphConfig([
            {
                name: "a",
                allowFrom: [
                    {
                        spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                        networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
                    },
                    {
                        spiffeId: "spiffe://corp.example/batch/nightly",
                        commonName: "nightly batch",
                        networkPolicyFrom: [{ cidr: "198.51.100.0/24", except: ["198.51.100.128/25"] }],
                    },
                    {
                        spiffeId: "spiffe://billing.internal/ns/billing/sa/refunds",
                        commonName: "refunds.billing",
                        networkPolicyFrom: [{ namespace: "gateways", podLabels: { istio: "eastwestgateway" } }],
                    },
                ],
            },
        ]);
        expect(callersOf(raw)).toEqual([
            {
                commonName: "invoicer",
                spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                inStack: false,
                networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
            },
            {
                commonName: "nightly batch",
                spiffeId: "spiffe://corp.example/batch/nightly",
                inStack: false,
                networkPolicyFrom: [{ cidr: "198.51.100.0/24", except: ["198.51.100.128/25"] }],
            },
            {
                commonName: "refunds.billing",
                spiffeId: "spiffe://billing.internal/ns/billing/sa/refunds",
                inStack: false,
                networkPolicyFrom: [{ namespace: "gateways", podLabels: { istio: "eastwestgateway" } }],
            },
        ]);
    });

    it("accepts a caller by SPIFFE ID in a stack without a trust domain of its own", () => {
        const raw = {
            ...graphConfig(
                [{ name: "a", allowFrom: [{ spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer" }] }],
                { kubernetes: { networkPolicy: false } },
            ),
            trustDomain: undefined,
        };
        expect(callersOf(raw)).toEqual([
            { commonName: "invoicer", spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer", inStack: false },
        ]);
    });

    it("accepts a namesake from another namespace when the local service of that name is allowed too", () => {
        const raw = graphConfig([
            { name: "a", allowFrom: ["b", { namespace: "billing", service: "b" }] },
            { name: "b" },
        ]);
        expect(callersOf(raw).map((caller) => caller.spiffeId)).toEqual([
            "spiffe://dev.shop.internal/ns/shop/sa/b",
            "spiffe://dev.shop.internal/ns/billing/sa/b",
        ]);
    });

    it("gives a service without allowFrom no callers", () => {
        expect(callersOf(graphConfig([{ name: "a" }]))).toEqual([]);
    });
});

describe("allowFrom: refused by key path, with the fix", () => {
    const OTHER = "spiffe://billing.internal/ns/billing/sa/invoicer";
    const cases: Array<[string, RawStackConfig, string, RegExp]> = [
        [
            "a server-only caller",
            graphConfig([
                { name: "a", allowFrom: ["b"] },
                { name: "b", usage: "server" },
            ]),
            "mtls:services[0].allowFrom[0]",
            /"b" has usage: server, so its certificate cannot authenticate a client and it can never call; set its usage to both, or remove it from allowFrom$/,
        ],
        [
            "allowFrom on a client",
            graphConfig([{ name: "a", usage: "client", port: undefined, allowFrom: ["b"] }, { name: "b" }]),
            "mtls:services[0].allowFrom",
            /is set on a service with usage: client, which accepts no connections, so nothing can call it; remove allowFrom, or set usage: both/,
        ],
        [
            "an unknown service",
            graphConfig([{ name: "a", allowFrom: ["ghost"] }]),
            "mtls:services[0].allowFrom[0]",
            /"ghost" is not a service of this stack; use one of a$/,
        ],
        [
            "a name that is not a label",
            graphConfig([{ name: "a", allowFrom: ["Billing_Svc"] }]),
            "mtls:services[0].allowFrom[0]",
            /"Billing_Svc" is not valid; name a service of mtls:services .*, or write \{ namespace, service \} or \{ spiffeId \}/,
        ],
        [
            "an entry that is neither a name nor a map",
            graphConfig([{ name: "a", allowFrom: [42] }]),
            "mtls:services[0].allowFrom[0]",
            /42 is not a caller; write a service of mtls:services by name, \{ namespace, service \} .* or \{ spiffeId, commonName \}/,
        ],
        [
            "allowFrom that is not a list",
            graphConfig([{ name: "a", allowFrom: "b" }]),
            "mtls:services[0].allowFrom",
            /must be a list of callers, got "b"/,
        ],
        [
            "both forms in one entry",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "x", spiffeId: OTHER }] }]),
            "mtls:services[0].allowFrom[0]",
            /sets both \{ namespace, service \} and spiffeId; keep \{ namespace, service \} for a caller in another namespace of this trust domain, or spiffeId/,
        ],
        [
            "an unknown key",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "x", port: 8443 }] }]),
            "mtls:services[0].allowFrom[0].port",
            /is not a known setting; use one of namespace, service, spiffeId, commonName, networkPolicyFrom$/,
        ],
        [
            "a map naming no caller",
            graphConfig([{ name: "a", allowFrom: [{ commonName: "x" }] }]),
            "mtls:services[0].allowFrom[0]",
            /names no caller; write a service of mtls:services by name/,
        ],
        [
            "a namespace without a service",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "billing" }] }]),
            "mtls:services[0].allowFrom[0].service",
            /is required with namespace: write \{ namespace: <namespace>, service: <service> \}/,
        ],
        [
            "a service without a namespace",
            graphConfig([{ name: "a", allowFrom: [{ service: "x" }] }]),
            "mtls:services[0].allowFrom[0].namespace",
            /is required with service: write \{ namespace: <namespace>, service: <service> \}/,
        ],
        [
            "a namespace that is not a label",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "Billing", service: "x" }] }]),
            "mtls:services[0].allowFrom[0].namespace",
            /"Billing" is not a DNS-1123 label/,
        ],
        [
            "a commonName on a namespace caller",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "x", commonName: "y" }] }]),
            "mtls:services[0].allowFrom[0].commonName",
            /only applies with spiffeId; a \{ namespace, service \} caller's CN is its service name, so remove commonName$/,
        ],
        [
            "this stack's namespace and service as a map",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "shop", service: "b" }] }, { name: "b" }]),
            "mtls:services[0].allowFrom[0]",
            /^\{ namespace: shop, service: b \} is this stack's own b; write "b"$/,
        ],
        [
            "another namespace without a trust domain",
            {
                ...graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "x" }] }]),
                trustDomain: undefined,
            },
            "mtls:services[0].allowFrom[0]",
            /derives it from mtls:trustDomain, which is not set; set mtls:trustDomain, or write \{ spiffeId, commonName \}/,
        ],
        [
            "a SPIFFE ID of this stack's own service",
            graphConfig([
                { name: "a", allowFrom: [{ spiffeId: "spiffe://dev.shop.internal/ns/shop/sa/b" }] },
                { name: "b" },
            ]),
            "mtls:services[0].allowFrom[0].spiffeId",
            /^"spiffe:\/\/dev\.shop\.internal\/ns\/shop\/sa\/b" is this stack's own b; write "b"$/,
        ],
        [
            "a SPIFFE ID for another namespace of this trust domain",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: "spiffe://dev.shop.internal/ns/billing/sa/x" }] }]),
            "mtls:services[0].allowFrom[0].spiffeId",
            /is a workload of this trust domain; write \{ namespace: billing, service: x \}$/,
        ],
        [
            "an invalid SPIFFE ID",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: "spiffe://Billing/ns//sa/x" }] }]),
            "mtls:services[0].allowFrom[0].spiffeId",
            /"spiffe:\/\/Billing\/ns\/\/sa\/x" is not a SPIFFE ID; use spiffe:\/\/<trust domain>\/<path>/,
        ],
        [
            "a SPIFFE ID that is not a string",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: ["spiffe://a/b"] }] }]),
            "mtls:services[0].allowFrom[0].spiffeId",
            /is not a SPIFFE ID/,
        ],
        [
            "a SPIFFE path the CN cannot be derived from",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: "spiffe://corp.example/batch/nightly" }] }]),
            "mtls:services[0].allowFrom[0].commonName",
            /is required: the path of "spiffe:\/\/corp\.example\/batch\/nightly" is not \/ns\/<namespace>\/sa\/<service account>/,
        ],
        [
            "a commonName with a comma",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: OTHER, commonName: "a,b" }] }]),
            "mtls:services[0].allowFrom[0].commonName",
            /"a,b" is not a certificate CN this allowlist can hold; use 1 to 64 characters without ','/,
        ],
        [
            "a commonName over 64 characters",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: OTHER, commonName: "x".repeat(65) }] }]),
            "mtls:services[0].allowFrom[0].commonName",
            /is not a certificate CN this allowlist can hold/,
        ],
        [
            "a service listed twice",
            graphConfig([{ name: "a", allowFrom: ["b", "b"] }, { name: "b" }]),
            "mtls:services[0].allowFrom[1]",
            /^is the same caller as allowFrom\[0\] \(spiffe:\/\/dev\.shop\.internal\/ns\/shop\/sa\/b\); list each caller once$/,
        ],
        [
            "a namespace caller listed twice",
            graphConfig([
                {
                    name: "a",
                    allowFrom: [
                        { namespace: "billing", service: "x" },
                        { service: "x", namespace: "billing" },
                    ],
                },
            ]),
            "mtls:services[0].allowFrom[1]",
            /^is the same caller as allowFrom\[0\]/,
        ],
        [
            "a SPIFFE ID listed twice",
            graphConfig([{ name: "a", allowFrom: [{ spiffeId: OTHER }, { spiffeId: OTHER, commonName: "invoicer" }] }]),
            "mtls:services[0].allowFrom[1]",
            /^is the same caller as allowFrom\[0\] \(spiffe:\/\/billing\.internal\/ns\/billing\/sa\/invoicer\)/,
        ],
        [
            "a service listed twice without a trust domain",
            { ...graphConfig([{ name: "a", allowFrom: ["b", "b"] }, { name: "b" }]), trustDomain: undefined },
            "mtls:services[0].allowFrom[1]",
            /^is the same caller as allowFrom\[0\] \(b\)/,
        ],
        [
            "a caller whose CN is a local service left out",
            graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "b" }] }, { name: "b" }]),
            "mtls:services[0].allowFrom[0]",
            /^presents CN "b", as this stack's b does, which allowFrom leaves out: the CN allowlist \(MTLS_ALLOWED_CLIENTS\) would admit both; allow "b" too, or give one of the two services another name$/,
        ],
        [
            "a SPIFFE caller whose CN is a local service left out",
            graphConfig([
                { name: "a", allowFrom: [{ spiffeId: "spiffe://billing.internal/ns/billing/sa/b" }] },
                { name: "b" },
            ]),
            "mtls:services[0].allowFrom[0]",
            /allow "b" too, or set commonName to the CN the caller's certificate really carries$/,
        ],
    ];

    it.each(cases)("%s", (_label, raw, keyPath, message) => {
        const problems = problemsOf(raw);
        const prefix = `${keyPath}: `;
        const here = problems.filter((p) => p.startsWith(prefix));
        expect(here, problems.join("\n")).toHaveLength(1);
        expect(here[0].slice(prefix.length)).toMatch(message);
    });

    it("reports nothing else for a single mistake", () => {
        expect(
            problemsOf(
                graphConfig([
                    { name: "a", allowFrom: ["b"] },
                    { name: "b", usage: "server" },
                ]),
            ),
        ).toHaveLength(1);
        expect(
            problemsOf(
                graphConfig([{ name: "a", allowFrom: [{ namespace: "billing", service: "x", spiffeId: OTHER }] }]),
            ),
        ).toHaveLength(1);
    });

    it("does not refuse a namesake that cannot call: a local server-only service of that name", () => {
        const raw = graphConfig([
            { name: "a", allowFrom: [{ namespace: "billing", service: "b" }] },
            { name: "b", usage: "server" },
        ]);
        expect(callersOf(raw).map((caller) => caller.commonName)).toEqual(["b"]);
    });

    it("collects every graph problem of the stack and reports them together", () => {
        const raw = graphConfig([
            { name: "a", allowFrom: ["s", "s", { namespace: "shop", service: "c" }] },
            { name: "c", usage: "client", port: undefined, allowFrom: ["a"] },
            { name: "s", usage: "server" },
        ]);
        expect(problemsOf(raw).map((p) => p.slice(0, p.indexOf(": ")))).toEqual([
            "mtls:services[0].allowFrom[0]",
            "mtls:services[0].allowFrom[1]",
            "mtls:services[0].allowFrom[2]",
            "mtls:services[1].allowFrom",
        ]);
    });
});

describe("readRawStackConfig", () => {
    it("parses structured values, keeps string keys as text and ignores other namespaces", () => {
        const raw = readRawStackConfig({
            "mtls:namespace": "123",
            "mtls:services": '[{"name":"a"}]',
            "mtls:ca": "not json",
            "aws:region": "eu-west-1",
        });
        expect(raw).toEqual({ namespace: "123", services: [{ name: "a" }], ca: "not json" });
    });
});

describe("the config contract is pure", () => {
    it("loads with no package resolvable: every import it follows is a file of this project or a node: built-in", async () => {
        const { loadTypeScript } = await import("../scripts/typescript.mjs");
        const spec = loadTypeScript<typeof import("../infra/spec")>("infra/spec.ts");
        expect(typeof spec.parseStackConfig).toBe("function");
        expect(() => spec.parseStackConfig({ namespace: "shop" }, names)).toThrow(/mtls:services: is required/);
    });

    it("negative control: a module that imports a Pulumi package is refused by the same loader", async () => {
        const { loadTypeScript } = await import("../scripts/typescript.mjs");
        expect(() => loadTypeScript("components/checks.ts")).toThrow(/@pulumi\/pulumi/);
    });
});

describe("mtls:kubernetes.networkPolicy and allowFrom[].networkPolicyFrom", () => {
    const OTHER = "spiffe://billing.internal/ns/billing/sa/invoicer";
    const withOther = (entry: Record<string, unknown>, extra: RawStackConfig = {}) =>
        graphConfig([{ name: "a", allowFrom: [{ spiffeId: OTHER, ...entry }] }], extra);

    it("is on by default and can be turned off", () => {
        expect(parseStackConfig(graphConfig([{ name: "a" }]), names).kubernetes.networkPolicy).toBe(true);
        expect(
            parseStackConfig(graphConfig([{ name: "a" }], { kubernetes: { networkPolicy: false } }), names).kubernetes
                .networkPolicy,
        ).toBe(false);
    });

    it("keeps network peers for a caller from another trust domain, by address block or by pod labels", () => {
        const raw = withOther({
            networkPolicyFrom: [
                { cidr: "10.8.0.0/16", except: ["10.8.1.0/24"] },
                { namespace: "istio-system", podLabels: { istio: "eastwestgateway" } },
                { podLabels: { "example.com/role": "relay" } },
            ],
        });
        expect(callersOf(raw)[0].networkPolicyFrom).toEqual([
            { cidr: "10.8.0.0/16", except: ["10.8.1.0/24"] },
            { namespace: "istio-system", podLabels: { istio: "eastwestgateway" } },
            { podLabels: { "example.com/role": "relay" } },
        ]);
    });

    const cases: Array<[string, RawStackConfig, string, RegExp]> = [
        [
            "networkPolicy that is not a boolean",
            graphConfig([{ name: "a" }], { kubernetes: { networkPolicy: "yes" } }),
            "mtls:kubernetes.networkPolicy",
            /^must be true or false, got "yes"$/,
        ],
        [
            "a caller from another trust domain without networkPolicyFrom",
            withOther({}),
            "mtls:services[0].allowFrom[0].networkPolicyFrom",
            /^is required: "spiffe:\/\/billing\.internal\/ns\/billing\/sa\/invoicer" is from another trust domain and no label of this cluster selects its pods, .*or set mtls:kubernetes\.networkPolicy: false$/,
        ],
        [
            "networkPolicyFrom with network policies off",
            withOther({ networkPolicyFrom: [{ cidr: "10.0.0.0/8" }] }, { kubernetes: { networkPolicy: false } }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom",
            /^has no effect with mtls:kubernetes\.networkPolicy: false/,
        ],
        [
            "networkPolicyFrom on a { namespace, service } caller",
            graphConfig([
                {
                    name: "a",
                    allowFrom: [{ namespace: "billing", service: "x", networkPolicyFrom: [{ cidr: "10.0.0.0/8" }] }],
                },
            ]),
            "mtls:services[0].allowFrom[0].networkPolicyFrom",
            /^only applies with spiffeId; the NetworkPolicy selects a \{ namespace, service \} caller's pods by their labels/,
        ],
        [
            "an empty networkPolicyFrom",
            withOther({ networkPolicyFrom: [] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom",
            /^must be a non-empty list of \{ cidr/,
        ],
        [
            "a block with host bits set",
            withOther({ networkPolicyFrom: [{ cidr: "10.0.0.1/8" }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].cidr",
            /^"10\.0\.0\.1\/8" is not an address block; write <address>\/<prefix length> with the host bits zero/,
        ],
        [
            "an exception outside the block",
            withOther({ networkPolicyFrom: [{ cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].except[0]",
            /^"10\.1\.0\.0\/24" is not inside 10\.0\.0\.0\/16 and smaller than it/,
        ],
        [
            "except without cidr",
            withOther({ networkPolicyFrom: [{ except: ["10.1.0.0/24"] }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].cidr",
            /^is required with except/,
        ],
        [
            "a block and labels in one peer",
            withOther({ networkPolicyFrom: [{ cidr: "10.0.0.0/8", podLabels: { a: "b" } }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0]",
            /^sets both an address block and pod labels/,
        ],
        [
            "a namespace without pod labels",
            withOther({ networkPolicyFrom: [{ namespace: "gateways" }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].podLabels",
            /^must be a map of at least one label .*an empty selector would admit every pod of the namespace$/,
        ],
        [
            "a label value the API refuses",
            withOther({ networkPolicyFrom: [{ podLabels: { app: "east west" } }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].podLabels.app",
            /^"east west" is not a label value/,
        ],
        [
            "an unknown key in a peer",
            withOther({ networkPolicyFrom: [{ cidr: "10.0.0.0/8", port: 1 }] }),
            "mtls:services[0].allowFrom[0].networkPolicyFrom[0].port",
            /^is not a known setting; use one of cidr, except, namespace, podLabels$/,
        ],
    ];

    it.each(cases)("refuses %s by key path, with the fix", (_label, raw, keyPath, message) => {
        const problems = problemsOf(raw);
        const here = problems.filter((p) => p.startsWith(`${keyPath}: `));
        expect(here, problems.join("\n")).toHaveLength(1);
        expect(here[0].slice(keyPath.length + 2)).toMatch(message);
    });
});

describe("mtls:mesh", () => {
    const intermediate = { ca: { intermediate: true } };

    it("takes istio as a word or a map, with the plug-in CA in istio-system by default", () => {
        expect(parseStackConfig(graphConfig([{ name: "a" }], { mesh: "istio" }), names).mesh).toEqual({
            provider: "istio",
            pluginCa: false,
        });
        expect(
            parseStackConfig(
                graphConfig([{ name: "a" }], { ...intermediate, mesh: { provider: "istio", pluginCa: true } }),
                names,
            ).mesh,
        ).toEqual({ provider: "istio", pluginCa: true, caNamespace: "istio-system" });
        expect(
            parseStackConfig(
                graphConfig([{ name: "a" }], {
                    ...intermediate,
                    mesh: { provider: "istio", pluginCa: true, caNamespace: "mesh-ca" },
                }),
                names,
            ).mesh?.caNamespace,
        ).toBe("mesh-ca");
    });

    it("reads the word as the engine hands it over", () => {
        const raw = readRawStackConfig({
            "mtls:namespace": "shop",
            "mtls:trustDomain": "td",
            "mtls:services": '[{"name":"a","image":"i","port":1}]',
            "mtls:mesh": "istio",
        });
        expect(parseStackConfig(raw, names).mesh?.provider).toBe("istio");
    });

    const cases: Array<[string, RawStackConfig, string, RegExp]> = [
        [
            "a plug-in CA without an intermediate",
            graphConfig([{ name: "a" }], { mesh: { provider: "istio", pluginCa: true } }),
            "mtls:mesh.pluginCa",
            /^needs mtls:ca\.intermediate: true: istiod signs with the key in its cacerts Secret, and that must be an intermediate's, never the root's; set mtls:ca\.intermediate: true, or remove pluginCa$/,
        ],
        [
            "a mesh this project writes no policy for",
            graphConfig([{ name: "a" }], { mesh: "linkerd" }),
            "mtls:mesh",
            /^"linkerd" is not a mesh this project writes policies for; use one of istio, or remove mtls:mesh$/,
        ],
        [
            "a map without provider",
            graphConfig([{ name: "a" }], { mesh: { pluginCa: false } }),
            "mtls:mesh.provider",
            /^is required: the mesh to write policies for; use one of istio$/,
        ],
        [
            "an unknown mesh key",
            graphConfig([{ name: "a" }], { mesh: { provider: "istio", strict: true } }),
            "mtls:mesh.strict",
            /^is not a known setting; use one of provider, pluginCa, caNamespace$/,
        ],
        [
            "caNamespace without pluginCa",
            graphConfig([{ name: "a" }], { mesh: { provider: "istio", caNamespace: "istio-system" } }),
            "mtls:mesh.caNamespace",
            /^only applies with mesh\.pluginCa: true/,
        ],
        [
            "a caNamespace that is not a namespace name",
            graphConfig([{ name: "a" }], {
                ...intermediate,
                mesh: { provider: "istio", pluginCa: true, caNamespace: "Istio" },
            }),
            "mtls:mesh.caNamespace",
            /^"Istio" is not a namespace name/,
        ],
        [
            "a mesh without a trust domain",
            { ...graphConfig([{ name: "a" }], { mesh: "istio" }), trustDomain: undefined },
            "mtls:mesh",
            /^Istio's AuthorizationPolicy names callers <trust domain>\/ns\/<namespace>\/sa\/<service account>, and mtls:trustDomain is not set; set mtls:trustDomain/,
        ],
        [
            "pluginCa that is not a boolean",
            graphConfig([{ name: "a" }], { ...intermediate, mesh: { provider: "istio", pluginCa: "yes" } }),
            "mtls:mesh.pluginCa",
            /^must be true or false/,
        ],
    ];

    it.each(cases)("refuses %s by key path, with the fix", (_label, raw, keyPath, message) => {
        const problems = problemsOf(raw);
        const here = problems.filter((p) => p.startsWith(`${keyPath}: `));
        expect(here, problems.join("\n")).toHaveLength(1);
        expect(here[0].slice(keyPath.length + 2)).toMatch(message);
    });
});
