#!/usr/bin/env node
// The engine tier: the project's program on the real Pulumi CLI and engine (file backend,
// passphrase secrets), manifests rendered to a directory, then real TLS peers over the
// material exactly as the Deployments receive it.
//
//   npm run e2e                 everything below
//   npm run e2e -- --keep       keep the temp dir (holds keys: delete it yourself)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
    Pulumi,
    ROOT,
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
import { buildReport } from "../../scripts/cert-report.mjs";

const render = (stack) => path.join(work, "render", stack);
const NS = "shop-e2e";

function baseConfig(stack, overrides = {}) {
    return {
        "mtls:namespace": NS,
        "mtls:trustDomain": "e2e.shop.internal",
        "mtls:ca": { commonName: `shop ${stack} root CA`, validityHours: 8760 },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240 },
        "mtls:services": [
            {
                name: "user-service",
                image: "example/user-service:1.0",
                port: 8443,
                usage: "both",
                delivery: "files",
                allowFrom: ["order-service", "payment-service"],
            },
            { name: "order-service", image: "example/order-service:1.0", usage: "client", delivery: "env" },
            {
                name: "payment-service",
                image: "example/payment-service:1.0",
                usage: "client",
                delivery: "files",
                mountPath: "/var/run/mtls",
            },
            { name: "audit-service", image: "example/audit-service:1.0", usage: "client" },
            { name: "report-service", image: "example/report-service:1.0", usage: "server", port: 9443 },
            { name: "inventory-service", image: "example/inventory-service:1.0", usage: "both", port: 9444 },
        ],
        "mtls:kubernetes": { renderDirectory: render(stack) },
        ...overrides,
    };
}

const timings = {};
let work;
let checks;

function timed(label, fn) {
    const started = Date.now();
    const result = fn();
    timings[label] = (Date.now() - started) / 1000;
    return result;
}

function peers(name, scenario, extra = []) {
    return runPeers(work, name, scenario, extra);
}

/** Signs an already-expired client certificate for `cn` with the stack's own CA key (read from state). */
function expiredClient(pulumi, stack, caCertFile, cn, dir) {
    const state = JSON.parse(pulumi.run(["stack", "export", "--show-secrets", "--stack", stack]).stdout);
    const key = state.deployment.resources.find(
        (r) => r.type === "tls:index/privateKey:PrivateKey" && r.urn.endsWith("::ca-root-key"),
    );
    const caKeyFile = path.join(work, "ca-root.key");
    // A secret in a --show-secrets export is {<sig>, plaintext: "<JSON of the value>"}.
    const value = key.outputs.privateKeyPem;
    fs.writeFileSync(caKeyFile, typeof value === "string" ? value : JSON.parse(value.plaintext), { mode: 0o600 });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cfg = path.join(dir, "openssl.cnf");
    fs.writeFileSync(
        cfg,
        [
            "[ca]",
            "default_ca = e2e",
            "[e2e]",
            `dir = ${dir}`,
            `database = ${dir}/index.txt`,
            `new_certs_dir = ${dir}`,
            `serial = ${dir}/serial`,
            "default_md = sha256",
            "policy = any",
            "copy_extensions = none",
            "[any]",
            "commonName = supplied",
            "[client]",
            "basicConstraints = critical,CA:FALSE",
            "keyUsage = critical,digitalSignature",
            "extendedKeyUsage = clientAuth",
            `subjectAltName = DNS:${cn}, URI:spiffe://e2e.shop.internal/ns/${NS}/sa/${cn}`,
            "",
        ].join("\n"),
    );
    fs.writeFileSync(path.join(dir, "index.txt"), "");
    fs.writeFileSync(path.join(dir, "serial"), "1000\n");
    const sh = (cmd, a) => {
        const r = spawnSync(cmd, a, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`${cmd} ${a.join(" ")}: ${r.stderr}`);
    };
    sh("openssl", [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        path.join(dir, "tls.key"),
        "-out",
        path.join(dir, "req.csr"),
        "-subj",
        `/CN=${cn}`,
    ]);
    const format = (d) => `${d.toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`;
    const now = Date.now();
    sh("openssl", [
        "ca",
        "-batch",
        "-config",
        cfg,
        "-extensions",
        "client",
        "-cert",
        caCertFile,
        "-keyfile",
        caKeyFile,
        "-in",
        path.join(dir, "req.csr"),
        "-out",
        path.join(dir, "tls.crt"),
        "-startdate",
        format(new Date(now - 10 * 86_400_000)),
        "-enddate",
        format(new Date(now - 86_400_000)),
        "-notext",
    ]);
    fs.copyFileSync(caCertFile, path.join(dir, "ca.crt"));
    fs.rmSync(caKeyFile);
    return dir;
}

await runTier("e2e", async (tier) => {
    ({ work, checks } = tier);
    const args = tier.args;
    const project = makeProject(work, { e2e: baseConfig("e2e"), other: baseConfig("other") });
    const pulumi = new Pulumi(project, work);
    for (const stack of ["e2e", "other"]) pulumi.run(["stack", "init", stack]);

    section("preview, then up, of the e2e stack");
    const firstPreview = timed("preview (first)", () => pulumi.json(["preview", "--stack", "e2e"]).json);
    checks.ok(
        changedSteps(firstPreview).every((s) => s.startsWith("create ")),
        "the first preview only creates",
        changedSteps(firstPreview)
            .filter((s) => !s.startsWith("create "))
            .join(", "),
    );
    timed("up (first)", () => pulumi.run(["up", "--yes", "--skip-preview", "--stack", "e2e"]));
    const outputs = pulumi.json(["stack", "output", "--stack", "e2e", "--show-secrets"]).json;
    checks.ok(
        !JSON.stringify(outputs).includes("PRIVATE KEY"),
        "no private key in the stack outputs, even with --show-secrets",
    );
    checks.ok(
        Object.keys(outputs.services ?? {}).length === 6 && /BEGIN CERTIFICATE/.test(outputs.trustBundlePem),
        "outputs: the CA certificate and six services",
    );

    section("rendered manifests");
    const dir = render("e2e");
    const objects = readManifests(dir);
    const kinds = (kind) => objects.filter((o) => o.kind === kind);
    checks.ok(
        kinds("ConfigMap").length === 6 && kinds("Secret").length === 6,
        "one ConfigMap and one Secret per service",
        `${kinds("ConfigMap").length} ConfigMaps, ${kinds("Secret").length} Secrets`,
    );
    checks.ok(
        kinds("Deployment").length === 6 && kinds("Service").length === 3,
        "six Deployments, Services for the three servers",
    );
    checks.ok(
        kinds("ConfigMap").every((cm) => !JSON.stringify(cm).includes("PRIVATE KEY")),
        "no PRIVATE KEY in any ConfigMap",
    );
    checks.ok(
        kinds("Secret").every((s) => Object.keys(s.stringData ?? s.data ?? {}).join() === "tls.key"),
        "each Secret holds tls.key only",
    );
    const worldReadable = [dir, ...listFiles(dir)].filter((f) => fs.statSync(f).mode & 0o007);
    checks.ok(
        (fs.statSync(dir).mode & 0o077) === 0,
        "the render directory is private to its owner",
        (fs.statSync(dir).mode & 0o777).toString(8),
    );
    checks.ok(worldReadable.length === 0, "nothing under it is world-readable", worldReadable.slice(0, 3).join(", "));
    const user = serviceMaterial(objects, "user-service");
    checks.ok(
        user.delivery === "files" && user.mountPath === "/etc/mtls" && user.readOnly === true,
        "user-service: files at /etc/mtls, read-only",
    );
    checks.ok(
        user.files["tls.key"].mode === 0o400 &&
            user.files["tls.crt"].mode === 0o444 &&
            user.files["ca.crt"].mode === 0o444,
        "user-service: key 0400, certificates 0444",
    );
    checks.ok(
        user.env.MTLS_ALLOWED_CLIENTS?.value === "order-service,payment-service",
        "user-service: MTLS_ALLOWED_CLIENTS from allowFrom",
    );
    const order = serviceMaterial(objects, "order-service");
    checks.ok(
        order.delivery === "env" &&
            order.env.MTLS_KEY?.valueFrom?.secretKeyRef?.key === "tls.key" &&
            order.env.MTLS_CERT?.valueFrom?.configMapKeyRef?.key === "tls.crt",
        "order-service: env from secretKeyRef and configMapKeyRef",
    );
    const payment = serviceMaterial(objects, "payment-service");
    checks.ok(
        payment.mountPath === "/var/run/mtls" && payment.env.MTLS_KEY_FILE?.value === "/var/run/mtls/tls.key",
        "payment-service: files at its mountPath",
    );

    section("second up: no changes");
    const again = pulumi.json(["preview", "--stack", "e2e"]).json;
    checks.ok(changedSteps(again).length === 0, "a second preview plans no change", changedSteps(again).join(", "));
    const second = timed("up (no change)", () =>
        pulumi.run(["up", "--yes", "--expect-no-changes", "--stack", "e2e"], { allowFail: true }),
    );
    checks.ok(second.status === 0, "a second up changes nothing (--expect-no-changes)", second.stdout.slice(-800));

    section("change one service's SANs");
    const manifestsBefore = Object.fromEntries(
        listFiles(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, "utf8")]),
    );
    const changedConfig = baseConfig("e2e");
    changedConfig["mtls:services"][2].dnsNames = ["payments.shop.example"];
    writeStack(project, "e2e", changedConfig);
    const sanPreview = pulumi.json(["preview", "--stack", "e2e"]).json;
    const sanSteps = changedSteps(sanPreview);
    checks.ok(
        sanSteps.length > 0 && sanSteps.every((s) => s.includes("::payment-service")),
        "only payment-service's resources change",
        sanSteps.join(", "),
    );
    checks.ok(
        sanSteps.some((s) => /Deployment::payment-service-deployment/.test(s)) &&
            !sanSteps.some((s) => /PrivateKey::/.test(s)),
        "its certificate, ConfigMap and Deployment change, its key does not",
        sanSteps.join(", "),
    );
    const report = buildReport(sanPreview);
    const reissued = report.certificates.filter((c) => c.action !== "unchanged");
    checks.ok(
        reissued.length === 1 &&
            reissued[0].service === "payment-service" &&
            reissued[0].why.join() === "SAN added" &&
            reissued[0].sansAfter.includes("payments.shop.example"),
        "the certificate report names exactly payment-service, because a SAN was added",
        JSON.stringify(reissued),
    );
    checks.ok(
        report.deployments.map((d) => d.deployment).join() === "payment-service",
        "the report says only payment-service rolls",
        JSON.stringify(report.deployments),
    );
    const fixtureDir = path.join(work, "fixtures");
    fs.mkdirSync(fixtureDir, { recursive: true });
    fs.writeFileSync(path.join(fixtureDir, "preview-san-change.json"), JSON.stringify(sanPreview, null, 1));
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "e2e"]);
    const manifestsAfter = Object.fromEntries(
        listFiles(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, "utf8")]),
    );
    const touched = [...new Set([...Object.keys(manifestsBefore), ...Object.keys(manifestsAfter)])].filter(
        (f) => manifestsBefore[f] !== manifestsAfter[f],
    );
    checks.ok(
        touched.length > 0 && touched.every((f) => f.includes("payment-service")),
        "only payment-service's manifests changed on disk",
        touched.join(", "),
    );

    section("real TLS peers over the rendered material");
    const after = readManifests(dir);
    const material = path.join(work, "material");
    for (const svc of [
        "user-service",
        "order-service",
        "payment-service",
        "audit-service",
        "report-service",
        "inventory-service",
    ]) {
        layOut(serviceMaterial(after, svc), path.join(material, svc));
    }
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "other"]);
    layOut(
        serviceMaterial(readManifests(render("other")), "order-service"),
        path.join(material, "other-ca-order-service"),
    );
    expiredClient(
        pulumi,
        "e2e",
        path.join(material, "user-service", "ca.crt"),
        "order-service",
        path.join(material, "expired-order-service"),
    );
    const spiffe = (svc) => `spiffe://e2e.shop.internal/ns/${NS}/sa/${svc}`;
    const scenario = {
        server: {
            name: "user-service",
            dir: path.join(material, "user-service"),
            dnsName: `user-service.${NS}.svc.cluster.local`,
            allowedClients: ["order-service", "payment-service"],
        },
        clients: [
            {
                label: "order-service (env delivery)",
                dir: path.join(material, "order-service"),
                expect: "ok",
                expectCN: "order-service",
                expectURI: spiffe("order-service"),
            },
            {
                label: "payment-service (files delivery)",
                dir: path.join(material, "payment-service"),
                expect: "ok",
                expectCN: "payment-service",
                expectURI: spiffe("payment-service"),
            },
            {
                label: "audit-service (valid, not in allowFrom)",
                dir: path.join(material, "audit-service"),
                expect: "forbidden",
                expectCN: "audit-service",
            },
            {
                label: "order-service from another stack's CA",
                dir: path.join(material, "other-ca-order-service"),
                expect: "refused",
            },
            {
                label: "expired order-service cert from this CA",
                dir: path.join(material, "expired-order-service"),
                expect: "refused",
            },
            {
                label: "report-service: server-only cert as a client",
                dir: path.join(material, "report-service"),
                expect: "refused",
            },
            { label: "no client certificate", dir: null, expect: "refused" },
        ],
        badServers: [
            {
                label: "inventory-service cert answering as user-service (SAN mismatch)",
                dir: path.join(material, "inventory-service"),
                expect: "refused",
            },
        ],
        plainTcp: true,
        builtins: true,
    };
    const result = timed("peers (main scenario)", () => peers("main", scenario));
    checks.ok(
        result.status === 0 && result.failed === 0 && result.passed > 0,
        `peers harness: ${result.passed} passed, ${result.failed} failed`,
    );
    for (const [peer, counts] of Object.entries(result.json?.perClientPeer ?? {})) {
        console.log(
            `    client ${peer}: ${counts.tried} tried, ${counts.passed} as expected, refused as expected ${counts.refusedAsExpected}/${counts.refusalsExpected}`,
        );
    }
    for (const [peer, counts] of Object.entries(result.json?.perServerPeer ?? {})) {
        console.log(
            `    server ${peer}: ${counts.tried} tried, ${counts.passed} as expected, refused as expected ${counts.refusedAsExpected}/${counts.refusalsExpected}`,
        );
    }

    section("every key algorithm");
    const algorithms = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"];
    const algoStack = {
        ...baseConfig("algos"),
        "mtls:services": algorithms.map((a, i) => ({
            name: `svc-${a.toLowerCase()}`,
            image: "example/app:1",
            port: 10000 + i,
            keyAlgorithm: a,
            allowFrom: [`svc-${a.toLowerCase()}`],
        })),
    };
    writeStack(project, "algos", algoStack);
    pulumi.run(["stack", "init", "algos"]);
    timed("up (algorithms)", () => pulumi.run(["up", "--yes", "--skip-preview", "--stack", "algos"]));
    const algoObjects = readManifests(render("algos"));
    for (const a of algorithms) {
        const name = `svc-${a.toLowerCase()}`;
        const svcDir = layOut(serviceMaterial(algoObjects, name), path.join(work, "material-algos", name));
        const r = peers(
            `algo-${a}`,
            {
                server: { name, dir: svcDir, dnsName: `${name}.${NS}.svc`, allowedClients: [name] },
                clients: [{ label: `${name} as its own client`, dir: svcDir, expect: "ok", expectCN: name }],
                builtins: false,
            },
            ["--tls", "1.3"],
        );
        checks.ok(
            r.status === 0 && r.failed === 0 && r.passed > 0,
            `${a}: every peer completes mTLS (${r.passed} passed, ${r.failed} failed)`,
        );
    }

    section("state holds no plaintext key; destroy leaves nothing");
    const exported = pulumi.run(["stack", "export", "--stack", "e2e"]).stdout;
    checks.ok(
        !exported.includes("PRIVATE KEY"),
        "pulumi stack export (no --show-secrets) holds no plaintext private key",
    );
    checks.ok(/"ciphertext"/.test(exported), "the keys are there, encrypted as secrets");
    for (const stack of ["e2e", "other", "algos"]) {
        timed(`destroy ${stack}`, () => pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack]));
        const left = listFiles(render(stack));
        checks.ok(left.length === 0, `destroy ${stack}: no manifest left`, left.slice(0, 3).join(", "));
        const resources =
            JSON.parse(pulumi.run(["stack", "export", "--stack", stack]).stdout).deployment.resources ?? [];
        checks.ok(resources.length === 0, `destroy ${stack}: no resource left in state`, `${resources.length} left`);
        pulumi.run(["stack", "rm", "--yes", stack]);
    }
    console.log("\ntimings (s):", JSON.stringify(timings));
    if (args.includes("--fixtures")) {
        const target = path.join(ROOT, "test", "fixtures", "engine");
        fs.mkdirSync(target, { recursive: true });
        for (const file of fs.readdirSync(fixtureDir)) {
            const text = fs.readFileSync(path.join(fixtureDir, file), "utf8").split(work).join("<work>");
            if (text.includes("PRIVATE KEY")) throw new Error(`fixture ${file} holds key material; not written`);
            fs.writeFileSync(path.join(target, file), text);
        }
        console.log(`fixtures written to ${path.relative(ROOT, target)}`);
    }
});
