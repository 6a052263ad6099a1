/**
 * The keystore builders on their own, no Pulumi: equal inputs give equal bytes, any input
 * change gives new bytes, OpenSSL (under Node) reads the PKCS#12 keystore and completes mTLS
 * with it, jks-js reads the JKS truststore, and the protection is PBES2 / AES-256 / SHA-256.
 */
import { createPrivateKey } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
    KEYSTORE_FILES,
    PKCS12_ITERATIONS,
    buildJksTruststore,
    buildKeystoreFiles,
    buildPkcs12Keystore,
    buildPkcs12Truststore,
    truststoreAliases,
} from "../components/keystores";
import { keystoreDeliveryProblems, keystorePasswordVersionProblems, keystoreProblems } from "../components/rules";
import { splitPemCertificates } from "../components/x509";
import { mtlsHandshake } from "./support/handshake";
import { OIDS, readPkcs12 } from "./support/pkcs12";
import { IssuedLeaf, TestPki, testPki } from "./support/pki";
// jks-js: an independent JKS reader (it verifies the keyed SHA-1 digest with the password).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jks = require("jks-js") as {
    parseJks(bytes: Buffer, password: string): Array<{ alias: string; date: Date; cert?: { value: Buffer } }>;
};

const PASSWORD = "Tr0ubadorTr0ubadorTr0ubadorAbc12";
let pki: TestPki;
let other: TestPki;
let leaf: IssuedLeaf;
let renewed: IssuedLeaf;

beforeAll(async () => {
    [pki, other] = await Promise.all([testPki("keystores", { intermediate: true }), testPki("other")]);
    [leaf, renewed] = await Promise.all([pki.leaf("user-service"), pki.leaf("user-service")]);
});

const keystoreOf = (material: IssuedLeaf, password = PASSWORD, alias = "user-service") =>
    buildPkcs12Keystore({ ...material, password, alias });
const bundle = () => pki.rootPem + other.rootPem;

describe("keystores are a function of their inputs", () => {
    it("builds byte-identical stores from equal inputs", async () => {
        const [a, b] = [await keystoreOf(leaf), await keystoreOf({ ...leaf })];
        expect(a.equals(b)).toBe(true);
        const [t1, t2] = await Promise.all([
            buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD }),
            buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD }),
        ]);
        expect(t1.equals(t2)).toBe(true);
        expect(
            buildJksTruststore({ caBundlePem: bundle(), password: PASSWORD }).equals(
                buildJksTruststore({ caBundlePem: bundle(), password: PASSWORD }),
            ),
        ).toBe(true);
    });

    it("builds a new keystore when the key and chain, the password or the alias change, and only then", async () => {
        const base = await keystoreOf(leaf);
        const variants = await Promise.all([
            keystoreOf(renewed),
            keystoreOf(leaf, `${PASSWORD.slice(0, -1)}X`),
            keystoreOf(leaf, PASSWORD, "other-name"),
        ]);
        for (const variant of variants) expect(variant.equals(base)).toBe(false);
        // The CA bundle is not part of the keystore: a rotation that only adds a CA leaves it alone.
        const files = await buildKeystoreFiles({
            formats: ["pkcs12"],
            alias: "user-service",
            ...leaf,
            caBundlePem: bundle(),
            password: PASSWORD,
        });
        expect(files[KEYSTORE_FILES.keystore].equals(base)).toBe(true);
    });

    it("builds a new truststore when the bundle or the password changes", async () => {
        const base = await buildPkcs12Truststore({ caBundlePem: pki.rootPem, password: PASSWORD });
        expect((await buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD })).equals(base)).toBe(false);
        expect((await buildPkcs12Truststore({ caBundlePem: pki.rootPem, password: `${PASSWORD}9` })).equals(base)).toBe(
            false,
        );
        const jksBase = buildJksTruststore({ caBundlePem: pki.rootPem, password: PASSWORD });
        expect(buildJksTruststore({ caBundlePem: bundle(), password: PASSWORD }).equals(jksBase)).toBe(false);
        expect(buildJksTruststore({ caBundlePem: pki.rootPem, password: `${PASSWORD}9` }).equals(jksBase)).toBe(false);
    });

    it("draws a fresh salt and IV for every encrypted part and every store, never a constant", async () => {
        const [a, b, t] = await Promise.all([
            keystoreOf(leaf).then((bytes) => readPkcs12(bytes, PASSWORD)),
            keystoreOf(renewed).then((bytes) => readPkcs12(bytes, PASSWORD)),
            buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD }).then((bytes) =>
                readPkcs12(bytes, PASSWORD),
            ),
        ]);
        // keystore: MAC salt, then salt and IV of the certificate set and of the key bag
        expect(a.salts).toHaveLength(5);
        const all = [...a.salts, ...b.salts, ...t.salts];
        expect(new Set(all).size).toBe(all.length);
        for (const salt of all) expect(salt).not.toMatch(/^(00)+$/);
    });
});

describe("keystore.p12", () => {
    it("holds the key and the chain, leaf first, tied by one alias and local key id", async () => {
        const contents = await readPkcs12(await keystoreOf(leaf), PASSWORD);
        expect(contents.keys).toHaveLength(1);
        const expectedKey = createPrivateKey(leaf.privateKeyPem).export({ format: "der", type: "pkcs8" });
        expect(contents.keys[0].der.equals(expectedKey)).toBe(true);
        expect(contents.certificates.map((c) => c.pem)).toEqual(splitPemCertificates(leaf.chainPem));
        expect(contents.certificates).toHaveLength(2);
        expect(contents.keys[0]).toMatchObject({ friendlyName: "user-service" });
        expect(contents.certificates[0]).toMatchObject({
            friendlyName: "user-service",
            localKeyId: contents.keys[0].localKeyId,
        });
        expect(contents.certificates[1].localKeyId).toBeUndefined();
    });

    it("protects key and certificates with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and a SHA-256 MAC", async () => {
        const contents = await readPkcs12(await keystoreOf(leaf), PASSWORD);
        expect(contents.mac).toEqual({ digest: OIDS.sha256, iterations: PKCS12_ITERATIONS, saltBytes: 64 });
        expect(contents.protections).toHaveLength(2);
        for (const p of contents.protections) {
            expect(p).toEqual({
                scheme: OIDS.pbes2,
                kdf: OIDS.pbkdf2,
                prf: OIDS.hmacWithSha256,
                cipher: OIDS.aes256Cbc,
                iterations: PKCS12_ITERATIONS,
                saltBytes: 64,
            });
        }
    });

    it("is read by OpenSSL under Node and completes mTLS as server and as client", async () => {
        const client = await pki.leaf("order-service");
        const pfx = await keystoreOf(leaf);
        const asServer = await mtlsHandshake(
            { pfx, passphrase: PASSWORD, ca: pki.rootPem },
            { chain: client.chainPem, key: client.privateKeyPem, ca: pki.rootPem },
            "user-service",
        );
        expect(asServer).toMatchObject({ ok: true, clientCN: "order-service" });
        const asClient = await mtlsHandshake(
            { chain: client.chainPem, key: client.privateKeyPem, ca: pki.rootPem },
            { pfx, passphrase: PASSWORD, ca: pki.rootPem },
            "order-service",
        );
        expect(asClient).toMatchObject({ ok: true, clientCN: "user-service" });
    });

    it("does not open with a wrong password: the MAC check fails before anything is read", async () => {
        const pfx = await keystoreOf(leaf);
        await expect(readPkcs12(pfx, "not-the-password")).rejects.toThrow(/integrity/i);
        const refused = await mtlsHandshake(
            { pfx, passphrase: "not-the-password", ca: pki.rootPem },
            { chain: leaf.chainPem, key: leaf.privateKeyPem, ca: pki.rootPem },
            "user-service",
        ).catch((err: Error) => ({ ok: false, error: err.message }));
        expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/mac verify failure/) });
    });

    it.each(["ECDSA-P384", "RSA-2048", "ED25519"] as const)(
        "holds a %s key that OpenSSL uses for mTLS",
        async (algorithm) => {
            const material = await pki.leaf("user-service", { algorithm });
            const pfx = await keystoreOf(material);
            const result = await mtlsHandshake(
                { pfx, passphrase: PASSWORD, ca: pki.rootPem },
                { chain: leaf.chainPem, key: leaf.privateKeyPem, ca: pki.rootPem },
                "user-service",
            );
            expect(result).toMatchObject({ ok: true, clientCN: "user-service" });
        },
    );

    it("refuses a password that PKCS#12 readers could disagree on", async () => {
        await expect(keystoreOf(leaf, "pässwörd")).rejects.toThrow(/printable ASCII/);
        await expect(keystoreOf(leaf, "")).rejects.toThrow(/printable ASCII/);
    });
});

describe("truststore.p12 and truststore.jks", () => {
    it("holds every CA certificate as a trusted entry Java loads: the Oracle trusted-key-usage attribute and a readable alias", async () => {
        const contents = await readPkcs12(
            await buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD }),
            PASSWORD,
        );
        expect(contents.keys).toEqual([]);
        expect(contents.certificates.map((c) => c.pem)).toEqual(splitPemCertificates(bundle()));
        expect(contents.certificates.map((c) => [c.friendlyName, c.trusted])).toEqual([
            ["keystores-root-ca", "2.5.29.37.0"],
            ["other-root-ca", "2.5.29.37.0"],
        ]);
        expect(contents.protections).toEqual([
            expect.objectContaining({ prf: OIDS.hmacWithSha256, cipher: OIDS.aes256Cbc }),
        ]);
        await expect(
            readPkcs12(await buildPkcs12Truststore({ caBundlePem: bundle(), password: PASSWORD }), "wrong"),
        ).rejects.toThrow(/integrity/i);
    });

    it("writes a JKS that an independent reader opens with the password, and refuses with a wrong one", () => {
        const bytes = buildJksTruststore({ caBundlePem: bundle(), password: PASSWORD });
        const entries = jks.parseJks(bytes, PASSWORD);
        expect(entries.map((e) => e.alias)).toEqual(["keystores-root-ca", "other-root-ca"]);
        const ders = splitPemCertificates(bundle()).map((pem) =>
            Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64"),
        );
        expect(entries.map((e) => Buffer.from(e.cert!.value).equals(ders[entries.indexOf(e)]))).toEqual([true, true]);
        expect(() => jks.parseJks(bytes, "wrong")).toThrow();
    });

    it("gives CAs of the same name distinct aliases", () => {
        expect(truststoreAliases(pki.rootPem + pki.rootPem)).toEqual(["keystores-root-ca", "keystores-root-ca-2"]);
    });
});

describe("keystore rules", () => {
    it("accepts none, pkcs12, and pkcs12 with jks", () => {
        for (const formats of [[], ["pkcs12"], ["pkcs12", "jks"], ["jks", "pkcs12"]])
            expect(keystoreProblems(formats)).toEqual([]);
    });

    it("names the entry and the fix for unknown, repeated and lone jks, and a value that is no list", () => {
        expect(keystoreProblems(["pkcs12", "p12"])).toEqual([
            { argument: "keystores[1]", message: '"p12" is not a keystore format; use pkcs12 or jks' },
        ]);
        expect(keystoreProblems(["pkcs12", "pkcs12"])).toEqual([
            { argument: "keystores[1]", message: "pkcs12 is listed twice; list each format once" },
        ]);
        expect(keystoreProblems(["jks"])).toEqual([
            {
                argument: "keystores",
                message: "jks adds a JKS truststore next to the PKCS#12 keystore and truststore; write [pkcs12, jks]",
            },
        ]);
        expect(keystoreProblems("pkcs12")).toEqual([
            {
                argument: "keystores",
                message: expect.stringMatching(/^must be a list of keystore formats, got "pkcs12"; write \[pkcs12\]/),
            },
        ]);
    });

    it("lets keystores reach a pod as files only, blaming the argument the fix belongs to", () => {
        expect(keystoreDeliveryProblems("files", ["pkcs12"])).toEqual([]);
        expect(keystoreDeliveryProblems("env", [])).toEqual([]);
        expect(keystoreDeliveryProblems("env", ["pkcs12"])).toEqual([
            {
                argument: "delivery",
                message: expect.stringMatching(/^"env" cannot carry keystores pkcs12 \(a keystore is a binary file/),
            },
        ]);
        expect(keystoreDeliveryProblems("env", ["pkcs12"], "keystores")).toEqual([
            { argument: "keystores", message: expect.stringMatching(/set delivery: files or remove keystores$/) },
        ]);
    });

    it("takes a password version from 1 up, and only with keystores", () => {
        expect(keystorePasswordVersionProblems(undefined, [])).toEqual([]);
        expect(keystorePasswordVersionProblems(3, ["pkcs12"])).toEqual([]);
        expect(keystorePasswordVersionProblems(3, undefined)).toEqual([]);
        for (const bad of [0, 1.5, "2"]) {
            expect(keystorePasswordVersionProblems(bad, ["pkcs12"])).toEqual([
                {
                    argument: "keystorePasswordVersion",
                    message: expect.stringMatching(/^must be a whole number from 1 up/),
                },
            ]);
        }
        expect(keystorePasswordVersionProblems(2, [])).toEqual([
            { argument: "keystorePasswordVersion", message: expect.stringMatching(/^only applies with keystores/) },
        ]);
    });
});
