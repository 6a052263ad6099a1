import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { PROJECT_ROOT } from "./support/stackConfig";

const workflow = parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, ".github", "workflows", "preview.yml"), "utf8"));
const scripts = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).scripts as Record<
    string,
    string
>;

describe("the pull-request preview workflow", () => {
    const job = workflow.jobs.preview;
    const runs: string[] = job.steps.filter((s: any) => s.run).map((s: any) => s.run);

    it("runs on pull requests for every shipped stack", () => {
        expect(Object.keys(workflow.on)).toContain("pull_request");
        const stacks = fs
            .readdirSync(path.join(PROJECT_ROOT, "stacks"))
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter(Boolean);
        expect([...job.strategy.matrix.stack].sort()).toEqual([...stacks].sort());
        expect(workflow.permissions["pull-requests"]).toBe("write");
    });

    it("calls only npm scripts that package.json defines", () => {
        const called = runs.flatMap((r) => [...r.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]));
        expect(called).toContain("cert-report");
        for (const name of called) expect(scripts[name], name).toBeDefined();
        expect(runs).toContain("npm ci");
    });

    it("updates one comment per stack, found by a marker the report starts with", () => {
        const script = job.steps.find((s: any) => s.uses?.startsWith("actions/github-script")).with.script as string;
        expect(script).toContain("updateComment");
        expect(script).toContain("createComment");
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JavaScript template
        expect(runs.join("\n")).toContain("<!-- mtls-cert-report:${{ matrix.stack }} -->");
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JavaScript template
        expect(script).toContain('"<!-- mtls-cert-report:${{ matrix.stack }} -->"');
    });
});
