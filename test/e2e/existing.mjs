#!/usr/bin/env node
// Wiring into workloads the program did not write, on the real Pulumi engine with Pulumi's
// kubernetes provider and the test control plane: a Deployment of the program, a StatefulSet
// from a YAML file (yaml/v2 ConfigFile) and a Deployment from a local Helm chart (helm/v4 Chart),
// each wired by a WorkloadWiring transform. Everything is checked on what the API server holds:
// the pod templates' volumes, mounts, variables and annotations, and the certificate in the
// ConfigMap, whose SPIFFE URI must name the pod template's service account. Then the mistakes
// refused at preview: a selector matching nothing, one matching two workloads, a container that
// already mounts the path, a workload running as another service account.
//
//   npm run e2e:existing              everything below
//   npm run e2e:existing -- --keep    keep the temp dir (holds keys: delete it yourself)
import { spawnSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { BIN, CONTEXT, KUBECONFIG, start, status, stop } from "../cluster/cluster.mjs";
import { Pulumi, ROOT, makeProject, runTier, section, writeStack } from "./lib.mjs";

const NAMESPACE = "existing-e2e";

function kubectl(args, { allowFail = false } = {}) {
    const r = spawnSync(path.join(BIN, "kubectl"), ["--kubeconfig", KUBECONFIG, "--context", CONTEXT, ...args], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r;
}

function getJson(kind, name) {
    return JSON.parse(kubectl(["get", kind, name, "-n", NAMESPACE, "-o", "json"]).stdout);
}

function stackConfig(_work, scenario) {
    return {
        "existing:scenario": scenario,
        "existing:namespace": NAMESPACE,
        "existing:fixtures": path.join(ROOT, "test", "fixtures"),
        "existing:kubeconfig": KUBECONFIG,
        "existing:context": CONTEXT,
    };
}

/** Checks one wired pod template, read back from the API server, against its ConfigMap read back too. */
function checkTemplate(checks, label, template, { material, containers, untouched = [] }) {
    const spec = template.spec;
    const volume = (spec.volumes ?? []).find((v) =>
        v.projected?.sources?.some((s) => s.configMap?.name === material.configMap),
    );
    checks.ok(
        volume?.name.startsWith("mtls-"),
        `${label}: a projected volume of the material's ConfigMap ${material.configMap} and Secret`,
        JSON.stringify(spec.volumes),
    );
    const secretSource = volume?.projected.sources.find((s) => s.secret)?.secret;
    checks.ok(
        secretSource?.name === material.secret &&
            secretSource.items?.[0]?.key === "tls.key" &&
            secretSource.items[0].mode === 0o400,
        `${label}: ... whose tls.key comes from the Secret ${material.secret}, mode 0400`,
        JSON.stringify(secretSource),
    );
    for (const container of spec.containers) {
        const wanted = containers.includes(container.name);
        const mount = (container.volumeMounts ?? []).find((m) => m.name === volume?.name);
        const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
        if (wanted) {
            checks.ok(
                mount?.mountPath === "/etc/mtls" && mount.readOnly === true,
                `${label}: container ${container.name} mounts it read-only at /etc/mtls`,
                JSON.stringify(container.volumeMounts),
            );
            checks.ok(
                env.MTLS_CERT_FILE === "/etc/mtls/tls.crt" &&
                    env.MTLS_KEY_FILE === "/etc/mtls/tls.key" &&
                    env.MTLS_CA_FILE === "/etc/mtls/ca.crt",
                `${label}: container ${container.name} has MTLS_CERT_FILE, MTLS_KEY_FILE, MTLS_CA_FILE`,
                JSON.stringify(container.env),
            );
        } else {
            checks.ok(
                mount === undefined && env.MTLS_CERT_FILE === undefined,
                `${label}: container ${container.name} is left alone`,
                JSON.stringify(container),
            );
        }
    }
    for (const name of untouched)
        checks.ok(
            spec.containers.find((c) => c.name === name.container)?.env?.some((e) => e.name === name.env),
            `${label}: the container's own ${name.env} is kept`,
        );
    const configMap = getJson("configmap", material.configMap);
    const leaf = new X509Certificate(configMap.data["tls.crt"]);
    const bundle = configMap.data["ca.crt"];
    const annotations = template.metadata.annotations ?? {};
    checks.ok(
        annotations["mtls.pulumi.com/cert-sha256"] === createHash("sha256").update(leaf.raw).digest("hex"),
        `${label}: the pod template's cert-sha256 annotation is the SHA-256 of the certificate in the ConfigMap`,
        JSON.stringify(annotations),
    );
    checks.ok(
        annotations["mtls.pulumi.com/ca-bundle-sha256"] === createHash("sha256").update(bundle).digest("hex"),
        `${label}: ... and ca-bundle-sha256 that of its ca.crt`,
    );
    const account = spec.serviceAccountName;
    const uri = `spiffe://existing.test/ns/${NAMESPACE}/sa/${account}`;
    checks.ok(
        leaf.subjectAltName?.split(", ").includes(`URI:${uri}`),
        `${label}: the certificate's SPIFFE URI names the pod's service account (${uri})`,
        leaf.subjectAltName,
    );
    return account;
}

await runTier("e2e-existing", async ({ work, checks }) => {
    const wasRunning = (await status()).running;
    section("control plane");
    const state = await start();
    console.log(`  Kubernetes v${state.version} at ${state.server}`);
    const project = makeProject(work, {});
    fs.cpSync(path.join(ROOT, "test", "fixtures", "existing", "index.ts"), path.join(project, "index.ts"));
    fs.writeFileSync(
        path.join(project, "Pulumi.yaml"),
        "name: existing-workloads\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\nstackConfigDir: stacks\n",
    );
    const pulumi = new Pulumi(project, work);
    try {
        section("up: a Deployment of the program, a StatefulSet from YAML, a Deployment from a local Helm chart");
        writeStack(project, "existing", stackConfig(work, "ok"));
        pulumi.run(["stack", "init", "existing"]);
        const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", "existing"], { allowFail: true });
        checks.ok(
            up.status === 0,
            `pulumi up succeeds (${up.seconds.toFixed(0)}s)`,
            (up.stdout + up.stderr).slice(-3000),
        );
        if (up.status !== 0) return;
        const outputs = JSON.parse(
            pulumi.run(["stack", "output", "--json", "--show-secrets", "--stack", "existing"]).stdout,
        );
        console.log(`  wired: ${JSON.stringify(outputs.wired)}`);
        checks.ok(
            outputs.wired.api === `Deployment ${NAMESPACE}/api` &&
                outputs.wired.web === `Deployment ${NAMESPACE}/site-web` &&
                outputs.wired.worker.startsWith("StatefulSet ") &&
                outputs.wired.worker.endsWith("/worker"),
            "each WorkloadWiring reports the one workload it wired",
            JSON.stringify(outputs.wired),
        );

        const api = getJson("deployment", "api");
        checkTemplate(checks, "Deployment api (the program's own)", api.spec.template, {
            material: outputs.material.api,
            containers: ["api"],
        });
        const worker = getJson("statefulset", "worker");
        checkTemplate(checks, "StatefulSet worker (yaml/v2 ConfigFile)", worker.spec.template, {
            material: outputs.material.worker,
            containers: ["worker"],
            untouched: [{ container: "worker", env: "LOG_LEVEL" }],
        });
        const web = getJson("deployment", "site-web");
        checkTemplate(checks, "Deployment site-web (helm/v4 Chart)", web.spec.template, {
            material: outputs.material.web,
            containers: ["web"],
        });
        const decoy = getJson("deployment", "decoy");
        checks.ok(
            !(decoy.spec.template.spec.volumes ?? []).length &&
                !decoy.spec.template.metadata.annotations?.["mtls.pulumi.com/cert-sha256"],
            "Deployment decoy (same YAML file, not selected) has no material",
            JSON.stringify(decoy.spec.template),
        );

        section("refused at preview");
        const refusals = [
            [
                "no-match",
                "WorkloadWiring web: selector { labels app.kubernetes.io/name=webb; kinds Deployment } matched no workload",
            ],
            ["two-matches", "WorkloadWiring worker: selector { labels tier=backend } matches both"],
            [
                "conflict",
                "WorkloadWiring api: selector { name api }: cannot wire Deployment existing-e2e/api: container api already mounts volume scratch at /etc/mtls",
            ],
            [
                "wrong-account",
                "WorkloadWiring api: selector { name api }: Deployment existing-e2e/api runs as service account default, but the certificate names api",
            ],
        ];
        for (const [scenario, message] of refusals) {
            const stack = `existing-${scenario}`;
            writeStack(project, stack, stackConfig(work, scenario));
            pulumi.run(["stack", "init", stack]);
            const preview = pulumi.run(["preview", "--stack", stack], { allowFail: true });
            const text = preview.stdout + preview.stderr;
            const line = text.split("\n").find((l) => l.includes(message.slice(0, 40)));
            checks.ok(
                preview.status !== 0 && text.includes(message),
                `${scenario}: preview fails with "${message}"`,
                text.slice(-2500),
            );
            if (line) console.log(`    the engine printed: ${line.trim().slice(0, 400)}`);
            pulumi.run(["stack", "rm", "--yes", "--force", "--stack", stack], { allowFail: true });
        }

        section("destroy");
        const destroy = pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", "existing"], { allowFail: true });
        checks.ok(destroy.status === 0, "pulumi destroy succeeds", (destroy.stdout + destroy.stderr).slice(-2000));
        checks.ok(
            kubectl(["get", "namespace", NAMESPACE], { allowFail: true }).status !== 0 ||
                JSON.parse(kubectl(["get", "namespace", NAMESPACE, "-o", "json"]).stdout).status.phase ===
                    "Terminating",
            `namespace ${NAMESPACE} is gone or terminating`,
        );
    } finally {
        if (!wasRunning) await stop();
    }
});
