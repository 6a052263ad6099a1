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

/** The project's name and the folder of its stack files, from Pulumi.yaml. */
function project(root) {
    const doc = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    return { name: doc.name, stackConfigDir: path.join(root, doc.stackConfigDir ?? ".") };
}

/** A stack file's `config:` block as the engine hands it to the program: every value a string, structured ones as JSON. */
export function engineConfig(yamlText) {
    const doc = parseYaml(yamlText) ?? {};
    return Object.fromEntries(Object.entries(doc.config ?? {}).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** The checked spec of a stack from its config as the engine passes it; throws StackConfigError with every problem. */
export function specFromEngineConfig(config, names) {
    const { parseStackConfig, rawStackConfigFromEngine } = loadTypeScript("infra/spec.ts");
    return parseStackConfig(rawStackConfigFromEngine(config), names);
}

/** The Mermaid flowchart of a stack file. */
export function stackGraph(stack, root = ROOT) {
    const { name, stackConfigDir } = project(root);
    const file = path.join(stackConfigDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(stackConfigDir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
        throw new Error(`no stack file ${path.relative(root, file)}; use one of ${stacks.join(", ")}`);
    }
    const spec = specFromEngineConfig(engineConfig(fs.readFileSync(file, "utf8")), { project: name, stack });
    const { callGraph, renderMermaid } = loadTypeScript("infra/graph.ts");
    return renderMermaid(callGraph(spec));
}

function main(args) {
    const stack = argument(args, "--stack");
    let text;
    try {
        if (!stack) throw new Error("give --stack <name>: the stack file stacks/Pulumi.<name>.yaml to draw");
        text = stackGraph(stack);
    } catch (err) {
        console.error(`graph: ${err.message}`);
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
