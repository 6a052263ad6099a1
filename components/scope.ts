import * as pulumi from "@pulumi/pulumi";

/**
 * Where one part of a component (the certificate, its Kubernetes material, its workload) declares
 * its resources: the component that owns them, and the parents they had before, when a stack
 * made by an earlier layout must keep them.
 * @internal
 */
export interface PartScope {
    /** The parent of every resource of the part, and the resource an error names. */
    owner: pulumi.Resource;
    /**
     * URNs of the components the part's resources lived under before: each becomes an alias, so
     * the engine carries the resources over instead of replacing them.
     * @default none
     */
    formerParents?: pulumi.Input<string>[];
}

/** A part declared directly under a component of its own. @internal */
export function ownScope(owner: pulumi.Resource): PartScope {
    return { owner };
}

/** The options of a resource of the part, with `extra` (rotation triggers, replacement order) over them. @internal */
export function partOptions(scope: PartScope, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    const aliases = (scope.formerParents ?? []).map((parent) => ({ parent }));
    return { parent: scope.owner, ...(aliases.length > 0 ? { aliases } : {}), ...extra };
}
