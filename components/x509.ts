import { X509Certificate } from "node:crypto";

/** What a reviewer needs to know about an issued certificate; nothing in it is secret. */
export interface CertificateSummary {
    /** Subject common name. */
    commonName: string;
    /** Issuer common name. */
    issuerCommonName: string;
    /** Start of validity, ISO 8601. */
    notBefore: string;
    /** End of validity, ISO 8601. */
    notAfter: string;
    /** SHA-256 fingerprint of the DER encoding, lower-case hex without separators. */
    fingerprintSha256: string;
    dnsNames: string[];
    uris: string[];
    ipAddresses: string[];
    serialNumber: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Splits a bundle into its PEM certificates, each ending in a newline. Anything that is not a
 * string (a provider, or a mock, that returned no PEM) holds no certificate.
 */
export function splitPemCertificates(bundle: string | undefined): string[] {
    if (typeof bundle !== "string") return [];
    return (bundle.match(PEM_BLOCK) ?? []).map((block) => `${block}\n`);
}

/** Joins PEM certificates into one bundle, one per block, dropping duplicates and missing values. */
export function joinPemCertificates(pems: readonly (string | undefined)[]): string {
    const blocks = pems.flatMap(splitPemCertificates);
    return [...new Set(blocks)].join("");
}

/**
 * Reads the entries of a certificate's subjectAltName as Node prints it
 * (`DNS:a, URI:spiffe://b, IP Address:10.0.0.1`). Quoted entries, which Node
 * uses when a name holds a comma or quote, are unquoted.
 */
export function parseSubjectAltName(text: string | undefined): {
    dnsNames: string[];
    uris: string[];
    ipAddresses: string[];
} {
    const out = { dnsNames: [] as string[], uris: [] as string[], ipAddresses: [] as string[] };
    if (!text) return out;
    const entries = text.match(/(?:[^,"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
    for (const raw of entries) {
        const entry = raw.trim();
        const colon = entry.indexOf(":");
        if (colon < 0) continue;
        const kind = entry.slice(0, colon);
        let value = entry.slice(colon + 1);
        if (value.startsWith('"')) value = JSON.parse(value) as string;
        if (kind === "DNS") out.dnsNames.push(value);
        else if (kind === "URI") out.uris.push(value);
        else if (kind === "IP Address") out.ipAddresses.push(value);
    }
    return out;
}

function commonNameOf(distinguishedName: string): string {
    const line = distinguishedName.split("\n").find((l) => l.startsWith("CN="));
    return line ? line.slice(3) : "";
}

/** Summarises the first certificate of a PEM bundle. Throws if there is none. */
export function summarizeCertificate(pem: string): CertificateSummary {
    const [first] = splitPemCertificates(pem);
    if (!first) throw new Error("no PEM certificate found");
    const cert = new X509Certificate(first);
    const sans = parseSubjectAltName(cert.subjectAltName);
    return {
        commonName: commonNameOf(cert.subject),
        issuerCommonName: commonNameOf(cert.issuer),
        notBefore: new Date(cert.validFrom).toISOString(),
        notAfter: new Date(cert.validTo).toISOString(),
        fingerprintSha256: cert.fingerprint256.replace(/:/g, "").toLowerCase(),
        ...sans,
        serialNumber: cert.serialNumber.toLowerCase(),
    };
}

/**
 * Summarises the first certificate of a PEM bundle, or undefined when there is no readable
 * certificate: a provider output that is missing (plain Pulumi mocks echo inputs, which hold no
 * `certPem`) or not a certificate. Components read issued fields through this, so such outputs
 * end up undefined instead of failing the program.
 */
export function readCertificate(pem: unknown): CertificateSummary | undefined {
    if (typeof pem !== "string" || splitPemCertificates(pem).length === 0) return undefined;
    try {
        return summarizeCertificate(pem);
    } catch {
        return undefined;
    }
}

/** An RFC 3339 time (as the tls provider writes `validityEndTime`) as ISO 8601, or undefined. */
export function isoTime(value: unknown): string | undefined {
    if (typeof value !== "string" || value === "") return undefined;
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}
