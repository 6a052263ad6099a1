import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeyAlgorithm, tlsKeySpec } from "./rules";

/** A `tls.PrivateKey` of the given algorithm; `opts` must name the parent. */
export function newTlsPrivateKey(
    name: string,
    algorithm: pulumi.Input<KeyAlgorithm>,
    opts: pulumi.CustomResourceOptions,
): tls.PrivateKey {
    const spec = pulumi.output(algorithm).apply(tlsKeySpec);
    return new tls.PrivateKey(
        name,
        {
            algorithm: spec.algorithm,
            ecdsaCurve: spec.apply((s) => s.ecdsaCurve),
            rsaBits: spec.apply((s) => s.rsaBits),
        },
        opts,
    );
}
