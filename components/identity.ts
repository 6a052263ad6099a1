import * as pulumi from "@pulumi/pulumi";

/** Who a workload is, as its peers see it: the certificate's common name and, with a trust domain, its SPIFFE ID. */
export interface PeerIdentity {
    /** The common name its certificate carries: the service name. */
    commonName: pulumi.Input<string>;
    /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`; undefined without a trust domain. */
    spiffeId?: pulumi.Input<string | undefined>;
}

/**
 * A caller a server accepts: an object of this program that has an identity (a `ServiceCertificate`,
 * a `CertificateMaterial`, an `MtlsWorkload` or an `MtlsService`), an identity written out, or a
 * plain common name for a caller outside the program.
 */
export type Caller = pulumi.Input<string> | { readonly identity: PeerIdentity } | PeerIdentity;

function identityOf(caller: Caller): PeerIdentity {
    if (typeof caller === "string" || pulumi.Output.isInstance(caller) || caller instanceof Promise)
        return { commonName: caller as pulumi.Input<string> };
    if ("identity" in caller) return caller.identity;
    return caller;
}

/**
 * The common names and the SPIFFE IDs of `callers`, in order; a caller without a SPIFFE ID is
 * left out of the second list. A list given as one Output is taken as common names.
 */
export function callerIdentities(callers: readonly Caller[] | pulumi.Input<pulumi.Input<string>[]> | undefined): {
    commonNames: pulumi.Output<string[]>;
    spiffeIds: pulumi.Output<string[]>;
} {
    if (callers === undefined) return { commonNames: pulumi.output([]), spiffeIds: pulumi.output([]) };
    if (!Array.isArray(callers)) {
        return {
            commonNames: pulumi.output(callers as pulumi.Input<pulumi.Input<string>[]>) as pulumi.Output<string[]>,
            spiffeIds: pulumi.output([]),
        };
    }
    const identities = (callers as readonly Caller[]).map(identityOf);
    return {
        commonNames: pulumi.all(identities.map((i) => i.commonName)),
        spiffeIds: pulumi
            .all(identities.map((i) => pulumi.output(i.spiffeId)))
            .apply((ids) => ids.filter((id): id is string => typeof id === "string" && id !== "")),
    };
}
