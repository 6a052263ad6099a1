/**
 * When keystores are rebuilt, under stateful mocks (equal inputs keep their previous
 * certificates and passwords, as the engine's state would): never on a run that changes
 * nothing, exactly when the key, the chain, the bundle or the password changes, and
 * with a Java-readable result in every CA rotation phase (OpenSSL under Node checks it here).
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mtlsHandshake } from "./support/handshake";
import { forgetState, named, resetRecorded, resolveDeep, settle, setupMocks, useConfig } from "./support/pulumiMocks";
import { readPkcs12 } from "./support/pkcs12";
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

function config(
    ca: Record<string, unknown> = {},
    patch: Record<string, Record<string, unknown>> = {},
): Record<string, string> {
    const base = shippedStackConfig("dev");
    base["mtls:ca"] = JSON.stringify({ ...JSON.parse(base["mtls:ca"]), ...ca });
    const keystores: Record<string, unknown> = {
        "user-service": ["pkcs12", "jks"],
        "order-service": [],
        "payment-service": ["pkcs12"],
    };
    const services = JSON.parse(base["mtls:services"]).map((s: any) => ({
        ...s,
        keystores: keystores[s.name],
        ...(patch[s.name] ?? {}),
    }));
    base["mtls:services"] = JSON.stringify(services);
    return base;
}

interface Run {
    /** Per service: each store (base64) and the password. */
    stores: Record<string, Record<string, string>>;
    deployments: Record<string, string>;
    pem: Record<string, { chain: string; key: string; ca: string }>;
}

async function up(cfg: Record<string, string>): Promise<Run> {
    resetRecorded();
    useConfig(cfg);
    await resolveDeep(program.main());
    await settle();
    const run: Run = { stores: {}, deployments: {}, pem: {} };
    for (const name of ["user-service", "order-service", "payment-service"]) {
        const secret = named("kubernetes:core/v1:Secret", `${name}-key`).inputs;
        const cm = named("kubernetes:core/v1:ConfigMap", `${name}-certs`).inputs;
        run.stores[name] = { ...(secret.data ?? {}), password: secret.stringData["keystore-password"] };
        run.pem[name] = { chain: cm.data["tls.crt"], key: secret.stringData["tls.key"], ca: cm.data["ca.crt"] };
        run.deployments[name] = JSON.stringify(named("kubernetes:apps/v1:Deployment", `${name}-deployment`).inputs);
    }
    return run;
}

/** Which stores of a service differ between two runs. */
function changed(a: Run, b: Run, service: string): string[] {
    const names = new Set([...Object.keys(a.stores[service]), ...Object.keys(b.stores[service])]);
    return [...names].filter((file) => a.stores[service][file] !== b.stores[service][file]).sort();
}

describe("keystore rebuilds", () => {
    it("rebuilds nothing on a run that changes nothing, then exactly the stores each CA rotation phase changes; each phase's keystore completes mTLS with the pods beside it", async () => {
        const first = await up(config());
        const again = await up(config());
        expect(again.stores).toEqual(first.stores);
        expect(again.deployments).toEqual(first.deployments);
        expect(Object.keys(first.stores["user-service"]).sort()).toEqual([
            "keystore.p12",
            "password",
            "truststore.jks",
            "truststore.p12",
        ]);
        expect(first.stores["order-service"]).toEqual({ password: undefined });

        const phases = [
            { label: "introduce", ca: { rotation: "introduce" } },
            { label: "switch", ca: { rotation: "switch" } },
            { label: "retire", ca: { rotation: "retire" } },
        ];
        const runs: Run[] = [again];
        const rebuilt: Record<string, string[]> = {};
        for (const phase of phases) {
            const run = await up(config(phase.ca));
            const previous = runs.at(-1) as Run;
            runs.push(run);
            rebuilt[phase.label] = changed(previous, run, "user-service");
            const user = run.stores["user-service"];
            const keystore = {
                pfx: Buffer.from(user["keystore.p12"], "base64"),
                passphrase: user.password,
                ca: run.pem["user-service"].ca,
            };
            for (const client of [run, previous]) {
                const result = await mtlsHandshake(
                    keystore,
                    client.pem["payment-service"],
                    "user-service.shop-dev.svc",
                );
                expect(result, `${phase.label}: payment-service → user-service's keystore`).toMatchObject({
                    ok: true,
                    clientCN: "payment-service",
                });
            }
            const trusted = await readPkcs12(Buffer.from(user["truststore.p12"], "base64"), user.password);
            expect(trusted.certificates.map((c) => c.pem).join(""), phase.label).toBe(run.pem["user-service"].ca);
        }
        expect(rebuilt).toEqual({
            introduce: ["truststore.jks", "truststore.p12"],
            switch: ["keystore.p12"],
            retire: ["truststore.jks", "truststore.p12"],
        });
        expect(new Set(runs.map((r) => r.stores["user-service"].password)).size).toBe(1);
    });

    it("draws a new password, and so new stores, only where keystorePasswordVersion was raised; a new key algorithm rebuilds the keystore alone", async () => {
        const before = await up(config());
        const bumped = await up(config({}, { "payment-service": { keystorePasswordVersion: 2 } }));
        expect(changed(before, bumped, "payment-service")).toEqual(["keystore.p12", "password", "truststore.p12"]);
        expect(changed(before, bumped, "user-service")).toEqual([]);
        expect(bumped.deployments["user-service"]).toBe(before.deployments["user-service"]);
        expect(
            JSON.parse(bumped.deployments["payment-service"]).spec.template.metadata.annotations[
                "mtls.pulumi.com/keystore-password-version"
            ],
        ).toBe("2");

        const ed25519 = await up(
            config(
                {},
                { "payment-service": { keystorePasswordVersion: 2 }, "user-service": { keyAlgorithm: "ED25519" } },
            ),
        );
        expect(changed(bumped, ed25519, "user-service")).toEqual(["keystore.p12"]);
        expect(changed(bumped, ed25519, "payment-service")).toEqual([]);
        const keystore = await readPkcs12(
            Buffer.from(ed25519.stores["user-service"]["keystore.p12"], "base64"),
            ed25519.stores["user-service"].password,
        );
        expect(keystore.keys[0].der.toString("hex")).toContain("06032b6570"); // the Ed25519 OID 1.3.101.112
    });
});
