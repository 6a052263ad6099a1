// Who may call whom, as NetworkPolicy and Istio objects: the pure builders, and the policies
// of whole stacks evaluated by Kubernetes' NetworkPolicy semantics. No Pulumi.
import { describe, expect, it } from "vitest";
import {
    cidrContains,
    ingressPolicySpec,
    isLabelKey,
    isLabelValue,
    isStrictSubBlock,
    parseCidr,
    workloadLabels,
} from "../components/ingressRules";
import {
    authorizationPolicySpec,
    istioCaCertsData,
    istioPrincipal,
    strictPeerAuthenticationSpec,
} from "../components/istioObjects";
import { ingressSources } from "../infra/access";
import { RawStackConfig, StackSpec, parseStackConfig } from "../infra/spec";
import {
    Endpoint,
    NetworkPolicyObject,
    connectionAllowed,
    isIsolated,
    selectorMatches,
} from "./support/networkPolicyEval";

const names = { project: "mtls", stack: "test" };
const nsLabels = (...namespaces: string[]) =>
    Object.fromEntries(namespaces.map((ns) => [ns, { "kubernetes.io/metadata.name": ns }]));
const pod = (service: string, namespace: string, extra: Partial<Endpoint> = {}): Endpoint => ({
    name: `${service}-0`,
    namespace,
    labels: { ...workloadLabels(service), "pod-template-hash": "abc" },
    ...extra,
});

describe("ingressPolicySpec", () => {
    it("selects the server's pods, isolates them for ingress and admits the sources on the port over TCP", () => {
        const spec = ingressPolicySpec({
            podLabels: workloadLabels("user-service"),
            port: 8443,
            sources: [
                { podLabels: workloadLabels("order-service") },
                { podLabels: workloadLabels("report-service"), namespace: "reports" },
                { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] },
            ],
        });
        expect(spec).toEqual({
            podSelector: {
                matchLabels: { "app.kubernetes.io/name": "user-service", "app.kubernetes.io/part-of": "mtls" },
            },
            policyTypes: ["Ingress"],
            ingress: [
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
                            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "reports" } },
                            podSelector: {
                                matchLabels: {
                                    "app.kubernetes.io/name": "report-service",
                                    "app.kubernetes.io/part-of": "mtls",
                                },
                            },
                        },
                        { ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] } },
                    ],
                    ports: [{ protocol: "TCP", port: 8443 }],
                },
            ],
        });
    });

    it("writes no rule at all for a server nobody may call: a rule with an empty from would admit everyone", () => {
        const spec = ingressPolicySpec({ podLabels: workloadLabels("ledger"), port: 7443, sources: [] });
        expect(spec.ingress).toEqual([]);
        expect(spec.policyTypes).toEqual(["Ingress"]);
        const target = pod("ledger", "shop");
        const policies = [{ metadata: { namespace: "shop" }, spec }];
        expect(connectionAllowed(policies, nsLabels("shop"), pod("anyone", "shop"), target, 7443)).toBe(false);
        // The negative control: the rule this function must never write lets a stranger in.
        const open = [
            {
                metadata: { namespace: "shop" },
                spec: { ...spec, ingress: [{ from: [], ports: [{ protocol: "TCP", port: 7443 }] }] },
            },
        ];
        expect(connectionAllowed(open, nsLabels("shop"), pod("anyone", "shop"), target, 7443)).toBe(true);
    });

    it("refuses an empty pod selector and a port out of range", () => {
        expect(() => ingressPolicySpec({ podLabels: {}, port: 8443, sources: [] })).toThrow(/podLabels is empty/);
        expect(() => ingressPolicySpec({ podLabels: workloadLabels("a"), port: 0, sources: [] })).toThrow(
            /port 0 is not a port/,
        );
    });
});

describe("address blocks and labels as the API accepts them", () => {
    it("parses IPv4 and IPv6 blocks with zero host bits only", () => {
        expect(parseCidr("10.0.0.0/8")).toEqual({ bits: 32, address: 10n << 24n, prefix: 8 });
        expect(parseCidr("2001:db8::/32")).toMatchObject({ bits: 128, prefix: 32 });
        for (const bad of [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0",
            "2001:db8::1/32",
            "::/129",
            "01.0.0.0/8",
            42,
        ])
            expect(parseCidr(bad), String(bad)).toBeUndefined();
    });

    it("knows which blocks lie strictly inside another and which addresses a block holds", () => {
        const outer = parseCidr("192.0.2.0/24")!;
        expect(isStrictSubBlock(parseCidr("192.0.2.128/25")!, outer)).toBe(true);
        expect(isStrictSubBlock(parseCidr("192.0.2.0/24")!, outer)).toBe(false);
        expect(isStrictSubBlock(parseCidr("198.51.100.0/25")!, outer)).toBe(false);
        expect(isStrictSubBlock(parseCidr("2001:db8::/48")!, parseCidr("2001:db8::/32")!)).toBe(true);
        expect(cidrContains(outer, "192.0.2.77")).toBe(true);
        expect(cidrContains(outer, "192.0.3.1")).toBe(false);
    });

    it("accepts Kubernetes label keys and values and refuses others", () => {
        for (const key of ["istio", "app.kubernetes.io/name", "a_b.c-d"]) expect(isLabelKey(key), key).toBe(true);
        for (const key of ["", "-a", "a/", "Example.com/x", "x".repeat(64), "/a"])
            expect(isLabelKey(key), key).toBe(false);
        for (const value of ["", "eastwestgateway", "v1.2_3"]) expect(isLabelValue(value), value).toBe(true);
        for (const value of ["-a", "a b", "x".repeat(64), 3]) expect(isLabelValue(value), String(value)).toBe(false);
    });
});

describe("the NetworkPolicy evaluator follows the API's definition", () => {
    const ns = nsLabels("shop", "reports");
    const server = pod("user-service", "shop", { namedPorts: { mtls: { port: 8443, protocol: "TCP" } } });
    const policy = (spec: NetworkPolicyObject["spec"], namespace = "shop"): NetworkPolicyObject => ({
        metadata: { namespace },
        spec,
    });
    const selectServer = { matchLabels: workloadLabels("user-service") };

    it("leaves a pod no policy selects open to everyone", () => {
        expect(isIsolated([], server, "Ingress")).toBe(false);
        expect(connectionAllowed([], ns, { ip: "203.0.113.9" }, server, 1)).toBe(true);
    });

    it("scopes a lone podSelector to the policy's namespace, and a namespaceSelector to the namespaces it selects", () => {
        const sameNamespace = [
            policy({
                podSelector: selectServer,
                ingress: [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "report-service" } } }] }],
            }),
        ];
        expect(connectionAllowed(sameNamespace, ns, pod("report-service", "shop"), server, 8443)).toBe(true);
        expect(connectionAllowed(sameNamespace, ns, pod("report-service", "reports"), server, 8443)).toBe(false);
        const across = [
            policy({
                podSelector: selectServer,
                ingress: [
                    {
                        from: [
                            {
                                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "reports" } },
                                podSelector: { matchLabels: { "app.kubernetes.io/name": "report-service" } },
                            },
                        ],
                    },
                ],
            }),
        ];
        expect(connectionAllowed(across, ns, pod("report-service", "reports"), server, 8443)).toBe(true);
        expect(connectionAllowed(across, ns, pod("report-service", "shop"), server, 8443)).toBe(false);
        expect(connectionAllowed(across, ns, pod("other", "reports"), server, 8443)).toBe(false);
        const wholeNamespace = [
            policy({
                podSelector: selectServer,
                ingress: [
                    { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "reports" } } }] },
                ],
            }),
        ];
        expect(connectionAllowed(wholeNamespace, ns, pod("other", "reports"), server, 8443)).toBe(true);
    });

    it("matches ports by number, range and name, and protocol", () => {
        const byName = [policy({ podSelector: selectServer, ingress: [{ ports: [{ port: "mtls" }] }] })];
        expect(connectionAllowed(byName, ns, pod("a", "shop"), server, 8443)).toBe(true);
        expect(connectionAllowed(byName, ns, pod("a", "shop"), server, 8444)).toBe(false);
        const range = [
            policy({
                podSelector: selectServer,
                ingress: [{ ports: [{ protocol: "TCP", port: 8000, endPort: 9000 }] }],
            }),
        ];
        expect(connectionAllowed(range, ns, pod("a", "shop"), server, 8443)).toBe(true);
        expect(connectionAllowed(range, ns, pod("a", "shop"), server, 8443, "UDP")).toBe(false);
    });

    it("matches address blocks with their exceptions, and only addresses", () => {
        const blocks = [
            policy({
                podSelector: selectServer,
                ingress: [{ from: [{ ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] } }] }],
            }),
        ];
        expect(connectionAllowed(blocks, ns, { ip: "192.0.2.1" }, server, 8443)).toBe(true);
        expect(connectionAllowed(blocks, ns, { ip: "192.0.2.200" }, server, 8443)).toBe(false);
        expect(connectionAllowed(blocks, ns, pod("a", "shop"), server, 8443)).toBe(false);
    });

    it("adds policies up, ignores policies of other namespaces, and honours egress isolation at the source", () => {
        const denyAll = policy({ podSelector: selectServer, policyTypes: ["Ingress"] });
        const allowA = policy({
            podSelector: selectServer,
            ingress: [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "a" } } }] }],
        });
        expect(connectionAllowed([denyAll], ns, pod("a", "shop"), server, 8443)).toBe(false);
        expect(connectionAllowed([denyAll, allowA], ns, pod("a", "shop"), server, 8443)).toBe(true);
        expect(connectionAllowed([policy({ podSelector: {} }, "reports")], ns, pod("a", "shop"), server, 8443)).toBe(
            true,
        );
        const noEgress = policy({
            podSelector: { matchLabels: { "app.kubernetes.io/name": "a" } },
            policyTypes: ["Egress"],
        });
        expect(connectionAllowed([allowA, noEgress], ns, pod("a", "shop"), server, 8443)).toBe(false);
    });

    it("evaluates matchExpressions", () => {
        const labels = { tier: "web", env: "prod" };
        expect(
            selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] }, labels),
        ).toBe(true);
        expect(
            selectorMatches({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels),
        ).toBe(false);
        expect(selectorMatches({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels)).toBe(true);
        expect(selectorMatches({ matchExpressions: [{ key: "team", operator: "Exists" }] }, labels)).toBe(false);
    });
});

/** Every server's policy of a parsed stack, as the program builds it. */
function stackPolicies(spec: StackSpec): NetworkPolicyObject[] {
    return spec.services
        .filter((s) => s.usage !== "client")
        .map((s) => ({
            metadata: { namespace: spec.namespace },
            spec: ingressPolicySpec({
                podLabels: workloadLabels(s.name),
                port: s.port as number,
                sources: ingressSources(s.callers, spec.namespace),
            }),
        }));
}

describe("a stack's policies, evaluated pair by pair", () => {
    const shop: RawStackConfig = {
        namespace: "shop",
        trustDomain: "dev.shop.internal",
        services: [
            {
                name: "user-service",
                image: "i",
                port: 8443,
                allowFrom: ["order-service", "payment-service", { namespace: "reports", service: "report-service" }],
            },
            {
                name: "payment-service",
                image: "i",
                port: 9443,
                allowFrom: [
                    "order-service",
                    {
                        spiffeId: "spiffe://billing.internal/ns/billing/sa/invoicer",
                        networkPolicyFrom: [{ cidr: "192.0.2.0/24" }],
                    },
                ],
            },
            { name: "order-service", image: "i", usage: "client" },
            { name: "audit-service", image: "i", usage: "client" },
            { name: "ledger", image: "i", usage: "server", port: 7443 },
        ],
    };

    it("admits exactly the pairs allowFrom lists, on the mTLS port only", () => {
        const spec = parseStackConfig(shop, names);
        const policies = stackPolicies(spec);
        const namespaces = nsLabels("shop", "reports");
        const sources = [
            ...spec.services.map((s) => pod(s.name, "shop")),
            pod("report-service", "reports"),
            pod("order-service", "reports"),
        ];
        for (const server of spec.services.filter((s) => s.usage !== "client")) {
            const target = pod(server.name, "shop");
            for (const source of sources) {
                const listed = server.callers.some(
                    (c) => c.service === source.labels["app.kubernetes.io/name"] && c.namespace === source.namespace,
                );
                expect(
                    connectionAllowed(policies, namespaces, source, target, server.port as number),
                    `${source.namespace}/${source.name} -> ${server.name}`,
                ).toBe(listed);
                expect(
                    connectionAllowed(policies, namespaces, source, target, (server.port as number) + 1),
                    `${source.name} -> ${server.name} on another port`,
                ).toBe(false);
            }
        }
        const payments = pod("payment-service", "shop");
        expect(connectionAllowed(policies, namespaces, { ip: "192.0.2.10" }, payments, 9443)).toBe(true);
        expect(connectionAllowed(policies, namespaces, { ip: "198.51.100.10" }, payments, 9443)).toBe(false);
        expect(connectionAllowed(policies, namespaces, { ip: "192.0.2.10" }, pod("user-service", "shop"), 8443)).toBe(
            false,
        );
    });

    it("leaves clients' pods unselected, so their egress and ingress are untouched", () => {
        const policies = stackPolicies(parseStackConfig(shop, names));
        expect(isIsolated(policies, pod("order-service", "shop"), "Ingress")).toBe(false);
        expect(policies.every((p) => !p.spec.policyTypes?.includes("Egress"))).toBe(true);
    });
});

describe("Istio objects", () => {
    it("writes principals as SPIFFE IDs without the scheme, and refuses anything else", () => {
        expect(istioPrincipal("spiffe://dev.shop.internal/ns/shop/sa/order-service")).toBe(
            "dev.shop.internal/ns/shop/sa/order-service",
        );
        expect(() => istioPrincipal("dev.shop.internal/ns/shop/sa/x")).toThrow(/is not a SPIFFE ID/);
    });

    it("allows the principals on the port only, and no one when there is no principal", () => {
        expect(
            authorizationPolicySpec({
                podLabels: workloadLabels("user-service"),
                port: 8443,
                principals: ["td/ns/shop/sa/a"],
            }),
        ).toEqual({
            selector: { matchLabels: workloadLabels("user-service") },
            action: "ALLOW",
            rules: [
                { from: [{ source: { principals: ["td/ns/shop/sa/a"] } }], to: [{ operation: { ports: ["8443"] } }] },
            ],
        });
        expect(
            authorizationPolicySpec({ podLabels: workloadLabels("ledger"), port: 7443, principals: [] }).rules,
        ).toEqual([]);
        expect(() => authorizationPolicySpec({ podLabels: {}, port: 1, principals: [] })).toThrow(/podLabels is empty/);
        expect(strictPeerAuthenticationSpec()).toEqual({ mtls: { mode: "STRICT" } });
    });

    it("lays out the plug-in CA as Istio documents it: signing cert and key, roots, and the chain up to the root", () => {
        const data = istioCaCertsData({
            signingCertPem: "INTERMEDIATE\n",
            signingKeyPem: "KEY",
            rootCertPem: "ROOT\n",
            trustBundlePem: "ROOT\nOLD ROOT\n",
        });
        expect(data).toEqual({
            "ca-cert.pem": "INTERMEDIATE\n",
            "ca-key.pem": "KEY\n",
            "root-cert.pem": "ROOT\nOLD ROOT\n",
            "cert-chain.pem": "INTERMEDIATE\nROOT\n",
        });
    });
});
