/**
 * A consumer's unit test of its own stack code, with the package's testing mocks: the tls
 * resources are issued for real, so the test asserts X.509 facts, not echoed inputs. It uses
 * Node's built-in runner (`node --test`) and assert; the mocks need no test framework, so the
 * same lines work under vitest, jest or mocha.
 */
import * as assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type * as Mtls from "@mtls/pulumi-mtls";
import { MockRegistration, setMtlsMocks } from "@mtls/pulumi-mtls/testing";

const registrations: MockRegistration[] = [];
let mtls: typeof Mtls;

before(async () => {
    await setMtlsMocks({
        project: "team",
        stack: "test",
        onRegister: (r) => {
            registrations.push(r);
        },
    });
    // As Pulumi's testing guide says: mocks first, then the code under test.
    mtls = await import("@mtls/pulumi-mtls");
});

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) =>
        output.apply((value) => {
            resolve(value);
            return value;
        }),
    );
}

function registered(type: string, name: string): MockRegistration {
    const hit = registrations.find((r) => r.type === type && r.name === name);
    assert.ok(hit, `${type} ${name} was registered`);
    return hit;
}

/** The team's own stack code under test: a CA with an intermediate and one server's material, named from `name`. */
function teamStack(name: string) {
    const ca = new mtls.CertificateAuthority(`${name}-ca`, { commonName: "team root CA", intermediate: true });
    const certificate = new mtls.ServiceCertificate(name, {
        issuer: ca,
        serviceName: "billing",
        namespace: "payments",
        trustDomain: "payments.example",
        usage: "server",
    });
    const material = new mtls.CertificateMaterial(name, { certificate, namespace: "payments" });
    return { ca, certificate, material };
}

describe("the team's billing certificate", () => {
    it("names the service and its SPIFFE ID, and chains to the team's root", async () => {
        const { ca, certificate } = teamStack("billing");
        const [leafPem, intermediatePem, rootPem] = await Promise.all([
            valueOf(certificate.certPem),
            valueOf(ca.certPem),
            valueOf(ca.rootCertPem),
        ]);
        const leaf = new X509Certificate(leafPem);
        const intermediate = new X509Certificate(intermediatePem);
        const root = new X509Certificate(rootPem);
        assert.match(leaf.subject, /^CN=billing$/m);
        assert.ok(leaf.subjectAltName?.includes("DNS:billing.payments.svc.cluster.local"), leaf.subjectAltName);
        assert.ok(
            leaf.subjectAltName?.includes("URI:spiffe://payments.example/ns/payments/sa/billing"),
            leaf.subjectAltName,
        );
        assert.equal(leaf.ca, false);
        assert.ok(
            leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey),
            "the intermediate signed the leaf",
        );
        assert.ok(
            intermediate.checkIssued(root) && intermediate.verify(root.publicKey),
            "the root signed the intermediate",
        );
        assert.equal(leaf.verify(root.publicKey), false, "the root did not sign the leaf itself");
        assert.equal(intermediate.ca, true);
        assert.equal((await valueOf(certificate.dnsNames))?.[0], "billing");
        assert.match((await valueOf(certificate.fingerprintSha256)) ?? "", /^[0-9a-f]{64}$/);
    });

    it("publishes the chain in a ConfigMap and the matching key only in a Secret, as a secret", async () => {
        const { certificate, material } = teamStack("billing-material");
        const keyPem = await valueOf(certificate.privateKeyPem);
        // Their names come back once the mocks have answered both registrations.
        await Promise.all([valueOf(material.configMapName), valueOf(material.secretName)]);
        assert.equal(await pulumi.isSecret(certificate.privateKeyPem), true);
        const configMap = registered("kubernetes:core/v1:ConfigMap", "billing-material-certs");
        const secret = registered("kubernetes:core/v1:Secret", "billing-material-key");
        const leaf = new X509Certificate(configMap.inputs.data["tls.crt"]);
        assert.ok(
            leaf.checkPrivateKey(createPrivateKey(secret.inputs.stringData["tls.key"])),
            "the Secret's key belongs to the certificate",
        );
        assert.equal(secret.inputs.stringData["tls.key"], keyPem);
        assert.ok(
            secret.secretInputs.includes("stringData.tls.key") || secret.secretInputs.includes("stringData"),
            secret.secretInputs.join(","),
        );
        assert.ok(!JSON.stringify(configMap.inputs).includes("PRIVATE KEY"));
    });
});
