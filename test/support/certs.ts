/** Reading issued certificates in tests with a real parser. */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { X509Certificate } from "node:crypto";
import { splitPemCertificates } from "../../components/x509";

export interface ParsedCertificate {
    node: X509Certificate;
    isCa: boolean;
    pathLength?: number;
    keyUsages: number;
    extendedKeyUsages: string[];
}

export function parseCertificate(pem: string): ParsedCertificate {
    const [first] = splitPemCertificates(pem);
    const cert = new x509.X509Certificate(first);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    const usages = cert.getExtension(x509.KeyUsagesExtension);
    const ekus = cert.getExtension(x509.ExtendedKeyUsageExtension);
    return {
        node: new X509Certificate(first),
        isCa: basic?.ca ?? false,
        pathLength: basic?.pathLength,
        keyUsages: usages?.usages ?? 0,
        extendedKeyUsages: (ekus?.usages ?? []).map(String),
    };
}

export const EKU = { serverAuth: x509.ExtendedKeyUsage.serverAuth, clientAuth: x509.ExtendedKeyUsage.clientAuth };
export const KEY_USAGE = x509.KeyUsageFlags;

/** Whether `leafPem` was signed by `issuerPem`'s key and names it as issuer. */
export function signedBy(leafPem: string, issuerPem: string): boolean {
    const leaf = new X509Certificate(splitPemCertificates(leafPem)[0]);
    const issuer = new X509Certificate(splitPemCertificates(issuerPem)[0]);
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
}
