/** Reading PKCS#12 files in tests: what a reader checks (the MAC with the password) and what algorithms they use. */
import * as asn1js from "asn1js";
import { X509Certificate, webcrypto } from "node:crypto";
import * as pkijs from "pkijs";

const engine = new pkijs.CryptoEngine({ name: "test", crypto: webcrypto as unknown as Crypto });

export const OIDS = {
    pbes2: "1.2.840.113549.1.5.13",
    pbkdf2: "1.2.840.113549.1.5.12",
    hmacWithSha256: "1.2.840.113549.2.9",
    aes256Cbc: "2.16.840.1.101.3.4.1.42",
    sha256: "2.16.840.1.101.3.4.2.1",
    encryptedData: "1.2.840.113549.1.7.6",
    data: "1.2.840.113549.1.7.1",
    friendlyName: "1.2.840.113549.1.9.20",
    localKeyId: "1.2.840.113549.1.9.21",
    oracleTrustedKeyUsage: "2.16.840.1.113894.746875.1.1",
} as const;

/** How one piece of a store is protected. */
export interface Protection {
    scheme: string;
    kdf: string;
    prf: string;
    cipher: string;
    iterations: number;
    saltBytes: number;
}

export interface Pkcs12Contents {
    mac: { digest: string; iterations: number; saltBytes: number };
    /** How each encrypted part is protected: the shrouded key bags and the encrypted bag sets. */
    protections: Protection[];
    /** Every certificate bag, in order, with its attributes. */
    certificates: Array<{ pem: string; friendlyName?: string; localKeyId?: string; trusted?: string }>;
    /** Every private key, PKCS#8 DER, with its attributes. */
    keys: Array<{ der: Buffer; friendlyName?: string; localKeyId?: string }>;
    /** Every salt and IV in the file, hex: the MAC salt, then each encrypted part's salt and IV. */
    salts: string[];
}

const hex = (block: asn1js.OctetString) => Buffer.from(block.valueBlock.valueHexView).toString("hex");

function protection(algorithm: pkijs.AlgorithmIdentifier, salts: string[]): Protection {
    const pbes2 = new pkijs.PBES2Params({ schema: algorithm.algorithmParams });
    const kdf = new pkijs.PBKDF2Params({ schema: pbes2.keyDerivationFunc.algorithmParams });
    salts.push(hex(kdf.salt as asn1js.OctetString), hex(pbes2.encryptionScheme.algorithmParams as asn1js.OctetString));
    return {
        scheme: algorithm.algorithmId,
        kdf: pbes2.keyDerivationFunc.algorithmId,
        prf: kdf.prf?.algorithmId ?? "hmacWithSHA1 (default)",
        cipher: pbes2.encryptionScheme.algorithmId,
        iterations: kdf.iterationCount,
        saltBytes: (kdf.salt as asn1js.OctetString).valueBlock.valueHexView.byteLength,
    };
}

function attributes(bag: pkijs.SafeBag): { friendlyName?: string; localKeyId?: string; trusted?: string } {
    const out: { friendlyName?: string; localKeyId?: string; trusted?: string } = {};
    for (const attribute of bag.bagAttributes ?? []) {
        const value = attribute.values[0];
        if (attribute.type === OIDS.friendlyName) out.friendlyName = (value as asn1js.BmpString).valueBlock.value;
        if (attribute.type === OIDS.localKeyId)
            out.localKeyId = Buffer.from((value as asn1js.OctetString).valueBlock.valueHexView).toString("hex");
        if (attribute.type === OIDS.oracleTrustedKeyUsage)
            out.trusted = (value as asn1js.ObjectIdentifier).valueBlock.toString();
    }
    return out;
}

/** Opens a PKCS#12 file with its password (the MAC is verified first) and lists what it holds. */
export async function readPkcs12(bytes: Buffer, password: string): Promise<Pkcs12Contents> {
    const secret = new Uint8Array(Buffer.from(password, "utf8")).buffer;
    const pfx = pkijs.PFX.fromBER(new Uint8Array(bytes).buffer);
    await pfx.parseInternalValues({ password: secret, checkIntegrity: true }, engine);
    const mac = pfx.macData!;
    const safe = pfx.parsedValue!.authenticatedSafe!;
    const protections: Protection[] = [];
    const salts = [hex(mac.macSalt)];
    for (const info of safe.safeContents) {
        if (info.contentType === OIDS.encryptedData) {
            // A fresh parse: pkijs strips the names it reads off the schema it is given.
            const copy = asn1js.fromBER((info.content as asn1js.Sequence).toBER(false)).result;
            protections.push(
                protection(
                    new pkijs.EncryptedData({ schema: copy }).encryptedContentInfo.contentEncryptionAlgorithm,
                    salts,
                ),
            );
        }
    }
    await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password: secret })) }, engine);
    const out: Pkcs12Contents = {
        mac: {
            digest: mac.mac.digestAlgorithm.algorithmId,
            iterations: mac.iterations ?? 1,
            saltBytes: mac.macSalt.valueBlock.valueHexView.byteLength,
        },
        protections,
        certificates: [],
        keys: [],
        salts,
    };
    for (const contents of safe.parsedValue!.safeContents) {
        for (const bag of contents.value.safeBags) {
            if (bag.bagValue instanceof pkijs.CertBag) {
                const der = Buffer.from((bag.bagValue.certValue as asn1js.OctetString).valueBlock.valueHexView);
                out.certificates.push({ pem: new X509Certificate(der).toString(), ...attributes(bag) });
            } else if (bag.bagValue instanceof pkijs.PKCS8ShroudedKeyBag) {
                protections.push(protection(bag.bagValue.encryptionAlgorithm, salts));
                await bag.bagValue.parseInternalValues({ password: secret }, engine);
                out.keys.push({
                    der: Buffer.from(bag.bagValue.parsedValue!.toSchema().toBER(false)),
                    ...attributes(bag),
                });
            }
        }
    }
    return out;
}
