#!/usr/bin/env node
// Prints who may call whom in a stack as a Mermaid flowchart, from the stack file alone
// (no engine, no state): the config is checked by the same contract the program uses,
// so a stack file the program would refuse is refused here, with the same key paths.
//
//   npm run graph -- --stack dev [--out graph.mmd]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { argument } from "./cli.mjs";
import { loadTypeScript } from "./typescript.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** @typedef {typeof import("../infra/spec.js")} SpecModule */
/** @typedef {typeof import("../infra/graph.js")} GraphModule */
/** @typedef {import("../infra/spec.js").StackSpec} StackSpec */

/**
 * The project's name and the folder of its stack files, from Pulumi.yaml.
 * @param {string} root
 * @returns {{ name: string, stackConfigDir: string }}
 */
function project(root) {
    const doc = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    return { name: doc.name, stackConfigDir: path.join(root, doc.stackConfigDir ?? ".") };
}

/**
 * A stack file's `config:` block as the engine hands it to the program: every value a string, structured ones as JSON.
 * @param {string} yamlText
 * @returns {Record<string, string>}
 */
export function engineConfig(yamlText) {
    const doc = parseYaml(yamlText) ?? {};
    return Object.fromEntries(
        Object.entries(doc.config ?? {}).map(([key, value]) => [
            key,
            typeof value === "string" ? value : JSON.stringify(value),
        ]),
    );
}

/**
 * The checked spec of a stack from its config as the engine passes it; throws StackConfigError with every problem.
 * @param {Record<string, string>} config
 * @param {{ project: string, stack: string }} names
 * @returns {StackSpec}
 */
export function specFromEngineConfig(config, names) {
    const { parseStackConfig, rawStackConfigFromEngine } = /** @type {SpecModule} */ (loadTypeScript("infra/spec.ts"));
    return parseStackConfig(rawStackConfigFromEngine(config), names);
}

/**
 * The Mermaid flowchart of a stack file.
 * @param {string} stack
 * @param {string} [root] the project root
 * @returns {string}
 */
export function stackGraph(stack, root = ROOT) {
    const { name, stackConfigDir } = project(root);
    const file = path.join(stackConfigDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(stackConfigDir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
        throw new Error(`no stack file ${path.relative(root, file)}; use one of ${stacks.join(", ")}`);
    }
    const spec = specFromEngineConfig(engineConfig(fs.readFileSync(file, "utf8")), { project: name, stack });
    const { callGraph, renderMermaid } = /** @type {GraphModule} */ (loadTypeScript("infra/graph.ts"));
    return renderMermaid(callGraph(spec));
}

/**
 * @param {string[]} args
 * @returns {number} the exit code
 */
function main(args) {
    const stack = argument(args, "--stack");
    let text;
    try {
        if (!stack) throw new Error("give --stack <name>: the stack file stacks/Pulumi.<name>.yaml to draw");
        text = stackGraph(stack);
    } catch (err) {
        console.error(`graph: ${/** @type {Error} */ (err).message}`);
        return 2;
    }
    const out = argument(args, "--out");
    if (out) fs.writeFileSync(out, text);
    else process.stdout.write(text);
    return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    process.exitCode = main(process.argv.slice(2));
}
