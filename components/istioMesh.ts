import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_ISTIO_NAMESPACE,
    ISTIO_CA_SECRET,
    ISTIO_SECURITY_API_VERSION,
    istioCaCertsData,
    strictPeerAuthenticationSpec,
} from "./istioObjects";
import { COMPONENT_TYPES } from "./types";

/** The CA istiod is to sign workload certificates with: an intermediate and the root above it. */
export interface IstioPluginCa {
    /** The intermediate certificate that signs (Istio's `ca-cert.pem`). */
    signingCertPem: pulumi.Input<string>;
    /** The intermediate's key (`ca-key.pem`). Keep it a secret output. */
    signingKeyPem: pulumi.Input<string>;
    /** The root the intermediate chains to (the second half of `cert-chain.pem`). */
    rootCertPem: pulumi.Input<string>;
    /** Every root workloads trust (`root-cert.pem`): the root, and during a CA rotation the other one too. */
    trustBundlePem: pulumi.Input<string>;
    /**
     * istiod's namespace, where the `cacerts` Secret goes. It must exist.
     * @default "istio-system"
     */
    namespace?: pulumi.Input<string>;
}

export interface IstioMeshArgs {
    /** The namespace whose workloads are to speak mutual TLS only. */
    namespace: pulumi.Input<string>;
    /**
     * Also hand this CA to istiod as its plug-in CA (Istio's `cacerts` Secret), so the
     * certificates the mesh issues chain to the same root as this project's.
     * @default the mesh keeps its own CA
     */
    pluginCa?: IstioPluginCa;
    /**
     * Labels on every object.
     * @default `app.kubernetes.io/part-of: mtls`
     */
    labels?: Record<string, pulumi.Input<string>>;
}

/**
 * What a namespace needs from Istio: a PeerAuthentication that makes mutual TLS STRICT for
 * every workload in it and, optionally, the plug-in CA Secret istiod signs with.
 */
export class IstioMesh extends pulumi.ComponentResource {
    public readonly peerAuthentication: k8s.apiextensions.CustomResource;
    /** Istio's `cacerts` Secret, with `pluginCa`. Its key entry is a secret input. */
    public readonly caSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.istioMesh, name, {}, opts);
        const labels = args.labels ?? { "app.kubernetes.io/part-of": "mtls" };
        this.peerAuthentication = new k8s.apiextensions.CustomResource(
            `${name}-peer-authentication`,
            {
                apiVersion: ISTIO_SECURITY_API_VERSION,
                kind: "PeerAuthentication",
                metadata: { name: "mtls-strict", namespace: args.namespace, labels },
                spec: strictPeerAuthenticationSpec(),
            },
            { parent: this },
        );
        if (args.pluginCa) {
            const ca = args.pluginCa;
            const data = pulumi.secret(
                pulumi
                    .all([ca.signingCertPem, ca.signingKeyPem, ca.rootCertPem, ca.trustBundlePem])
                    .apply(([signingCertPem, signingKeyPem, rootCertPem, trustBundlePem]) =>
                        istioCaCertsData({ signingCertPem, signingKeyPem, rootCertPem, trustBundlePem }),
                    ),
            );
            this.caSecret = new k8s.core.v1.Secret(
                `${name}-cacerts`,
                {
                    // istiod looks for this exact name; one CA per mesh namespace.
                    metadata: {
                        name: ISTIO_CA_SECRET.name,
                        namespace: ca.namespace ?? DEFAULT_ISTIO_NAMESPACE,
                        labels,
                    },
                    type: "Opaque",
                    stringData: data,
                },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}
