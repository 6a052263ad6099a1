// Loads the project's pure TypeScript modules (the config contract, the call graph)
// into a plain Node script, so the scripts reuse the rules the program runs instead of
// copying them. Each file is transpiled in memory with the project's own TypeScript
// (no type-check: `npm test` does that) and evaluated as CommonJS.
//
// Only relative imports and `node:` built-ins are followed. A module that reaches for
// a package (Pulumi, the kubernetes SDK) is refused by name: the scripts must stay
// runnable without loading the engine's SDKs, and this keeps that true.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(ROOT, "package.json"));
/** @type {Map<string, { exports: Record<string, unknown> }>} */
const loaded = new Map();

/**
 * The file a relative specifier names: `./spec` → `./spec.ts`, `../components` → `../components/index.ts`.
 * @param {string} from the importing file
 * @param {string} specifier
 * @returns {string}
 */
function resolveModule(from, specifier) {
    const base = path.resolve(path.dirname(from), specifier);
    for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
        if (candidate.endsWith(".ts") && fs.existsSync(candidate)) return candidate;
    }
    throw new Error(
        `${path.relative(ROOT, from)} imports ${specifier}, which is not a TypeScript file of this project`,
    );
}

/**
 * @param {string} file
 * @returns {Record<string, unknown>} the module's exports
 */
function evaluate(file) {
    const cached = loaded.get(file);
    if (cached) return cached.exports;
    /** @type {typeof import("typescript")} */
    const ts = require("typescript");
    /** @type {{ exports: Record<string, unknown> }} */
    const module = { exports: {} };
    // Registered before it runs, so that import cycles see the partial exports as Node's own loader would.
    loaded.set(file, module);
    const { outputText } = ts.transpileModule(fs.readFileSync(file, "utf8"), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    /** @param {string} specifier */
    const localRequire = (specifier) => {
        if (specifier.startsWith("node:")) return require(specifier);
        if (specifier.startsWith(".")) return evaluate(resolveModule(file, specifier));
        throw new Error(
            `${path.relative(ROOT, file)} imports the package ${specifier}; only pure modules (relative imports and node: built-ins) load outside the Pulumi program`,
        );
    };
    const run = vm.compileFunction(outputText, ["exports", "require", "module", "__filename", "__dirname"], {
        filename: file,
    });
    run(module.exports, localRequire, module, file, path.dirname(file));
    return module.exports;
}

/**
 * The exports of a TypeScript module of this project, by its path from the project root (e.g. `infra/graph.ts`).
 * The loader cannot check the module's type: the caller names it, with a cast to
 * `typeof import("../infra/graph.js")` for instance.
 * @template [T=Record<string, unknown>]
 * @param {string} relativePath
 * @returns {T}
 */
export function loadTypeScript(relativePath) {
    return /** @type {T} */ (evaluate(path.resolve(ROOT, relativePath)));
}
