/**
 * The cert-manager (cert-manager.io/v1) and trust-manager (trust.cert-manager.io/v1alpha1)
 * objects this project emits, as plain values. Pure: no Pulumi, no Node modules, so the
 * mapping from our certificate settings to cert-manager's fields is tested with plain values.
 */
import {
    CertManagerIssuerKind,
    CertManagerPrivateKey,
    KeyAlgorithm,
    Usage,
    certManagerPrivateKey,
    certManagerUsages,
    goDurationHours,
} from "./rules";

export const CERT_MANAGER_API_VERSION = "cert-manager.io/v1";
export const CERT_MANAGER_GROUP = "cert-manager.io";
export const TRUST_MANAGER_API_VERSION = "trust.cert-manager.io/v1alpha1";

/** The files cert-manager writes into a Certificate's Secret (type `kubernetes.io/tls`). */
export const CERT_MANAGER_SECRET_KEYS = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/** The namespace cert-manager's own install uses for a ClusterIssuer's Secrets (its cluster resource namespace). */
export const DEFAULT_CLUSTER_RESOURCE_NAMESPACE = "cert-manager";

/** The label Kubernetes puts on every namespace with its own name: how a Bundle targets one namespace. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** A Certificate's `spec.issuerRef`. */
export interface IssuerRef {
    name: string;
    kind: CertManagerIssuerKind;
    group: typeof CERT_MANAGER_GROUP;
}

/** The fields of a cert-manager Certificate's spec that this project sets. */
export interface CertificateSpec {
    secretName: string;
    secretTemplate?: { labels?: Record<string, string> };
    commonName: string;
    dnsNames: string[];
    uris?: string[];
    ipAddresses?: string[];
    usages: string[];
    duration: string;
    renewBefore: string;
    isCA: false;
    privateKey: CertManagerPrivateKey & { rotationPolicy: "Always"; encoding: "PKCS1" };
    issuerRef: IssuerRef;
}

/** What a service's certificate is, in our terms: the same values the Pulumi path issues from. */
export interface CertificateValues {
    secretName: string;
    commonName: string;
    dnsNames: string[];
    uris: string[];
    ipAddresses: string[];
    usage: Usage;
    keyAlgorithm: KeyAlgorithm;
    validityHours: number;
    renewBeforeHours: number;
    issuerRef: IssuerRef;
    labels?: Record<string, string>;
}

/**
 * The Certificate spec for these values. A new key at every issue (`rotationPolicy: Always`),
 * as the Pulumi path makes one per renewal; PKCS#1/SEC1 encoding, the PEM the tls provider writes.
 * Throws for an algorithm cert-manager has no mapping for: callers check `certManagerCertificateProblems` first.
 */
export function certificateSpec(v: CertificateValues): CertificateSpec {
    const key = certManagerPrivateKey(v.keyAlgorithm);
    if (key === undefined) throw new Error(`certificateSpec: cert-manager issues no ${v.keyAlgorithm} keys`);
    return {
        secretName: v.secretName,
        ...(v.labels && Object.keys(v.labels).length > 0 ? { secretTemplate: { labels: v.labels } } : {}),
        commonName: v.commonName,
        dnsNames: v.dnsNames,
        ...(v.uris.length > 0 ? { uris: v.uris } : {}),
        ...(v.ipAddresses.length > 0 ? { ipAddresses: v.ipAddresses } : {}),
        usages: certManagerUsages(v.usage, v.keyAlgorithm),
        duration: goDurationHours(v.validityHours),
        renewBefore: goDurationHours(v.renewBeforeHours),
        isCA: false,
        privateKey: { ...key, rotationPolicy: "Always", encoding: "PKCS1" },
        issuerRef: v.issuerRef,
    };
}

/** An Issuer's or ClusterIssuer's spec: a CA issuer that signs with the key pair in `secretName`. */
export function caIssuerSpec(secretName: string): { ca: { secretName: string } } {
    return { ca: { secretName } };
}

/** A Bundle's spec: the trust bundle, inline, written as `ca.crt` of a ConfigMap in `namespace` alone. */
export interface BundleSpec {
    sources: Array<{ inLine: string }>;
    target: {
        configMap: { key: string };
        namespaceSelector: { matchLabels: Record<string, string> };
    };
}

export function bundleSpec(trustBundlePem: string, namespace: string): BundleSpec {
    return {
        sources: [{ inLine: trustBundlePem }],
        target: {
            configMap: { key: CERT_MANAGER_SECRET_KEYS.ca },
            namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
        },
    };
}

/** The Secret name a service's Certificate writes to, unless one is given: fixed, since cert-manager renews it in place. */
export function certificateSecretName(serviceName: string): string {
    return `${serviceName}-mtls-tls`;
}
