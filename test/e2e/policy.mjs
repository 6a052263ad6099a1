#!/usr/bin/env node
// The policy pack (policy/) on the real Pulumi CLI and engine: `pulumi preview --policy-pack`
// refuses a throw-away program that puts a private key in a ConfigMap (and breaks the other rules),
// the levels and the pack's own config come through a --policy-pack-config file, and the project's
// own program passes the pack on preview and on up.
//
//   npm run e2e:policy              everything below
//   npm run e2e:policy -- --keep    keep the temp dir (holds keys: delete it yourself)
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Pulumi, ROOT, makeProject, runTier, section } from "./lib.mjs";

const PACK = path.join(ROOT, "policy");

/** A program that breaks the pack's rules. The key comes from a file the test writes (mode 0600), never from config or source. */
const LEAKY_PROGRAM = `
const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const k8s = require("@pulumi/kubernetes");
const tls = require("@pulumi/tls");
const config = new pulumi.Config();
const pem = fs.readFileSync(config.require("keyFile"), "utf8");
const provider = new k8s.Provider("render", { renderYamlToDirectory: config.require("renderDirectory") });
new k8s.core.v1.ConfigMap("leaky", { metadata: { namespace: "policy-e2e" }, data: { "app.pem": pem } }, { provider });
new tls.PrivateKey("default-curve", { algorithm: "ECDSA" });
new k8s.apps.v1.Deployment("writable", {
    metadata: { namespace: "policy-e2e" },
    spec: {
        selector: { matchLabels: { app: "writable" } },
        template: {
            metadata: { labels: { app: "writable" } },
            spec: {
                containers: [{ name: "app", image: "example/app:1.0", volumeMounts: [{ name: "key", mountPath: "/etc/mtls" }] }],
                volumes: [{ name: "key", secret: { secretName: "app-key", items: [{ key: "tls.key", path: "tls.key" }] } }],
            },
        },
    },
}, { provider });
// A secret output: the CLI shows [secret], the stack policy still sees a key.
exports.keyPem = pulumi.secret(pem);
`;

const EXPECTED_REFUSALS = [
    ["no-private-key-in-configmap", 'ConfigMap data["app.pem"] holds a private key (EC PRIVATE KEY block)'],
    ["private-key-strength", "PrivateKey ecdsaCurve is unset, and the tls provider then makes a P224 key"],
    [
        "tls-key-mount-read-only",
        'spec.template.spec.containers[0] (app).volumeMounts[0] mounts volume "key", which holds tls.key from Secret "app-key", with readOnly unset',
    ],
    [
        "mtls-workloads-restricted",
        'Deployment carries mTLS material (volume "key" holds tls.key from Secret "app-key") and must meet Pod Security "restricted"',
    ],
    ["no-private-key-in-stack-outputs", "stack output keyPem holds a private key (EC PRIVATE KEY block)"],
];

function projectStack(work) {
    return {
        "mtls:namespace": "shop-policy",
        "mtls:trustDomain": "policy.shop.internal",
        "mtls:ca": { commonName: "shop policy root CA", validityHours: 8760 },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": [
            {
                name: "user-service",
                image: "example/user-service:1.0",
                port: 8443,
                usage: "both",
                allowFrom: ["order-service"],
            },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
        ],
        "mtls:kubernetes": { renderDirectory: path.join(work, "render", "project") },
    };
}

/** The lines of a run's output that hold the pack's verdicts (what a failure shows). */
function policyLines(text) {
    const start = text.indexOf("Policies:");
    return start < 0 ? "(no Policies section)" : text.slice(start, start + 3000);
}

runTier("policy", async ({ work, checks }) => {
    section("a program that puts a private key in a ConfigMap");
    const keyFile = path.join(work, "leak.pem");
    const pem = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
        .privateKey.export({ format: "pem", type: "sec1" })
        .toString();
    fs.writeFileSync(keyFile, pem, { mode: 0o600 });
    const keyLines = pem.split("\n").filter((l) => l && !l.startsWith("-----"));

    const leaky = path.join(work, "leaky");
    fs.mkdirSync(leaky);
    fs.writeFileSync(path.join(leaky, "Pulumi.yaml"), "name: policy-leaky\nruntime: nodejs\nmain: index.js\n");
    fs.writeFileSync(
        path.join(leaky, "package.json"),
        JSON.stringify({ name: "policy-leaky", version: "0.0.0", main: "index.js" }),
    );
    fs.writeFileSync(path.join(leaky, "index.js"), LEAKY_PROGRAM);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(leaky, "node_modules"));
    const pulumi = new Pulumi(leaky, work);
    pulumi.run(["stack", "init", "leaky"]);
    pulumi.run(["config", "set", "keyFile", keyFile, "--stack", "leaky"]);
    pulumi.run(["config", "set", "renderDirectory", path.join(work, "render", "leaky"), "--stack", "leaky"]);

    const refused = pulumi.run(["preview", "--stack", "leaky", "--policy-pack", PACK], { allowFail: true });
    const refusedText = refused.stdout + refused.stderr;
    checks.ok(refused.status !== 0, "preview with the pack fails", `exit ${refused.status}`);
    checks.ok(
        /❌ mtls-security@v0\.1\.0 \(local: .*policy\)/.test(refusedText),
        "the CLI names the local pack mtls-security@v0.1.0",
        policyLines(refusedText),
    );
    for (const [policy, message] of EXPECTED_REFUSALS) {
        const line = new RegExp(`\\[mandatory\\] \\[severity: \\w+\\]\\s+${policy}\\s`);
        checks.ok(
            line.test(refusedText) && refusedText.includes(message),
            `${policy}: refused with "${message.slice(0, 60)}..."`,
            policyLines(refusedText),
        );
    }
    const refusal = refusedText.split("\n").find((l) => l.includes('ConfigMap data["app.pem"]'));
    if (refusal) console.log(`    the engine printed: ${refusal.trim()}`);
    checks.ok(
        keyLines.every((l) => !refusedText.includes(l)),
        "no line of the key appears in the preview's output",
    );
    checks.ok(!fs.existsSync(path.join(work, "render", "leaky")), "nothing was rendered: a preview changes nothing");

    section("levels and config from --policy-pack-config");
    const advisoryFile = path.join(work, "advisory.json");
    fs.writeFileSync(advisoryFile, JSON.stringify({ all: "advisory" }));
    const advisory = pulumi.run(
        ["preview", "--stack", "leaky", "--policy-pack", PACK, "--policy-pack-config", advisoryFile],
        { allowFail: true },
    );
    const advisoryText = advisory.stdout + advisory.stderr;
    checks.ok(
        advisory.status === 0,
        '{"all": "advisory"}: the same preview passes',
        `exit ${advisory.status}\n${policyLines(advisoryText)}`,
    );
    checks.ok(
        /\[advisory\] \[severity: critical\]\s+no-private-key-in-configmap/.test(advisoryText) &&
            !advisoryText.includes("[mandatory]"),
        "... and still reports every violation, as advisory",
        policyLines(advisoryText),
    );
    const oneOff = path.join(work, "one-off.json");
    fs.writeFileSync(oneOff, JSON.stringify({ all: "disabled", "private-key-strength": "mandatory" }));
    const single = pulumi.run(["preview", "--stack", "leaky", "--policy-pack", PACK, "--policy-pack-config", oneOff], {
        allowFail: true,
    });
    const singleText = single.stdout + single.stderr;
    checks.ok(
        single.status !== 0 &&
            singleText.includes("private-key-strength") &&
            !singleText.includes("no-private-key-in-configmap"),
        "a single policy's level wins over all: only private-key-strength refuses",
        policyLines(singleText),
    );
    checks.ok(
        keyLines.every((l) => !advisoryText.includes(l) && !singleText.includes(l)),
        "no line of the key appears in those outputs either",
    );

    section("the project's own program");
    const projectDir = makeProject(work, { policy: projectStack(work) });
    const project = new Pulumi(projectDir, work);
    project.run(["stack", "init", "policy"]);
    const preview = project.run(["preview", "--stack", "policy", "--policy-pack", PACK], { allowFail: true });
    const previewText = preview.stdout + preview.stderr;
    checks.ok(
        preview.status === 0 && /✅ mtls-security@v0\.1\.0/.test(previewText) && !previewText.includes("[advisory]"),
        'preview with the pack passes, every policy judging (no advisory "can\'t run during preview")',
        `exit ${preview.status}\n${policyLines(previewText)}`,
    );
    const up = project.run(["up", "--yes", "--stack", "policy", "--policy-pack", PACK], { allowFail: true });
    const upText = up.stdout + up.stderr;
    checks.ok(
        up.status === 0 &&
            /✅ mtls-security@v0\.1\.0/.test(upText) &&
            !upText.includes("[mandatory]") &&
            !upText.includes("[advisory]"),
        "up with the pack passes: known values, every policy, no violation",
        `exit ${up.status}\n${policyLines(upText)}`,
    );

    const tighter = path.join(work, "tighter.json");
    fs.writeFileSync(tighter, JSON.stringify({ "leaf-certificate-max-validity": { maxValidityHours: 500 } }));
    const strict = project.run(
        ["preview", "--stack", "policy", "--policy-pack", PACK, "--policy-pack-config", tighter],
        { allowFail: true },
    );
    const strictText = strict.stdout + strict.stderr;
    checks.ok(
        strict.status !== 0 &&
            strictText.includes(
                "LocallySignedCert validityPeriodHours is 720 (30 days) on a leaf certificate; at most 500 (20.8 days) is allowed",
            ),
        "maxValidityHours 500 from the config file refuses the project's 720-hour leaves",
        policyLines(strictText),
    );
    const invalid = path.join(work, "invalid.json");
    fs.writeFileSync(invalid, JSON.stringify({ "leaf-certificate-max-validity": { maxValidityHours: "long" } }));
    const rejected = project.run(
        ["preview", "--stack", "policy", "--policy-pack", PACK, "--policy-pack-config", invalid],
        { allowFail: true },
    );
    checks.ok(
        rejected.status !== 0 &&
            (rejected.stdout + rejected.stderr).includes(
                "leaf-certificate-max-validity: maxValidityHours: Invalid type. Expected: integer",
            ),
        "a config value of the wrong type is refused by the engine against the pack's schema",
        (rejected.stdout + rejected.stderr).slice(-1500),
    );

    project.run(["destroy", "--yes", "--skip-preview", "--stack", "policy"]);
});
