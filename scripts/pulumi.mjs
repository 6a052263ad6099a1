#!/usr/bin/env node
// Runs the Pulumi CLI for this project with the embedded defaults: a local file
// backend in .pulumi-state/ and a passphrase secrets provider whose passphrase
// is generated once into .pulumi-state/passphrase (0600). Both can be
// overridden with the usual PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE(_FILE).
//
//   node scripts/pulumi.mjs up --stack dev      selects (or creates) the stack, then `pulumi up --yes`
//   node scripts/pulumi.mjs preview --stack dev
//   node scripts/pulumi.mjs destroy --stack dev
//   node scripts/pulumi.mjs -- <any pulumi arguments>
//   node scripts/pulumi.mjs up --stack dev --fast   the same without intermediate checkpoints
//                                                   (PULUMI_SKIP_CHECKPOINTS=true; `--fast` is ours)
//
// When the CLI or a provider plugin is missing it is downloaded the usual way, or, where
// that fails (no internet), built from Go modules by engine/build.sh. `refresh` and
// `--refresh` are refused up front for a stack that renders manifests instead of deploying.
// Before up, preview, destroy and refresh, scripts/recover.mjs cleans up after a killed run (its
// lock, its pending operations, what it created that the state does not hold) and refuses a run
// while another holds the stack. MTLS_NO_RECOVER=1 skips that (test/e2e/crash.mjs's negative control).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { refreshRefusal } from "./cli.mjs";
import { ensureEngine } from "./engine.mjs";
import { fileBackendDir, recover, takeFast } from "./recover.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = path.join(root, ".pulumi-state");
const launcher = path.join(root, "node_modules", "pulumi", "run.js");

/** @returns {NodeJS.ProcessEnv} the environment for the CLI, with the project's backend and passphrase defaults */
function pulumiEnv() {
    /** @type {NodeJS.ProcessEnv} */
    const env = { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (!env.PULUMI_BACKEND_URL) {
        fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        env.PULUMI_BACKEND_URL = `file://${stateDir}`;
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        const file = path.join(stateDir, "passphrase");
        if (!fs.existsSync(file)) {
            fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
            fs.writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
        }
        env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
    }
    return env;
}

/** The commands that take the stack: recovery runs before them. */
const STACK_COMMANDS = ["up", "preview", "destroy", "refresh"];

/**
 * The stack's Kubernetes target, from its stack file: where it renders, or which cluster it deploys to.
 * @param {string} stack
 * @returns {{ renderDirectory?: string, context?: string, kubeconfig?: string, namespace?: string }}
 */
function stackTarget(stack) {
    const file = path.join(root, "stacks", `Pulumi.${stack}.yaml`);
    const config = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8"))?.config ?? {}) : {};
    const kubernetes = config["mtls:kubernetes"] ?? {};
    const namespace = typeof config["mtls:namespace"] === "string" ? config["mtls:namespace"] : undefined;
    if (kubernetes.context !== undefined)
        return {
            context: kubernetes.context,
            kubeconfig:
                kubernetes.kubeconfig === undefined
                    ? process.env.KUBECONFIG
                    : path.resolve(root, kubernetes.kubeconfig),
            namespace,
        };
    return { renderDirectory: path.resolve(root, kubernetes.renderDirectory ?? `out/${stack}`), namespace };
}

/**
 * The recovery pass before `command` on `stack` (scripts/recover.mjs); exits 2 when another run
 * holds the stack. Its marker is removed when this process exits.
 * @param {string} command
 * @param {string} stack
 * @param {"default" | "fast"} mode
 * @param {NodeJS.ProcessEnv} env
 */
function recoverFirst(command, stack, mode, env) {
    // MTLS_RUN_MARKER: a child of this wrapper (the certificate report's preview) runs under its parent's marker.
    if (process.env.MTLS_NO_RECOVER === "1" || process.env.MTLS_RUN_MARKER) return;
    const backendDir = fileBackendDir(env.PULUMI_BACKEND_URL ?? "");
    if (!backendDir) return;
    const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")).name;
    const result = recover({
        root,
        backendDir,
        project,
        stack,
        command,
        mode,
        target: stackTarget(stack),
        pulumi: (args) =>
            spawnSync(process.execPath, [launcher, ...args, "--non-interactive"], {
                cwd: root,
                env,
                encoding: "utf8",
                maxBuffer: 512 * 1024 * 1024,
            }),
    });
    if ("refusal" in result) {
        console.error(`refused: ${result.refusal}`);
        process.exit(2);
    }
    const marker = result.marker;
    process.env.MTLS_RUN_MARKER = marker;
    process.on("exit", () => {
        try {
            if (JSON.parse(fs.readFileSync(marker, "utf8")).pid === process.pid) fs.rmSync(marker, { force: true });
        } catch {
            // Already gone.
        }
    });
    // Ctrl-C reaches the CLI too, which stops cleanly; this process waits for it and then removes its marker.
    process.on("SIGINT", () => {});
    process.on("SIGTERM", () => {});
}

/**
 * Runs the pinned Pulumi CLI in the project root.
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {{ quiet?: boolean }} [options] `quiet` captures the output instead of showing it
 * @returns {number} the exit status
 */
function pulumi(args, env, options = {}) {
    const result = spawnSync(process.execPath, [launcher, ...args], {
        cwd: root,
        env,
        stdio: options.quiet ? "pipe" : "inherit",
    });
    if (result.error) throw result.error;
    return result.status ?? 1;
}

/**
 * The value of `--stack`, `-s` or `--stack=` in `args`.
 * @param {string[]} args
 * @returns {string | undefined}
 */
function takeStack(args) {
    const i = args.findIndex((a) => a === "--stack" || a === "-s");
    if (i >= 0 && args[i + 1]) return args[i + 1];
    const eq = args.find((a) => a.startsWith("--stack="));
    return eq ? eq.slice("--stack=".length) : undefined;
}

const [command, ...given] = process.argv.slice(2);
const { fast, args: rest } = takeFast(given);
const env = pulumiEnv();
if (fast) {
    if (command !== "up" && command !== "destroy") {
        console.error("refused: --fast is for up and destroy only");
        process.exit(2);
    }
    // No checkpoint until the end: faster, but a killed run leaves the state from before it (README, Fast mode).
    env.PULUMI_SKIP_CHECKPOINTS = "true";
}
if (!ensureEngine()) {
    console.error("The Pulumi CLI or a provider plugin is missing and could not be downloaded or built; see above.");
    process.exit(1);
}
if (!command || command === "--") {
    const passStack = takeStack(rest);
    const passRefusal = passStack && refreshRefusal(passStack, rest);
    if (passRefusal) {
        console.error(`refused: ${passRefusal}`);
        process.exit(2);
    }
    if (passStack && STACK_COMMANDS.includes(rest[0])) recoverFirst(rest[0], passStack, "default", env);
    process.exit(pulumi(rest, env));
}
const stack = takeStack(rest);
const refusal = stack && refreshRefusal(stack, [command, ...rest]);
if (refusal) {
    console.error(`refused: ${refusal}`);
    process.exit(2);
}
if (!stack) {
    console.error(`usage: npm run ${command} -- --stack <dev|staging|prod> [pulumi flags]`);
    process.exit(2);
}
if (STACK_COMMANDS.includes(command)) recoverFirst(command, stack, fast ? "fast" : "default", env);
if (command === "up" || command === "preview") {
    // `stack select --create` makes the first run on a fresh machine work without a separate init.
    const selected = pulumi(["stack", "select", "--create", stack, "--non-interactive"], env);
    if (selected !== 0) process.exit(selected);
}
const extra = command === "up" || command === "destroy" ? ["--yes", "--non-interactive"] : ["--non-interactive"];
const status = pulumi([command, ...rest, ...extra], env);
if (command === "preview" && status === 0 && !rest.includes("--json")) {
    // The engine's own output masks secret diffs; say in certificate terms what would change.
    const { buildReport, previewJson, renderMarkdown } = await import("./cert-report.mjs");
    try {
        const report = buildReport(previewJson(stack));
        console.log(`\n${renderMarkdown(report, `Certificate changes — ${stack}`)}`);
    } catch (err) {
        console.error(`certificate report unavailable: ${/** @type {Error} */ (err).message}`);
    }
}
process.exit(status);
