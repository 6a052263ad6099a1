import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
// A project outside this repository imports the same names from "@mtls/pulumi-mtls".
import { CertificateMaterial, MtlsWorkload, RotatingCertificateAuthority, ServiceCertificate } from "../../components";
import type { RotationPhase } from "../../components";

/**
 * A stack of its own, written against the components only: a rotating CA, a server and two
 * clients, with access declared between the objects. The components check their own arguments:
 * `platform:checkoutValidityHours: 100` with the default renew window of 720 h stops at preview
 * with the argument and the fix, before anything is created.
 */
export function platformStack() {
    const config = new pulumi.Config("platform");
    const namespace = config.require("namespace");
    const trustDomain = config.get("trustDomain");
    const renderDirectory = path.resolve(__dirname, config.get("renderDirectory") ?? "out");
    if (!pulumi.runtime.isDryRun()) fs.mkdirSync(renderDirectory, { recursive: true, mode: 0o700 });
    const k8sOpts = { providers: [new k8s.Provider("kubernetes", { renderYamlToDirectory: renderDirectory })] };

    const ca = new RotatingCertificateAuthority("ca", {
        commonName: `payments ${pulumi.getStack()} root CA`,
        generation: config.getNumber("caGeneration") ?? 1,
        rotation: config.get("caRotation") as RotationPhase | undefined,
    });

    const workload = (
        name: string,
        extra: { usage?: "client"; port?: number; allowFrom?: MtlsWorkload[]; validityHours?: number },
    ) => {
        const certificate = new ServiceCertificate(name, {
            issuer: ca,
            serviceName: name,
            namespace,
            trustDomain,
            usage: extra.usage,
            validityHours: extra.validityHours,
        });
        const material = new CertificateMaterial(name, { certificate, namespace }, k8sOpts);
        return new MtlsWorkload(
            name,
            {
                serviceName: name,
                namespace,
                image: `example/${name}:1.0`,
                material,
                usage: extra.usage,
                port: extra.port,
                allowFrom: extra.allowFrom,
            },
            k8sOpts,
        );
    };

    const refunds = workload("refund-worker", { usage: "client" });
    const checkout = workload("checkout-api", {
        usage: "client",
        validityHours: config.getNumber("checkoutValidityHours"),
    });
    const ledger = workload("ledger", { port: 8443, allowFrom: [checkout, refunds] });

    return {
        trustBundlePem: ca.trustBundlePem,
        signingGeneration: ca.signingGeneration,
        ledgerDeployment: ledger.deployment.metadata.name,
    };
}
