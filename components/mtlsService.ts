import * as pulumi from "@pulumi/pulumi";
import { CertificateMaterialArgs, KubernetesMaterial } from "./certificateMaterial";
import type { PeerIdentity } from "./identity";
import { MtlsWorkloadArgs, MtlsWorkloadParts, declareWorkload } from "./mtlsWorkload";
import type { Usage } from "./rules";
import type { PartScope } from "./scope";
import { ServiceCertificateArgs, ServiceCertificateParts, declareServiceCertificate } from "./serviceCertificate";
import { COMPONENT_TYPES, SEPARATE_COMPONENT_TYPES } from "./types";

export interface MtlsServiceArgs {
    /** The service's name: the certificate's common name, and the name of the Deployment, Service and ServiceAccount. */
    serviceName: pulumi.Input<string>;
    /** Namespace of the Kubernetes objects. */
    namespace: pulumi.Input<string>;
    /**
     * `server` and `both` get server_auth and a Service on the workload's `port`; `client` gets
     * client_auth and no Service.
     * @default "both"
     */
    usage?: Usage;
    /**
     * The certificate, as `ServiceCertificate` takes it. `namespace` here is the one the DNS names
     * and the SPIFFE ID are derived from: give the plain name, so the names are known at preview.
     * @default namespace: the objects' namespace
     */
    certificate: Omit<ServiceCertificateArgs, "serviceName" | "namespace" | "usage"> & {
        namespace?: pulumi.Input<string>;
    };
    /**
     * The ConfigMap and Secret, as `CertificateMaterial` takes them.
     * @default restart rollout, an Opaque Secret, no keystores, no labels
     */
    material?: Omit<CertificateMaterialArgs, "certificate" | "namespace">;
    /** The Deployment, Service and NetworkPolicy, as `MtlsWorkload` takes them. */
    workload: Omit<MtlsWorkloadArgs, "serviceName" | "namespace" | "usage" | "material">;
    /**
     * Give every resource an alias to the component it had in a stack built from the separate
     * `ServiceCertificate`, `CertificateMaterial` and `MtlsWorkload` of the same name and parent,
     * so such a stack moves to `MtlsService` without a new key, certificate or object. Fixed at
     * construction.
     * @default true
     */
    aliasSeparateComponents?: boolean;
}

/**
 * One service whole: its key and certificate, their ConfigMap and Secret, and the workload that
 * presents them, in one component. The resources are exactly those of `ServiceCertificate`,
 * `CertificateMaterial` and `MtlsWorkload` of the same name, with the same names; one component
 * instead of three saves the engine two component registrations per service (each a write of
 * the whole state on a first `up`). Argument errors name the part they belong to
 * (`ServiceCertificate`, `CertificateMaterial`, `MtlsWorkload`).
 */
export class MtlsService extends pulumi.ComponentResource {
    /** The key and certificate. */
    public readonly certificate: ServiceCertificateParts;
    /** The ConfigMap and Secret, and the pod-spec pieces that read them. */
    public readonly material: KubernetesMaterial;
    /** The ServiceAccount, Deployment, Service and NetworkPolicy. */
    public readonly workload: MtlsWorkloadParts;
    /** Who this service is to its peers: give the service itself to another service's `allowFrom`. */
    public readonly identity: PeerIdentity;

    constructor(name: string, args: MtlsServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.mtlsService, name, {}, opts);
        const scope = (part: keyof typeof SEPARATE_COMPONENT_TYPES): PartScope =>
            args.aliasSeparateComponents === false
                ? { owner: this }
                : {
                      owner: this,
                      formerParents: [pulumi.createUrn(name, SEPARATE_COMPONENT_TYPES[part], opts?.parent)],
                  };
        const { requested, ...certificate } = declareServiceCertificate(scope("certificate"), name, {
            ...args.certificate,
            serviceName: args.serviceName,
            namespace: args.certificate.namespace ?? args.namespace,
            usage: args.usage,
        });
        this.certificate = certificate;
        this.material = new KubernetesMaterial(scope("material"), name, {
            ...args.material,
            certificate,
            namespace: args.namespace,
        });
        this.workload = declareWorkload(scope("workload"), name, {
            ...args.workload,
            serviceName: args.serviceName,
            namespace: args.namespace,
            usage: args.usage,
            material: this.material,
        });
        this.identity = this.workload.identity;
        // As ServiceCertificate: only what is known before the children exist (see there).
        this.registerOutputs({ serviceName: args.serviceName, dnsNames: requested.dnsNames, uris: requested.uris });
    }
}
