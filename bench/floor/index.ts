// The floor of the engine-cost benchmark (`npm run bench -- --only cost`): the same tls and
// Kubernetes resources the project declares for the benchmark's N services, written bare:
// no component, no dynamic resource, no check, no renewal clock, no rotation ledger. What the
// project costs above this program is what its components and its safety cost.
//
// Config (the benchmark writes it): floor:services (N), floor:namespace, floor:trustDomain,
// floor:renderDirectory, and floor:layers: with 3, each service's resources sit in three empty
// components (certificate, material, workload), as the project's do, which measures what the
// component layers alone cost; with 1, all of a service's resources sit in one empty component,
// which measures what one component per service would cost. 0 (the default): none.
// floor:guards: true (with floor:layers 1) adds the two dynamic resources the project's safety
// rests on, written as small as they can be: a rotation ledger the CA waits for, and one renewal
// schedule whose entry is each service certificate's replacement trigger. What that kind costs
// above the floor is what renewal at preview and rotation safety cost at least on this engine.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "node:crypto";
import * as fs from "node:fs";

const config = new pulumi.Config("floor");
const n = config.requireNumber("services");
const ns = config.require("namespace");
const trustDomain = config.require("trustDomain");
const renderDirectory = config.require("renderDirectory");
const layersText = config.get("layers") ?? "0";
const layers = layersText === "true" ? 3 : layersText === "false" ? 0 : Number(layersText);
if (![0, 1, 3].includes(layers)) throw new Error(`floor:layers is 0, 1 or 3, not ${layersText}`);
const guards = config.getBoolean("guards") ?? false;
if (guards && layers !== 1) throw new Error("floor:guards needs floor:layers 1, the project's layout");
if (!pulumi.runtime.isDryRun()) fs.mkdirSync(renderDirectory, { recursive: true, mode: 0o700 });

const provider = new k8s.Provider("kubernetes", { renderYamlToDirectory: renderDirectory });
const opts = { provider };

/** An empty component, registered as the project's are. */
class Layer extends pulumi.ComponentResource {
    constructor(type: string, name: string) {
        super(`floor:index:${type}`, name, {});
        this.registerOutputs({});
    }
}

/** One of three layers when the floor measures three, else none. */
function layer(type: string, name: string): pulumi.ComponentResource | undefined {
    return layers === 3 ? new Layer(type, name) : undefined;
}
const name = (i: number) => `svc-${String(i).padStart(4, "0")}`;
const labelsOf = (svc: string) => ({ "app.kubernetes.io/name": svc, "app.kubernetes.io/part-of": "mtls" });
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const level = "restricted";

const namespace = new k8s.core.v1.Namespace(
    "namespace",
    {
        metadata: {
            name: ns,
            labels: Object.fromEntries(
                ["enforce", "warn", "audit"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]),
            ),
        },
    },
    opts,
);

// The least a rotation ledger can be: it records the phase, and the CA waits for its check.
const ledgerProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: any, news: any) {
        return { inputs: news };
    },
    async diff(_id: string, olds: any, news: any) {
        return { changes: olds.phase !== news.phase };
    },
    async create(inputs: any) {
        return { id: "ledger", outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};
// The least a renewal schedule can be: each entry keeps the time it was first seen.
const scheduleProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        const certificates: Record<string, unknown> = {};
        for (const [key, entry] of Object.entries(news.certificates ?? {}))
            certificates[key] = {
                ...(entry as object),
                issuedAt: olds?.certificates?.[key]?.issuedAt ?? new Date().toISOString(),
            };
        return { inputs: { ...news, certificates } };
    },
    async diff(_id: string, olds: any, news: any) {
        const keys = new Set([...Object.keys(olds.certificates ?? {}), ...Object.keys(news.certificates ?? {})]);
        for (const key of keys)
            if (olds.certificates?.[key]?.issuedAt !== news.certificates?.[key]?.issuedAt) return { changes: true };
        return { changes: false };
    },
    async create(inputs: any) {
        return { id: "schedule", outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};
const ledger = guards
    ? new pulumi.dynamic.Resource(
          ledgerProvider,
          "ca-rotation",
          { generation: 1, phase: "steady" },
          {},
          "floor",
          "Ledger",
      )
    : undefined;

const caKey = new tls.PrivateKey(
    "ca-key",
    { algorithm: "ECDSA", ecdsaCurve: "P256" },
    { dependsOn: ledger ? [ledger] : [] },
);
const caCert = new tls.SelfSignedCert(
    "ca-cert",
    {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: "bench root CA" },
        isCaCertificate: true,
        setSubjectKeyId: true,
        validityPeriodHours: 43800,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    },
    { dependsOn: ledger ? [ledger] : [] },
);
const schedule = guards
    ? new pulumi.dynamic.Resource(
          scheduleProvider,
          "renewal",
          {
              issuerNotAfter: caCert.validityEndTime,
              certificates: Object.fromEntries(
                  Array.from({ length: n }, (_, i) => [name(i + 1), { validityHours: 2160, renewBeforeHours: 720 }]),
              ),
          },
          {},
          "floor",
          "Schedule",
      )
    : undefined;
/** A service certificate's replacement trigger: its schedule entry's issue time. */
const trigger = (svc: string): pulumi.CustomResourceOptions =>
    schedule
        ? {
              replacementTrigger: (schedule as unknown as { certificates: pulumi.Output<any> }).certificates.apply(
                  (all) => all?.[svc]?.issuedAt,
              ),
          }
        : {};

for (let i = 1; i <= n; i++) {
    const svc = name(i);
    const labels = labelsOf(svc);
    const one = layers === 1 ? new Layer("Service", svc) : undefined;
    const certificate = { parent: one ?? layer("Certificate", svc), ...trigger(svc) };
    const material = { ...opts, parent: one ?? layer("Material", svc) };
    const workload = { ...opts, parent: one ?? layer("Workload", svc) };
    const key = new tls.PrivateKey(`${svc}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, certificate);
    const csr = new tls.CertRequest(
        `${svc}-csr`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: svc },
            dnsNames: [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`],
            uris: [`spiffe://${trustDomain}/ns/${ns}/sa/${svc}`],
            ipAddresses: [],
        },
        certificate,
    );
    const cert = new tls.LocallySignedCert(
        `${svc}-cert`,
        {
            certRequestPem: csr.certRequestPem,
            caCertPem: caCert.certPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            isCaCertificate: false,
            setSubjectKeyId: true,
            allowedUses: ["digital_signature", "server_auth", "client_auth"],
            validityPeriodHours: 2160,
            earlyRenewalHours: 720,
        },
        certificate,
    );
    const configMap = new k8s.core.v1.ConfigMap(
        `${svc}-certs`,
        {
            metadata: { namespace: namespace.metadata.name, labels },
            data: { "ca.crt": caCert.certPem, "tls.crt": cert.certPem },
        },
        material,
    );
    const secret = new k8s.core.v1.Secret(
        `${svc}-key`,
        {
            metadata: { namespace: namespace.metadata.name, labels },
            type: "Opaque",
            stringData: { "tls.key": key.privateKeyPem },
        },
        material,
    );
    const metadata = { name: svc, namespace: namespace.metadata.name, labels };
    const account = new k8s.core.v1.ServiceAccount(`${svc}-sa`, { metadata }, workload);
    const mount = "/etc/mtls";
    const caller = i > 1 ? name(i - 1) : undefined;
    new k8s.apps.v1.Deployment(
        `${svc}-deployment`,
        {
            metadata,
            spec: {
                replicas: 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: {
                        labels,
                        annotations: {
                            "mtls.pulumi.com/cert-sha256": cert.certPem.apply(sha256),
                            "mtls.pulumi.com/ca-bundle-sha256": caCert.certPem.apply(sha256),
                        },
                    },
                    spec: {
                        automountServiceAccountToken: false,
                        securityContext: {
                            runAsNonRoot: true,
                            runAsUser: 65532,
                            runAsGroup: 65532,
                            fsGroup: 65532,
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        serviceAccountName: account.metadata.name,
                        containers: [
                            {
                                name: "app",
                                image: `example/${svc}:1.0`,
                                securityContext: {
                                    allowPrivilegeEscalation: false,
                                    capabilities: { drop: ["ALL"] },
                                    readOnlyRootFilesystem: true,
                                    runAsNonRoot: true,
                                },
                                env: [
                                    { name: "MTLS_SERVICE_NAME", value: svc },
                                    { name: "MTLS_ALLOWED_CLIENTS", value: caller ?? "" },
                                    {
                                        name: "MTLS_ALLOWED_SPIFFE_IDS",
                                        value: caller ? `spiffe://${trustDomain}/ns/${ns}/sa/${caller}` : "",
                                    },
                                    { name: "MTLS_PORT", value: "8443" },
                                    { name: "MTLS_CERT_FILE", value: `${mount}/tls.crt` },
                                    { name: "MTLS_KEY_FILE", value: `${mount}/tls.key` },
                                    { name: "MTLS_CA_FILE", value: `${mount}/ca.crt` },
                                ],
                                ports: [{ name: "mtls", containerPort: 8443, protocol: "TCP" }],
                                volumeMounts: [{ name: `mtls-${svc}`, mountPath: mount, readOnly: true }],
                            },
                        ],
                        volumes: [
                            {
                                name: `mtls-${svc}`,
                                projected: {
                                    defaultMode: 0o444,
                                    sources: [
                                        {
                                            configMap: {
                                                name: configMap.metadata.name,
                                                items: ["ca.crt", "tls.crt"].map((f) => ({
                                                    key: f,
                                                    path: f,
                                                    mode: 0o444,
                                                })),
                                            },
                                        },
                                        {
                                            secret: {
                                                name: secret.metadata.name,
                                                items: [{ key: "tls.key", path: "tls.key", mode: 0o400 }],
                                            },
                                        },
                                    ],
                                },
                            },
                        ],
                    },
                },
            },
        },
        workload,
    );
    new k8s.core.v1.Service(
        `${svc}-service`,
        {
            metadata,
            spec: { selector: labels, ports: [{ name: "mtls", port: 8443, targetPort: "mtls", protocol: "TCP" }] },
        },
        workload,
    );
    new k8s.networking.v1.NetworkPolicy(
        `${svc}-ingress`,
        {
            metadata: { name: `${svc}-mtls`, namespace: namespace.metadata.name, labels },
            spec: {
                podSelector: { matchLabels: labels },
                policyTypes: ["Ingress"],
                ingress: caller
                    ? [
                          {
                              from: [{ podSelector: { matchLabels: labelsOf(caller) } }],
                              ports: [{ protocol: "TCP", port: 8443 }],
                          },
                      ]
                    : [],
            },
        },
        workload,
    );
}

export const caCertPem = caCert.certPem;
