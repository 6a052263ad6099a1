// Turns the project's TypeScript (components/, infra/, test/support/) into CommonJS in a
// temp dir, the way tsc would emit it, but file by file without type-checking
// (`npm test` type-checks; the benchmark only needs the code). A `node_modules` link makes
// the compiled files resolve the project's own dependencies.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const FOLDERS = ["components", "infra", path.join("test", "support")];

export function buildProject(root, outDir) {
    const require = createRequire(path.join(root, "package.json"));
    const ts = require("typescript");
    const started = performance.now();
    let files = 0;
    for (const folder of FOLDERS) {
        const from = path.join(root, folder);
        for (const entry of fs.readdirSync(from)) {
            if (!entry.endsWith(".ts") || entry.endsWith(".d.ts")) continue;
            const source = fs.readFileSync(path.join(from, entry), "utf8");
            const out = ts.transpileModule(source, {
                fileName: entry,
                compilerOptions: {
                    target: ts.ScriptTarget.ES2022,
                    module: ts.ModuleKind.CommonJS,
                    esModuleInterop: true,
                },
            });
            fs.mkdirSync(path.join(outDir, folder), { recursive: true });
            fs.writeFileSync(path.join(outDir, folder, entry.replace(/\.ts$/, ".js")), out.outputText);
            files += 1;
        }
    }
    fs.symlinkSync(path.join(root, "node_modules"), path.join(outDir, "node_modules"));
    return { outDir, files, ms: performance.now() - started, typescript: ts.version };
}
