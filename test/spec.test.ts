import { describe, expect, it } from "vitest";
import { readRawStackConfig } from "../infra/config";
import { RawStackConfig, StackConfigError, parseStackConfig } from "../infra/spec";
import { SHIPPED_STACKS, shippedStackConfig } from "./support/stackConfig";

const names = { project: "mtls", stack: "test" };

function validConfig(): RawStackConfig {
    return {
        namespace: "shop",
        trustDomain: "dev.shop.internal",
        services: [
            { name: "user-service", image: "example/user-service:1.0", port: 8443, allowFrom: ["order-service"] },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
        ],
    };
}

/** The problems parseStackConfig reports for `raw`; fails the test if it accepts it. */
function problemsOf(raw: RawStackConfig): string[] {
    try {
        parseStackConfig(raw, names);
    } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as StackConfigError).problems;
    }
    throw new Error("the config was accepted");
}

function withService(patch: Record<string, unknown>, index = 0): RawStackConfig {
    const raw = validConfig();
    const services = raw.services as Record<string, unknown>[];
    services[index] = { ...services[index], ...patch };
    return raw;
}

describe("parseStackConfig: accepted config", () => {
    it("fills the documented defaults", () => {
        const spec = parseStackConfig(validConfig(), names);
        expect(spec.ca).toEqual({ commonName: "mtls test root CA", keyAlgorithm: "ECDSA-P256", validityHours: 43800, intermediate: false, generation: 1, exportPrivateKey: false });
        expect(spec.certificates).toEqual({ keyAlgorithm: "ECDSA-P256", validityHours: 2160, renewBeforeHours: 720 });
        expect(spec.services[0]).toMatchObject({ usage: "both", delivery: "files", mountPath: "/etc/mtls", replicas: 1, port: 8443 });
        expect(spec.kubernetes).toEqual({
            renderDirectory: "out/test", context: undefined, kubeconfig: undefined, createNamespace: true,
            podSecurity: "restricted", skipAwait: false, runAs: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
        });
        expect(spec.services[0].runAs).toEqual({ runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    });

    it("lets the stack set the workload identity and a service override part of it", () => {
        const raw = { ...withService({ runAsUser: 1001 }), kubernetes: { runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000 } };
        const spec = parseStackConfig(raw, names);
        expect(spec.services[0].runAs).toEqual({ runAsUser: 1001, runAsGroup: 3000, fsGroup: 4000 });
        expect(spec.services[1].runAs).toEqual({ runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000 });
    });

    it("deploys to a context from a kubeconfig file, without waiting when asked", () => {
        const spec = parseStackConfig({ ...validConfig(), kubernetes: { context: "test", kubeconfig: ".cluster/kubeconfig", skipAwait: true, podSecurity: "baseline" } }, names);
        expect(spec.kubernetes).toMatchObject({ context: "test", kubeconfig: ".cluster/kubeconfig", skipAwait: true, podSecurity: "baseline", renderDirectory: undefined });
    });

    it("lets a service override the certificate defaults", () => {
        const spec = parseStackConfig(withService({ keyAlgorithm: "RSA-3072", validityHours: 100, renewBeforeHours: 10 }), names);
        expect(spec.services[0]).toMatchObject({ keyAlgorithm: "RSA-3072", validityHours: 100, renewBeforeHours: 10 });
        expect(spec.services[1]).toMatchObject({ keyAlgorithm: "ECDSA-P256", validityHours: 2160 });
    });

    it.each(SHIPPED_STACKS)("accepts the shipped %s stack as the engine passes it", (stack) => {
        const spec = parseStackConfig(readRawStackConfig(shippedStackConfig(stack)), { project: "mtls", stack });
        expect(spec.services.map((s) => s.name)).toEqual(["user-service", "order-service", "payment-service"]);
        expect(spec.services[0].allowFrom).toEqual(["order-service", "payment-service"]);
        expect(spec.kubernetes.renderDirectory).toBe(`out/${stack}`);
    });

    it("gives prod an intermediate and the other stacks none, each its own namespace", () => {
        const specs = SHIPPED_STACKS.map((stack) => parseStackConfig(readRawStackConfig(shippedStackConfig(stack)), { project: "mtls", stack }));
        expect(specs.map((s) => s.ca.intermediate)).toEqual([false, false, true]);
        expect(new Set(specs.map((s) => s.namespace)).size).toBe(3);
        expect(new Set(specs.map((s) => s.ca.commonName)).size).toBe(3);
    });
});

describe("parseStackConfig: refused config names the key path", () => {
    const cases: Array<[string, RawStackConfig, RegExp]> = [
        ["missing namespace", { ...validConfig(), namespace: undefined }, /^mtls:namespace: is required/],
        ["invalid namespace", { ...validConfig(), namespace: "Shop_NS" }, /^mtls:namespace: "Shop_NS" is not a DNS-1123 label/],
        ["invalid service name", withService({ name: "User_Service" }), /^mtls:services\[0\]\.name: "User_Service" is not a DNS-1123 label/],
        ["missing service name", withService({ name: undefined }), /^mtls:services\[0\]\.name: is required/],
        ["missing image", withService({ image: undefined }), /^mtls:services\[0\]\.image: is required/],
        ["duplicate service name", withService({ name: "user-service" }, 1), /^mtls:services\[1\]\.name: "user-service" is already used by services\[0\]/],
        ["allowFrom naming an unknown service", withService({ allowFrom: ["order-service", "billing"] }), /^mtls:services\[0\]\.allowFrom\[1\]: "billing" is not a service of this stack; use one of user-service, order-service/],
        ["unknown delivery", withService({ delivery: "volume" }), /^mtls:services\[0\]\.delivery: "volume" is not a delivery; use one of files, env/],
        ["unknown usage", withService({ usage: "peer" }), /^mtls:services\[0\]\.usage: "peer" is not a usage; use one of server, client, both/],
        ["unknown key algorithm", withService({ keyAlgorithm: "RSA-1024" }), /^mtls:services\[0\]\.keyAlgorithm: "RSA-1024" is not a supported key algorithm; use one of ECDSA-P256/],
        ["unknown CA key algorithm", { ...validConfig(), ca: { keyAlgorithm: "P-256" } }, /^mtls:ca\.keyAlgorithm: "P-256" is not a supported key algorithm/],
        ["relative mountPath", withService({ mountPath: "etc/mtls" }), /^mtls:services\[0\]\.mountPath: "etc\/mtls" must be an absolute path/],
        ["mountPath with env delivery", withService({ mountPath: "/etc/mtls" }, 1), /^mtls:services\[1\]\.mountPath: only applies to delivery: files/],
        ["port out of range", withService({ port: 70000 }), /^mtls:services\[0\]\.port: 70000 is not a port; use a whole number from 1 to 65535/],
        ["port missing for a server", withService({ port: undefined, usage: "server" }), /^mtls:services\[0\]\.port: is required for usage: server/],
        ["renewBeforeHours >= validityHours", { ...validConfig(), certificates: { validityHours: 100, renewBeforeHours: 100 } }, /^mtls:certificates\.renewBeforeHours: 100 must be less than validityHours \(100\)/],
        ["a service's renew window", withService({ validityHours: 48, renewBeforeHours: 72 }), /^mtls:services\[0\]\.renewBeforeHours: 72 must be less than validityHours \(48\)/],
        ["a leaf outliving its root", withService({ validityHours: 50000 }), /^mtls:services\[0\]\.validityHours: a 50000-hour certificate would outlive its CA \(ca\.validityHours: 43800\)/],
        ["default leaf outliving its CA", { ...validConfig(), ca: { validityHours: 1000 } }, /^mtls:certificates\.validityHours: 2160 hours would outlive the CA \(ca\.validityHours: 1000\)/],
        ["a leaf outliving the intermediate", { ...withService({ validityHours: 5000 }), ca: { intermediate: true, intermediateValidityHours: 4000 } }, /^mtls:services\[0\]\.validityHours: .*ca\.intermediateValidityHours: 4000/],
        ["an intermediate outliving its root", { ...validConfig(), ca: { validityHours: 10000, intermediate: true, intermediateValidityHours: 20000 } }, /^mtls:ca\.intermediateValidityHours: 20000 exceeds ca\.validityHours/],
        ["an empty service list", { ...validConfig(), services: [] }, /^mtls:services: is empty/],
        ["no service list", { ...validConfig(), services: undefined }, /^mtls:services: is required/],
        ["both renderDirectory and context", { ...validConfig(), kubernetes: { renderDirectory: "out/x", context: "prod-cluster" } }, /^mtls:kubernetes: sets both renderDirectory and context/],
        ["a root user", withService({ runAsUser: 0 }), /^mtls:services\[0\]\.runAsUser: must be a non-root numeric id/],
        ["a non-numeric fsGroup", { ...validConfig(), kubernetes: { fsGroup: "app" } }, /^mtls:kubernetes\.fsGroup: must be a non-root numeric id/],
        ["an unknown Pod Security level", { ...validConfig(), kubernetes: { podSecurity: "strict" } }, /^mtls:kubernetes\.podSecurity: "strict" is not a Pod Security level; use one of restricted, baseline, privileged/],
        ["a kubeconfig without a context", { ...validConfig(), kubernetes: { kubeconfig: "k.yaml" } }, /^mtls:kubernetes\.kubeconfig: only applies with kubernetes\.context/],
        ["a misspelt top-level key", { ...validConfig(), namspace: "shop" }, /^mtls:namspace: is not a known setting; use one of namespace/],
        ["a misspelt service key", withService({ alowFrom: [] }), /^mtls:services\[0\]\.alowFrom: is not a known setting/],
        ["a non-map ca block", { ...validConfig(), ca: "root" }, /^mtls:ca: must be a map of settings/],
        ["a bad extra DNS name", withService({ dnsNames: ["ok.example", "bad..name"] }), /^mtls:services\[0\]\.dnsNames\[1\]: "bad\.\.name" is not valid/],
        ["a bad trust domain", { ...validConfig(), trustDomain: "Shop Internal" }, /^mtls:trustDomain: "Shop Internal" is not a SPIFFE trust domain/],
        ["an unknown rollout", withService({ rollout: "blue-green" }), /^mtls:services\[0\]\.rollout: "blue-green" is not a rollout; use one of restart, hot/],
        ["hot rollout with env delivery", withService({ rollout: "hot" }, 1), /^mtls:services\[1\]\.rollout: hot needs delivery: files/],
        ["an unknown rotation phase", { ...validConfig(), ca: { rotation: "rollover" } }, /^mtls:ca\.rotation: "rollover" is not a rotation phase; use one of introduce, switch, retire/],
        ["a bad CA generation", { ...validConfig(), ca: { generation: 0 } }, /^mtls:ca\.generation: must be a whole number from 1 up/],
        ["a non-integer validity", { ...validConfig(), certificates: { validityHours: "90d" } }, /^mtls:certificates\.validityHours: must be a whole number of hours/],
    ];

    it.each(cases)("%s", (_label, raw, expected) => {
        const problems = problemsOf(raw);
        expect(problems.some((p) => expected.test(p)), problems.join("\n")).toBe(true);
    });

    it("collects every problem and reports them together", () => {
        const raw: RawStackConfig = {
            namespace: "BAD",
            services: [
                { name: "a", image: "i", usage: "peer", port: 0 },
                { name: "a", image: "i", delivery: "ftp", usage: "client" },
            ],
            kubernetes: { renderDirectory: "x", context: "y" },
        };
        const problems = problemsOf(raw);
        expect(problems.length).toBeGreaterThanOrEqual(5);
        for (const key of ["mtls:namespace", "mtls:services[0].usage", "mtls:services[0].port", "mtls:services[1].name", "mtls:services[1].delivery", "mtls:kubernetes"]) {
            expect(problems.some((p) => p.startsWith(`${key}:`)), `${key} in\n${problems.join("\n")}`).toBe(true);
        }
        const error = new StackConfigError(problems);
        expect(error.message).toMatch(/^the stack config has \d+ problems:\n  - mtls:/);
    });
});

describe("readRawStackConfig", () => {
    it("parses structured values, keeps string keys as text and ignores other namespaces", () => {
        const raw = readRawStackConfig({
            "mtls:namespace": "123",
            "mtls:services": '[{"name":"a"}]',
            "mtls:ca": "not json",
            "aws:region": "eu-west-1",
        });
        expect(raw).toEqual({ namespace: "123", services: [{ name: "a" }], ca: "not json" });
    });
});
