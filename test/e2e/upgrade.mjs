#!/usr/bin/env node
// Upgrading a deployed stack on the real Pulumi engine: stacks are deployed with the program of
// an earlier commit (before RotatingCertificateAuthority held the CAs and the ledger, and before
// the stack outputs were renamed), then previewed and updated with this checkout's program on
// the same state. The preview must replace, delete and recreate nothing: the aliases carry every
// URN over, only the new components are created (RotatingCertificateAuthority, one MtlsService per
// service), and only the separate per-service components they take over are deleted, empty.
//
//   npm run e2e:upgrade [-- --keep]       MTLS_UPGRADE_FROM=<commit> to start from another one
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { loadTypeScript } from "../../scripts/typescript.mjs";
import { Pulumi, ROOT, listFiles, makeProject, runTier, section } from "./lib.mjs";

/** The component types the program registers, and the three an MtlsService takes over. */
const { COMPONENT_TYPES, SEPARATE_COMPONENT_TYPES } = loadTypeScript("components/types.ts");

/** The last commit whose program created the CAs and the rotation ledger at the top level. */
const FROM = process.env.MTLS_UPGRADE_FROM ?? "1d8e2c4";
const NS = "shop-upgrade";

const STACKS = {
    // An intermediate CA, a server, a client with env delivery, and a client with hot rollout.
    steady: { intermediate: true },
    // Mid-rotation: two CA generations live and the ledger at introduce.
    rotating: { rotation: "introduce" },
};

function config(work, stack, ca) {
    return {
        "mtls:namespace": NS,
        "mtls:trustDomain": "upgrade.shop.internal",
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
            { name: "payment-service", image: "example/payment-service:1.0", usage: "client", rollout: "hot" },
        ],
        "mtls:kubernetes": { renderDirectory: path.join(work, "render", stack) },
    };
}

function manifests(work, stack) {
    const dir = path.join(work, "render", stack);
    return Object.fromEntries(listFiles(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, "utf8")]));
}

/** The custom resources of an exported state, by type and name: their URN and ID. */
function resources(exported) {
    const byKey = new Map();
    for (const r of exported.deployment?.resources ?? []) {
        if (!r.custom || r.type.startsWith("pulumi:providers:")) continue;
        const parts = r.urn.split("::");
        const name = parts.slice(3).join("::");
        byKey.set(`${r.type}::${name}`, { urn: r.urn, id: r.id, name });
    }
    return byKey;
}

/** Every step of a preview that is not `same`, as "op type::name" (type: the last of the URN's chain). */
function steps(preview) {
    return (preview.steps ?? [])
        .filter((s) => s.op !== "same")
        .map((s) => {
            const parts = (s.urn ?? "").split("::");
            return { op: s.op, type: (parts[2] ?? "").split("$").pop(), name: parts.slice(3).join("::"), urn: s.urn };
        });
}

// Without the earlier commit (a shallow clone) there is nothing to upgrade from: say so, count nothing.
if (spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${FROM}^{commit}`]).status !== 0) {
    console.log(
        `SKIPPED upgrade: commit ${FROM} is not in this clone's history (shallow clone?); fetch it, or set MTLS_UPGRADE_FROM`,
    );
    console.log("0 passed, 0 failed (skipped)");
    process.exit(0);
}

await runTier("upgrade", async ({ work, checks }) => {
    section(`the program of ${FROM}`);
    const source = path.join(work, "source");
    fs.mkdirSync(source);
    const archive = spawnSync(
        "bash",
        ["-c", `git -C "$0" archive --format=tar "$1" | tar -x -C "$2"`, ROOT, FROM, source],
        { encoding: "utf8" },
    );
    checks.ok(
        archive.status === 0 && fs.existsSync(path.join(source, "infra", "program.ts")),
        `git archive ${FROM}: the earlier program is available (a shallow clone lacks it: fetch with --unshallow)`,
        archive.stderr,
    );
    if (archive.status !== 0) return;
    const before = makeProject(
        work,
        Object.fromEntries(Object.entries(STACKS).map(([s, ca]) => [s, config(work, s, ca)])),
        { source, name: "before" },
    );
    checks.ok(
        !fs.readFileSync(path.join(before, "infra", "program.ts"), "utf8").includes("RotatingCertificateAuthority"),
        `the program of ${FROM} composes the CAs itself (no RotatingCertificateAuthority)`,
    );
    const after = makeProject(work, {}, { name: "after" });
    const old = new Pulumi(before, work);
    const now = new Pulumi(after, work);

    for (const stack of Object.keys(STACKS)) {
        section(`${stack}: up with ${FROM}, then preview and up with this checkout`);
        old.run(["stack", "init", stack]);
        const first = old.run(["up", "--yes", "--skip-preview", "--stack", stack]);
        const oldOutputs = old.json(["stack", "output", "--stack", stack, "--show-secrets"]).json;
        const oldManifests = manifests(work, stack);
        const oldState = resources(JSON.parse(old.run(["stack", "export", "--stack", stack]).stdout));
        checks.ok(
            typeof oldOutputs.caCertPem === "string" && oldOutputs.trustBundlePem === undefined,
            `${stack}: deployed by ${FROM} in ${first.seconds.toFixed(0)} s, with its 0.1 outputs (caCertPem, no trustBundlePem)`,
        );
        // The stack file carries the passphrase salt: the new checkout reads the same stack.
        // A stack deployed before 0.2 keeps a renewal clock per certificate: with the stack-wide
        // schedule (the default now) every certificate would be issued anew once.
        const stackFile = YAML.parse(fs.readFileSync(path.join(before, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
        stackFile.config["mtls:certificates"] = {
            ...stackFile.config["mtls:certificates"],
            renewalClock: "certificate",
        };
        fs.writeFileSync(path.join(after, "stacks", `Pulumi.${stack}.yaml`), YAML.stringify(stackFile));

        const preview = now.json(["preview", "--stack", stack, "--diff"]).json;
        const changed = steps(preview);
        const services = config(work, stack, {})["mtls:services"].map((svc) => svc.name);
        const listed = (list) => list.map((s) => `${s.type}::${s.name}`).sort();
        const created = changed.filter((s) => s.op === "create");
        const expectedCreated = [
            `${COMPONENT_TYPES.rotatingCertificateAuthority}::ca`,
            ...services.map((svc) => `${COMPONENT_TYPES.mtlsService}::${svc}`),
        ].sort();
        checks.ok(
            JSON.stringify(listed(created)) === JSON.stringify(expectedCreated),
            `${stack}: preview creates only the new components (RotatingCertificateAuthority ca, an MtlsService per service)`,
            listed(created).join("\n"),
        );
        // The separate components of each service go, empty: their resources moved under MtlsService.
        const deleted = changed.filter((s) => s.op === "delete");
        const expectedDeleted = services
            .flatMap((svc) => Object.values(SEPARATE_COMPONENT_TYPES).map((type) => `${type}::${svc}`))
            .sort();
        checks.ok(
            JSON.stringify(listed(deleted)) === JSON.stringify(expectedDeleted),
            `${stack}: preview deletes only the ${expectedDeleted.length} separate components (ServiceCertificate, CertificateMaterial, MtlsWorkload per service), no resource of theirs`,
            listed(deleted).join("\n"),
        );
        const other = changed.filter((s) => s.op !== "create" && s.op !== "delete");
        checks.ok(
            other.length === 0,
            `${stack}: preview replaces and updates nothing`,
            other.map((s) => `${s.op} ${s.urn}`).join("\n"),
        );
        const second = now.run(["up", "--yes", "--skip-preview", "--stack", stack]);
        const newOutputs = now.json(["stack", "output", "--stack", stack, "--show-secrets"]).json;
        checks.ok(
            JSON.stringify(manifests(work, stack)) === JSON.stringify(oldManifests),
            `${stack}: up with this checkout (${second.seconds.toFixed(0)} s) leaves every rendered object byte-identical`,
        );
        checks.ok(
            newOutputs.trustBundlePem === oldOutputs.caCertPem &&
                newOutputs.caCertPem === oldOutputs.caCertPem &&
                newOutputs.signingCertPem === oldOutputs.caSigningCertPem &&
                newOutputs.rootNotAfter === oldOutputs.caNotAfter,
            `${stack}: the renamed outputs hold what the 0.1 ones held, and the 0.1 names stay for readers`,
        );
        const newState = resources(JSON.parse(now.run(["stack", "export", "--stack", stack]).stdout));
        const lost = [...oldState.keys()].filter((key) => newState.get(key)?.id !== oldState.get(key).id);
        checks.ok(
            oldState.size > 0 && lost.length === 0,
            `${stack}: all ${oldState.size} custom resources of the old state are in the new one with the same IDs`,
            lost.join("\n"),
        );
        const expectedMoved = STACKS[stack].rotation
            ? ["ca-root", "ca-g2-root", "ca-rotation"]
            : ["ca-root", "ca-intermediate", "ca-rotation"];
        const underComponent = expectedMoved.filter((name) =>
            [...newState.values()].some(
                (r) => r.name === name && r.urn.includes(`${COMPONENT_TYPES.rotatingCertificateAuthority}$`),
            ),
        );
        checks.ok(
            underComponent.length === expectedMoved.length,
            `${stack}: ${expectedMoved.join(", ")} now live under RotatingCertificateAuthority ca`,
            underComponent.join(", "),
        );
        const serviceResources = [...newState.values()].filter((r) =>
            services.some((svc) => r.name.startsWith(`${svc}-`)),
        );
        const notMoved = serviceResources.filter((r) => !r.urn.includes(`::${COMPONENT_TYPES.mtlsService}$`));
        checks.ok(
            serviceResources.length >= 9 * services.length - 3 && notMoved.length === 0,
            `${stack}: the ${serviceResources.length} resources of the services now live under their MtlsService`,
            notMoved.map((r) => r.urn).join("\n"),
        );
        const fingerprints = (o) =>
            Object.fromEntries(Object.entries(o.services).map(([n, s]) => [n, s.fingerprintSha256]));
        checks.ok(
            JSON.stringify(fingerprints(newOutputs)) === JSON.stringify(fingerprints(oldOutputs)),
            `${stack}: every service keeps its certificate (same fingerprints)`,
        );
        const settled = now.run(["preview", "--stack", stack, "--expect-no-changes"], { allowFail: true });
        checks.ok(
            settled.status === 0,
            `${stack}: a further preview expects no changes and sees none`,
            settled.stdout.slice(-2000),
        );
    }

    section("steady: switching to the stack-wide renewal schedule issues every certificate anew, once");
    const steadyFile = path.join(after, "stacks", "Pulumi.steady.yaml");
    const steady = YAML.parse(fs.readFileSync(steadyFile, "utf8"));
    delete steady.config["mtls:certificates"].renewalClock;
    fs.writeFileSync(steadyFile, YAML.stringify(steady));
    const switching = steps(now.json(["preview", "--stack", "steady"]).json);
    const keysReplaced = switching.filter((s) => s.op === "replace" && s.type === "tls:index/privateKey:PrivateKey");
    const clocksDeleted = switching.filter((s) => s.op === "delete" && s.type.endsWith("RenewalClock"));
    const scheduleCreated = switching.filter((s) => s.op === "create" && s.type.endsWith("RenewalSchedule"));
    checks.ok(
        keysReplaced.length === 3 && clocksDeleted.length === 3 && scheduleCreated.length === 1,
        "steady: the preview creates one RenewalSchedule, deletes the 3 clocks and replaces the 3 service keys (the documented cost of switching)",
        switching.map((s) => `${s.op} ${s.type}::${s.name}`).join("\n"),
    );
    now.run(["up", "--yes", "--skip-preview", "--stack", "steady"]);
    const switched = now.run(["preview", "--stack", "steady", "--expect-no-changes"], { allowFail: true });
    checks.ok(
        switched.status === 0,
        "steady: after that one up, a preview expects no changes and sees none",
        switched.stdout.slice(-2000),
    );

    section("rotating: the ledger's memory survived the move");
    fs.writeFileSync(
        path.join(after, "stacks", "Pulumi.rotating.yaml"),
        fs
            .readFileSync(path.join(after, "stacks", "Pulumi.rotating.yaml"), "utf8")
            .replace(/rotation: introduce/, "rotation: retire"),
    );
    const jump = now.run(["preview", "--stack", "rotating"], { allowFail: true });
    checks.ok(
        jump.status !== 0 && /retire is refused/.test(jump.stdout + jump.stderr),
        "introduce → retire is refused at preview: the ledger under the component still holds introduce",
        (jump.stdout + jump.stderr).slice(-1500),
    );
});
