// Issuance of N service certificates: the seed's openssl scripts versus the project's
// `pulumi up` on the real engine (stand-in providers), each in its own temp dir.
import fs from "node:fs";
import path from "node:path";
import { Pulumi, makeProject, readManifests } from "../../test/e2e/lib.mjs";
import { run, seedScriptsDir } from "./material.mjs";
import { benchStackConfig, serviceName } from "./spec.mjs";

/**
 * The seed's flow for N services, as its scripts do it: `bash setup_ca.sh` once, then
 * `bash issue_cert.sh <service>` per service (genrsa 2048, req -new, san.cnf,
 * x509 -req -sha256 -days 365 -extensions v3_ext). Returns seconds.
 */
export function seedIssue(dir, n) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    run("bash", [path.join(seedScriptsDir(), "setup_ca.sh")], { cwd: dir });
    const t1 = performance.now();
    for (let i = 1; i <= n; i++)
        run("bash", [path.join(seedScriptsDir(), "issue_cert.sh"), serviceName(i)], { cwd: dir });
    const t2 = performance.now();
    const issued = fs
        .readdirSync(path.join(dir, "certs"))
        .filter((svc) => fs.existsSync(path.join(dir, "certs", svc, "service.crt"))).length;
    if (issued !== n) throw new Error(`seed flow issued ${issued} certificates, expected ${n}`);
    return { totalSeconds: (t2 - t0) / 1000, caSeconds: (t1 - t0) / 1000, certsSeconds: (t2 - t1) / 1000, issued };
}

/** Summary line of `pulumi up` output, e.g. "+ 127 created" or "127 unchanged". */
function resourceSummary(stdout) {
    const section = stdout.split(/\n\s*Resources:\s*\n/)[1] ?? "";
    return section
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^[+~-]?\s*\d+ \w+/.test(l))
        .slice(0, 4);
}

/**
 * The project for N services: `stack init`, `pulumi up --yes --skip-preview` (issue and
 * render), the same again (the no-change run, checked by --expect-no-changes), then
 * `pulumi destroy --yes --skip-preview`. Returns seconds of each (the CLI through the
 * pinned `pulumi` npm launcher, as e2e/lib.mjs runs it).
 */
export function pulumiIssue(work, n, source) {
    const render = path.join(work, "render");
    const project = makeProject(work, { bench: benchStackConfig(n, render) }, { source });
    const pulumi = new Pulumi(project, work);
    pulumi.run(["stack", "init", "bench"]);
    const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", "bench"]);
    const objects = readManifests(render);
    const secrets = objects.filter((o) => o.kind === "Secret").length;
    const configMaps = objects.filter((o) => o.kind === "ConfigMap").length;
    if (secrets !== n || configMaps !== n)
        throw new Error(`pulumi up rendered ${secrets} Secrets and ${configMaps} ConfigMaps, expected ${n} each`);
    const noChange = pulumi.run(["up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", "bench"]);
    const destroy = pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "bench"]);
    return {
        upSeconds: up.seconds,
        noChangeUpSeconds: noChange.seconds,
        destroySeconds: destroy.seconds,
        upResources: resourceSummary(up.stdout),
        noChangeResources: resourceSummary(noChange.stdout),
        renderedObjects: objects.length,
    };
}
