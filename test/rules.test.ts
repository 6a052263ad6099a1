import { describe, expect, it } from "vitest";
import {
    KEY_ALGORITHMS,
    isAbsolutePosixPath,
    isDns1123Label,
    isDnsName,
    isIpAddress,
    isTrustDomain,
    leafAllowedUses,
    parseSpiffeId,
    serviceDnsNames,
    spiffeId,
    tlsKeySpec,
    uniqueInOrder,
} from "../components/rules";
import { joinPemCertificates, parseSubjectAltName, splitPemCertificates } from "../components/x509";

describe("key algorithms", () => {
    it("maps each supported algorithm to tls.PrivateKey arguments", () => {
        expect(tlsKeySpec("ECDSA-P256")).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(tlsKeySpec("ECDSA-P384")).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P384" });
        expect(tlsKeySpec("RSA-2048")).toEqual({ algorithm: "RSA", rsaBits: 2048 });
        expect(tlsKeySpec("RSA-3072")).toEqual({ algorithm: "RSA", rsaBits: 3072 });
        expect(tlsKeySpec("RSA-4096")).toEqual({ algorithm: "RSA", rsaBits: 4096 });
        expect(tlsKeySpec("ED25519")).toEqual({ algorithm: "ED25519" });
        expect(KEY_ALGORITHMS).toHaveLength(6);
    });

    it("refuses an unknown algorithm by name", () => {
        expect(() => tlsKeySpec("DSA-1024" as never)).toThrow(/DSA-1024.*ECDSA-P256/);
    });
});

describe("leaf usages", () => {
    it("gives servers server_auth only and clients client_auth only", () => {
        expect(leafAllowedUses("server", "ECDSA-P256")).toEqual(["digital_signature", "server_auth"]);
        expect(leafAllowedUses("client", "ECDSA-P256")).toEqual(["digital_signature", "client_auth"]);
        expect(leafAllowedUses("both", "ED25519")).toEqual(["digital_signature", "server_auth", "client_auth"]);
    });

    it("adds key_encipherment for RSA keys only", () => {
        expect(leafAllowedUses("both", "RSA-2048")).toContain("key_encipherment");
        expect(leafAllowedUses("both", "ECDSA-P384")).not.toContain("key_encipherment");
    });

    it("never hands a leaf the CA's usages", () => {
        for (const algorithm of KEY_ALGORITHMS) {
            for (const usage of ["server", "client", "both"] as const) {
                const uses = leafAllowedUses(usage, algorithm);
                expect(uses).not.toContain("cert_signing");
                expect(uses).not.toContain("crl_signing");
            }
        }
    });
});

describe("identities", () => {
    it("derives the four Kubernetes DNS names of a service, shortest first", () => {
        expect(serviceDnsNames("user-service", "shop")).toEqual([
            "user-service",
            "user-service.shop",
            "user-service.shop.svc",
            "user-service.shop.svc.cluster.local",
        ]);
        expect(serviceDnsNames("a", "b", "corp.local").at(-1)).toBe("a.b.svc.corp.local");
    });

    it("builds the SPIFFE ID from trust domain, namespace and service account", () => {
        expect(spiffeId("dev.shop.internal", "shop", "order-service")).toBe(
            "spiffe://dev.shop.internal/ns/shop/sa/order-service",
        );
    });

    it("reads a workload's SPIFFE ID, with namespace and service account for the Kubernetes form", () => {
        expect(parseSpiffeId("spiffe://billing.internal/ns/billing/sa/invoicer")).toEqual({
            id: "spiffe://billing.internal/ns/billing/sa/invoicer",
            trustDomain: "billing.internal",
            path: "/ns/billing/sa/invoicer",
            namespace: "billing",
            serviceAccount: "invoicer",
        });
        expect(parseSpiffeId("spiffe://corp_1.example/batch/Nightly.v2")).toEqual({
            id: "spiffe://corp_1.example/batch/Nightly.v2",
            trustDomain: "corp_1.example",
            path: "/batch/Nightly.v2",
        });
    });

    it.each([
        ["another scheme", "https://billing.internal/ns/b/sa/x"],
        ["an upper-case scheme", "SPIFFE://billing.internal/x"],
        ["an upper-case trust domain", "spiffe://Billing.internal/x"],
        ["no path (a trust domain, not a workload)", "spiffe://billing.internal"],
        ["a bare slash path", "spiffe://billing.internal/"],
        ["a trailing slash", "spiffe://billing.internal/ns/b/"],
        ["an empty segment", "spiffe://billing.internal/ns//sa/x"],
        ["a dot segment", "spiffe://billing.internal/ns/./sa/x"],
        ["a dot-dot segment", "spiffe://billing.internal/ns/../sa/x"],
        ["a port", "spiffe://billing.internal:8443/x"],
        ["a user", "spiffe://me@billing.internal/x"],
        ["a query", "spiffe://billing.internal/x?y=1"],
        ["a fragment", "spiffe://billing.internal/x#y"],
        ["a percent-encoded character", "spiffe://billing.internal/x%20y"],
        ["more than 2048 bytes", `spiffe://billing.internal/${"a".repeat(2048)}`],
        ["not a string", 42],
    ])("refuses a SPIFFE ID with %s", (_label, value) => {
        expect(parseSpiffeId(value)).toBeUndefined();
    });

    it("appends extra names without repeating one", () => {
        expect(uniqueInOrder(["a", "b"], ["b", "c", "a"])).toEqual(["a", "b", "c"]);
    });
});

describe("validators", () => {
    it("accepts DNS-1123 labels and refuses the rest", () => {
        for (const ok of ["a", "user-service", "x1", "a".repeat(63)]) expect(isDns1123Label(ok)).toBe(true);
        for (const bad of ["", "User", "-a", "a-", "a_b", "a.b", "a".repeat(64), 7, undefined])
            expect(isDns1123Label(bad)).toBe(false);
    });

    it("accepts DNS names with an optional leading wildcard", () => {
        expect(isDnsName("api.shop.internal")).toBe(true);
        expect(isDnsName("*.shop.internal")).toBe(true);
        expect(isDnsName("api..shop")).toBe(false);
        expect(isDnsName("a.*.b")).toBe(false);
    });

    it("accepts IPv4 and IPv6 addresses", () => {
        expect(isIpAddress("10.0.0.1")).toBe(true);
        expect(isIpAddress("::1")).toBe(true);
        expect(isIpAddress("256.0.0.1")).toBe(false);
        expect(isIpAddress("localhost")).toBe(false);
    });

    it("accepts trust domains and absolute mount paths", () => {
        expect(isTrustDomain("dev.shop.internal")).toBe(true);
        expect(isTrustDomain("Dev.Shop")).toBe(false);
        expect(isAbsolutePosixPath("/etc/mtls")).toBe(true);
        expect(isAbsolutePosixPath("etc/mtls")).toBe(false);
        expect(isAbsolutePosixPath("/etc/../root")).toBe(false);
    });
});

describe("x509 helpers", () => {
    it("reads DNS, URI and IP entries of a subjectAltName, including quoted ones", () => {
        const parsed = parseSubjectAltName(
            'DNS:a, DNS:b.c, URI:spiffe://td/ns/x/sa/y, IP Address:10.0.0.1, DNS:"we,ird"',
        );
        expect(parsed.dnsNames).toEqual(["a", "b.c", "we,ird"]);
        expect(parsed.uris).toEqual(["spiffe://td/ns/x/sa/y"]);
        expect(parsed.ipAddresses).toEqual(["10.0.0.1"]);
        expect(parseSubjectAltName(undefined).dnsNames).toEqual([]);
    });

    it("splits and joins PEM bundles without duplicates", () => {
        const a = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        const b = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
        expect(splitPemCertificates(`${a}\n${b}\n`)).toHaveLength(2);
        expect(joinPemCertificates([a, `${b}\n${a}`, ""])).toBe(`${a}\n${b}\n`);
    });
});
