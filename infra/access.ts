/**
 * Who may call a server, turned from its resolved callers into the sources
 * a NetworkPolicy needs. Pure, like the config contract.
 */
import { IngressSource, workloadLabels } from "../components/ingressRules";
import type { CallerSpec } from "./spec";

/**
 * Where a server in `namespace` admits connections from: each caller's pods, selected by the
 * labels this project puts on every workload (in their own namespace when it is another), and,
 * for a caller from another trust domain, the places its `networkPolicyFrom` names.
 */
export function ingressSources(callers: readonly CallerSpec[], namespace: string): IngressSource[] {
    return callers.flatMap((caller): IngressSource[] => {
        if (caller.networkPolicyFrom) return caller.networkPolicyFrom;
        if (caller.service === undefined || caller.namespace === undefined) {
            throw new Error(
                `ingressSources: caller ${caller.commonName} has neither a namespace and service nor networkPolicyFrom; the config contract refuses such a caller`,
            );
        }
        const podLabels = workloadLabels(caller.service);
        return [caller.namespace === namespace ? { podLabels } : { podLabels, namespace: caller.namespace }];
    });
}
