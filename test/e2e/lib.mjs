// Shared pieces of the engine tier: a throw-away copy of the project, the Pulumi CLI
// against a file backend in it, rendered manifests, and material laid out the way
// the kubelet would mount it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { engineStatus } from "../../scripts/engine.mjs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The step a renewal makes to the stack's one renewal schedule (infra/program.ts names it `renewal`). */
export const SCHEDULE_STEP = "update pulumi-nodejs:dynamic/mtls:RenewalSchedule::renewal";

export { engineStatus, pulumiHome } from "../../scripts/engine.mjs";

/** A copy of the project in a temp dir (node_modules linked), with the given stack files. */
export function makeProject(work, stacks, { source = ".", name } = {}) {
    const dir = path.join(work, name ?? "project");
    fs.mkdirSync(path.join(dir, "stacks"), { recursive: true });
    const from = path.resolve(ROOT, source);
    const entries =
        source === "."
            ? ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "components", "infra"]
            : fs.readdirSync(from).filter((f) => f !== "stacks");
    for (const entry of entries) fs.cpSync(path.join(from, entry), path.join(dir, entry), { recursive: true });
    if (!fs.existsSync(path.join(dir, "node_modules")))
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    for (const [stack, config] of Object.entries(stacks)) writeStack(dir, stack, config);
    return dir;
}

export function writeStack(projectDir, stack, config) {
    fs.writeFileSync(path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`), YAML.stringify({ config }));
}

/** The Pulumi CLI for one project, against a file backend under `work`. */
export class Pulumi {
    constructor(projectDir, work, extraEnv = {}) {
        this.dir = projectDir;
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            ...extraEnv,
        };
        fs.mkdirSync(path.join(work, "state"), { recursive: true });
    }

    run(args, { env = {}, allowFail = false } = {}) {
        const started = Date.now();
        const result = spawnSync(
            process.execPath,
            [path.join(ROOT, "node_modules", "pulumi", "run.js"), ...args, "--non-interactive"],
            {
                cwd: this.dir,
                env: { ...this.env, ...env },
                encoding: "utf8",
                maxBuffer: 512 * 1024 * 1024,
            },
        );
        const out = {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            seconds: (Date.now() - started) / 1000,
        };
        if (result.status !== 0 && !allowFail) {
            throw new Error(
                `pulumi ${args.join(" ")} failed (${result.status}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
            );
        }
        return out;
    }

    json(args, options) {
        const out = this.run([...args, "--json"], options);
        return { ...out, json: JSON.parse(out.stdout) };
    }
}

/** Every object in the rendered manifests directory. */
export function readManifests(dir) {
    return listFiles(dir)
        .filter((file) => /\.ya?ml$/.test(file))
        .flatMap((file) =>
            YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
                .map((doc) => doc.toJSON())
                .filter(Boolean)
                .map((obj) => ({ ...obj, __file: file })),
        );
}

export function listFiles(dir) {
    const files = [];
    const walk = (d) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const full = path.join(d, entry.name);
            if (entry.isDirectory()) walk(full);
            else files.push(full);
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return files;
}

/** A Secret's value for `key`, whether rendered as stringData or base64 data. */
export function secretValue(secret, key) {
    return secretBytes(secret, key)?.toString("utf8");
}

/** A Secret's value for `key` as bytes: keystores are binary. */
export function secretBytes(secret, key) {
    if (secret.stringData?.[key] !== undefined) return Buffer.from(secret.stringData[key], "utf8");
    if (secret.data?.[key] !== undefined) return Buffer.from(secret.data[key], "base64");
    return undefined;
}

function find(objects, kind, name) {
    return objects.find((o) => o.kind === kind && o.metadata?.name === name);
}

/**
 * What one service's container gets, read from its Deployment exactly as wired:
 * the projected volume's items (files) or the env vars' key references (env).
 */
export function serviceMaterial(objects, service) {
    const deployment = find(objects, "Deployment", service);
    if (!deployment) throw new Error(`no Deployment ${service} in the rendered manifests`);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
    const files = {};
    let delivery;
    if ((pod.volumes ?? []).length > 0) {
        delivery = "files";
        const mount = container.volumeMounts.find((m) => m.name === pod.volumes[0].name);
        for (const source of pod.volumes[0].projected.sources) {
            if (source.configMap) {
                const cm = find(objects, "ConfigMap", source.configMap.name);
                for (const item of source.configMap.items)
                    files[item.path] = { text: cm.data[item.key], mode: item.mode };
            }
            if (source.secret) {
                const secret = find(objects, "Secret", source.secret.name);
                for (const item of source.secret.items)
                    files[item.path] = {
                        text: secretValue(secret, item.key),
                        bytes: secretBytes(secret, item.key),
                        mode: item.mode,
                    };
            }
        }
        // The keystore password reaches the app as an environment variable; a test app writes it down.
        const password = env.MTLS_KEYSTORE_PASSWORD?.valueFrom?.secretKeyRef;
        if (password)
            files["keystore-password"] = {
                text: secretValue(find(objects, "Secret", password.name), password.key),
                mode: 0o400,
            };
        return { delivery, mountPath: mount.mountPath, readOnly: mount.readOnly, files, env, deployment };
    }
    delivery = "env";
    const fromRef = (name, fileName) => {
        const ref = env[name]?.valueFrom;
        if (ref?.configMapKeyRef)
            files[fileName] = {
                text: find(objects, "ConfigMap", ref.configMapKeyRef.name).data[ref.configMapKeyRef.key],
                mode: 0o444,
            };
        if (ref?.secretKeyRef)
            files[fileName] = {
                text: secretValue(find(objects, "Secret", ref.secretKeyRef.name), ref.secretKeyRef.key),
                mode: 0o400,
            };
    };
    fromRef("MTLS_CERT", "tls.crt");
    fromRef("MTLS_KEY", "tls.key");
    fromRef("MTLS_CA", "ca.crt");
    return { delivery, files, env, deployment };
}

/** Writes material as the kubelet would mount it (or as a test app would dump its env vars). */
export function layOut(material, dir) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [file, { text, bytes, mode }] of Object.entries(material.files)) {
        if (text === undefined) throw new Error(`${dir}: ${file} has no content`);
        const target = path.join(dir, file);
        fs.writeFileSync(target, bytes ?? text, { mode: 0o600 });
        fs.chmodSync(target, mode === 0o400 ? 0o600 : (mode ?? 0o444));
    }
    return dir;
}

/** Prints a section heading of an engine-tier run. */
export function section(title) {
    console.log(`\n== ${title}`);
}

/** A small counter that prints each check and ends with `N passed, M failed`. */
export class Checks {
    constructor() {
        this.passed = 0;
        this.failed = 0;
        this.failures = [];
    }

    ok(condition, label, detail = "") {
        if (condition) {
            this.passed += 1;
            console.log(`  PASS ${label}`);
        } else {
            this.failed += 1;
            this.failures.push(label);
            console.log(`  FAIL ${label}${detail ? `: ${detail}` : ""}`);
        }
        return condition;
    }

    summary() {
        return `${this.passed} passed, ${this.failed} failed`;
    }
}

/** Steps of a preview JSON that change something, as "op type::name". */
export function changedSteps(preview) {
    return (preview.steps ?? [])
        .filter((s) => s.op !== "same" && s.op !== "read")
        .map((s) => {
            const parts = (s.urn ?? "").split("::");
            return `${s.op} ${(parts[2] ?? "").split("$").pop()}::${parts.slice(3).join("::")}`;
        });
}

/** Runs the peers harness over a scenario (files under `work`); returns its counts and JSON results. */
export function runPeers(work, name, scenario, extra = []) {
    const dir = path.join(work, "scenarios");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.json`);
    const results = path.join(dir, `${name}.results.json`);
    fs.writeFileSync(file, JSON.stringify(scenario, null, 2));
    const run = spawnSync(
        process.execPath,
        [
            path.join(ROOT, "test", "e2e", "peers", "run.mjs"),
            "--scenario",
            file,
            "--json",
            results,
            "--quiet",
            ...extra,
        ],
        { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    process.stdout.write(
        run.stdout
            .split("\n")
            .map((l) => `    ${l}`)
            .join("\n"),
    );
    if (run.stderr.trim())
        process.stdout.write(
            run.stderr
                .split("\n")
                .map((l) => `    ${l}`)
                .join("\n"),
        );
    const summary = /(\d+) passed, (\d+) failed/.exec(run.stdout.trim().split("\n").pop() ?? "");
    return {
        status: run.status,
        passed: Number(summary?.[1] ?? 0),
        failed: Number(summary?.[2] ?? 0),
        json: fs.existsSync(results) ? JSON.parse(fs.readFileSync(results, "utf8")) : undefined,
    };
}

/**
 * Runs one engine-tier script: refuses to start without the engine, gives the body a private temp
 * dir (deleted afterwards unless --keep: it holds keys), and ends with `N passed, M failed`.
 */
export async function runTier(name, body) {
    const status = engineStatus();
    if (!status.ready) {
        console.error(
            `${name}: the engine is not built: missing ${status.missing.join("; ")}. Run npm run engine:build first.`,
        );
        process.exit(2);
    }
    if (status.standIns.length) {
        console.log(
            `NOTE: provider plugins ${status.standIns.join(", ")} are this project's stand-ins (test/standins/providers), not Pulumi's releases.`,
        );
    }
    const keep = process.argv.includes("--keep");
    const checks = new Checks();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `mtls-${name}-`));
    fs.chmodSync(work, 0o700);
    let crashed = false;
    try {
        await body({ work, checks, args: process.argv.slice(2) });
    } catch (err) {
        checks.ok(false, "the run finished", err.stack ?? String(err));
        crashed = true;
    } finally {
        if (keep) console.log(`kept ${work} (it holds private keys: delete it when done)`);
        else fs.rmSync(work, { recursive: true, force: true });
    }
    console.log(checks.summary());
    process.exit(crashed || checks.failed > 0 ? 1 : 0);
}
