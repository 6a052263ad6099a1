/**
 * Java keystores built from a service's PEM material: a PKCS#12 keystore (the key and its
 * chain), a PKCS#12 truststore (the CA bundle) and, on request, a JKS truststore.
 *
 * Every store is a pure function of its contents and the password: the salts and IVs that
 * PKCS#12 needs come from a generator seeded by PBKDF2 over (password, contents), so a
 * `pulumi up` with nothing changed rebuilds the same bytes and the Secret does not move.
 * The seed costs as much password stretching as the store's own MAC, so the public salts
 * give no faster way to test a guessed password than the MAC already does.
 */
import * as asn1js from "asn1js";
import { X509Certificate, createHash, createHmac, createPrivateKey, pbkdf2Sync, webcrypto } from "node:crypto";
import * as pkijs from "pkijs";
import { splitPemCertificates } from "./x509";

/** File names of the stores in the Secret and in the mounted directory. */
export const KEYSTORE_FILES = {
    keystore: "keystore.p12",
    truststore: "truststore.p12",
    truststoreJks: "truststore.jks",
    /** The Secret key of the password; it reaches the app through `secretKeyRef` only. */
    password: "keystore-password",
} as const;

/** The `KeyStore` type name the JVM opens `keystore.p12` and `truststore.p12` with. */
export const PKCS12_STORE_TYPE = "PKCS12";

/**
 * PBKDF2 and MAC iterations: the JDK's own defaults for PKCS#12 since 8u301 / 11.0.12 / 17
 * (`keystore.pkcs12.keyPbeIterationCount`, `macIterationCount`).
 */
export const PKCS12_ITERATIONS = 10_000;

const OID = {
    pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
    certBag: "1.2.840.113549.1.12.10.1.3",
    x509Certificate: "1.2.840.113549.1.9.22.1",
    friendlyName: "1.2.840.113549.1.9.20",
    localKeyId: "1.2.840.113549.1.9.21",
    /**
     * Oracle's "trusted key usage" bag attribute: the JDK loads a certificate bag as a
     * trusted-certificate entry only when it carries this attribute (OpenSSL 3.2 writes it
     * with `-jdktrust`); without it a truststore.p12 looks empty to Java.
     */
    oracleTrustedKeyUsage: "2.16.840.1.113894.746875.1.1",
    anyExtendedKeyUsage: "2.5.29.37.0",
} as const;

/** What both JDK 17 and OpenSSL 3 read: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), HMAC-SHA256 MAC. */
const PBES2 = {
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 } as pkijs.ContentEncryptionAesCbcParams,
    hmacHashAlgorithm: "SHA-256",
    iterationCount: PKCS12_ITERATIONS,
};

export interface Pkcs12KeystoreInput {
    /** The key, in any PEM form the tls provider writes (PKCS#1, SEC 1, PKCS#8). */
    privateKeyPem: string;
    /** The leaf first, then any intermediates. */
    chainPem: string;
    password: string;
    /** The entry's alias (`friendlyName`). */
    alias: string;
}

export interface TruststoreInput {
    /** The CA certificates to trust. */
    caBundlePem: string;
    password: string;
}

/** A byte stream that is a function of its seed: HMAC-SHA256(seed, counter) blocks. */
class SeededBytes {
    private counter = 0;
    private pool = Buffer.alloc(0);

    constructor(private readonly seed: Buffer) {}

    fill<T extends ArrayBufferView | null>(view: T): T {
        if (!view) return view;
        const out = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        while (this.pool.length < out.length) {
            const block = createHmac("sha256", this.seed)
                .update(`block ${this.counter++}`)
                .digest();
            this.pool = Buffer.concat([this.pool, block]);
        }
        out.set(this.pool.subarray(0, out.length));
        this.pool = this.pool.subarray(out.length);
        return view;
    }
}

/** A pkijs engine whose "random" values are the seeded stream; everything else is WebCrypto. */
function seededEngine(kind: string, password: string, contents: Buffer[]): pkijs.CryptoEngine {
    const digest = createHash("sha256").update(`mtls ${kind} v1`);
    for (const part of contents) digest.update(String(part.length)).update(":").update(part);
    const seed = pbkdf2Sync(Buffer.from(password, "utf8"), digest.digest(), PKCS12_ITERATIONS, 32, "sha256");
    const bytes = new SeededBytes(seed);
    const crypto = {
        subtle: webcrypto.subtle,
        getRandomValues: <T extends ArrayBufferView | null>(view: T) => bytes.fill(view),
    };
    return new pkijs.CryptoEngine({
        name: `mtls-${kind}`,
        crypto: crypto as unknown as pkijs.CryptoEngineParameters["crypto"],
    });
}

function bmpAttribute(type: string, value: string): pkijs.Attribute {
    return new pkijs.Attribute({ type, values: [new asn1js.BmpString({ value })] });
}

function certBag(der: Buffer, attributes: pkijs.Attribute[]): pkijs.SafeBag {
    return new pkijs.SafeBag({
        bagId: OID.certBag,
        bagValue: new pkijs.CertBag({
            certId: OID.x509Certificate,
            certValue: new asn1js.OctetString({ valueHex: der }),
        }),
        ...(attributes.length ? { bagAttributes: attributes } : {}),
    });
}

/**
 * The password's bytes. PBKDF2 reads a PKCS#12 password as UTF-8, the MAC as UTF-16 and JKS
 * as UTF-16 again: only printable ASCII means the same to every reader.
 */
function passwordBytes(password: string): ArrayBuffer {
    if (!/^[\x20-\x7e]+$/.test(password)) throw new Error("a keystore password must be non-empty printable ASCII");
    const bytes = Buffer.from(password, "ascii");
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Wraps SafeContents into a PFX with the MAC, every salt and IV drawn from `engine`. */
async function seal(
    engine: pkijs.CryptoEngine,
    password: string,
    plain: pkijs.SafeBag[],
    encrypted: pkijs.SafeBag[],
): Promise<Buffer> {
    const secret = passwordBytes(password);
    const safeContents = [
        ...(plain.length ? [{ privacyMode: 0, value: new pkijs.SafeContents({ safeBags: plain }) }] : []),
        { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: encrypted }) },
    ];
    const pfx = new pkijs.PFX({
        parsedValue: {
            integrityMode: 0,
            authenticatedSafe: new pkijs.AuthenticatedSafe({ parsedValue: { safeContents } }),
        },
    });
    const authenticatedSafe = pfx.parsedValue!.authenticatedSafe!;
    await authenticatedSafe.makeInternalValues(
        {
            safeContents: safeContents.map((c) => (c.privacyMode === 0 ? {} : { password: secret, ...PBES2 })),
        },
        engine,
    );
    await pfx.makeInternalValues(
        {
            password: secret,
            iterations: PKCS12_ITERATIONS,
            pbkdf2HashAlgorithm: "SHA-256",
            hmacHashAlgorithm: "SHA-256",
        },
        engine,
    );
    return Buffer.from(pfx.toSchema().toBER(false));
}

function certificateDers(pem: string, what: string): Buffer[] {
    const ders = splitPemCertificates(pem).map((block) => Buffer.from(new X509Certificate(block).raw));
    if (ders.length === 0) throw new Error(`${what} holds no PEM certificate`);
    return ders;
}

/**
 * A PKCS#12 keystore with one private-key entry: the key in a PBES2-shrouded key bag and
 * its chain (leaf first) in an encrypted certificate bag set, both named `alias` and tied
 * by a local key id (the leaf's SHA-1 fingerprint, as OpenSSL writes it).
 */
export async function buildPkcs12Keystore(input: Pkcs12KeystoreInput): Promise<Buffer> {
    const keyDer = createPrivateKey(input.privateKeyPem).export({ format: "der", type: "pkcs8" });
    const chain = certificateDers(input.chainPem, "the chain");
    const engine = seededEngine("pkcs12 keystore", input.password, [
        Buffer.from(input.alias, "utf8"),
        keyDer,
        ...chain,
    ]);
    const localKeyId = new pkijs.Attribute({
        type: OID.localKeyId,
        values: [new asn1js.OctetString({ valueHex: createHash("sha1").update(chain[0]).digest() })],
    });
    const attributes = [bmpAttribute(OID.friendlyName, input.alias), localKeyId];

    const keyBag = new pkijs.PKCS8ShroudedKeyBag({
        parsedValue: new pkijs.PrivateKeyInfo({ schema: asn1js.fromBER(keyDer).result }),
    });
    await keyBag.makeInternalValues({ password: passwordBytes(input.password), ...PBES2 }, engine);
    const key = new pkijs.SafeBag({ bagId: OID.pkcs8ShroudedKeyBag, bagValue: keyBag, bagAttributes: attributes });
    const certs = chain.map((der, i) => certBag(der, i === 0 ? attributes : []));
    return seal(engine, input.password, [key], certs);
}

/** Aliases for CA certificates: their CN in lower case with dashes, made unique by position. */
export function truststoreAliases(caBundlePem: string): string[] {
    const seen = new Set<string>();
    return certificateDers(caBundlePem, "the CA bundle").map((der, i) => {
        const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(der).subject)?.[1] ?? "";
        const slug =
            cn
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, "-")
                .replace(/^-+|-+$/g, "") || "ca";
        const alias = seen.has(slug) ? `${slug}-${i + 1}` : slug;
        seen.add(alias);
        return alias;
    });
}

/** A PKCS#12 truststore: one trusted-certificate entry per CA certificate, in an encrypted bag set. */
export async function buildPkcs12Truststore(input: TruststoreInput): Promise<Buffer> {
    const ders = certificateDers(input.caBundlePem, "the CA bundle");
    const aliases = truststoreAliases(input.caBundlePem);
    const engine = seededEngine("pkcs12 truststore", input.password, ders);
    const trusted = new pkijs.Attribute({
        type: OID.oracleTrustedKeyUsage,
        values: [new asn1js.ObjectIdentifier({ value: OID.anyExtendedKeyUsage })],
    });
    const bags = ders.map((der, i) => certBag(der, [bmpAttribute(OID.friendlyName, aliases[i]), trusted]));
    return seal(engine, input.password, [], bags);
}

const JKS_MAGIC = 0xfeedfeed;
const JKS_VERSION = 2;
const JKS_TRUSTED_CERT = 2;

/** Java's DataOutput.writeUTF: a two-byte length, then modified UTF-8 (plain ASCII here). */
function javaUtf(value: string): Buffer {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is ASCII without NUL, control characters included
    if (!/^[\x01-\x7f]*$/.test(value)) throw new Error(`JKS alias ${JSON.stringify(value)} must be ASCII`);
    const body = Buffer.from(value, "ascii");
    const length = Buffer.alloc(2);
    length.writeUInt16BE(body.length);
    return Buffer.concat([length, body]);
}

function uint32(value: number): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out;
}

/**
 * A JKS truststore (the format of `sun.security.provider.JavaKeyStore`, version 2): one
 * trusted-certificate entry per CA certificate, dated by the certificate's notBefore so
 * equal inputs give equal bytes, and the keyed SHA-1 integrity check the JDK verifies on
 * load. JKS would protect a private key with a proprietary SHA-1 keystream, which is why
 * no key ever goes into a JKS file here; certificates need no confidentiality.
 */
export function buildJksTruststore(input: TruststoreInput): Buffer {
    const ders = certificateDers(input.caBundlePem, "the CA bundle");
    const aliases = truststoreAliases(input.caBundlePem);
    const parts: Buffer[] = [uint32(JKS_MAGIC), uint32(JKS_VERSION), uint32(ders.length)];
    ders.forEach((der, i) => {
        const timestamp = Buffer.alloc(8);
        timestamp.writeBigUInt64BE(BigInt(Date.parse(new X509Certificate(der).validFrom)));
        parts.push(uint32(JKS_TRUSTED_CERT), javaUtf(aliases[i]), timestamp, javaUtf("X.509"), uint32(der.length), der);
    });
    const body = Buffer.concat(parts);
    const utf16be = Buffer.from(Buffer.from(passwordBytes(input.password)).toString("ascii"), "utf16le").swap16();
    const digest = createHash("sha1").update(utf16be).update("Mighty Aphrodite", "utf8").update(body).digest();
    return Buffer.concat([body, digest]);
}

/** The stores of one service, by file name: what goes into its Secret next to `tls.key`. */
export async function buildKeystoreFiles(input: {
    formats: readonly string[];
    alias: string;
    privateKeyPem: string;
    chainPem: string;
    caBundlePem: string;
    password: string;
}): Promise<Record<string, Buffer>> {
    const files: Record<string, Buffer> = {};
    if (!input.formats.includes("pkcs12")) return files;
    files[KEYSTORE_FILES.keystore] = await buildPkcs12Keystore(input);
    files[KEYSTORE_FILES.truststore] = await buildPkcs12Truststore(input);
    if (input.formats.includes("jks")) files[KEYSTORE_FILES.truststoreJks] = buildJksTruststore(input);
    return files;
}
