/** Small real PKIs for tests that need material outside the program: a root, an optional intermediate, leaves. */
import { certRequest, generateTlsKey, locallySignedCert, selfSignedCert } from "./tlsDouble";
import { tlsKeySpec, type KeyAlgorithm } from "../../components/rules";

export interface IssuedLeaf {
    privateKeyPem: string;
    /** Leaf first, then the intermediate when there is one. */
    chainPem: string;
    caBundlePem: string;
}

export interface TestPki {
    rootPem: string;
    signingPem: string;
    signingKeyPem: string;
    /** The intermediate, or "" without one. */
    intermediatePem: string;
    leaf(commonName: string, options?: { algorithm?: KeyAlgorithm; uses?: string[] }): Promise<IssuedLeaf>;
}

const CA_USES = ["cert_signing", "crl_signing"];

export async function testPki(
    name: string,
    options: { algorithm?: KeyAlgorithm; intermediate?: boolean } = {},
): Promise<TestPki> {
    const rootKey = generateTlsKey(tlsKeySpec(options.algorithm ?? "ECDSA-P256"));
    const root = await selfSignedCert({
        privateKeyPem: rootKey.privateKeyPem,
        subject: { commonName: `${name} root CA` },
        isCaCertificate: true,
        allowedUses: CA_USES,
        validityPeriodHours: 48,
        setSubjectKeyId: true,
    });
    let signingPem = root.certPem as string;
    let signingKeyPem = rootKey.privateKeyPem as string;
    let intermediatePem = "";
    if (options.intermediate) {
        const key = generateTlsKey(tlsKeySpec(options.algorithm ?? "ECDSA-P256"));
        const csr = await certRequest({
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: `${name} intermediate` },
        });
        const cert = await locallySignedCert({
            certRequestPem: csr.certRequestPem,
            caCertPem: root.certPem,
            caPrivateKeyPem: rootKey.privateKeyPem,
            isCaCertificate: true,
            allowedUses: CA_USES,
            validityPeriodHours: 24,
            setSubjectKeyId: true,
        });
        [signingPem, signingKeyPem, intermediatePem] = [cert.certPem, key.privateKeyPem, cert.certPem];
    }
    return {
        rootPem: root.certPem,
        signingPem,
        signingKeyPem,
        intermediatePem,
        async leaf(commonName, leafOptions = {}) {
            const key = generateTlsKey(tlsKeySpec(leafOptions.algorithm ?? "ECDSA-P256"));
            const csr = await certRequest({
                privateKeyPem: key.privateKeyPem,
                subject: { commonName },
                dnsNames: [commonName, "localhost"],
            });
            const cert = await locallySignedCert({
                certRequestPem: csr.certRequestPem,
                caCertPem: signingPem,
                caPrivateKeyPem: signingKeyPem,
                isCaCertificate: false,
                allowedUses: leafOptions.uses ?? ["digital_signature", "server_auth", "client_auth"],
                validityPeriodHours: 12,
                setSubjectKeyId: true,
            });
            return {
                privateKeyPem: key.privateKeyPem,
                chainPem: cert.certPem + intermediatePem,
                caBundlePem: root.certPem,
            };
        },
    };
}
