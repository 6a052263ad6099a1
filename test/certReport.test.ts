import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/stackConfig";
import { buildReport, parseUrn, renderMarkdown } from "../scripts/cert-report.mjs";
import type { Preview, PreviewStep } from "../scripts/cert-report.mjs";
import { drawnGraph } from "./support/certReport";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SERVICES = ["user-service", "order-service", "payment-service"];
const PARENT = {
    key: "mtls:index:ServiceCertificate",
    csr: "mtls:index:ServiceCertificate",
    cert: "mtls:index:ServiceCertificate",
    renewal: "mtls:index:ServiceCertificate",
};
const SERVICE = "mtls:index:MtlsService";

function urn(typeChain: string, name: string): string {
    return `urn:pulumi:dev::mtls::${typeChain}::${name}`;
}

type Step = Record<string, any>;

function dnsNames(service: string, extra: string[] = []): string[] {
    return [
        service,
        `${service}.shop-dev`,
        `${service}.shop-dev.svc`,
        `${service}.shop-dev.svc.cluster.local`,
        ...extra,
    ];
}

/**
 * A preview of the dev stack with nothing changing; `patch` edits steps by URN name. `layout`:
 * each service as the separate ServiceCertificate and MtlsWorkload, or as one MtlsService.
 */
function preview(
    patch: Record<string, (s: Step) => Step> = {},
    extraSteps: Step[] = [],
    layout: "separate" | "one" = "separate",
): Preview {
    const parent =
        layout === "one"
            ? { ...PARENT, key: SERVICE, csr: SERVICE, cert: SERVICE, renewal: SERVICE, deployment: SERVICE }
            : { ...PARENT, deployment: "mtls:index:MtlsWorkload" };
    const steps: Step[] = [];
    const add = (
        typeChain: string,
        name: string,
        inputs: Record<string, any> = {},
        outputs: Record<string, any> = {},
    ) => {
        const state = {
            urn: urn(typeChain, name),
            type: typeChain.split("$").pop(),
            inputs,
            outputs: { ...inputs, ...outputs },
        };
        steps.push({ op: "same", urn: state.urn, oldState: state, newState: state });
    };
    add("pulumi:providers:kubernetes", "kubernetes");
    add("pulumi-nodejs:mtls:RotationLedger", "ca-rotation", { generation: 1, phase: "steady" });
    add("mtls:index:CertificateAuthority", "ca");
    add(
        "mtls:index:CertificateAuthority$tls:index/selfSignedCert:SelfSignedCert",
        "ca-root",
        { subject: { commonName: "shop dev root CA" }, privateKeyPem: "[secret]" },
        { validityEndTime: "2027-11-23T00:00:00Z" },
    );
    for (const svc of SERVICES) {
        add(layout === "one" ? SERVICE : "mtls:index:ServiceCertificate", svc);
        add(`${parent.renewal}$pulumi-nodejs:mtls:RenewalClock`, `${svc}-renewal`, { reason: "first issue" });
        add(
            `${parent.key}$tls:index/privateKey:PrivateKey`,
            `${svc}-key`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { privateKeyPem: "[secret]" },
        );
        add(`${parent.csr}$tls:index/certRequest:CertRequest`, `${svc}-csr`, {
            dnsNames: dnsNames(svc),
            uris: [`spiffe://dev.shop.internal/ns/shop-dev/sa/${svc}`],
            privateKeyPem: "[secret]",
        });
        add(
            `${parent.cert}$tls:index/locallySignedCert:LocallySignedCert`,
            `${svc}-cert`,
            { caPrivateKeyPem: "[secret]" },
            { validityEndTime: "2026-12-23T00:00:00Z" },
        );
        add(`${parent.deployment}$kubernetes:apps/v1:Deployment`, `${svc}-deployment`);
    }
    for (const step of steps) {
        const name = parseUrn(step.urn).name;
        if (patch[name]) Object.assign(step, patch[name](step));
    }
    // As the engine writes it: the stack (with its current outputs) and only the steps that change.
    const stackOutputs = {
        services: Object.fromEntries(
            SERVICES.map((svc) => [
                svc,
                {
                    notAfter: "2026-12-23T00:00:00Z",
                    dnsNames: dnsNames(svc),
                    uris: [`spiffe://dev.shop.internal/ns/shop-dev/sa/${svc}`],
                },
            ]),
        ),
        cas: { "generation-1": { commonName: "shop dev root CA", notAfter: "2027-11-23T00:00:00Z" } },
        rotation: { generation: 1, phase: "steady" },
    };
    const stack = {
        op: "same",
        urn: urn("pulumi:pulumi:Stack", "mtls-dev"),
        oldState: { type: "pulumi:pulumi:Stack", outputs: stackOutputs },
    };
    return { steps: [stack, ...steps.filter((st) => st.op !== "same"), ...extraSteps] as PreviewStep[] };
}

const replace =
    (diffReasons: string[], newInputs: Record<string, any> = {}) =>
    (s: Step): Step => ({
        op: "replace",
        diffReasons,
        replaceReasons: diffReasons,
        newState: { ...s.newState, inputs: { ...s.newState.inputs, ...newInputs }, outputs: {} },
    });
const update =
    (diffReasons: string[]) =>
    (s: Step): Step => ({ op: "update", diffReasons, newState: s.newState });

function byService(report: any) {
    return Object.fromEntries(report.certificates.map((c: any) => [c.service, c]));
}

describe("cert-report", () => {
    it("reads type and name from nested URNs", () => {
        expect(parseUrn(urn("mtls:index:ServiceCertificate$tls:index/certRequest:CertRequest", "a-csr"))).toEqual({
            type: "tls:index/certRequest:CertRequest",
            name: "a-csr",
            parentTypes: ["mtls:index:ServiceCertificate"],
        });
    });

    it("reports nothing changing as unchanged, summary first", () => {
        const report = buildReport(preview());
        expect(report.summary).toBe("Certificates: 3 unchanged · CAs: 1 unchanged · Deployments rolling: none");
        expect(renderMarkdown(report).split("\n")[2]).toBe(`**${report.summary}**`);
    });

    it("names a SAN change, shows SANs before → after, and the one Deployment that rolls", () => {
        const after = dnsNames("payment-service", ["payments.shop.example"]);
        const report = buildReport(
            preview({
                "payment-service-csr": replace(["dnsNames"], { dnsNames: after }),
                "payment-service-cert": replace(["certRequestPem"], { certRequestPem: UNKNOWN }),
                "payment-service-deployment": update(["spec"]),
            }),
        );
        const pay = byService(report)["payment-service"];
        expect(pay).toMatchObject({
            action: "reissued",
            why: ["SAN added"],
            notAfterBefore: "2026-12-23T00:00:00Z",
            notAfterAfter: "issued on apply",
        });
        expect(pay.sansAfter).toContain("payments.shop.example");
        expect(pay.sansBefore).not.toContain("payments.shop.example");
        expect(report.summary).toBe(
            "Certificates: 1 reissued, 2 unchanged · CAs: 1 unchanged · Deployments rolling: payment-service",
        );
        expect(renderMarkdown(report)).toContain(
            "| payment-service | reissued | SAN added | added payments.shop.example | 2026-12-23T00:00:00Z → issued on apply |",
        );
    });

    it("names the renew window and a new key as a rotation", () => {
        const report = buildReport(
            preview({
                "user-service-renewal": replace(["issuedAt", "renewAt", "reason"], {
                    reason: "inside renew window: 12 days left",
                }),
                "user-service-key": replace([]),
                "user-service-csr": replace(["privateKeyPem"]),
                "user-service-cert": replace(["certRequestPem"]),
                "user-service-deployment": update(["spec"]),
            }),
        );
        expect(byService(report)["user-service"]).toMatchObject({
            action: "rotated",
            why: ["renew window: inside renew window: 12 days left"],
        });
    });

    it("names the renew window from the stack's RenewalSchedule, for the entry that moved only", () => {
        const entry = (issuedAt: string, reason: string) => ({
            validityHours: 2160,
            renewBeforeHours: 720,
            issuedAt,
            reason,
        });
        const before = {
            "user-service": entry("2026-09-01T00:00:00Z", "first issue"),
            "order-service": entry("2026-09-01T00:00:00Z", "first issue"),
        };
        const after = { ...before, "user-service": entry("2026-12-02T00:00:00Z", "inside renew window: 21 days left") };
        const schedule = {
            op: "update",
            urn: urn("pulumi-nodejs:mtls:RenewalSchedule", "renewal"),
            diffReasons: ["certificates"],
            oldState: { type: "pulumi-nodejs:mtls:RenewalSchedule", inputs: { certificates: before } },
            newState: { type: "pulumi-nodejs:mtls:RenewalSchedule", inputs: { certificates: after } },
        } as unknown as Step;
        const report = buildReport(
            preview(
                {
                    "user-service-key": replace([]),
                    "user-service-csr": replace(["privateKeyPem"]),
                    "user-service-cert": replace(["certRequestPem"]),
                    "order-service-deployment": update(["spec"]),
                },
                [schedule],
            ),
        );
        expect(byService(report)["user-service"]).toMatchObject({
            action: "rotated",
            why: ["renew window: inside renew window: 21 days left"],
        });
        expect(byService(report)["order-service"].action).toBe("unchanged");
    });

    it("names a key algorithm change", () => {
        const report = buildReport(
            preview({
                "order-service-key": replace(["ecdsaCurve"], { ecdsaCurve: "P384" }),
                "order-service-csr": replace(["privateKeyPem"]),
                "order-service-cert": replace(["certRequestPem"]),
            }),
        );
        expect(byService(report)["order-service"]).toMatchObject({
            action: "rotated",
            why: ["key algorithm ECDSA-P256 → ECDSA-P384"],
        });
    });

    it("lists every reason a certificate changes for, each with before → after, even those the engine's diff leaves out", () => {
        // As the engine reports it: once the request is replaced, the certificate's diff names only the request.
        const report = buildReport(
            preview({
                "payment-service-csr": replace(["dnsNames"], {
                    dnsNames: dnsNames("payment-service", ["payments.shop.example"]),
                }),
                "payment-service-cert": (s) => ({
                    op: "replace",
                    diffReasons: ["certRequestPem"],
                    replaceReasons: ["certRequestPem"],
                    oldState: {
                        ...s.oldState,
                        inputs: {
                            ...s.oldState.inputs,
                            validityPeriodHours: 720,
                            allowedUses: ["digital_signature", "client_auth"],
                        },
                    },
                    newState: {
                        ...s.newState,
                        inputs: {
                            ...s.newState.inputs,
                            certRequestPem: UNKNOWN,
                            validityPeriodHours: 1440,
                            allowedUses: ["digital_signature", "server_auth", "client_auth"],
                        },
                        outputs: {},
                    },
                }),
            }),
        );
        expect(byService(report)["payment-service"].why).toEqual([
            "SAN added",
            "validity 720 → 1440 h",
            "usage client → both",
        ]);
        expect(renderMarkdown(report)).toContain(
            "| payment-service | reissued | SAN added; validity 720 → 1440 h; usage client → both | added payments.shop.example |",
        );
    });

    it("names SANs added and removed together, a new key with a renewal, and falls back to the field name when states are unknown", () => {
        const both = buildReport(
            preview({
                "order-service-csr": replace(["dnsNames"], { dnsNames: ["order-service", "orders.shop.example"] }),
                "order-service-cert": replace(["certRequestPem", "validityPeriodHours"], {
                    validityPeriodHours: UNKNOWN,
                }),
            }),
        );
        expect(byService(both)["order-service"].why).toEqual(["SANs added and removed", "validity"]);
        const renewed = buildReport(
            preview({
                "user-service-renewal": replace(["issuedAt", "reason"], { reason: "inside renew window: 3 days left" }),
                "user-service-key": replace(["rsaBits", "algorithm"], {
                    algorithm: "RSA",
                    rsaBits: 3072,
                    ecdsaCurve: undefined,
                }),
                "user-service-csr": replace(["privateKeyPem", "dnsNames"], { dnsNames: UNKNOWN }),
                "user-service-cert": replace(["certRequestPem"]),
            }),
        );
        expect(byService(renewed)["user-service"].why).toEqual([
            "SAN change",
            "key algorithm ECDSA-P256 → RSA-3072",
            "renew window: inside renew window: 3 days left",
        ]);
    });

    it("shows a CA introduced by a rotation, and leaves reissued when the phase switches", () => {
        const newCa = [
            { op: "create", urn: urn("mtls:index:CertificateAuthority", "ca-g2"), newState: { inputs: {} } },
            {
                op: "create",
                urn: urn("mtls:index:CertificateAuthority$tls:index/selfSignedCert:SelfSignedCert", "ca-g2-root"),
                newState: { inputs: { subject: { commonName: "shop dev root CA G2" } } },
            },
        ];
        const introduce = buildReport(
            preview(
                {
                    "ca-rotation": (s) => ({
                        op: "update",
                        diffReasons: ["phase"],
                        newState: { ...s.newState, inputs: { generation: 1, phase: "introduce" } },
                    }),
                },
                newCa,
            ),
        );
        expect(introduce.cas).toEqual([
            expect.objectContaining({ ca: "ca", action: "unchanged" }),
            expect.objectContaining({
                ca: "ca-g2",
                commonName: "shop dev root CA G2",
                action: "new",
                why: ["CA rotation (phase introduce)"],
            }),
        ]);
        expect(introduce.rotationPhase).toBe("introduce");
        const switched = buildReport(
            preview({
                "ca-rotation": (s) => ({
                    op: "update",
                    newState: { ...s.newState, inputs: { generation: 1, phase: "switch" } },
                }),
                "user-service-cert": replace(["caCertPem", "caPrivateKeyPem"]),
            }),
        );
        expect(byService(switched)["user-service"]).toMatchObject({
            action: "reissued",
            why: ["CA rotation (phase switch)"],
        });
    });

    it("reads a stack of MtlsService (one component per service) as it reads the separate components", () => {
        const gone = (s: Step): Step => ({ op: "delete", newState: undefined, oldState: s.oldState });
        const cases: Record<string, (s: Step) => Step>[] = [
            {},
            {
                "payment-service-csr": replace(["dnsNames"], {
                    dnsNames: dnsNames("payment-service", ["payments.shop.example"]),
                }),
                "payment-service-cert": replace(["certRequestPem"], { certRequestPem: UNKNOWN }),
                "payment-service-deployment": update(["spec"]),
            },
            {
                "user-service-renewal": replace(["issuedAt", "renewAt", "reason"], { reason: "inside renew window" }),
                "user-service-key": replace([]),
                "user-service-csr": replace(["privateKeyPem"]),
                "user-service-cert": replace(["certRequestPem"]),
                "user-service-deployment": update(["spec"]),
            },
            { "order-service": gone, "order-service-cert": gone, "order-service-csr": gone, "order-service-key": gone },
        ];
        for (const patch of cases) {
            const separate = buildReport(preview(patch));
            expect(buildReport(preview(patch, [], "one"))).toEqual(separate);
        }
    });

    it("finds a new service's certificate under its MtlsService, before any stack output names it", () => {
        const created = (typeChain: string, name: string, inputs: Record<string, any> = {}): Step => ({
            op: "create",
            urn: urn(typeChain, name),
            newState: { urn: urn(typeChain, name), type: typeChain.split("$").pop(), inputs, outputs: {} },
        });
        const report = buildReport(
            preview({}, [
                created(SERVICE, "audit-service"),
                created(`${SERVICE}$tls:index/privateKey:PrivateKey`, "audit-service-key"),
                created(`${SERVICE}$tls:index/certRequest:CertRequest`, "audit-service-csr", {
                    dnsNames: dnsNames("audit-service"),
                }),
                created(`${SERVICE}$tls:index/locallySignedCert:LocallySignedCert`, "audit-service-cert"),
            ]),
        );
        expect(byService(report)["audit-service"]).toMatchObject({ action: "new" });
        expect(byService(report)["audit-service"].sansAfter).toEqual(dnsNames("audit-service"));
    });

    it("reports a removed service as deleted", () => {
        const gone = (s: Step): Step => ({ op: "delete", newState: undefined, oldState: s.oldState });
        const report = buildReport(
            preview({
                "order-service": gone,
                "order-service-cert": gone,
                "order-service-csr": gone,
                "order-service-key": gone,
            }),
        );
        expect(byService(report)["order-service"]).toMatchObject({ action: "deleted", why: ["service removed"] });
    });

    it("never carries a secret or key text into the report", () => {
        const report = buildReport(
            preview({
                "user-service-key": (s) => ({
                    ...s,
                    newState: {
                        ...s.newState,
                        outputs: {
                            privateKeyPem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                        },
                    },
                }),
            }),
        );
        const text = JSON.stringify(report) + renderMarkdown(report);
        expect(text).not.toContain("PRIVATE KEY");
        expect(text).not.toContain("[secret]");
    });
});

const DEV_SERVICES = [
    {
        name: "user-service",
        image: "example/user-service:1.0",
        port: 8443,
        allowFrom: ["order-service", "payment-service"],
    },
    { name: "order-service", image: "example/order-service:1.0", usage: "client" },
    { name: "payment-service", image: "example/payment-service:1.0", usage: "client" },
];
const devId = (svc: string, ns = "shop-dev") => `spiffe://dev.shop.internal/ns/${ns}/sa/${svc}`;

/** The stack config as `pulumi preview --json` reports it: every value a string. */
function withConfig<T extends object>(p: T, services: object[] = DEV_SERVICES): T & { config: Record<string, string> } {
    return {
        ...p,
        config: {
            "mtls:namespace": "shop-dev",
            "mtls:trustDomain": "dev.shop.internal",
            "mtls:services": JSON.stringify(services),
        },
    };
}

/** A Deployment state whose container carries the two allowlists. */
function deploymentState(service: string, callers: string[]): Step {
    const env = [
        { name: "MTLS_SERVICE_NAME", value: service },
        { name: "MTLS_ALLOWED_CLIENTS", value: callers.join(",") },
        { name: "MTLS_ALLOWED_SPIFFE_IDS", value: callers.map((c) => devId(c)).join(",") },
    ];
    return {
        urn: urn("mtls:index:MtlsWorkload$kubernetes:apps/v1:Deployment", `${service}-deployment`),
        inputs: { spec: { template: { spec: { containers: [{ env }] } } } },
    };
}

describe("cert-report: who may call whom", () => {
    it("draws the graph of the config the preview ran with, nothing changed", () => {
        const report = buildReport(withConfig(preview()));
        expect(drawnGraph(report).added).toEqual([]);
        expect(drawnGraph(report).removed).toEqual([]);
        expect(drawnGraph(report).mermaid).toContain(
            `svc_order_service -->|"${devId("order-service")}"| svc_user_service`,
        );
        expect(report.summary).toBe(
            "Certificates: 3 unchanged · CAs: 1 unchanged · Deployments rolling: none · Calls: unchanged",
        );
        const md = renderMarkdown(report);
        expect(md).toContain(`#### Who may call whom\n\n\`\`\`mermaid\n${drawnGraph(report).mermaid}\`\`\`\n`);
        expect(md).toContain("Calls added: —\nCalls removed: —");
    });

    it("marks the calls a change adds and removes, from the Deployment's allowlists before and after", () => {
        const services = structuredClone(DEV_SERVICES);
        services[0].allowFrom = ["order-service", { namespace: "reports-dev", service: "report-service" }] as never;
        const report = buildReport(
            withConfig(
                preview({
                    "user-service-deployment": () => ({
                        op: "update",
                        diffReasons: ["spec"],
                        oldState: deploymentState("user-service", ["order-service", "payment-service"]),
                        newState: deploymentState("user-service", ["order-service"]),
                    }),
                }),
                services,
            ),
        );
        expect(drawnGraph(report).added).toEqual([
            {
                from: "report-service (namespace reports-dev)",
                to: "user-service",
                identity: devId("report-service", "reports-dev"),
            },
        ]);
        expect(drawnGraph(report).removed).toEqual([
            { from: "payment-service", to: "user-service", identity: devId("payment-service") },
        ]);
        expect(report.summary).toMatch(/ · Calls: 1 added, 1 removed$/);
        expect(drawnGraph(report).mermaid).toContain(
            `ext_1 ==>|"added: ${devId("report-service", "reports-dev")}"| svc_user_service`,
        );
        expect(drawnGraph(report).mermaid).toContain(
            `svc_payment_service -.->|"removed: ${devId("payment-service")}"| svc_user_service`,
        );
        const md = renderMarkdown(report);
        expect(md).toContain(
            `Calls added: report-service (namespace reports-dev) → user-service as \`${devId("report-service", "reports-dev")}\``,
        );
        expect(md).toContain(`Calls removed: payment-service → user-service as \`${devId("payment-service")}\``);
    });

    it("counts a new service's calls as added and a removed service's as removed", () => {
        const services = [
            ...structuredClone(DEV_SERVICES),
            { name: "audit-service", image: "example/audit:1.0", port: 9443, allowFrom: ["order-service"] },
        ];
        services.splice(0, 1);
        const report = buildReport(
            withConfig(
                preview(
                    {
                        "user-service-deployment": () => ({
                            op: "delete",
                            oldState: deploymentState("user-service", ["order-service", "payment-service"]),
                        }),
                    },
                    [
                        {
                            op: "create",
                            urn: urn(
                                "mtls:index:MtlsWorkload$kubernetes:apps/v1:Deployment",
                                "audit-service-deployment",
                            ),
                            newState: deploymentState("audit-service", ["order-service"]),
                        },
                    ],
                ),
                services,
            ),
        );
        expect(drawnGraph(report).added).toEqual([
            { from: "order-service", to: "audit-service", identity: devId("order-service") },
        ]);
        expect(drawnGraph(report).removed.map((c: any) => `${c.from}>${c.to}`)).toEqual([
            "order-service>user-service",
            "payment-service>user-service",
        ]);
        expect(drawnGraph(report).mermaid).toContain(`svc_user_service["user-service<br/>removed"]`);
    });

    it("reads only the allowlists from a Deployment, never the key an env delivery carries", () => {
        const withKey = (state: Step): Step => {
            const container = state.inputs.spec.template.spec.containers[0];
            container.env.push({
                name: "MTLS_KEY",
                value: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            });
            return state;
        };
        const report = buildReport(
            withConfig(
                preview({
                    "user-service-deployment": () => ({
                        op: "update",
                        oldState: withKey(deploymentState("user-service", ["order-service"])),
                        newState: withKey(deploymentState("user-service", ["order-service", "payment-service"])),
                    }),
                }),
            ),
        );
        expect(drawnGraph(report).added).toEqual([
            { from: "payment-service", to: "user-service", identity: devId("payment-service") },
        ]);
        expect(JSON.stringify(report) + renderMarkdown(report)).not.toContain("PRIVATE KEY");
    });

    it("leaves the graph out of a preview that carries no stack config, and says why it cannot draw a refused one", () => {
        const plain = buildReport(preview());
        expect(plain.graph).toBeUndefined();
        expect(renderMarkdown(plain)).not.toContain("Who may call whom");
        const broken = withConfig(preview(), [{ name: "a", image: "i", port: 1, allowFrom: ["ghost"] }]);
        const report = buildReport(broken);
        expect(report.graph?.error).toMatch(
            /mtls:services\[0\]\.allowFrom\[0\]: "ghost" is not a service of this stack/,
        );
        expect(renderMarkdown(report)).toContain("The graph could not be drawn: the stack config has 1 problem:");
    });
});

describe("cert-report on a preview the real engine produced", () => {
    // Captured by `npm run e2e -- --fixtures`: the e2e stack with payment-service given one more DNS name.
    const preview = JSON.parse(
        fs.readFileSync(path.join(PROJECT_ROOT, "test", "fixtures", "engine", "preview-san-change.json"), "utf8"),
    );

    it("lists exactly the certificate that changes, why, and the one Deployment that rolls", () => {
        const report = buildReport(preview);
        expect(report.certificates.map((c: any) => `${c.service}:${c.action}`)).toEqual([
            "audit-service:unchanged",
            "inventory-service:unchanged",
            "order-service:unchanged",
            "payment-service:reissued",
            "report-service:unchanged",
            "user-service:unchanged",
        ]);
        const payment = byService(report)["payment-service"];
        expect(payment.why).toEqual(["SAN added"]);
        expect(payment.sansAfter.filter((n: string) => !payment.sansBefore.includes(n))).toEqual([
            "payments.shop.example",
        ]);
        expect(report.summary).toBe(
            "Certificates: 1 reissued, 5 unchanged · CAs: 1 unchanged · Deployments rolling: payment-service · Calls: unchanged",
        );
    });

    it("draws the e2e stack's graph from the config the preview ran with; the SAN change changes no call", () => {
        const graph = drawnGraph(buildReport(preview));
        expect(graph.added).toEqual([]);
        expect(graph.removed).toEqual([]);
        expect(graph.mermaid.match(/-->/g)).toHaveLength(2);
        expect(graph.mermaid).toContain(`svc_report_service["report-service<br/>server · port 9443"]`);
    });

    it("writes every time in one format, ISO 8601 to the second, whatever the engine and the outputs wrote", () => {
        const report = buildReport(preview);
        const payment = byService(report)["payment-service"];
        // The engine wrote this one with nanoseconds, the stack outputs the others with milliseconds.
        expect(payment.notAfterBefore).toBe("2026-12-23T07:14:22Z");
        expect(byService(report)["user-service"].notAfterBefore).toBe("2026-12-23T07:14:22Z");
        expect(report.cas[0].notAfterBefore).toBe("2027-11-23T07:14:21Z");
        const times = renderMarkdown(report).match(/\d{4}-\d{2}-\d{2}T[^\s|]*/g) ?? [];
        expect(times).toHaveLength(7);
        for (const time of times) expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    });

    it("holds no key material, and neither does the report", () => {
        const text = JSON.stringify(preview);
        expect(text).not.toContain("PRIVATE KEY");
        expect(renderMarkdown(buildReport(preview))).not.toContain("[secret]");
    });
});

describe("the report for a service cert-manager issues", () => {
    const certificateUrn = urn(
        "mtls:index:CertManagerCertificate$kubernetes:cert-manager.io/v1:Certificate",
        "ledger-certificate",
    );
    const spec = (patch: Record<string, unknown> = {}) => ({
        secretName: "ledger-mtls-tls",
        commonName: "ledger",
        dnsNames: dnsNames("ledger"),
        uris: ["spiffe://dev.shop.internal/ns/shop-dev/sa/ledger"],
        usages: ["digital signature", "server auth", "client auth"],
        duration: "2160h",
        renewBefore: "720h",
        isCA: false,
        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always", encoding: "PKCS1" },
        issuerRef: { name: "cert-manager-issuer-1", kind: "Issuer", group: "cert-manager.io" },
        ...patch,
    });
    const ledgerOutputs = { issuance: "cert-manager", dnsNames: dnsNames("ledger"), renewBeforeHours: 720 };
    const withLedger = (step?: Step) => {
        const p = preview({}, step ? [step] : []);
        (p.steps as Step[])[0].oldState.outputs.services.ledger = ledgerOutputs;
        return p;
    };
    const update = (after: Record<string, unknown>) => ({
        op: "update",
        urn: certificateUrn,
        oldState: { inputs: { spec: spec() } },
        newState: { inputs: { spec: spec(after) } },
        diffReasons: ["spec"],
    });

    it("says the cluster renews it and lists it unchanged when its Certificate does not change", () => {
        const row = buildReport(withLedger()).certificates.find((c: any) => c.service === "ledger");
        expect(row).toMatchObject({
            issuance: "cert-manager",
            action: "unchanged",
            notAfterBefore: "issued in cluster: renews 720 h before its end",
        });
        expect(renderMarkdown(buildReport(withLedger()))).toMatch(
            /\| ledger \| unchanged \| — \| .* \| issued in cluster: renews 720 h before its end \|/,
        );
    });

    it("shows the Certificate's spec changes, before → after", () => {
        const report = buildReport(
            withLedger(
                update({
                    dnsNames: dnsNames("ledger", ["ledger.shop.example"]),
                    renewBefore: "360h",
                    privateKey: { algorithm: "RSA", size: 3072, rotationPolicy: "Always", encoding: "PKCS1" },
                    issuerRef: { name: "cert-manager-issuer-2", kind: "Issuer", group: "cert-manager.io" },
                }),
            ),
        );
        const row = report.certificates.find((c: any) => c.service === "ledger");
        if (row === undefined) throw new Error("no row for ledger");
        expect(row.action).toBe("reissued");
        expect(row.why).toEqual([
            "SAN added",
            "key algorithm ECDSA-P256 → RSA-3072",
            "renewBefore 720 h → 360 h",
            "new issuer Issuer cert-manager-issuer-2",
        ]);
        expect(row.sansAfter).toContain("ledger.shop.example");
        expect(row.notAfterAfter).toBe("issued in cluster: renews 360 h before its end");
        expect(renderMarkdown(report)).toMatch(
            /\| ledger \| reissued \| SAN added; key algorithm ECDSA-P256 → RSA-3072; .* \| added ledger\.shop\.example \|/,
        );
    });

    it("calls a change of renew window alone an update, since cert-manager reissues nothing for it", () => {
        const row = buildReport(withLedger(update({ renewBefore: "360h" }))).certificates.find(
            (c: any) => c.service === "ledger",
        );
        expect(row).toMatchObject({ action: "updated", why: ["renewBefore 720 h → 360 h"] });
    });

    it("names a switch of issuance", () => {
        const created = { op: "create", urn: certificateUrn, newState: { inputs: { spec: spec() } } };
        const p = preview({}, [created]);
        const row = buildReport(p).certificates.find((c: any) => c.service === "ledger");
        expect(row).toMatchObject({ action: "new" });
        (p.steps as Step[])[0].oldState.outputs.services.ledger = { issuance: "pulumi", dnsNames: dnsNames("ledger") };
        expect(buildReport(p).certificates.find((c: any) => c.service === "ledger")).toMatchObject({
            action: "reissued",
            why: ["issuance pulumi → cert-manager"],
        });
    });
});
