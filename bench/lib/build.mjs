// The code under test, frozen once per run: a snapshot of the project's program files
// (another session may be editing the working tree meanwhile), and CommonJS compiled
// from it for the runs under mocks.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** What `pulumi up` needs of the project (as e2e/lib.mjs makeProject copies it). */
const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "components", "infra"];

/**
 * Copies the program (PROJECT_ENTRIES) to `<dir>/project` and test/support to
 * `<dir>/test-support`. Every section uses these copies, so one run measures one state
 * of the code even if the working tree changes while it runs.
 */
export function snapshotProject(root, dir) {
    const project = path.join(dir, "project");
    fs.mkdirSync(project, { recursive: true });
    for (const entry of PROJECT_ENTRIES)
        fs.cpSync(path.join(root, entry), path.join(project, entry), { recursive: true });
    fs.cpSync(path.join(root, "test", "support"), path.join(dir, "test-support"), { recursive: true });
    return { project, testSupport: path.join(dir, "test-support") };
}

/**
 * Turns the snapshot's TypeScript (components/, infra/, test/support/) into CommonJS in
 * `outDir`, the way tsc would emit it, but file by file without type-checking (`npm test`
 * type-checks; the benchmark only needs the code). A `node_modules` link makes the
 * compiled files resolve the project's own dependencies.
 */
export function buildProject(snapshot, outDir, root) {
    const require = createRequire(path.join(root, "package.json"));
    const ts = require("typescript");
    const started = performance.now();
    const folders = {
        components: path.join(snapshot.project, "components"),
        infra: path.join(snapshot.project, "infra"),
        [path.join("test", "support")]: snapshot.testSupport,
    };
    let files = 0;
    for (const [folder, from] of Object.entries(folders)) {
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
