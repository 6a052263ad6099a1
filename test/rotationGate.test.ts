/**
 * The rotation ledger gates the CA: every key and certificate of each CA generation waits for
 * the ledger's check, so a refused rotation step creates nothing, even on `up --skip-preview`.
 * A component's own dependsOn would not do it: the SDK sends it for the component alone.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { captureRegistrations, resetRecorded, sent, settle, setupMocks } from "./support/pulumiMocks";

let c: typeof import("../components");

beforeAll(async () => {
    await setupMocks();
    c = await import("../components");
    captureRegistrations();
});
beforeEach(resetRecorded);

const LEDGER = "pulumi-nodejs:dynamic/mtls:RotationLedger";

describe("RotatingCertificateAuthority and its ledger", () => {
    it("makes every key and certificate of every live generation wait for the ledger", async () => {
        new c.RotatingCertificateAuthority("ca", {
            commonName: "gate root CA",
            intermediate: true,
            rotation: "introduce",
        });
        await settle();
        const ledger = sent.find((s) => s.type === LEDGER);
        expect(ledger?.name).toBe("ca-rotation");
        const ledgerUrn = `urn:pulumi:dev::mtls::${c.COMPONENT_TYPES.rotatingCertificateAuthority}$${LEDGER}::ca-rotation`;
        const tlsChildren = sent.filter((s) => s.type.startsWith("tls:"));
        // Two generations (introduce adds generation 2 beside 1), each a root and an intermediate: key, cert, key, CSR, cert.
        expect(tlsChildren.map((s) => s.name).sort()).toEqual(
            [
                "ca-root-key",
                "ca-root",
                "ca-intermediate-key",
                "ca-intermediate-csr",
                "ca-intermediate",
                "ca-g2-root-key",
                "ca-g2-root",
                "ca-g2-intermediate-key",
                "ca-g2-intermediate-csr",
                "ca-g2-intermediate",
            ].sort(),
        );
        for (const child of tlsChildren) expect(child.dependencies, child.name).toContain(ledgerUrn);
    });

    it("a CertificateAuthority hands the dependsOn it is given to each of its children", async () => {
        const before = new c.CertificateAuthority("first", { commonName: "first" });
        new c.CertificateAuthority("second", { commonName: "second" }, { dependsOn: [before] });
        await settle();
        const children = sent.filter((s) => s.type.startsWith("tls:") && s.name.startsWith("second-"));
        expect(children.map((s) => s.name).sort()).toEqual(["second-root", "second-root-key"]);
        const firstRoot = sent.find((s) => s.name === "first-root");
        const firstKey = sent.find((s) => s.name === "first-root-key");
        expect(firstRoot && firstKey).toBeTruthy();
        // Depending on a component means depending on its children: both of the first CA's resources.
        for (const child of children)
            expect(child.dependencies).toEqual(
                expect.arrayContaining([
                    expect.stringMatching(/::first-root$/),
                    expect.stringMatching(/::first-root-key$/),
                ]),
            );
    });
});
