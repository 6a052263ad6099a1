// Certificates and keys for the handshake benchmark, all in temp dirs.
//
// - seed: the seed's own scripts (setup_ca.sh, issue_cert.sh), taken at run time from the
//   seed document in ../shared/seeds and run with bash: RSA-4096 CA, RSA-2048 leaves, SANs incl. <svc>.default.svc.cluster.local.
// - project, "engine": a real `pulumi up` per key algorithm (CA and leaves of that
//   algorithm) on the installed CLI with the project's stand-in providers, manifests
//   rendered to a temp dir, read back exactly as the Deployments mount them.
// - project, "double": the program under the test suite's mocks, the tls test double
//   issuing real certificates from the components' arguments (bench/material-double.cjs).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Pulumi, layOut, makeProject, readManifests, serviceMaterial } from "../../test/e2e/lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Where the project's seed documents live: ../shared/seeds beside the checkout (MTLS_SEEDS overrides). */
export const SEEDS = process.env.MTLS_SEEDS || path.resolve(HERE, "..", "..", "..", "shared", "seeds");
let seedDir;

/**
 * A temp dir holding the seed's setup_ca.sh and issue_cert.sh exactly as its document prints
 * them: the bash blocks whose first comment names each script. Read at run time, not copied
 * into this repository.
 */
export function seedScriptsDir() {
    if (seedDir) return seedDir;
    const scripts = {};
    for (const file of fs.existsSync(SEEDS) ? fs.readdirSync(SEEDS) : []) {
        const text = fs.readFileSync(path.join(SEEDS, file), "utf8");
        for (const [, body] of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
            const name = /^#!\/bin\/bash\n# (\S+\.sh)\n/.exec(body)?.[1];
            if (name === "setup_ca.sh" || name === "issue_cert.sh") scripts[name] = body;
        }
    }
    if (!scripts["setup_ca.sh"] || !scripts["issue_cert.sh"]) {
        throw new Error(
            `bench: the seed's setup_ca.sh and issue_cert.sh were not found in ${SEEDS} (set MTLS_SEEDS to the seeds folder)`,
        );
    }
    seedDir = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-seed-scripts-"));
    for (const [name, body] of Object.entries(scripts))
        fs.writeFileSync(path.join(seedDir, name), body, { mode: 0o755 });
    process.on("exit", () => fs.rmSync(seedDir, { recursive: true, force: true }));
    return seedDir;
}
export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"];
export const SERVER = "user-service";
export const CLIENT = "order-service";

export function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr?.slice(-2000)}`);
    return r;
}

/** The seed's CA and two services' certificates, made by its scripts in `dir`. */
export function seedMaterial(dir) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    run("bash", [path.join(seedScriptsDir(), "setup_ca.sh")], { cwd: dir });
    for (const svc of [SERVER, CLIENT]) run("bash", [path.join(seedScriptsDir(), "issue_cert.sh"), svc], { cwd: dir });
    const peer = (svc) => ({
        key: path.join(dir, "certs", svc, "service.key"),
        cert: path.join(dir, "certs", svc, "service.crt"),
        ca: path.join(dir, "ca", "ca.crt"),
    });
    return {
        label: "seed RSA-4096 CA / RSA-2048 leaf",
        source: "seed scripts (openssl)",
        server: peer(SERVER),
        client: peer(CLIENT),
        servername: `${SERVER}.default.svc.cluster.local`,
    };
}

/** The stack config of the handshake material for one key algorithm (CA and leaves). */
export function materialStackConfig(algorithm, renderDirectory) {
    return {
        "mtls:namespace": "bench",
        "mtls:trustDomain": "bench.internal",
        "mtls:ca": { commonName: `bench ${algorithm} root CA`, keyAlgorithm: algorithm },
        "mtls:certificates": { keyAlgorithm: algorithm },
        "mtls:services": [
            { name: SERVER, image: `example/${SERVER}:1.0`, port: 8443, usage: "both", allowFrom: [CLIENT] },
            { name: CLIENT, image: `example/${CLIENT}:1.0`, usage: "client" },
        ],
        "mtls:kubernetes": { renderDirectory },
    };
}

const stackName = (algorithm) => `hs-${algorithm.toLowerCase()}`;

function projectPeers(dir, algorithm) {
    const peer = (svc) => ({
        key: path.join(dir, svc, "tls.key"),
        cert: path.join(dir, svc, "tls.crt"),
        ca: path.join(dir, svc, "ca.crt"),
    });
    return {
        label: `project ${algorithm}`,
        algorithm,
        server: peer(SERVER),
        client: peer(CLIENT),
        servername: `${SERVER}.bench.svc.cluster.local`,
    };
}

/** The project's material for each algorithm from real `pulumi up` runs; every stack is destroyed after. */
export function engineMaterial(work, algorithms, source, log = () => undefined) {
    const stacks = Object.fromEntries(
        algorithms.map((a) => [stackName(a), materialStackConfig(a, path.join(work, "render", stackName(a)))]),
    );
    const project = makeProject(work, stacks, { source });
    const pulumi = new Pulumi(project, work);
    const out = {};
    const timings = {};
    for (const algorithm of algorithms) {
        const stack = stackName(algorithm);
        pulumi.run(["stack", "init", stack]);
        const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack]);
        const objects = readManifests(path.join(work, "render", stack));
        const dir = path.join(work, "material", algorithm);
        for (const svc of [SERVER, CLIENT]) layOut(serviceMaterial(objects, svc), path.join(dir, svc));
        const destroy = pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack]);
        timings[algorithm] = { upSeconds: up.seconds, destroySeconds: destroy.seconds };
        log(`    ${algorithm}: pulumi up ${up.seconds.toFixed(1)} s, destroy ${destroy.seconds.toFixed(1)} s`);
        out[algorithm] = {
            ...projectPeers(dir, algorithm),
            source: "pulumi up on the real engine with the project's stand-in providers, rendered manifests",
        };
    }
    return { materials: out, timings };
}

/** The project's material for each algorithm from the program under mocks with the tls test double. */
export function doubleMaterial(work, build, algorithms, log = () => undefined) {
    const out = {};
    const timings = {};
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    for (const algorithm of algorithms) {
        const configFile = path.join(work, `config-${algorithm}.json`);
        fs.writeFileSync(
            configFile,
            JSON.stringify(materialStackConfig(algorithm, path.join(work, "render", algorithm))),
        );
        const dir = path.join(work, "material", algorithm);
        const started = performance.now();
        run(process.execPath, [path.join(HERE, "..", "material-double.cjs"), build, configFile, dir, SERVER, CLIENT]);
        timings[algorithm] = { seconds: (performance.now() - started) / 1000 };
        log(`    ${algorithm}: ${timings[algorithm].seconds.toFixed(1)} s`);
        out[algorithm] = {
            ...projectPeers(dir, algorithm),
            source: "program under Pulumi mocks, certificates issued by the tls test double (test/support/tlsDouble.ts)",
        };
    }
    return { materials: out, timings };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

/** DER sizes of the certificates in a PEM file (what a peer is configured to present). */
export function pemCertificateSizes(file) {
    const text = fs.readFileSync(file, "utf8");
    return [...text.matchAll(PEM_BLOCK)].map((m) => Buffer.from(m[1].replace(/\s+/g, ""), "base64").length);
}
