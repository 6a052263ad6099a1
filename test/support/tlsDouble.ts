/**
 * TEST DOUBLE of the tls provider: under Pulumi's mocks it turns the program's
 * real arguments for `tls:index/*` resources into real keys and certificates,
 * following the provider's documented mapping (algorithm and curve, CA flag,
 * allowed uses to key usage and extended key usage, SANs copied from the CSR,
 * validity in hours). It exists so the fast tier checks issued certificates
 * with real parsers and real TLS peers; it is never evidence about the engine.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

type Inputs = Record<string, any>;

const KEY_USAGE: Record<string, number> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXT_KEY_USAGE: Record<string, string> = {
    server_auth: x509.ExtendedKeyUsage.serverAuth,
    client_auth: x509.ExtendedKeyUsage.clientAuth,
    code_signing: x509.ExtendedKeyUsage.codeSigning,
    email_protection: x509.ExtendedKeyUsage.emailProtection,
    timestamping: x509.ExtendedKeyUsage.timeStamping,
    ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

/** The clock the double issues certificates by; tests move it to make expired or future certificates. */
export const clock = { now: () => new Date() };

/** Generates a private key as the tls provider encodes it (PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519). */
export function generateTlsKey(inputs: Inputs): Inputs {
    const algorithm = inputs.algorithm;
    let key: KeyObject;
    let pem: string;
    if (algorithm === "RSA") {
        key = generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 }).privateKey;
        pem = key.export({ format: "pem", type: "pkcs1" }).toString();
    } else if (algorithm === "ECDSA") {
        const curve = { P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" }[inputs.ecdsaCurve as string];
        if (!curve) throw new Error(`tls double: unsupported ecdsaCurve ${inputs.ecdsaCurve}`);
        key = generateKeyPairSync("ec", { namedCurve: curve }).privateKey;
        pem = key.export({ format: "pem", type: "sec1" }).toString();
    } else if (algorithm === "ED25519") {
        key = generateKeyPairSync("ed25519").privateKey;
        pem = key.export({ format: "pem", type: "pkcs8" }).toString();
    } else {
        throw new Error(`tls double: unsupported algorithm ${algorithm}`);
    }
    return {
        ...inputs,
        privateKeyPem: pem,
        privateKeyPemPkcs8: key.export({ format: "pem", type: "pkcs8" }).toString(),
        publicKeyPem: createPublicKey(key).export({ format: "pem", type: "spki" }).toString(),
    };
}

function webAlgorithm(key: KeyObject): { importAs: any; sign: any } {
    const type = key.asymmetricKeyType;
    if (type === "rsa") {
        const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        return { importAs: alg, sign: alg };
    }
    if (type === "ec") {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        const namedCurve = curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : "P-256";
        const hash = namedCurve === "P-384" ? "SHA-384" : namedCurve === "P-521" ? "SHA-512" : "SHA-256";
        return { importAs: { name: "ECDSA", namedCurve }, sign: { name: "ECDSA", hash } };
    }
    if (type === "ed25519") return { importAs: { name: "Ed25519" }, sign: { name: "Ed25519" } };
    throw new Error(`tls double: unsupported key type ${type}`);
}

async function importKeys(privatePem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; sign: any }> {
    const key = createPrivateKey(privatePem);
    const { importAs, sign } = webAlgorithm(key);
    const subtle = webcrypto.subtle as unknown as SubtleCrypto;
    const privateKey = await subtle.importKey("pkcs8", key.export({ format: "der", type: "pkcs8" }), importAs, true, ["sign"]);
    const publicKey = await subtle.importKey("spki", createPublicKey(key).export({ format: "der", type: "spki" }), importAs, true, ["verify"]);
    return { privateKey, publicKey, sign };
}

function distinguishedName(subject: Inputs | undefined): string {
    const parts: string[] = [];
    const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, "\\$1");
    if (subject?.country) parts.push(`C=${escape(subject.country)}`);
    if (subject?.province) parts.push(`ST=${escape(subject.province)}`);
    if (subject?.locality) parts.push(`L=${escape(subject.locality)}`);
    if (subject?.organization) parts.push(`O=${escape(subject.organization)}`);
    if (subject?.organizationalUnit) parts.push(`OU=${escape(subject.organizationalUnit)}`);
    if (subject?.commonName) parts.push(`CN=${escape(subject.commonName)}`);
    return parts.join(", ");
}

function sanExtension(inputs: Inputs): x509.Extension[] {
    const names: x509.JsonGeneralName[] = [
        ...(inputs.dnsNames ?? []).map((value: string) => ({ type: "dns" as const, value })),
        ...(inputs.ipAddresses ?? []).map((value: string) => ({ type: "ip" as const, value })),
        ...(inputs.uris ?? []).map((value: string) => ({ type: "url" as const, value })),
    ];
    return names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

async function usageExtensions(inputs: Inputs, publicKey: CryptoKey): Promise<x509.Extension[]> {
    const uses: string[] = inputs.allowedUses ?? [];
    const flags = uses.reduce((acc, use) => acc | (KEY_USAGE[use] ?? 0), 0);
    const ekus = uses.map((use) => EXT_KEY_USAGE[use]).filter((eku): eku is string => Boolean(eku));
    const isCa = Boolean(inputs.isCaCertificate);
    // As the provider: 0 and -1 both mean no path-length constraint (Go's MaxPathLen without MaxPathLenZero).
    const pathLength = isCa && typeof inputs.maxPathLength === "number" && inputs.maxPathLength > 0 ? inputs.maxPathLength : undefined;
    const out: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, pathLength, true)];
    if (flags) out.push(new x509.KeyUsagesExtension(flags, true));
    if (ekus.length) out.push(new x509.ExtendedKeyUsageExtension(ekus, false));
    if (inputs.setSubjectKeyId) out.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
    return out;
}

function validity(inputs: Inputs): { notBefore: Date; notAfter: Date } {
    const notBefore = clock.now();
    return { notBefore, notAfter: new Date(notBefore.getTime() + Number(inputs.validityPeriodHours) * 3_600_000) };
}

function certOutputs(inputs: Inputs, cert: x509.X509Certificate): Inputs {
    return {
        ...inputs,
        certPem: cert.toString("pem") + "\n",
        validityStartTime: cert.notBefore.toISOString(),
        validityEndTime: cert.notAfter.toISOString(),
        readyForRenewal: false,
    };
}

export async function selfSignedCert(inputs: Inputs): Promise<Inputs> {
    const keys = await importKeys(inputs.privateKeyPem);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
        name: distinguishedName(inputs.subject),
        ...validity(inputs),
        signingAlgorithm: keys.sign,
        keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
        extensions: [...(await usageExtensions(inputs, keys.publicKey)), ...sanExtension(inputs)],
    });
    return certOutputs(inputs, cert);
}

export async function certRequest(inputs: Inputs): Promise<Inputs> {
    const keys = await importKeys(inputs.privateKeyPem);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: distinguishedName(inputs.subject),
        keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
        signingAlgorithm: keys.sign,
        extensions: sanExtension(inputs),
    });
    return { ...inputs, certRequestPem: csr.toString("pem") + "\n" };
}

export async function locallySignedCert(inputs: Inputs): Promise<Inputs> {
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    const caCert = new x509.X509Certificate(inputs.caCertPem);
    const caKeys = await importKeys(inputs.caPrivateKeyPem);
    const subjectKey = await csr.publicKey.export(webcrypto as unknown as Crypto);
    const sanRaw = csr.getExtension("2.5.29.17");
    const san = sanRaw ? new x509.SubjectAlternativeNameExtension(sanRaw.rawData) : undefined;
    const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
        subject: csr.subject,
        issuer: caCert.subject,
        ...validity(inputs),
        signingAlgorithm: caKeys.sign,
        publicKey: csr.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
            ...(await usageExtensions(inputs, subjectKey)),
            ...(caSki ? [new x509.AuthorityKeyIdentifierExtension(caSki.keyId, false)] : []),
            ...(san ? [san] : []),
        ],
    });
    return certOutputs(inputs, cert);
}

/** Dispatches a mocked `tls:index/*` registration; undefined for any other type. */
export async function issueTlsResource(type: string, inputs: Inputs): Promise<Inputs | undefined> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return generateTlsKey(inputs);
        case "tls:index/selfSignedCert:SelfSignedCert":
            return selfSignedCert(inputs);
        case "tls:index/certRequest:CertRequest":
            return certRequest(inputs);
        case "tls:index/locallySignedCert:LocallySignedCert":
            return locallySignedCert(inputs);
        default:
            return undefined;
    }
}
