import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
// A consumer outside this repository imports the same names from "@mtls/pulumi-mtls".
import { CertificateMaterial, MtlsWorkload, ServiceCertificate, Usage, issuerFromStack } from "../../components";

interface ConsumerService {
    name: string;
    image: string;
    usage?: Usage;
    port?: number;
}

export async function consumerStack() {
    const config = new pulumi.Config("consumer");
    const caStack = config.require("caStack");
    const owner = new pulumi.StackReference("ca-owner", { name: caStack });
    // Checked here so that preview stops with the fix before anything is planned.
    const keys = await Promise.all(
        ["signingPrivateKeyPem", "caPrivateKeyPem"].map((name) => owner.getOutputDetails(name)),
    );
    if (keys.every((key) => key.value === undefined && key.secretValue === undefined)) {
        throw new pulumi.RunError(
            `consumer:caStack: the stack ${caStack} does not export its CA key; set mtls:ca.exportPrivateKey: true in that stack, or let it issue this service's certificate and export only the trust bundle`,
        );
    }
    const issuer = issuerFromStack(owner);
    const namespace = config.require("namespace");
    const trustDomain = config.get("trustDomain");
    const services = config.requireObject<ConsumerService[]>("services");
    const renderDirectory = path.resolve(__dirname, config.get("renderDirectory") ?? "out");
    if (!pulumi.runtime.isDryRun()) fs.mkdirSync(renderDirectory, { recursive: true, mode: 0o700 });
    const provider = new k8s.Provider("kubernetes", { renderYamlToDirectory: renderDirectory });

    const outputs: Record<
        string,
        { notAfter: pulumi.Output<string | undefined>; fingerprintSha256: pulumi.Output<string | undefined> }
    > = {};
    for (const svc of services) {
        const certificate = new ServiceCertificate(svc.name, {
            issuer,
            serviceName: svc.name,
            namespace,
            trustDomain,
            usage: svc.usage,
        });
        const material = new CertificateMaterial(svc.name, { certificate, namespace }, { providers: [provider] });
        new MtlsWorkload(
            svc.name,
            { serviceName: svc.name, namespace, image: svc.image, material, usage: svc.usage, port: svc.port },
            { providers: [provider] },
        );
        outputs[svc.name] = { notAfter: certificate.notAfter, fingerprintSha256: certificate.fingerprintSha256 };
    }
    return { services: outputs };
}
