#!/usr/bin/env node
// The lifecycle on the real Pulumi engine: renewal inside the renew window with the clock
// moved by MTLS_NOW, CA rotation through introduce / switch / retire with a handshake matrix
// of real peers between the pods deployed together in each phase, the ledger refusing an
// unsafe step at preview, and a consumer project issuing from the owner's CA.
//
//   npm run e2e:lifecycle [-- --keep]
import fs from "node:fs";
import path from "node:path";
import { buildReport } from "../../scripts/cert-report.mjs";
import {
    Pulumi,
    ROOT,
    SCHEDULE_STEP,
    changedSteps,
    layOut,
    listFiles,
    makeProject,
    readManifests,
    runPeers,
    runTier,
    section,
    serviceMaterial,
    writeStack,
} from "./lib.mjs";

let work;
let checks;
const NS = "shop-life";
const render = (stack) => path.join(work, "render", stack);
const HOUR = 3_600_000;
const SERVICES = ["user-service", "order-service", "payment-service"];

function config(stack, { ca = {}, payment = {} } = {}) {
    return {
        "mtls:namespace": NS,
        "mtls:trustDomain": "life.shop.internal",
        "mtls:ca": { commonName: `shop ${stack} root CA`, validityHours: 8760, ...ca },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": [
            {
                name: "user-service",
                image: "example/user-service:1.0",
                port: 8443,
                allowFrom: ["order-service", "payment-service"],
            },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
            { name: "payment-service", image: "example/payment-service:1.0", usage: "client", ...payment },
        ],
        "mtls:kubernetes": { renderDirectory: render(stack) },
    };
}

function snapshot(stack, label) {
    const objects = readManifests(render(stack));
    const dir = path.join(work, "material", stack, label);
    const material = {};
    for (const svc of SERVICES) material[svc] = layOut(serviceMaterial(objects, svc), path.join(dir, svc));
    return material;
}

function manifests(stack) {
    return Object.fromEntries(
        listFiles(render(stack)).map((f) => [path.relative(render(stack), f), fs.readFileSync(f, "utf8")]),
    );
}

/** The allowed clients of `okSets` (expected through) and `refusedSets` (expected refused) against `server`. */
function matrix(name, server, okSets, refusedSets = []) {
    const clients = (sets, expect) =>
        sets.flatMap(({ label, material }) =>
            ["order-service", "payment-service"].map((svc) => ({
                label: `${svc} (${label})`,
                dir: material[svc],
                expect,
                ...(expect === "ok" ? { expectCN: svc } : {}),
            })),
        );
    return runPeers(
        work,
        name,
        {
            server: {
                name: "user-service",
                dir: server,
                dnsName: `user-service.${NS}.svc`,
                allowedClients: ["order-service", "payment-service"],
            },
            clients: [...clients(okSets, "ok"), ...clients(refusedSets, "refused")],
            builtins: false,
        },
        ["--tls", "1.3"],
    );
}

await runTier("lifecycle", async (tier) => {
    ({ work, checks } = tier);
    const _args = tier.args;
    const project = makeProject(work, {
        renewal: config("renewal", { payment: { validityHours: 48, renewBeforeHours: 24 } }),
        rotation: config("rotation"),
    });
    const t0 = new Date(Math.floor((Date.now() - 40 * HOUR) / HOUR) * HOUR);
    const at = (hours) => ({ MTLS_NOW: new Date(t0.getTime() + hours * HOUR).toISOString() });

    section(`renewal (clock T0 = ${t0.toISOString()}; payment-service: 48 h, renew 24 h before)`);
    const renewal = new Pulumi(project, work);
    renewal.run(["stack", "init", "renewal"]);
    renewal.run(["up", "--yes", "--skip-preview", "--stack", "renewal"], { env: at(0) });
    const outside = renewal.json(["preview", "--stack", "renewal"], { env: at(10) }).json;
    checks.ok(
        changedSteps(outside).length === 0,
        "at T0+10h (outside every window) a preview plans no change",
        changedSteps(outside).join(", "),
    );
    const before = manifests("renewal");
    const inside = renewal.json(["preview", "--stack", "renewal"], { env: at(30) }).json;
    const allSteps = changedSteps(inside);
    const scheduleStep = SCHEDULE_STEP;
    const steps = allSteps.filter((s) => s !== scheduleStep);
    checks.ok(
        allSteps.includes(scheduleStep) && steps.length > 0 && steps.every((s) => s.includes("::payment-service")),
        "at T0+30h the stack's renewal schedule is updated and only payment-service's resources change",
        allSteps.join(", "),
    );
    const schedule = (inside.steps ?? []).find(
        (s) => s.urn?.endsWith("::renewal") && s.urn.includes("RenewalSchedule"),
    );
    const issued = (state) =>
        Object.entries(state?.inputs?.certificates ?? {}).map(([name, entry]) => [name, entry.issuedAt]);
    const moved = issued(schedule?.newState).filter(
        ([name, at]) => at !== Object.fromEntries(issued(schedule?.oldState))[name],
    );
    checks.ok(
        issued(schedule?.oldState).length === 3 && moved.length === 1 && moved[0][0] === "payment-service",
        "in the schedule, only payment-service's entry moves (one entry per service, 3 in all)",
        JSON.stringify({ moved, old: issued(schedule?.oldState) }),
    );
    checks.ok(
        steps.some((s) => s.startsWith("replace tls:index/privateKey:PrivateKey::payment-service-key")),
        "its key is replaced too (the renewal schedule, not the provider's own early renewal)",
        steps.join(", "),
    );
    const report = buildReport(inside);
    const payment = report.certificates.find((c) => c.service === "payment-service");
    checks.ok(
        payment?.action === "rotated" && /^renew window: inside renew window: \d+ days left$/.test(payment.why.join()),
        `the report says why: ${payment?.why.join("; ")}`,
    );
    checks.ok(
        report.certificates.filter((c) => c.action !== "unchanged").length === 1,
        "the report lists no other certificate as changing",
    );
    renewal.run(["up", "--yes", "--skip-preview", "--stack", "renewal"], { env: at(30) });
    const after = manifests("renewal");
    const touched = Object.keys({ ...before, ...after }).filter((f) => before[f] !== after[f]);
    checks.ok(
        touched.length > 0 && touched.every((f) => f.includes("payment-service")),
        "only payment-service's ConfigMap, Secret and Deployment changed on disk",
        touched.join(", "),
    );
    const settled = renewal.json(["preview", "--stack", "renewal"], { env: at(31) }).json;
    checks.ok(changedSteps(settled).length === 0, "at T0+31h nothing is due again", changedSteps(settled).join(", "));
    const outputs = renewal.json(["stack", "output", "--stack", "renewal"]).json;
    checks.ok(
        /^inside renew window/.test(outputs.services["payment-service"].issueReason) &&
            outputs.services["user-service"].issueReason === "first issue",
        "outputs record why each certificate was issued",
    );
    const renewed = snapshot("renewal", "renewed");
    const r = matrix("renewed", renewed["user-service"], [{ label: "renewed", material: renewed }]);
    checks.ok(
        r.status === 0 && r.failed === 0,
        `the renewed payment-service and order-service complete mTLS with user-service (${r.passed} passed, ${r.failed} failed)`,
    );
    renewal.run(["destroy", "--yes", "--skip-preview", "--stack", "renewal"], { env: at(31) });

    section("CA rotation: introduce, switch, retire");
    const rotation = new Pulumi(project, work);
    rotation.run(["stack", "init", "rotation"]);
    const phases = [
        { label: "steady", ca: {} },
        { label: "introduce", ca: { rotation: "introduce" } },
        { label: "switch", ca: { rotation: "switch" } },
        { label: "retire", ca: { rotation: "retire" } },
        { label: "generation 2", ca: { generation: 2 } },
    ];
    const deployed = [];
    const counts = {};
    for (const phase of phases) {
        writeStack(project, "rotation", config("rotation", { ca: phase.ca }));
        if (phase.label === "switch") {
            writeStack(project, "rotation", config("rotation", { ca: { rotation: "retire" } }));
            const refused = rotation.run(["preview", "--stack", "rotation"], { allowFail: true });
            checks.ok(
                refused.status !== 0 && /mtls:ca\.rotation: retire is refused/.test(refused.stdout + refused.stderr),
                "retire straight after introduce is refused at preview, naming mtls:ca.rotation",
                (refused.stdout + refused.stderr).slice(-600),
            );
            const exported = () =>
                JSON.parse(rotation.run(["stack", "export", "--stack", "rotation"]).stdout).deployment;
            // Every resource by URN and ID: a replaced key or certificate gets a new ID.
            const held = (deployment) => deployment.resources.map((r) => `${r.urn} ${r.id ?? ""}`).sort();
            const state = held(exported());
            const upRefused = rotation.run(["up", "--yes", "--stack", "rotation"], { allowFail: true });
            checks.ok(
                upRefused.status !== 0 && JSON.stringify(held(exported())) === JSON.stringify(state),
                "and pulumi up changes nothing",
            );
            // Without the preview, only the ledger's check stands between the program and the CA:
            // every CA key and certificate waits for it, so nothing is created or replaced.
            const blind = rotation.run(["up", "--yes", "--skip-preview", "--stack", "rotation"], { allowFail: true });
            const afterBlind = exported();
            const changed = held(afterBlind).filter((r) => !state.includes(r));
            checks.ok(
                blind.status !== 0 &&
                    /mtls:ca\.rotation: retire is refused/.test(blind.stdout + blind.stderr) &&
                    changed.length === 0 &&
                    held(afterBlind).length === state.length &&
                    (afterBlind.pending_operations ?? []).length === 0,
                "and pulumi up --skip-preview is refused by the ledger with nothing created, replaced or pending",
                JSON.stringify({ status: blind.status, changed, pending: afterBlind.pending_operations ?? [] }).slice(
                    0,
                    600,
                ),
            );
            writeStack(project, "rotation", config("rotation", { ca: phase.ca }));
        }
        rotation.run(["up", "--yes", "--skip-preview", "--stack", "rotation"]);
        const material = snapshot("rotation", phase.label.replace(/ /g, "-"));
        const current = { label: phase.label, material };
        const previous = deployed.at(-1);
        deployed.push(current);
        const together = previous ? [previous, current] : [current];
        let tried = 0;
        let ok = 0;
        for (const server of together) {
            const result = matrix(
                `rotation-${phase.label.replace(/ /g, "-")}-server-${server.label.replace(/ /g, "-")}`,
                server.material["user-service"],
                together,
            );
            tried += result.passed + result.failed;
            ok += result.passed;
            checks.ok(
                result.status === 0 && result.failed === 0,
                `${phase.label}: user-service (${server.label}) accepts every client deployed with it (${result.passed} passed, ${result.failed} failed)`,
            );
        }
        counts[phase.label] = { tried, asExpected: ok };
    }
    const steady = deployed[0].material;
    const retired = deployed[3].material;
    const oldClient = matrix(
        "retired-vs-old-client",
        retired["user-service"],
        [{ label: "generation-2 leaf", material: retired }],
        [{ label: "generation-1 leaf", material: steady }],
    );
    checks.ok(
        oldClient.status === 0 && oldClient.failed === 0,
        `after retire, a leaf from the old CA is refused by every peer (${oldClient.passed} passed, ${oldClient.failed} failed)`,
    );
    console.log(
        `\n  handshake matrix per phase (peer cases, pods of this and the previous phase): ${JSON.stringify(counts)}`,
    );
    rotation.run(["destroy", "--yes", "--skip-preview", "--stack", "rotation"]);

    section("a consumer project issuing from the owner's CA (StackReference)");
    writeStack(project, "owner", config("owner", { ca: { exportPrivateKey: true } }));
    const owner = new Pulumi(project, work);
    owner.run(["stack", "init", "owner"]);
    owner.run(["up", "--yes", "--skip-preview", "--stack", "owner"]);
    const ownerOutputs = owner.json(["stack", "output", "--stack", "owner"]).json;
    checks.ok(
        ownerOutputs.signingPrivateKeyPem === "[secret]" && ownerOutputs.caPrivateKeyPem === "[secret]",
        "the owner exports its CA key only as a secret (under its name and its deprecated 0.1 name)",
    );
    const consumerDir = path.join(project, "examples", "consumer");
    fs.mkdirSync(path.join(consumerDir, "stacks"), { recursive: true });
    for (const file of ["Pulumi.yaml", "index.ts", "program.ts"])
        fs.copyFileSync(path.join(ROOT, "examples", "consumer", file), path.join(consumerDir, file));
    fs.writeFileSync(
        path.join(consumerDir, "stacks", "Pulumi.dev.yaml"),
        JSON.stringify({
            config: {
                "consumer:caStack": "organization/mtls/owner",
                "consumer:namespace": NS,
                "consumer:trustDomain": "life.shop.internal",
                "consumer:services": [{ name: "report-service", image: "example/report-service:1.0", usage: "client" }],
                "consumer:renderDirectory": render("consumer"),
            },
        }),
    );
    fs.copyFileSync(path.join(ROOT, "tsconfig.json"), path.join(consumerDir, "tsconfig.json"));
    const consumer = new Pulumi(consumerDir, work);
    consumer.run(["stack", "init", "dev"]);
    consumer.run(["up", "--yes", "--skip-preview", "--stack", "dev"]);
    const reportService = layOut(
        serviceMaterial(readManifests(render("consumer")), "report-service"),
        path.join(work, "material", "consumer", "report-service"),
    );
    const ownerMaterial = snapshot("owner", "owner");
    const cross = runPeers(
        work,
        "consumer",
        {
            server: {
                name: "user-service",
                dir: ownerMaterial["user-service"],
                dnsName: `user-service.${NS}.svc`,
                allowedClients: ["order-service", "payment-service"],
                livenessClient: "order-service",
            },
            clients: [
                {
                    label: "order-service (owner)",
                    dir: ownerMaterial["order-service"],
                    expect: "ok",
                    expectCN: "order-service",
                },
                {
                    label: "report-service (consumer project): trusted, not in allowFrom",
                    dir: reportService,
                    expect: "forbidden",
                    expectCN: "report-service",
                },
            ],
            builtins: false,
        },
        ["--tls", "1.3"],
    );
    checks.ok(
        cross.status === 0 && cross.failed === 0,
        `the owner's user-service completes the handshake with the consumer's leaf and its app answers 403 (not in allowFrom) (${cross.passed} passed, ${cross.failed} failed)`,
    );
    consumer.run(["destroy", "--yes", "--skip-preview", "--stack", "dev"]);
    writeStack(project, "owner", config("owner"));
    owner.run(["up", "--yes", "--skip-preview", "--stack", "owner"]);
    const refusedConsumer = consumer.run(["preview", "--stack", "dev"], { allowFail: true });
    checks.ok(
        refusedConsumer.status !== 0 &&
            /consumer:caStack: the stack organization\/mtls\/owner does not export its CA key/.test(
                refusedConsumer.stdout + refusedConsumer.stderr,
            ),
        "without the owner's export, the consumer's preview stops with what to do",
        (refusedConsumer.stdout + refusedConsumer.stderr).slice(-600),
    );
    owner.run(["destroy", "--yes", "--skip-preview", "--stack", "owner"]);
});
