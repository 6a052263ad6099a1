import * as pulumi from "@pulumi/pulumi";
import type { CertificateIssuer } from "./certificateAuthority";

/**
 * The stack outputs an issuer is read from, with the names stacks of version 0.1 exported them
 * under. The owner exports the signing key only with `mtls:ca.exportPrivateKey: true`, always
 * as a secret.
 */
export const ISSUER_OUTPUTS = {
    certPem: ["signingCertPem", "caSigningCertPem"],
    chainPem: ["signingChainPem", "caChainPem"],
    trustBundlePem: ["trustBundlePem", "caCertPem"],
    notAfter: ["signingNotAfter", "caSigningNotAfter"],
    privateKeyPem: ["signingPrivateKeyPem", "caPrivateKeyPem"],
} as const satisfies Record<keyof CertificateIssuer, readonly [string, string]>;

/**
 * The CA of another stack of this package, read through a `StackReference`, as an issuer for
 * `ServiceCertificate`. Each field comes from the owner's current output name, or from its 0.1
 * name when the owner has not been upgraded. A missing output fails the deployment with an
 * error naming the owner stack and the output; the key stays a secret all the way.
 */
export function issuerFromStack(owner: pulumi.StackReference): CertificateIssuer {
    const read = (field: keyof typeof ISSUER_OUTPUTS, fix: string): pulumi.Output<string> => {
        const [current, legacy] = ISSUER_OUTPUTS[field];
        return pulumi
            .all([owner.name, owner.getOutput(current), owner.getOutput(legacy)])
            .apply(([stack, now, old]) => {
                const value = now ?? old;
                if (typeof value !== "string") {
                    throw new pulumi.ResourceError(
                        `issuerFromStack: the stack ${stack} exports neither ${current} nor ${legacy}; ${fix}`,
                        owner,
                    );
                }
                return value;
            });
    };
    const upgrade = "deploy it with this package first";
    return {
        certPem: read("certPem", upgrade),
        chainPem: read("chainPem", upgrade),
        trustBundlePem: read("trustBundlePem", upgrade),
        notAfter: read("notAfter", upgrade),
        privateKeyPem: pulumi.secret(
            read(
                "privateKeyPem",
                "set mtls:ca.exportPrivateKey: true in that stack, or let it issue the certificate and export only the trust bundle",
            ),
        ),
    };
}
