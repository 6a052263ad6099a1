import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    CertificateAuthority,
    CertificateIssuer,
    CertificateMaterial,
    IstioMesh,
    IstioServerPolicy,
    MtlsWorkload,
    RotationLedger,
    ServiceCertificate,
    daysUntil,
    joinPemCertificates,
    rotationPlan,
    workloadLabels,
} from "../components";
import { ingressSources } from "./access";
import { loadStackSpec } from "./config";
import type { StackSpec } from "./spec";

/** What a reviewer may read about each service's certificate. Never a key. */
export interface ServiceCertificateOutputs {
    commonName: pulumi.Output<string>;
    /** Common name of the CA that signed it. */
    issuer: string;
    /** Undefined, as the other fields read from the certificate, when the provider returned none (plain mocks). */
    notAfter: pulumi.Output<string | undefined>;
    renewAt: pulumi.Output<string | undefined>;
    daysLeft: pulumi.Output<number | undefined>;
    issueReason: pulumi.Output<string>;
    fingerprintSha256: pulumi.Output<string | undefined>;
    dnsNames: pulumi.Output<string[] | undefined>;
    uris: pulumi.Output<string[] | undefined>;
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
    /** The trust bundle: every CA certificate that services trust now. */
    caCertPem: pulumi.Output<string>;
    /** The certificate that signs leaves now (the intermediate when there is one). */
    caSigningCertPem: pulumi.Output<string>;
    /** Intermediates between the signing certificate and the root; empty without one. */
    caChainPem: pulumi.Output<string>;
    caSigningNotAfter: pulumi.Output<string | undefined>;
    /** Only with `mtls:ca.exportPrivateKey: true`, and always a secret. */
    caPrivateKeyPem?: pulumi.Output<string>;
    caNotAfter: pulumi.Output<string | undefined>;
    /** Per CA generation. */
    cas: Record<string, CaOutputs>;
    rotation: { generation: number; phase: string };
    namespace: string;
    renderDirectory?: string;
    services: Record<string, ServiceCertificateOutputs>;
}

/** The project root: relative paths in the stack config are resolved against it. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

function kubernetesProvider(spec: StackSpec, renderDirectory: string | undefined): k8s.Provider {
    if (spec.kubernetes.context !== undefined) {
        const kubeconfig = spec.kubernetes.kubeconfig === undefined ? {} : { kubeconfig: path.resolve(PROJECT_ROOT, spec.kubernetes.kubeconfig) };
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
    const renderDirectory = spec.kubernetes.renderDirectory === undefined
        ? undefined
        : path.resolve(PROJECT_ROOT, spec.kubernetes.renderDirectory);
    const provider = kubernetesProvider(spec, renderDirectory);
    const k8sOpts = { providers: [provider] };
    const namespace: pulumi.Input<string> = spec.kubernetes.createNamespace
        ? new k8s.core.v1.Namespace("namespace", {
            metadata: { name: spec.namespace, labels: podSecurityLabels(spec.kubernetes.podSecurity) },
        }, { provider }).metadata.name
        : spec.namespace;

    const rotation = { generation: spec.ca.generation, phase: spec.ca.rotation ?? ("steady" as const) };
    const plan = rotationPlan(rotation);
    // Every CA waits for the ledger, whose check refuses an unsafe rotation step at preview.
    const ledger = new RotationLedger("ca-rotation", rotation);
    const cas = new Map<number, CertificateAuthority>();
    for (const generation of plan.live) {
        cas.set(generation, new CertificateAuthority(caResourceName(generation), {
            commonName: caCommonName(spec.ca.commonName, generation),
            keyAlgorithm: spec.ca.keyAlgorithm,
            validityHours: spec.ca.validityHours,
            intermediate: spec.ca.intermediate,
            intermediateValidityHours: spec.ca.intermediateValidityHours,
        }, { dependsOn: [ledger] }));
    }
    const signing = cas.get(plan.signing) as CertificateAuthority;
    const trustBundlePem = pulumi
        .all(plan.trusted.map((g) => (cas.get(g) as CertificateAuthority).rootCertPem))
        .apply(joinPemCertificates);
    const issuer: CertificateIssuer = {
        certPem: signing.certPem,
        privateKeyPem: signing.privateKeyPem,
        chainPem: signing.chainPem,
        trustBundlePem,
        notAfter: signing.notAfter,
    };

    if (spec.mesh) {
        new IstioMesh("mesh", {
            namespace,
            ...(spec.mesh.pluginCa ? {
                pluginCa: {
                    signingCertPem: signing.certPem,
                    signingKeyPem: signing.privateKeyPem,
                    rootCertPem: signing.rootCertPem,
                    trustBundlePem,
                    namespace: spec.mesh.caNamespace,
                },
            } : {}),
        }, k8sOpts);
    }

    const services: Record<string, ServiceCertificateOutputs> = {};
    for (const svc of spec.services) {
        const labels = workloadLabels(svc.name);
        const serves = svc.usage !== "client" && svc.port !== undefined;
        const certificate = new ServiceCertificate(svc.name, {
            issuer,
            serviceName: svc.name,
            namespace: spec.namespace,
            trustDomain: spec.trustDomain,
            clusterDomain: spec.clusterDomain,
            dnsNames: svc.dnsNames,
            ipAddresses: svc.ipAddresses,
            usage: svc.usage,
            keyAlgorithm: svc.keyAlgorithm,
            validityHours: svc.validityHours,
            renewBeforeHours: svc.renewBeforeHours,
        });
        const material = new CertificateMaterial(svc.name, { certificate, namespace, labels, rollout: svc.rollout }, k8sOpts);
        new MtlsWorkload(svc.name, {
            serviceName: svc.name,
            namespace,
            image: svc.image,
            material,
            usage: svc.usage,
            port: svc.port,
            delivery: svc.delivery,
            mountPath: svc.mountPath,
            allowFrom: svc.callers.map((caller) => caller.commonName),
            allowFromSpiffeIds: svc.callers.flatMap((caller) => (caller.spiffeId === undefined ? [] : [caller.spiffeId])),
            ...(serves && spec.kubernetes.networkPolicy ? { ingressFrom: ingressSources(svc.callers, spec.namespace) } : {}),
            replicas: svc.replicas,
            labels,
            runAs: svc.runAs,
            skipAwait: spec.kubernetes.skipAwait,
        }, k8sOpts);
        if (serves && spec.mesh) {
            new IstioServerPolicy(svc.name, {
                namespace,
                serviceName: svc.name,
                podLabels: labels,
                port: svc.port as number,
                allowedSpiffeIds: svc.callers.map((caller) => caller.spiffeId as string),
            }, k8sOpts);
        }
        services[svc.name] = {
            commonName: certificate.commonName,
            issuer: caCommonName(spec.ca.commonName, plan.signing),
            notAfter: certificate.notAfter,
            renewAt: certificate.renewAt,
            daysLeft: certificate.daysLeft,
            issueReason: certificate.issueReason,
            fingerprintSha256: certificate.fingerprintSha256,
            dnsNames: certificate.dnsNames,
            uris: certificate.uris,
        };
    }

    const longestLeafHours = Math.max(...spec.services.map((svc) => svc.validityHours));
    const caOutputs: Record<string, CaOutputs> = {};
    for (const [generation, ca] of cas) {
        caOutputs[`generation-${generation}`] = {
            commonName: caCommonName(spec.ca.commonName, generation),
            role: generation === plan.signing ? "signing" : "trusted",
            notAfter: ca.notAfter,
            renewAt: ca.notAfter.apply((end) =>
                (end === undefined ? undefined : new Date(Date.parse(end) - 2 * longestLeafHours * 3_600_000).toISOString())),
            daysLeft: ca.notAfter.apply((end) => (end === undefined ? undefined : daysUntil(end))),
        };
    }

    return {
        caCertPem: trustBundlePem,
        caSigningCertPem: signing.certPem,
        caChainPem: signing.chainPem,
        caSigningNotAfter: signing.notAfter,
        ...(spec.ca.exportPrivateKey ? { caPrivateKeyPem: pulumi.secret(signing.privateKeyPem) } : {}),
        caNotAfter: signing.rootNotAfter,
        cas: caOutputs,
        rotation,
        namespace: spec.namespace,
        renderDirectory,
        services,
    };
}

/** Labels that make the namespace enforce (and warn and audit at) a Pod Security level. */
export function podSecurityLabels(level: string): Record<string, string> {
    return Object.fromEntries(["enforce", "warn", "audit"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]));
}

/** Resource name of a CA generation; generation 1 keeps the plain name so existing stacks never move. */
export function caResourceName(generation: number): string {
    return generation === 1 ? "ca" : `ca-g${generation}`;
}

/** Common name of a CA generation: the configured name, suffixed from generation 2 on. */
export function caCommonName(base: string, generation: number): string {
    return generation === 1 ? base : `${base} G${generation}`;
}

/** The program's entry: read and check the config, then build the stack. */
export function main(): StackOutputs {
    return deployStack(loadStackSpec());
}
