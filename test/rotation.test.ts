/**
 * Multi-step runs under stateful mocks (equal inputs keep their previous
 * certificates, as the engine's state would): the CA rotation phases with a
 * real handshake matrix, and rollouts limited to what changed.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PeerMaterial, mtlsHandshake } from "./support/handshake";
import {
    byType,
    forgetState,
    named,
    resetRecorded,
    resolveDeep,
    settle,
    setupMocks,
    useConfig,
} from "./support/pulumiMocks";
import { shippedStackConfig } from "./support/stackConfig";

type Program = typeof import("../infra/program");
let program: Program;

beforeAll(async () => {
    await setupMocks({ stack: "dev", stateful: true });
    program = await import("../infra/program");
});
beforeEach(() => {
    forgetState();
    resetRecorded();
});

const SERVER_NAME = "user-service.shop-dev.svc";

function devConfig(ca: Record<string, unknown> = {}, services?: (s: any[]) => any[]): Record<string, string> {
    const config = shippedStackConfig("dev");
    config["mtls:ca"] = JSON.stringify({ ...JSON.parse(config["mtls:ca"]), ...ca });
    if (services) config["mtls:services"] = JSON.stringify(services(JSON.parse(config["mtls:services"])));
    return config;
}

/** One `pulumi up`: the outputs, and per service the material its pods would get. */
async function up(config: Record<string, string>) {
    resetRecorded();
    useConfig(config);
    const outputs: any = await resolveDeep(program.main());
    await settle();
    const material: Record<string, PeerMaterial> = {};
    const deployments: Record<string, string> = {};
    for (const name of ["user-service", "order-service", "payment-service"]) {
        const cm = named("kubernetes:core/v1:ConfigMap", `${name}-certs`).inputs;
        const secret = named("kubernetes:core/v1:Secret", `${name}-key`).inputs;
        material[name] = { chain: cm.data["tls.crt"], ca: cm.data["ca.crt"], key: secret.stringData["tls.key"] };
        deployments[name] = JSON.stringify(named("kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs);
    }
    return {
        outputs,
        material,
        deployments,
        cas: byType("tls:index/selfSignedCert:SelfSignedCert").map((r) => r.name),
    };
}

describe("CA rotation with a real handshake matrix", () => {
    it("completes every handshake between pods deployed together in every phase, and refuses the old CA after retire", async () => {
        const phases = [
            { label: "steady", ca: {} },
            { label: "introduce", ca: { rotation: "introduce" } },
            { label: "switch", ca: { rotation: "switch" } },
            { label: "retire", ca: { rotation: "retire" } },
            { label: "steady on generation 2", ca: { generation: 2 } },
        ];
        const runs = [];
        // How many pairs each phase tried (each one is asserted inside the loop): the matrix covers
        // old and new pods side by side, not only the newest run.
        const tried: Record<string, number> = {};
        for (const phase of phases) {
            const run = await up(devConfig(phase.ca));
            const previous = runs.at(-1);
            runs.push(run);
            // During a rollout the previous phase's pods and this phase's pods serve side by side.
            const generations = previous ? [previous, run] : [run];
            let pairs = 0;
            for (const serverRun of generations) {
                for (const clientRun of generations) {
                    for (const client of ["order-service", "payment-service"]) {
                        const result = await mtlsHandshake(
                            serverRun.material["user-service"],
                            clientRun.material[client],
                            SERVER_NAME,
                        );
                        pairs += 1;
                        expect(result, `${phase.label}: ${client} → user-service`).toMatchObject({
                            ok: true,
                            clientCN: client,
                        });
                    }
                }
            }
            tried[phase.label] = pairs;
        }
        expect(runs.map((r) => r.cas)).toEqual([
            ["ca-root"],
            ["ca-root", "ca-g2-root"],
            ["ca-root", "ca-g2-root"],
            ["ca-g2-root"],
            ["ca-g2-root"],
        ]);
        expect(runs[1].outputs.services["user-service"].fingerprintSha256).toBe(
            runs[0].outputs.services["user-service"].fingerprintSha256,
        );
        expect(runs[2].outputs.services["user-service"].issuer).toBe("shop dev root CA G2");
        expect(runs[4].deployments).toEqual(runs[3].deployments);
        expect(tried).toEqual({ steady: 2, introduce: 8, switch: 8, retire: 8, "steady on generation 2": 8 });

        const retired = runs[3].material;
        const oldClient = runs[0].material["order-service"];
        const refused = await mtlsHandshake(retired["user-service"], oldClient, SERVER_NAME);
        expect(refused.ok).toBe(false);
        const oldServer = await mtlsHandshake(runs[0].material["user-service"], retired["order-service"], SERVER_NAME);
        expect(oldServer.ok).toBe(false);
    });

    it("a client of another stack's CA is refused", async () => {
        const dev = await up(devConfig());
        forgetState();
        const other = await up(devConfig({ commonName: "another root CA" }));
        const result = await mtlsHandshake(dev.material["user-service"], other.material["order-service"], SERVER_NAME);
        expect(result.ok).toBe(false);
    });
});

describe("rollouts", () => {
    it("rolls only the Deployment whose certificate changed, and leaves the others byte-identical", async () => {
        const before = await up(devConfig());
        const again = await up(devConfig());
        expect(again.deployments).toEqual(before.deployments);
        const after = await up(
            devConfig({}, (services) =>
                services.map((s) => (s.name === "payment-service" ? { ...s, dnsNames: ["payments.shop.example"] } : s)),
            ),
        );
        expect(after.deployments["payment-service"]).not.toBe(before.deployments["payment-service"]);
        expect(after.deployments["user-service"]).toBe(before.deployments["user-service"]);
        expect(after.deployments["order-service"]).toBe(before.deployments["order-service"]);
        expect(after.outputs.services["payment-service"].dnsNames).toContain("payments.shop.example");
    });

    it("with rollout hot, replaces the material in place under the same names and leaves the Deployment alone", async () => {
        const hot = (services: any[]) =>
            services.map((s) => (s.name === "payment-service" ? { ...s, rollout: "hot" } : s));
        const before = await up(devConfig({}, hot));
        const beforeName = named("kubernetes:core/v1:ConfigMap", "payment-service-certs").inputs.metadata.name;
        const after = await up(
            devConfig({}, (services) =>
                hot(services).map((s) =>
                    s.name === "payment-service" ? { ...s, dnsNames: ["payments.shop.example"] } : s,
                ),
            ),
        );
        expect(after.material["payment-service"].chain).not.toBe(before.material["payment-service"].chain);
        expect(named("kubernetes:core/v1:ConfigMap", "payment-service-certs").inputs.metadata.name).toBe(beforeName);
        expect(beforeName).toBe("payment-service-mtls-certs");
        expect(after.deployments["payment-service"]).toBe(before.deployments["payment-service"]);
        expect(JSON.parse(after.deployments["payment-service"]).spec.template.metadata.annotations).toEqual({});
    });

    it("rolls env and files deliveries alike when the trust bundle changes", async () => {
        const before = await up(devConfig());
        const introduce = await up(devConfig({ rotation: "introduce" }));
        for (const name of ["user-service", "order-service", "payment-service"]) {
            expect(introduce.deployments[name], name).not.toBe(before.deployments[name]);
            expect(introduce.material[name].chain).toBe(before.material[name].chain);
        }
    });
});
