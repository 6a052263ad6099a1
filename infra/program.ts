import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    CertificateAuthority,
    CertificateMaterial,
    MtlsWorkload,
    ServiceCertificate,
    spiffeId,
} from "../components";
import { loadStackSpec } from "./config";
import type { StackSpec } from "./spec";

/** What a reviewer may read about each service's certificate. Never a key. */
export interface ServiceCertificateOutputs {
    commonName: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
    renewAt: pulumi.Output<string>;
    fingerprintSha256: pulumi.Output<string>;
    dnsNames: pulumi.Output<string[]>;
    uris: pulumi.Output<string[]>;
}

export interface StackOutputs {
    caCertPem: pulumi.Output<string>;
    caNotAfter: pulumi.Output<string>;
    namespace: string;
    renderDirectory?: string;
    services: Record<string, ServiceCertificateOutputs>;
}

/** The project root: relative paths in the stack config are resolved against it. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

function kubernetesProvider(spec: StackSpec, renderDirectory: string | undefined): k8s.Provider {
    if (spec.kubernetes.context !== undefined) {
        return new k8s.Provider("kubernetes", { context: spec.kubernetes.context });
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
        ? new k8s.core.v1.Namespace("namespace", { metadata: { name: spec.namespace } }, { provider }).metadata.name
        : spec.namespace;

    const ca = new CertificateAuthority("ca", {
        commonName: spec.ca.commonName,
        keyAlgorithm: spec.ca.keyAlgorithm,
        validityHours: spec.ca.validityHours,
        intermediate: spec.ca.intermediate,
        intermediateValidityHours: spec.ca.intermediateValidityHours,
    });

    const services: Record<string, ServiceCertificateOutputs> = {};
    for (const svc of spec.services) {
        const labels = { "app.kubernetes.io/name": svc.name, "app.kubernetes.io/part-of": "mtls" };
        const certificate = new ServiceCertificate(svc.name, {
            issuer: ca,
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
        const material = new CertificateMaterial(svc.name, { certificate, namespace, labels }, k8sOpts);
        new MtlsWorkload(svc.name, {
            serviceName: svc.name,
            namespace,
            image: svc.image,
            material,
            usage: svc.usage,
            port: svc.port,
            delivery: svc.delivery,
            mountPath: svc.mountPath,
            allowFrom: svc.allowFrom,
            allowFromSpiffeIds: spec.trustDomain === undefined
                ? []
                : svc.allowFrom.map((caller) => spiffeId(spec.trustDomain as string, spec.namespace, caller)),
            replicas: svc.replicas,
            labels,
        }, k8sOpts);
        services[svc.name] = {
            commonName: certificate.commonName,
            notAfter: certificate.notAfter,
            renewAt: certificate.renewAt,
            fingerprintSha256: certificate.fingerprintSha256,
            dnsNames: certificate.dnsNames,
            uris: certificate.uris,
        };
    }

    return {
        caCertPem: ca.trustBundlePem,
        caNotAfter: ca.rootNotAfter,
        namespace: spec.namespace,
        renderDirectory,
        services,
    };
}

/** The program's entry: read and check the config, then build the stack. */
export function main(): StackOutputs {
    return deployStack(loadStackSpec());
}
