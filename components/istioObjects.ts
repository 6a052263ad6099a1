/**
 * The Istio objects this project emits (security.istio.io/v1), as plain values, and the
 * layout of Istio's plug-in CA Secret. Pure: no Pulumi, no Node modules.
 */

export const ISTIO_SECURITY_API_VERSION = "security.istio.io/v1";

/** Istio's default namespace for istiod, where it looks for a plugged-in CA. */
export const DEFAULT_ISTIO_NAMESPACE = "istio-system";

/**
 * Istio's plug-in CA Secret: istiod reads a Secret of exactly this name in its own namespace,
 * with these four entries, and signs workload certificates with `ca-cert.pem` and `ca-key.pem`.
 */
export const ISTIO_CA_SECRET = {
    name: "cacerts",
    keys: {
        /** The signing (intermediate) certificate. */
        caCert: "ca-cert.pem",
        /** Its private key. */
        caKey: "ca-key.pem",
        /** The roots workloads trust. */
        rootCert: "root-cert.pem",
        /** The signing certificate followed by the root it chains to. */
        certChain: "cert-chain.pem",
    },
} as const;

/**
 * The principal Istio matches in an AuthorizationPolicy for a SPIFFE ID: the ID without its
 * `spiffe://` scheme (`<trust domain>/ns/<namespace>/sa/<service account>` for a workload).
 */
export function istioPrincipal(spiffeId: string): string {
    if (!spiffeId.startsWith("spiffe://") || spiffeId.length <= "spiffe://".length) {
        throw new Error(
            `istioPrincipal: ${JSON.stringify(spiffeId)} is not a SPIFFE ID (spiffe://<trust domain>/<path>)`,
        );
    }
    return spiffeId.slice("spiffe://".length);
}

export interface AuthorizationPolicySpec {
    selector: { matchLabels: Record<string, string> };
    action: "ALLOW";
    rules: Array<{
        from: Array<{ source: { principals: string[] } }>;
        to: Array<{ operation: { ports: string[] } }>;
    }>;
}

/**
 * An ALLOW policy for one server: requests to `port` from `principals` only. With no principal
 * there is no rule, and an ALLOW policy without rules matches nothing: Istio then denies every
 * request to the selected workload, as the empty allowlist means.
 */
export function authorizationPolicySpec(input: {
    podLabels: Record<string, string>;
    port: number;
    principals: readonly string[];
}): AuthorizationPolicySpec {
    if (Object.keys(input.podLabels).length === 0) {
        // Without labels the policy would apply to every workload of the namespace.
        throw new Error("authorizationPolicySpec: podLabels is empty; give the labels that select the server's pods");
    }
    return {
        selector: { matchLabels: { ...input.podLabels } },
        action: "ALLOW",
        rules:
            input.principals.length === 0
                ? []
                : [
                      {
                          from: [{ source: { principals: [...input.principals] } }],
                          // Istio writes ports as strings.
                          to: [{ operation: { ports: [String(input.port)] } }],
                      },
                  ],
    };
}

/** Namespace-wide mutual TLS, refusing plain text: a PeerAuthentication without a selector. */
export function strictPeerAuthenticationSpec(): { mtls: { mode: "STRICT" } } {
    return { mtls: { mode: "STRICT" } };
}

/**
 * The four entries of Istio's `cacerts` Secret, from the signing CA. A missing PEM (a mock that
 * returned none) makes an empty entry rather than a failed program.
 */
export function istioCaCertsData(ca: {
    signingCertPem: string;
    signingKeyPem: string;
    rootCertPem: string;
    trustBundlePem: string;
}): Record<string, string> {
    const pem = (text: string | undefined) =>
        typeof text !== "string" || text === "" ? "" : text.endsWith("\n") ? text : `${text}\n`;
    return {
        [ISTIO_CA_SECRET.keys.caCert]: pem(ca.signingCertPem),
        [ISTIO_CA_SECRET.keys.caKey]: pem(ca.signingKeyPem),
        [ISTIO_CA_SECRET.keys.rootCert]: pem(ca.trustBundlePem),
        [ISTIO_CA_SECRET.keys.certChain]: pem(ca.signingCertPem) + pem(ca.rootCertPem),
    };
}
