import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ISTIO_SECURITY_API_VERSION, authorizationPolicySpec, istioPrincipal } from "./istioObjects";
import { COMPONENT_TYPES } from "./types";

export interface IstioServerPolicyArgs {
    /** The server's namespace. */
    namespace: pulumi.Input<string>;
    /** The name the AuthorizationPolicy gets, usually the server's. */
    serviceName: pulumi.Input<string>;
    /** Labels that select the server's pods (the Deployment's pod labels). */
    podLabels: Record<string, pulumi.Input<string>>;
    /** The server's mTLS port: the only port the policy admits callers on. */
    port: pulumi.Input<number>;
    /**
     * SPIFFE IDs of the callers that may call it (`spiffe://<trust domain>/ns/<ns>/sa/<sa>`). An
     * empty list lets no one in.
     */
    allowedSpiffeIds: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * An Istio AuthorizationPolicy (ALLOW) for one server: only the callers' mesh identities, and
 * only on its port. Istio derives those identities from the service accounts of the callers'
 * pods, which this project names after each service.
 */
export class IstioServerPolicy extends pulumi.ComponentResource {
    public readonly authorizationPolicy: k8s.apiextensions.CustomResource;

    constructor(name: string, args: IstioServerPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.istioServerPolicy, name, {}, opts);
        this.authorizationPolicy = new k8s.apiextensions.CustomResource(
            `${name}-authorization`,
            {
                apiVersion: ISTIO_SECURITY_API_VERSION,
                kind: "AuthorizationPolicy",
                metadata: {
                    name: pulumi.interpolate`${args.serviceName}-mtls`,
                    namespace: args.namespace,
                    labels: args.podLabels,
                },
                spec: pulumi
                    .output({ podLabels: args.podLabels, port: args.port, ids: args.allowedSpiffeIds })
                    .apply(({ podLabels, port, ids }) =>
                        authorizationPolicySpec({ podLabels, port, principals: ids.map(istioPrincipal) }),
                    ),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
