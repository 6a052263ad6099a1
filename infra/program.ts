import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    CertManagerCertificate,
    CertManagerIssuer,
    IstioMesh,
    IstioServerPolicy,
    MtlsService,
    MtlsWorkload,
    RenewalSchedule,
    RotatingCertificateAuthority,
    WorkloadMaterial,
    workloadLabels,
} from "../components";
import { daysUntil } from "../components/renewalClock";
import { generationCommonName } from "../components/rotatingCertificateAuthority";
import { ingressSources } from "./access";
import { loadStackSpec } from "./config";
import type { StackSpec } from "./spec";

/** What a reviewer may read about each service's certificate. Never a key. */
export interface ServiceCertificateOutputs {
    /** Who issues it: `pulumi` at `pulumi up`, or `cert-manager` in the cluster. */
    issuance: string;
    commonName: pulumi.Output<string>;
    /** Common name of the CA that signed it. */
    issuer: string;
    /** Pulumi-issued only: cert-manager's certificates are issued after `pulumi up`, in the cluster. */
    /** Undefined, as the other fields read from the certificate, when the provider returned none (plain mocks). */
    notAfter?: pulumi.Output<string | undefined>;
    renewAt?: pulumi.Output<string | undefined>;
    daysLeft?: pulumi.Output<number | undefined>;
    /** Why it was last issued; for cert-manager, who renews it and when. */
    issueReason: pulumi.Output<string>;
    fingerprintSha256?: pulumi.Output<string | undefined>;
    dnsNames: pulumi.Output<string[] | undefined>;
    uris: pulumi.Output<string[] | undefined>;
    /** cert-manager only: the Certificate (`<namespace>/<name>`) and its Secret. */
    certificate?: pulumi.Output<string>;
    secretName?: pulumi.Output<string>;
    /** cert-manager only: the hours before its end at which cert-manager renews it. */
    renewBeforeHours?: number;
}

/** What the stack outputs say about a certificate cert-manager renews: nothing Pulumi cannot know. */
export function inClusterRenewal(renewBeforeHours: number): string {
    return `issued in cluster: renews ${renewBeforeHours} h before its end`;
}

export interface CaOutputs {
    commonName: string;
    /** `signing`, `trusted` (rotating in or out) */
    role: "signing" | "trusted";
    notAfter: pulumi.Output<string | undefined>;
    /** When to start rotating: two longest leaf lifetimes before the CA ends. */
    renewAt: pulumi.Output<string | undefined>;
    daysLeft: pulumi.Output<number | undefined>;
}

export interface StackOutputs {
    /** The trust bundle: every CA root that services trust now (two during a rotation). */
    trustBundlePem: pulumi.Output<string>;
    /** The certificate that signs leaves now (the intermediate when there is one). */
    signingCertPem: pulumi.Output<string>;
    /** Intermediates between the signing certificate and its root; empty without one. */
    signingChainPem: pulumi.Output<string>;
    /** End of validity of the signing certificate. */
    signingNotAfter: pulumi.Output<string | undefined>;
    /** Only with `mtls:ca.exportPrivateKey: true`, and always a secret. */
    signingPrivateKeyPem?: pulumi.Output<string>;
    /** End of validity of the signing generation's root. */
    rootNotAfter: pulumi.Output<string | undefined>;
    /** Per CA generation. */
    cas: Record<string, CaOutputs>;
    rotation: { generation: number; phase: string };
    namespace: string;
    renderDirectory?: string;
    services: Record<string, ServiceCertificateOutputs>;
    /** @deprecated 0.1 name of `trustBundlePem`, kept for stacks that read it; removed in 0.3. */
    caCertPem: pulumi.Output<string>;
    /** @deprecated 0.1 name of `signingCertPem`; removed in 0.3. */
    caSigningCertPem: pulumi.Output<string>;
    /** @deprecated 0.1 name of `signingChainPem`; removed in 0.3. */
    caChainPem: pulumi.Output<string>;
    /** @deprecated 0.1 name of `signingNotAfter`; removed in 0.3. */
    caSigningNotAfter: pulumi.Output<string | undefined>;
    /** @deprecated 0.1 name of `signingPrivateKeyPem`; removed in 0.3. */
    caPrivateKeyPem?: pulumi.Output<string>;
    /** @deprecated 0.1 name of `rootNotAfter`; removed in 0.3. */
    caNotAfter: pulumi.Output<string | undefined>;
}

/** The project root: relative paths in the stack config are resolved against it. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

function kubernetesProvider(spec: StackSpec, renderDirectory: string | undefined): k8s.Provider {
    if (spec.kubernetes.context !== undefined) {
        const kubeconfig =
            spec.kubernetes.kubeconfig === undefined
                ? {}
                : { kubeconfig: path.resolve(PROJECT_ROOT, spec.kubernetes.kubeconfig) };
        return new k8s.Provider("kubernetes", { context: spec.kubernetes.context, ...kubeconfig });
    }
    const dir = renderDirectory as string;
    if (!pulumi.runtime.isDryRun()) {
        // Rendered Secrets hold private keys in plain text: only the owner may read the directory.
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.chmodSync(dir, 0o700);
    }
    return new k8s.Provider("kubernetes", { renderYamlToDirectory: dir });
}

/** Composes the CA, each service's certificate, its Kubernetes material and its workload. */
export function deployStack(spec: StackSpec): StackOutputs {
    const renderDirectory =
        spec.kubernetes.renderDirectory === undefined
            ? undefined
            : path.resolve(PROJECT_ROOT, spec.kubernetes.renderDirectory);
    const provider = kubernetesProvider(spec, renderDirectory);
    const k8sOpts = { providers: [provider] };
    const namespace: pulumi.Input<string> = spec.kubernetes.createNamespace
        ? new k8s.core.v1.Namespace(
              "namespace",
              {
                  metadata: { name: spec.namespace, labels: podSecurityLabels(spec.kubernetes.podSecurity) },
              },
              { provider },
          ).metadata.name
        : spec.namespace;

    const ca = new RotatingCertificateAuthority("ca", {
        commonName: spec.ca.commonName,
        keyAlgorithm: spec.ca.keyAlgorithm,
        validityHours: spec.ca.validityHours,
        intermediate: spec.ca.intermediate,
        intermediateValidityHours: spec.ca.intermediateValidityHours,
        generation: spec.ca.generation,
        rotation: spec.ca.rotation,
    });

    if (spec.mesh) {
        new IstioMesh(
            "mesh",
            {
                namespace,
                ...(spec.mesh.pluginCa
                    ? {
                          pluginCa: {
                              signingCertPem: ca.certPem,
                              signingKeyPem: ca.privateKeyPem,
                              rootCertPem: ca.rootCertPem,
                              trustBundlePem: ca.trustBundlePem,
                              namespace: spec.mesh.caNamespace,
                          },
                      }
                    : {}),
            },
            k8sOpts,
        );
    }

    // One Issuer (per signing CA) and one trust Bundle, when any service is issued by cert-manager.
    const certManager = spec.services.some((svc) => svc.issuance === "cert-manager")
        ? new CertManagerIssuer(
              "cert-manager",
              {
                  ca: {
                      certPem: ca.certPem,
                      chainPem: ca.chainPem,
                      rootCertPem: ca.rootCertPem,
                      privateKeyPem: ca.privateKeyPem,
                  },
                  trustBundlePem: ca.trustBundlePem,
                  namespace,
                  kind: spec.issuance.issuerKind,
                  clusterResourceNamespace: spec.issuance.clusterResourceNamespace,
                  labels: { "app.kubernetes.io/part-of": "mtls" },
              },
              k8sOpts,
          )
        : undefined;

    // One renewal schedule for every certificate Pulumi issues (unless the stack keeps a clock per certificate).
    const pulumiServices = spec.services.filter((svc) => svc.issuance !== "cert-manager");
    const renewal =
        spec.renewalClock === "stack" && pulumiServices.length > 0
            ? new RenewalSchedule("renewal", {
                  issuerNotAfter: ca.notAfter,
                  certificates: Object.fromEntries(
                      pulumiServices.map((svc) => [
                          svc.name,
                          { validityHours: svc.validityHours, renewBeforeHours: svc.renewBeforeHours },
                      ]),
                  ),
              })
            : undefined;

    const services: Record<string, ServiceCertificateOutputs> = {};
    for (const svc of spec.services) {
        const labels = workloadLabels(svc.name);
        const serves = svc.usage !== "client" && svc.port !== undefined;
        if (svc.issuance === "cert-manager") {
            const issued = new CertManagerCertificate(
                svc.name,
                {
                    issuer: certManager as CertManagerIssuer,
                    serviceName: svc.name,
                    namespace,
                    trustDomain: spec.trustDomain,
                    clusterDomain: spec.clusterDomain,
                    dnsNames: svc.dnsNames,
                    ipAddresses: svc.ipAddresses,
                    usage: svc.usage,
                    keyAlgorithm: svc.keyAlgorithm,
                    validityHours: svc.validityHours,
                    renewBeforeHours: svc.renewBeforeHours,
                    labels,
                },
                k8sOpts,
            );
            services[svc.name] = {
                issuance: svc.issuance,
                commonName: issued.commonName,
                issuer: generationCommonName(spec.ca.commonName, ca.signingGeneration),
                issueReason: pulumi.output(inClusterRenewal(svc.renewBeforeHours)),
                dnsNames: issued.dnsNames,
                uris: issued.uris,
                certificate: pulumi.interpolate`${spec.namespace}/${svc.name}`,
                secretName: issued.secretName,
                renewBeforeHours: svc.renewBeforeHours,
            };
            workload(svc, issued, labels, serves);
        } else {
            pulumiIssued(svc, labels, serves);
        }
    }

    /** One MtlsService: the key and certificate, their objects and the workload under one component. */
    function pulumiIssued(svc: StackSpec["services"][number], labels: Record<string, string>, serves: boolean): void {
        const service = new MtlsService(
            svc.name,
            {
                serviceName: svc.name,
                namespace,
                usage: svc.usage,
                certificate: {
                    issuer: ca,
                    // The plain name: the DNS names and the SPIFFE ID are known at preview.
                    namespace: spec.namespace,
                    trustDomain: spec.trustDomain,
                    clusterDomain: spec.clusterDomain,
                    dnsNames: svc.dnsNames,
                    ipAddresses: svc.ipAddresses,
                    keyAlgorithm: svc.keyAlgorithm,
                    validityHours: svc.validityHours,
                    renewBeforeHours: svc.renewBeforeHours,
                    renewal,
                },
                material: {
                    labels,
                    rollout: svc.rollout,
                    keystores: svc.keystores,
                    // The stack-wide version reaches only the services that have stores: the material refuses it otherwise.
                    keystorePasswordVersion: svc.keystores.length > 0 ? svc.keystorePasswordVersion : undefined,
                },
                workload: workloadArgs(svc, labels, serves),
            },
            k8sOpts,
        );
        const certificate = service.certificate;
        services[svc.name] = {
            issuance: svc.issuance,
            commonName: certificate.commonName,
            issuer: generationCommonName(spec.ca.commonName, ca.signingGeneration),
            notAfter: certificate.notAfter,
            renewAt: certificate.renewAt,
            daysLeft: certificate.daysLeft,
            issueReason: certificate.issueReason,
            fingerprintSha256: certificate.fingerprintSha256,
            dnsNames: certificate.dnsNames,
            uris: certificate.uris,
        };
        meshPolicy(svc, labels, serves);
    }

    /** What a service's workload gets from the stack, whoever issues its material. */
    function workloadArgs(svc: StackSpec["services"][number], labels: Record<string, string>, serves: boolean) {
        return {
            image: svc.image,
            port: svc.port,
            delivery: svc.delivery,
            mountPath: svc.mountPath,
            allowFrom: svc.callers.map((caller) => caller.commonName),
            allowFromSpiffeIds: svc.callers.flatMap((caller) =>
                caller.spiffeId === undefined ? [] : [caller.spiffeId],
            ),
            ...(serves && spec.kubernetes.networkPolicy
                ? { ingressFrom: ingressSources(svc.callers, spec.namespace) }
                : {}),
            replicas: svc.replicas,
            labels,
            runAs: svc.runAs,
            skipAwait: spec.kubernetes.skipAwait,
        };
    }

    /** A cert-manager-issued service's workload: its material is the CertManagerCertificate. */
    function workload(
        svc: StackSpec["services"][number],
        material: WorkloadMaterial,
        labels: Record<string, string>,
        serves: boolean,
    ): void {
        new MtlsWorkload(
            svc.name,
            { serviceName: svc.name, namespace, usage: svc.usage, material, ...workloadArgs(svc, labels, serves) },
            k8sOpts,
        );
        meshPolicy(svc, labels, serves);
    }

    function meshPolicy(svc: StackSpec["services"][number], labels: Record<string, string>, serves: boolean): void {
        if (serves && spec.mesh) {
            new IstioServerPolicy(
                svc.name,
                {
                    namespace,
                    serviceName: svc.name,
                    podLabels: labels,
                    port: svc.port as number,
                    allowedSpiffeIds: svc.callers.map((caller) => caller.spiffeId as string),
                },
                k8sOpts,
            );
        }
    }

    const longestLeafHours = Math.max(...spec.services.map((svc) => svc.validityHours));
    const caOutputs: Record<string, CaOutputs> = {};
    for (const { generation, role, authority } of ca.generations) {
        caOutputs[`generation-${generation}`] = {
            commonName: generationCommonName(spec.ca.commonName, generation),
            role,
            notAfter: authority.notAfter,
            renewAt: authority.notAfter.apply((end) =>
                end === undefined
                    ? undefined
                    : new Date(Date.parse(end) - 2 * longestLeafHours * 3_600_000).toISOString(),
            ),
            daysLeft: authority.notAfter.apply((end) => (end === undefined ? undefined : daysUntil(end))),
        };
    }

    const privateKey = spec.ca.exportPrivateKey ? pulumi.secret(ca.privateKeyPem) : undefined;
    return {
        trustBundlePem: ca.trustBundlePem,
        signingCertPem: ca.certPem,
        signingChainPem: ca.chainPem,
        signingNotAfter: ca.notAfter,
        ...(privateKey ? { signingPrivateKeyPem: privateKey } : {}),
        rootNotAfter: ca.rootNotAfter,
        cas: caOutputs,
        rotation: ca.rotation,
        namespace: spec.namespace,
        renderDirectory,
        services,
        caCertPem: ca.trustBundlePem,
        caSigningCertPem: ca.certPem,
        caChainPem: ca.chainPem,
        caSigningNotAfter: ca.notAfter,
        ...(privateKey ? { caPrivateKeyPem: privateKey } : {}),
        caNotAfter: ca.rootNotAfter,
    };
}

/** Labels that make the namespace enforce (and warn and audit at) a Pod Security level. */
export function podSecurityLabels(level: string): Record<string, string> {
    return Object.fromEntries(
        ["enforce", "warn", "audit"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]),
    );
}

/** The program's entry: read and check the config, then build the stack. */
export function main(): StackOutputs {
    return deployStack(loadStackSpec());
}
