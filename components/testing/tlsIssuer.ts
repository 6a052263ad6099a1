/**
 * A TEST DOUBLE of Pulumi's tls provider for unit tests under mocks: from a program's real
 * arguments to `tls:index/*` resources it makes real keys, certificate requests and
 * certificates, following the provider's documented mapping (algorithm and curve, CA flag and
 * path length, allowed uses to key usage and extended key usage, SANs copied from the request,
 * validity in hours). Only `node:crypto` is used. It is never evidence about the provider itself.
 */
import {
    KeyObject,
    createHash,
    createPrivateKey,
    createPublicKey,
    generateKeyPairSync,
    randomBytes,
    sign,
} from "node:crypto";
import { isIP } from "node:net";
import {
    DerElement,
    bitString,
    boolean,
    children,
    contextTag,
    fromPem,
    integer,
    namedBits,
    nullValue,
    objectIdentifier,
    octetString,
    printableString,
    readElement,
    readObjectIdentifier,
    sequence,
    set,
    time,
    toPem,
    utf8String,
} from "./der";

/** Resource inputs or outputs as the mocks see them: plain values, secrets unwrapped. */
export type TlsProperties = Record<string, any>;

/** The `tls:index/*` type tokens the double answers. */
export const TLS_RESOURCE_TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** The clock certificates are issued by; move `now` to make expired or future certificates. */
export const issuingClock: { now: () => Date } = { now: () => new Date() };

const OID = {
    commonName: "2.5.4.3",
    country: "2.5.4.6",
    locality: "2.5.4.7",
    province: "2.5.4.8",
    organization: "2.5.4.10",
    organizationalUnit: "2.5.4.11",
    serialNumber: "2.5.4.5",
    postalCode: "2.5.4.17",
    streetAddress: "2.5.4.9",
    basicConstraints: "2.5.29.19",
    keyUsage: "2.5.29.15",
    extKeyUsage: "2.5.29.37",
    subjectKeyId: "2.5.29.14",
    authorityKeyId: "2.5.29.35",
    subjectAltName: "2.5.29.17",
    extensionRequest: "1.2.840.113549.1.9.14",
} as const;

/** Key usage bit positions (RFC 5280 4.2.1.3) by the provider's allowed-use names. */
const KEY_USAGE_BITS: Record<string, number> = {
    digital_signature: 0,
    content_commitment: 1,
    key_encipherment: 2,
    data_encipherment: 3,
    key_agreement: 4,
    cert_signing: 5,
    crl_signing: 6,
    encipher_only: 7,
    decipher_only: 8,
};
const EXT_KEY_USAGE: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
};
const CURVES: Record<string, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

/** A private key as the provider encodes it (PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519), with its public key. */
export function generatePrivateKey(inputs: TlsProperties): TlsProperties {
    let key: KeyObject;
    let pem: string;
    if (inputs.algorithm === "RSA") {
        key = generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 }).privateKey;
        pem = key.export({ format: "pem", type: "pkcs1" }).toString();
    } else if (inputs.algorithm === "ECDSA") {
        const curve = CURVES[inputs.ecdsaCurve ?? "P224"];
        if (!curve) throw new Error(`tls test double: unsupported ecdsaCurve ${inputs.ecdsaCurve}`);
        key = generateKeyPairSync("ec", { namedCurve: curve }).privateKey;
        pem = key.export({ format: "pem", type: "sec1" }).toString();
    } else if (inputs.algorithm === "ED25519") {
        key = generateKeyPairSync("ed25519").privateKey;
        pem = key.export({ format: "pem", type: "pkcs8" }).toString();
    } else {
        throw new Error(`tls test double: unsupported algorithm ${inputs.algorithm}`);
    }
    const publicKey = createPublicKey(key);
    return {
        ...inputs,
        privateKeyPem: pem,
        privateKeyPemPkcs8: key.export({ format: "pem", type: "pkcs8" }).toString(),
        publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
        publicKeyFingerprintSha256: `SHA256:${createHash("sha256")
            .update(publicKey.export({ format: "der", type: "spki" }))
            .digest("base64")
            .replace(/=+$/, "")}`,
    };
}

/** The signature algorithm a key signs with, as Go's crypto/x509 picks it, and the hash Node signs with. */
function signatureAlgorithm(key: KeyObject): { identifier: Buffer; hash: string | null } {
    const type = key.asymmetricKeyType;
    if (type === "rsa")
        return { identifier: sequence(objectIdentifier("1.2.840.113549.1.1.11"), nullValue()), hash: "sha256" };
    if (type === "ed25519") return { identifier: sequence(objectIdentifier("1.3.101.112")), hash: null };
    if (type === "ec") {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        if (curve === "secp384r1")
            return { identifier: sequence(objectIdentifier("1.2.840.10045.4.3.3")), hash: "sha384" };
        if (curve === "secp521r1")
            return { identifier: sequence(objectIdentifier("1.2.840.10045.4.3.4")), hash: "sha512" };
        return { identifier: sequence(objectIdentifier("1.2.840.10045.4.3.2")), hash: "sha256" };
    }
    throw new Error(`tls test double: unsupported key type ${type}`);
}

/** `SEQUENCE { body, algorithm, BIT STRING signature }`: a signed certificate or request. */
function signed(body: Buffer, key: KeyObject): Buffer {
    const algorithm = signatureAlgorithm(key);
    return sequence(body, algorithm.identifier, bitString(sign(algorithm.hash, body, key)));
}

function distinguishedName(subject: TlsProperties | undefined): Buffer {
    const attribute = (oid: string, value: unknown, printable = false) =>
        set(sequence(objectIdentifier(oid), printable ? printableString(String(value)) : utf8String(String(value))));
    const rdns: Buffer[] = [];
    const add = (field: string, oid: string, printable = false) => {
        const value = subject?.[field];
        for (const v of Array.isArray(value) ? value : value === undefined || value === "" ? [] : [value])
            rdns.push(attribute(oid, v, printable));
    };
    add("country", OID.country, true);
    add("province", OID.province);
    add("locality", OID.locality);
    add("streetAddress", OID.streetAddress);
    add("postalCode", OID.postalCode);
    add("organization", OID.organization);
    add("organizationalUnit", OID.organizationalUnit);
    add("commonName", OID.commonName);
    add("serialNumber", OID.serialNumber, true);
    return sequence(...rdns);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
    return sequence(objectIdentifier(oid), ...(critical ? [boolean(true)] : []), octetString(value));
}

function ipBytes(address: string): Buffer {
    if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
    if (isIP(address) !== 6) throw new Error(`tls test double: ${address} is not an IP address`);
    const [head, tail = ""] = address.split("::");
    const groups = (part: string) => (part === "" ? [] : part.split(":"));
    const left = groups(head);
    const right = groups(tail);
    const all = address.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
    return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, "0"), "hex")));
}

function subjectAltNameValue(inputs: TlsProperties): Buffer | undefined {
    const names = [
        ...(inputs.dnsNames ?? []).map((n: string) => contextTag(2, Buffer.from(n, "ascii"), false)),
        ...(inputs.ipAddresses ?? []).map((ip: string) => contextTag(7, ipBytes(ip), false)),
        ...(inputs.uris ?? []).map((u: string) => contextTag(6, Buffer.from(u, "ascii"), false)),
    ];
    return names.length ? sequence(...names) : undefined;
}

/** The BIT STRING contents of a SubjectPublicKeyInfo: what key identifiers hash. */
function subjectPublicKeyBits(spki: Buffer): Buffer {
    const [, bits] = children(readElement(spki).content);
    return bits.content.subarray(1);
}

function usageExtensions(inputs: TlsProperties, spki: Buffer): Buffer[] {
    const uses: string[] = inputs.allowedUses ?? [];
    const isCa = Boolean(inputs.isCaCertificate);
    // As the provider: 0 and -1 both mean no path-length constraint (Go's MaxPathLen without MaxPathLenZero).
    const pathLength =
        isCa && typeof inputs.maxPathLength === "number" && inputs.maxPathLength > 0 ? inputs.maxPathLength : undefined;
    const out = [
        extension(
            OID.basicConstraints,
            true,
            sequence(...(isCa ? [boolean(true)] : []), ...(pathLength === undefined ? [] : [integer(pathLength)])),
        ),
    ];
    const bits = uses.map((u) => KEY_USAGE_BITS[u]).filter((b): b is number => b !== undefined);
    if (bits.length) out.push(extension(OID.keyUsage, true, namedBits(bits)));
    const ekus = uses.map((u) => EXT_KEY_USAGE[u]).filter((e): e is string => e !== undefined);
    if (ekus.length) out.push(extension(OID.extKeyUsage, false, sequence(...ekus.map(objectIdentifier))));
    if (inputs.setSubjectKeyId)
        out.push(
            extension(
                OID.subjectKeyId,
                false,
                octetString(createHash("sha1").update(subjectPublicKeyBits(spki)).digest()),
            ),
        );
    return out;
}

function serialNumber(): Buffer {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    return bytes;
}

interface CertificateBody {
    issuer: Buffer;
    subject: Buffer;
    spki: Buffer;
    extensions: Buffer[];
    validityPeriodHours: number;
}

function certificate(body: CertificateBody, signingKey: KeyObject, inputs: TlsProperties): TlsProperties {
    const notBefore = new Date(Math.floor(issuingClock.now().getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + Number(body.validityPeriodHours) * 3_600_000);
    const tbs = sequence(
        contextTag(0, integer(2)),
        integer(serialNumber()),
        signatureAlgorithm(signingKey).identifier,
        body.issuer,
        sequence(time(notBefore), time(notAfter)),
        body.subject,
        body.spki,
        contextTag(3, sequence(...body.extensions)),
    );
    return {
        ...inputs,
        certPem: toPem("CERTIFICATE", signed(tbs, signingKey)),
        validityStartTime: notBefore.toISOString().replace(/\.000Z$/, "Z"),
        validityEndTime: notAfter.toISOString().replace(/\.000Z$/, "Z"),
        readyForRenewal: false,
    };
}

function spkiOf(key: KeyObject): Buffer {
    return createPublicKey(key).export({ format: "der", type: "spki" });
}

/** A self-signed certificate (`tls.SelfSignedCert`). */
export function issueSelfSignedCert(inputs: TlsProperties): TlsProperties {
    const key = createPrivateKey(inputs.privateKeyPem);
    const spki = spkiOf(key);
    const name = distinguishedName(inputs.subject);
    const san = subjectAltNameValue(inputs);
    return certificate(
        {
            issuer: name,
            subject: name,
            spki,
            extensions: [...usageExtensions(inputs, spki), ...(san ? [extension(OID.subjectAltName, false, san)] : [])],
            validityPeriodHours: inputs.validityPeriodHours,
        },
        key,
        inputs,
    );
}

/** A PKCS#10 request (`tls.CertRequest`) carrying the subject and SANs. */
export function issueCertRequest(inputs: TlsProperties): TlsProperties {
    const key = createPrivateKey(inputs.privateKeyPem);
    const san = subjectAltNameValue(inputs);
    const attributes = san
        ? [sequence(objectIdentifier(OID.extensionRequest), set(sequence(extension(OID.subjectAltName, false, san))))]
        : [];
    const info = sequence(
        integer(0),
        distinguishedName(inputs.subject),
        spkiOf(key),
        contextTag(0, Buffer.concat(attributes)),
    );
    return { ...inputs, certRequestPem: toPem("CERTIFICATE REQUEST", signed(info, key)) };
}

function extensionsOf(list: DerElement): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const ext of children(list.content)) {
        const parts = children(ext.content);
        out.set(readObjectIdentifier(parts[0].content), parts[parts.length - 1].content);
    }
    return out;
}

/** Subject, public key and requested SANs of a PKCS#10 request. */
function readRequest(pem: string): { subject: Buffer; spki: Buffer; subjectAltName?: Buffer } {
    const [info] = children(readElement(fromPem("CERTIFICATE REQUEST", pem)).content);
    const [, subject, spki, attributes] = children(info.content);
    let subjectAltName: Buffer | undefined;
    for (const attribute of attributes ? children(attributes.content) : []) {
        const [oid, values] = children(attribute.content);
        if (readObjectIdentifier(oid.content) !== OID.extensionRequest) continue;
        subjectAltName = extensionsOf(children(values.content)[0]).get(OID.subjectAltName);
    }
    return { subject: subject.raw, spki: spki.raw, subjectAltName };
}

/** Subject and subject key identifier of a certificate. */
function readIssuer(pem: string): { subject: Buffer; keyId?: Buffer } {
    const [tbs] = children(readElement(fromPem("CERTIFICATE", pem)).content);
    const fields = children(tbs.content);
    const offset = fields[0].tag === 0xa0 ? 1 : 0;
    const subject = fields[offset + 4];
    const extensions = fields.find((f) => f.tag === 0xa3);
    const ski = extensions ? extensionsOf(children(extensions.content)[0]).get(OID.subjectKeyId) : undefined;
    return { subject: subject.raw, keyId: ski ? readElement(ski).content : undefined };
}

/** A certificate for a request, signed by a CA (`tls.LocallySignedCert`). */
export function issueLocallySignedCert(inputs: TlsProperties): TlsProperties {
    const request = readRequest(inputs.certRequestPem);
    const issuer = readIssuer(inputs.caCertPem);
    const caKey = createPrivateKey(inputs.caPrivateKeyPem);
    return certificate(
        {
            issuer: issuer.subject,
            subject: request.subject,
            spki: request.spki,
            extensions: [
                ...usageExtensions(inputs, request.spki),
                ...(issuer.keyId
                    ? [extension(OID.authorityKeyId, false, sequence(contextTag(0, issuer.keyId, false)))]
                    : []),
                ...(request.subjectAltName ? [extension(OID.subjectAltName, false, request.subjectAltName)] : []),
            ],
            validityPeriodHours: inputs.validityPeriodHours,
        },
        caKey,
        inputs,
    );
}

/** The outputs of a mocked `tls:index/*` registration; undefined for any other type. */
export function issueTlsResource(type: string, inputs: TlsProperties): TlsProperties | undefined {
    switch (type) {
        case TLS_RESOURCE_TYPES.privateKey:
            return generatePrivateKey(inputs);
        case TLS_RESOURCE_TYPES.selfSignedCert:
            return issueSelfSignedCert(inputs);
        case TLS_RESOURCE_TYPES.certRequest:
            return issueCertRequest(inputs);
        case TLS_RESOURCE_TYPES.locallySignedCert:
            return issueLocallySignedCert(inputs);
        default:
            return undefined;
    }
}
