/**
 * The components and the program under exactly the mocks of Pulumi's unit-testing guide:
 * `newResource` echoes the inputs as state, `call` echoes its inputs. No certificate is ever
 * returned, so every field read from an issued certificate must come out undefined (or from a
 * provider output the mocks echo), and everything must finish. Each wait is bounded with its
 * own message, so a hang fails the test instead of running into vitest's timeout.
 */
import { readCertificate } from "../components/x509";
import { issuedNotAfter } from "../components/certificateAuthority";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SHIPPED_STACKS, shippedStackConfig } from "./support/stackConfig";

/** What the mocks were asked; the answers below are exactly the documented ones. */
const asked: pulumi.runtime.MockResourceArgs[] = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => {
    rejections.push(reason);
};

type Components = typeof import("../components");
let c: Components;
let program: typeof import("../infra/program");

beforeAll(async () => {
    process.on("unhandledRejection", onRejection);
    await pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                asked.push(args);
                return { id: `${args.name}_id`, state: args.inputs };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "mtls",
        "dev",
        false,
    );
    c = await import("../components");
    program = await import("../infra/program");
});
afterAll(() => {
    process.off("unhandledRejection", onRejection);
});
beforeEach(() => {
    asked.length = 0;
});

const BOUND_MS = 5_000;

/** Resolves `promise` or fails after BOUND_MS naming what never finished. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () =>
                reject(
                    new Error(`${what} did not finish within ${BOUND_MS} ms under Pulumi's documented mocks (a hang)`),
                ),
            BOUND_MS,
        );
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    return (pulumi.output(output) as unknown as { promise(): Promise<T> }).promise();
}

/**
 * Every registration the runtime sent, drained: the SDK's own wait for its RPC queue (what
 * `pulumi up` waits for before the program ends), exported by the runtime but left out of its types.
 */
function allRegistrations(): Promise<void> {
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    return within("the registrations", runtime.waitForRPCs());
}

/** The parent's type of each registered resource, from the URNs the mock monitor made (`<parent type>$<type>::<name>`). */
function parentTypes(): Map<string, string | undefined> {
    const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
    const out = new Map<string, string | undefined>();
    for (const urn of monitor.getRegisteredResources().keys()) {
        const [, , , qualified, name] = urn.split("::").length === 4 ? ["", ...urn.split("::")] : urn.split("::");
        const types = (qualified ?? urn.split("::")[2]).split("$");
        out.set(
            `${types[types.length - 1]}::${name ?? urn.split("::").pop()}`,
            types.length > 1 ? types[types.length - 2] : undefined,
        );
    }
    return out;
}

function registered(type: string, name: string): pulumi.runtime.MockResourceArgs {
    const hit = asked.find((a) => a.type === type && a.name === name);
    if (!hit)
        throw new Error(`no ${type} ${name} registered; have ${asked.map((a) => `${a.type} ${a.name}`).join(", ")}`);
    return hit;
}

describe("the components under Pulumi's documented mocks", () => {
    it("finish, with the resource graph in place and the issued fields undefined", async () => {
        const ca = new c.CertificateAuthority("ca", { commonName: "team root CA", intermediate: true });
        const cert = new c.ServiceCertificate("api", {
            issuer: ca,
            serviceName: "api",
            namespace: "team",
            trustDomain: "team.internal",
        });
        const material = new c.CertificateMaterial("api", { certificate: cert, namespace: "team" });
        const workload = new c.MtlsWorkload("api", {
            serviceName: "api",
            namespace: "team",
            image: "team/api:1",
            material,
            port: 8443,
        });
        const values = await within(
            "the component outputs",
            Promise.all([
                valueOf(ca.notAfter),
                valueOf(ca.rootNotAfter),
                valueOf(ca.trustBundlePem),
                valueOf(cert.notAfter),
                valueOf(cert.renewAt),
                valueOf(cert.daysLeft),
                valueOf(cert.fingerprintSha256),
                valueOf(cert.dnsNames),
                valueOf(cert.uris),
                valueOf(cert.commonName),
                valueOf(cert.chainPem),
                valueOf(workload.deploymentName),
            ]),
        );
        await allRegistrations();
        const [
            caEnd,
            rootEnd,
            bundle,
            end,
            renewAt,
            daysLeft,
            fingerprint,
            dnsNames,
            uris,
            commonName,
            chain,
            deployment,
        ] = values;
        expect([caEnd, rootEnd, end, renewAt, daysLeft, fingerprint]).toEqual([
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
        ]);
        expect([bundle, chain]).toEqual(["", ""]);
        // The request's SANs and subject, as the provider's outputs (here echoed inputs) hold them.
        expect(dnsNames).toEqual(["api", "api.team", "api.team.svc", "api.team.svc.cluster.local"]);
        expect(uris).toEqual(["spiffe://team.internal/ns/team/sa/api"]);
        expect(commonName).toBe("api");
        expect(deployment).toBe("api");

        const parents = parentTypes();
        const tree: [string, string, string][] = [
            ["tls:index/privateKey:PrivateKey", "ca-root-key", "mtls:index:CertificateAuthority"],
            ["tls:index/selfSignedCert:SelfSignedCert", "ca-root", "mtls:index:CertificateAuthority"],
            ["tls:index/locallySignedCert:LocallySignedCert", "ca-intermediate", "mtls:index:CertificateAuthority"],
            ["pulumi-nodejs:dynamic/mtls:RenewalClock", "api-renewal", "mtls:index:ServiceCertificate"],
            ["tls:index/certRequest:CertRequest", "api-csr", "mtls:index:ServiceCertificate"],
            ["tls:index/locallySignedCert:LocallySignedCert", "api-cert", "mtls:index:ServiceCertificate"],
            ["kubernetes:core/v1:ConfigMap", "api-certs", "mtls:index:CertificateMaterial"],
            ["kubernetes:core/v1:Secret", "api-key", "mtls:index:CertificateMaterial"],
            ["kubernetes:core/v1:ServiceAccount", "api-sa", "mtls:index:MtlsWorkload"],
            ["kubernetes:apps/v1:Deployment", "api-deployment", "mtls:index:MtlsWorkload"],
            ["kubernetes:core/v1:Service", "api-service", "mtls:index:MtlsWorkload"],
        ];
        for (const [type, name, parent] of tree)
            expect(parents.get(`${type}::${name}`), `${type} ${name}`).toBe(parent);

        expect(registered("tls:index/selfSignedCert:SelfSignedCert", "ca-root").inputs).toMatchObject({
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
        });
        expect(registered("tls:index/locallySignedCert:LocallySignedCert", "api-cert").inputs).toMatchObject({
            isCaCertificate: false,
            validityPeriodHours: 2160,
        });
        const csr = registered("tls:index/certRequest:CertRequest", "api-csr").inputs;
        expect(csr.subject).toEqual({ commonName: "api" });
        expect(csr.uris).toEqual(["spiffe://team.internal/ns/team/sa/api"]);
        const pod = registered("kubernetes:apps/v1:Deployment", "api-deployment").inputs.spec.template;
        expect(pod.spec.serviceAccountName).toBe("api");
        expect(pod.spec.volumes[0].name).toBe("mtls-api");
        expect(pod.spec.containers[0].volumeMounts).toEqual([
            { name: "mtls-api", mountPath: "/etc/mtls", readOnly: true },
        ]);
        // No certificate, so no fingerprint annotation to roll by: the keys are left out, not sent as garbage.
        expect(pod.metadata.annotations ?? {}).toEqual({});
    });

    it("read a PEM that is not a certificate as no certificate", async () => {
        const notACert = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        const issuer = { certPem: notACert, privateKeyPem: "key", chainPem: "", trustBundlePem: notACert };
        const cert = new c.ServiceCertificate("odd", {
            issuer,
            serviceName: "odd",
            namespace: "team",
            autoRenew: false,
        });
        const [end, fingerprint] = await within(
            "a certificate read from a broken PEM",
            Promise.all([valueOf(cert.notAfter), valueOf(cert.fingerprintSha256)]),
        );
        await allRegistrations();
        expect([end, fingerprint]).toEqual([undefined, undefined]);
        expect(readCertificate(notACert)).toBeUndefined();
        expect(readCertificate(undefined)).toBeUndefined();
    });

    it("take notAfter from the provider's validityEndTime when there is no readable certificate", async () => {
        expect(await within("issuedNotAfter", valueOf(issuedNotAfter("", "2031-05-01T10:00:00.123456789Z")))).toBe(
            "2031-05-01T10:00:00.123Z",
        );
    });

    it("with Istio objects too", async () => {
        const ca = new c.CertificateAuthority("mesh-ca", { commonName: "mesh root", intermediate: true });
        new c.IstioMesh("mesh", {
            namespace: "team",
            pluginCa: {
                signingCertPem: ca.certPem,
                signingKeyPem: ca.privateKeyPem,
                rootCertPem: ca.rootCertPem,
                trustBundlePem: ca.trustBundlePem,
            },
        });
        new c.IstioServerPolicy("api", {
            namespace: "team",
            serviceName: "api",
            podLabels: { app: "api" },
            port: 8443,
            allowedSpiffeIds: ["spiffe://t/ns/team/sa/web"],
        });
        await allRegistrations();
        expect(
            registered("kubernetes:security.istio.io/v1:AuthorizationPolicy", "api-authorization").inputs.spec.rules[0]
                .from[0].source.principals,
        ).toEqual(["t/ns/team/sa/web"]);
        expect(parentTypes().get("kubernetes:core/v1:Secret::mesh-cacerts")).toBe("mtls:index:IstioMesh");
    });
});

describe.each(SHIPPED_STACKS)("the program (%s stack) under Pulumi's documented mocks", (stack) => {
    it("finishes, with every service's objects registered", async () => {
        pulumi.runtime.setAllConfig(shippedStackConfig(stack), []);
        const outputs = program.main();
        const services = await within(
            `the ${stack} stack's outputs`,
            Promise.all(
                Object.entries(outputs.services).map(
                    async ([name, svc]) =>
                        [
                            name,
                            await valueOf(svc.notAfter),
                            await valueOf(svc.dnsNames),
                            await valueOf(svc.fingerprintSha256),
                        ] as const,
                ),
            ),
        );
        await within(`the ${stack} stack's CA outputs`, valueOf(outputs.caNotAfter));
        await allRegistrations();
        expect(services.map(([name]) => name)).toEqual(["user-service", "order-service", "payment-service"]);
        for (const [name, notAfter, dnsNames, fingerprint] of services) {
            expect(notAfter).toBeUndefined();
            expect(fingerprint).toBeUndefined();
            expect(dnsNames?.[0]).toBe(name);
            expect(
                registered("kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs.spec.template.spec
                    .serviceAccountName,
            ).toBe(name);
            // One component per service holds its certificate, material and workload.
            for (const child of [
                `tls:index/locallySignedCert:LocallySignedCert::${name}-cert`,
                `kubernetes:core/v1:Secret::${name}-key`,
                `kubernetes:apps/v1:Deployment::${name}-deployment`,
            ])
                expect(parentTypes().get(child), child).toBe("mtls:index:MtlsService");
        }
        expect(asked.filter((a) => a.type === "tls:index/selfSignedCert:SelfSignedCert").map((a) => a.name)).toEqual([
            "ca-root",
        ]);
        // The ledger keeps its own inputs; the stack output is the plain rotation state.
        expect(outputs.rotation).toEqual({ generation: 1, phase: "steady" });
    });
});

describe("the whole file", () => {
    it("saw no unhandled rejection", async () => {
        await allRegistrations();
        await new Promise((r) => setTimeout(r, 50));
        expect(rejections.map(String)).toEqual([]);
    });
});
