/**
 * The package's public surface is a list we chose: adding or dropping a runtime export is a
 * decision, so it changes this test too. Test hooks and rule internals stay in their modules.
 */
import { describe, expect, it } from "vitest";

describe("the package's runtime exports", () => {
    it("are exactly the curated names", async () => {
        const surface = await import("../components");
        expect(Object.keys(surface).sort()).toEqual(
            [
                "CERT_MANAGER_ISSUER_KINDS",
                "COMPONENT_TYPES",
                "CertManagerCertificate",
                "CertManagerIssuer",
                "CertificateAuthority",
                "CertificateMaterial",
                "DEFAULTS",
                "DEFAULT_MOUNT_PATH",
                "DELIVERIES",
                "IDENTITY_ENV",
                "ISSUANCES",
                "IstioMesh",
                "IstioServerPolicy",
                "KEYSTORE_FILES",
                "KEYSTORE_FORMATS",
                "KEY_ALGORITHMS",
                "MATERIAL_KEYS",
                "MTLS_ENV",
                "MtlsService",
                "MtlsWorkload",
                "PKCS12_STORE_TYPE",
                "POD_SECURITY_LEVELS",
                "ROLLOUTS",
                "ROTATION_PHASES",
                "RenewalSchedule",
                "RotatingCertificateAuthority",
                "SECRET_TYPES",
                "ServiceCertificate",
                "USAGES",
                "WorkloadWiring",
                "issuerFromStack",
                "rotationPlan",
                "serviceDnsNames",
                "spiffeId",
                "workloadLabels",
            ].sort(),
        );
    });

    it("leave out the providers' test hooks and the argument-check helpers", async () => {
        const surface: Record<string, unknown> = await import("../components");
        for (const internal of [
            "renewalClockProvider",
            "renewalScheduleProvider",
            "rotationLedgerProvider",
            "checked",
            "together",
            "RenewalClock",
            "RotationLedger",
        ]) {
            expect(surface[internal], internal).toBeUndefined();
        }
    });
});
