import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import {
    CERT_MANAGER_API_VERSION,
    CERT_MANAGER_GROUP,
    CERT_MANAGER_SECRET_KEYS,
    DEFAULT_CLUSTER_RESOURCE_NAMESPACE,
    IssuerRef,
    TRUST_MANAGER_API_VERSION,
    bundleSpec,
    caIssuerSpec,
} from "./certManagerObjects";
import { CERT_MANAGER_ISSUER_KINDS, CertManagerIssuerKind, describeProblems, isDns1123Label } from "./rules";
import { joinPemCertificates } from "./x509";
import { COMPONENT_TYPES } from "./types";

export interface CertManagerIssuerArgs {
    /** The CA that signs: its certificate, the chain up to the root, the root and the signing key. */
    ca: {
        /** The certificate that signs leaves (the intermediate when there is one). */
        certPem: pulumi.Input<string>;
        /** Certificates between the signing certificate and the root; empty for a root. */
        chainPem: pulumi.Input<string>;
        /** The root certificate. */
        rootCertPem: pulumi.Input<string>;
        /** The signing key. It goes into a Secret only. */
        privateKeyPem: pulumi.Input<string>;
    };
    /** What the services trust: the root, and during a CA rotation the other root too. */
    trustBundlePem: pulumi.Input<string>;
    /** The services' namespace: a namespaced Issuer lives here, and the Bundle writes its ConfigMap here. */
    namespace: pulumi.Input<string>;
    /**
     * `Issuer` (namespaced, its CA Secret in `namespace`) or `ClusterIssuer` (cluster-wide,
     * its CA Secret in `clusterResourceNamespace`). Fixed at construction.
     * @default "Issuer"
     */
    kind?: CertManagerIssuerKind;
    /**
     * cert-manager's `--cluster-resource-namespace`, where a ClusterIssuer reads its Secret;
     * only with `kind: ClusterIssuer`.
     * @default "cert-manager"
     */
    clusterResourceNamespace?: string;
    /**
     * Labels on every object.
     * @default none
     */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Problems with a CertManagerIssuer's plain arguments. */
export function certManagerIssuerProblems(kind: unknown, clusterResourceNamespace: unknown) {
    const problems = [];
    if (!(CERT_MANAGER_ISSUER_KINDS as readonly unknown[]).includes(kind)) {
        problems.push({
            argument: "kind",
            message: `${JSON.stringify(kind)} is not a cert-manager issuer kind; use one of ${CERT_MANAGER_ISSUER_KINDS.join(", ")}`,
        });
    }
    if (clusterResourceNamespace !== undefined) {
        if (kind !== "ClusterIssuer") {
            problems.push({
                argument: "clusterResourceNamespace",
                message: "only applies with kind: ClusterIssuer; remove it or set kind: ClusterIssuer",
            });
        } else if (!isDns1123Label(clusterResourceNamespace)) {
            problems.push({
                argument: "clusterResourceNamespace",
                message: `${JSON.stringify(clusterResourceNamespace)} is not a namespace name`,
            });
        }
    }
    return problems;
}

/**
 * Hands a CA to cert-manager and its trust bundle to trust-manager: the signing certificate and
 * key as a `kubernetes.io/tls` Secret, a CA Issuer (or ClusterIssuer) that signs with it, and a
 * trust-manager Bundle that writes the trust bundle as `ca.crt` of a ConfigMap in the services'
 * namespace. A new signing CA gets a new Secret and Issuer name, so cert-manager reissues every
 * Certificate that points at it; the Bundle keeps its name and trust-manager updates its
 * ConfigMap in place.
 */
export class CertManagerIssuer extends pulumi.ComponentResource {
    public readonly caSecret: k8s.core.v1.Secret;
    public readonly issuer: k8s.apiextensions.CustomResource;
    public readonly bundle: k8s.apiextensions.CustomResource;
    /** What a Certificate's `spec.issuerRef` names. */
    public readonly issuerRef: pulumi.Output<IssuerRef>;
    /** The ConfigMap trust-manager writes in the services' namespace: the Bundle's name. */
    public readonly trustBundleConfigMapName: pulumi.Output<string>;
    /** The trust bundle the Bundle distributes. */
    public readonly trustBundlePem: pulumi.Output<string>;
    public readonly kind: CertManagerIssuerKind;

    constructor(name: string, args: CertManagerIssuerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.certManagerIssuer, name, {}, opts);
        this.kind = args.kind ?? "Issuer";
        const problems = certManagerIssuerProblems(this.kind, args.clusterResourceNamespace);
        if (problems.length > 0)
            throw new pulumi.ResourceError(describeProblems("CertManagerIssuer", name, problems), this);
        const cluster = this.kind === "ClusterIssuer";
        const secretNamespace = cluster
            ? (args.clusterResourceNamespace ?? DEFAULT_CLUSTER_RESOURCE_NAMESPACE)
            : args.namespace;

        // A new signing certificate means new names: cert-manager reissues on a changed issuerRef, not on a changed Secret.
        const signingSha256 = pulumi
            .output(args.ca.certPem)
            .apply((pem) => createHash("sha256").update(pem).digest("hex"));
        const perCa: pulumi.CustomResourceOptions = { parent: this, replacementTrigger: signingSha256 };

        this.caSecret = new k8s.core.v1.Secret(
            `${name}-ca`,
            {
                metadata: { namespace: secretNamespace, labels: args.labels },
                type: "kubernetes.io/tls",
                stringData: {
                    // The CA issuer appends this chain to each leaf and drops the self-signed root from it.
                    [CERT_MANAGER_SECRET_KEYS.cert]: pulumi
                        .all([args.ca.certPem, args.ca.chainPem, args.ca.rootCertPem])
                        .apply(joinPemCertificates),
                    [CERT_MANAGER_SECRET_KEYS.key]: pulumi.secret(args.ca.privateKeyPem),
                    [CERT_MANAGER_SECRET_KEYS.ca]: args.ca.rootCertPem,
                },
            },
            perCa,
        );

        this.issuer = new k8s.apiextensions.CustomResource(
            `${name}-issuer`,
            {
                apiVersion: CERT_MANAGER_API_VERSION,
                kind: this.kind,
                metadata: { ...(cluster ? {} : { namespace: args.namespace }), labels: args.labels },
                spec: this.caSecret.metadata.name.apply(caIssuerSpec),
            },
            perCa,
        );

        this.trustBundlePem = pulumi.output(args.trustBundlePem);
        this.bundle = new k8s.apiextensions.CustomResource(
            `${name}-trust`,
            {
                apiVersion: TRUST_MANAGER_API_VERSION,
                kind: "Bundle",
                metadata: { labels: args.labels },
                spec: pulumi
                    .all([args.trustBundlePem, args.namespace])
                    .apply(([pem, namespace]) => bundleSpec(pem, namespace)),
            },
            { parent: this },
        );

        const kind = this.kind;
        this.issuerRef = this.issuer.metadata.name.apply(
            (issuerName): IssuerRef => ({ name: issuerName, kind, group: CERT_MANAGER_GROUP }),
        );
        this.trustBundleConfigMapName = this.bundle.metadata.name;
        this.registerOutputs({ issuerRef: this.issuerRef, trustBundleConfigMapName: this.trustBundleConfigMapName });
    }
}
