// Where the Pulumi CLI and the provider plugins this project needs live, whether
// they are installed, and how to get them when they are not: the pinned `pulumi`
// launcher downloads them where the internet is reachable; otherwise
// engine/build.sh builds them from Go modules.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LAUNCHER = path.join(ROOT, "node_modules", "pulumi", "run.js");
export const PROVIDERS = ["tls", "random", "kubernetes"];

/**
 * @typedef {object} EngineStatus
 * @property {boolean} ready the CLI and every plugin are installed
 * @property {string[]} missing each absent part, with its version and path
 * @property {string[]} missingPlugins the providers (of PROVIDERS) not installed
 * @property {boolean} cliMissing
 * @property {string[]} standIns the installed plugins that are this project's stand-ins
 * @property {string} cliVersion
 */

/** @returns {string} */
export function pulumiHome() {
    return process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
}

/**
 * @param {string} file
 * @returns {any} the parsed file: foreign JSON (an npm package.json)
 */
function readJson(file) {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** @returns {string} */
export function cliVersion() {
    return readJson(path.join(ROOT, "node_modules", "pulumi", "package.json")).version;
}

/**
 * @param {string} name a provider of PROVIDERS
 * @returns {string}
 */
export function pluginVersion(name) {
    return readJson(path.join(ROOT, "node_modules", "@pulumi", name, "package.json")).pulumi.version;
}

/** @returns {string} */
export function cliPath() {
    return path.join(pulumiHome(), "versions", cliVersion(), "bin", "pulumi");
}

/**
 * What is installed: `missing` names each absent part, `standIns` the plugins that are this project's stand-ins.
 * @returns {EngineStatus}
 */
export function engineStatus() {
    /** @type {string[]} */
    const missing = [];
    /** @type {string[]} */
    const standIns = [];
    /** @type {string[]} */
    const missingPlugins = [];
    if (!fs.existsSync(cliPath())) missing.push(`pulumi CLI ${cliVersion()} (${cliPath()})`);
    for (const name of PROVIDERS) {
        const dir = path.join(pulumiHome(), "plugins", `resource-${name}-v${pluginVersion(name)}`);
        if (!fs.existsSync(path.join(dir, `pulumi-resource-${name}`))) {
            missing.push(`pulumi-resource-${name} ${pluginVersion(name)} (${dir})`);
            missingPlugins.push(name);
        } else if (fs.existsSync(path.join(dir, "STAND-IN"))) standIns.push(name);
    }
    return {
        ready: missing.length === 0,
        missing,
        missingPlugins,
        cliMissing: !fs.existsSync(cliPath()),
        standIns,
        cliVersion: cliVersion(),
    };
}

/**
 * Makes sure the CLI and plugins are installed before a command runs: first the
 * ordinary download (the launcher, `pulumi plugin install`), and where that
 * fails, a build from Go modules with its progress shown. Returns true when ready.
 * @param {{ log?: (message: string) => void }} [options] `log` shows the progress (stderr by default)
 * @returns {boolean}
 */
export function ensureEngine({ log = (m) => console.error(m) } = {}) {
    let status = engineStatus();
    if (status.ready) return true;
    /** @type {string[]} */
    const downloadFailed = [];
    if (status.cliMissing) {
        log(`Pulumi CLI ${status.cliVersion} is not installed: trying the pulumi launcher's download...`);
        const r = spawnSync(process.execPath, [LAUNCHER, "version"], {
            encoding: "utf8",
            timeout: 180_000,
            env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        if (r.status !== 0)
            downloadFailed.push(
                `CLI: ${(r.stderr || r.stdout || String(r.error ?? "timed out")).trim().split("\n").pop()}`,
            );
        status = engineStatus();
    }
    if (!status.cliMissing) {
        for (const name of status.missingPlugins) {
            const r = spawnSync(
                cliPath(),
                ["plugin", "install", "resource", name, pluginVersion(name), "--non-interactive"],
                { encoding: "utf8", timeout: 300_000 },
            );
            if (r.status !== 0)
                downloadFailed.push(`${name}: ${(r.stderr || r.stdout || "timed out").trim().split("\n").pop()}`);
        }
        status = engineStatus();
    }
    if (status.ready) return true;
    log(`Cannot download ${status.missing.join("; ")} here (${downloadFailed.join("; ")}).`);
    log(
        "Building them from Go modules instead (engine/build.sh; the first build takes about 30 minutes on 2 cores, later runs seconds):",
    );
    const targets = [...(status.cliMissing ? ["cli", "language-nodejs"] : []), ...status.missingPlugins];
    const build = spawnSync("bash", [path.join(ROOT, "engine", "build.sh"), ...targets], {
        stdio: ["ignore", process.stderr, process.stderr],
    });
    if (build.status !== 0) log("The engine build failed (its summary is above).");
    return engineStatus().ready;
}
