#!/usr/bin/env node
// Keystores on the real Pulumi engine (render mode): a stack that asks for PKCS#12 and JKS
// stores, read back from its rendered Secrets by keytool, OpenSSL and a Java peer (JSSE,
// setNeedClientAuth) that completes mTLS with the OpenSSL, curl, Python and Go peers; the
// stores nowhere else; a no-change up that changes nothing; every CA rotation phase, a
// password bump, a renewal and every key algorithm, each rebuilding exactly what changed.
//
//   npm run e2e:keystores [-- --keep]
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
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
let classPath;
const NS = "shop-ks";
const TRUST_DOMAIN = "ks.shop.internal";
const HOUR = 3_600_000;
const render = (stack) => path.join(work, "render", stack);
const STORES = ["keystore.p12", "truststore.p12", "truststore.jks"];

/** The stack that asks for keystores: a default for all, jks for user-service, none for the env-delivered one. */
function keystoreConfig(stack, { ca = {}, services = {} } = {}) {
    const svc = (name, rest) => ({ name, image: `example/${name}:1.0`, ...rest, ...(services[name] ?? {}) });
    return {
        "mtls:namespace": NS,
        "mtls:trustDomain": TRUST_DOMAIN,
        "mtls:ca": { commonName: `shop ${stack} root CA`, validityHours: 8760, intermediate: true, ...ca },
        "mtls:certificates": { validityHours: 720, renewBeforeHours: 240, keystores: ["pkcs12"] },
        "mtls:services": [
            svc("user-service", {
                port: 8443,
                keystores: ["pkcs12", "jks"],
                allowFrom: ["order-service", "payment-service"],
            }),
            svc("order-service", { usage: "client" }),
            svc("payment-service", { usage: "client", validityHours: 48, renewBeforeHours: 24 }),
            svc("audit-service", { usage: "client" }),
            svc("report-service", { usage: "server", port: 9443 }),
            svc("legacy-service", { usage: "client", delivery: "env", keystores: [] }),
        ],
        "mtls:kubernetes": { renderDirectory: render(stack) },
    };
}

/** The same services with no keystores at all. */
function plainConfig(stack) {
    const config = keystoreConfig(stack);
    config["mtls:certificates"] = { validityHours: 720, renewBeforeHours: 240 };
    config["mtls:services"] = config["mtls:services"].map(
        ({ keystores, validityHours, renewBeforeHours, ...rest }) => rest,
    );
    return config;
}

const KEYSTORE_SERVICES = ["user-service", "order-service", "payment-service", "audit-service", "report-service"];

function sh(cmd, args) {
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Each keystore service's stores and password as its rendered Secret holds them. */
function renderedStores(stack) {
    const objects = readManifests(render(stack));
    const out = {};
    for (const svc of [...KEYSTORE_SERVICES, "legacy-service"]) {
        const material = serviceMaterial(objects, svc);
        out[svc] = Object.fromEntries(
            [...STORES, "keystore-password"]
                .filter((f) => material.files[f])
                .map((f) => [f, (material.files[f].bytes ?? Buffer.from(material.files[f].text)).toString("base64")]),
        );
    }
    return out;
}

function snapshot(stack, label) {
    const objects = readManifests(render(stack));
    const dir = path.join(work, "material", stack, label);
    return Object.fromEntries(
        [...KEYSTORE_SERVICES, "legacy-service"].map((svc) => [
            svc,
            layOut(serviceMaterial(objects, svc), path.join(dir, svc)),
        ]),
    );
}

const manifests = (stack) =>
    Object.fromEntries(
        listFiles(render(stack)).map((f) => [path.relative(render(stack), f), fs.readFileSync(f, "utf8")]),
    );

/** Store files whose bytes differ between two renderings, as "service/file". */
function rebuilt(before, after) {
    return Object.keys(after)
        .flatMap((svc) =>
            [...STORES, "keystore-password"]
                .filter((f) => before[svc]?.[f] !== after[svc]?.[f])
                .map((f) => `${svc}/${f}`),
        )
        .sort();
}

/** keytool -list -v over one store, with the password read from its file. */
function keytool(file, type, passwordFile) {
    const r = sh("keytool", ["-list", "-v", "-keystore", file, "-storetype", type, "-storepass:file", passwordFile]);
    const entries = [...r.out.matchAll(/^Alias name: (.*)$/gm)].map((m) => m[1]);
    return {
        status: r.status,
        out: r.out,
        entries,
        types: [...r.out.matchAll(/^Entry type: (.*)$/gm)].map((m) => m[1]),
        chainLength: Number(/^Certificate chain length: (\d+)$/m.exec(r.out)?.[1] ?? 0),
        owners: [...r.out.matchAll(/^Owner: (.*)$/gm)].map((m) => m[1]),
    };
}

/**
 * Every secret value to look for: passwords, and 24-character pieces of each store's base64
 * that are its own: from the encrypted middle of a PKCS#12 file (its first bytes are structure
 * every PKCS#12 file shares), the keyed digest at the end of a JKS file (the rest is public
 * certificates, which may line up with their copies elsewhere).
 */
function needles(stores) {
    const piece = (b64, at) => b64.slice(Math.floor(b64.length * at), Math.floor(b64.length * at) + 24);
    return Object.values(stores).flatMap((files) =>
        Object.entries(files).flatMap(([file, b64]) => {
            if (file === "keystore-password") return [Buffer.from(b64, "base64").toString("utf8")];
            if (file.endsWith(".jks")) return [b64.slice(-26, -2)];
            return [piece(b64, 0.5), piece(b64, 0.75)];
        }),
    );
}

function peers(name, scenario, extra) {
    return runPeers(work, name, scenario, extra);
}

await runTier("keystores", async (tier) => {
    ({ work, checks } = tier);
    const project = makeProject(work, {
        ks: keystoreConfig("ks"),
        other: keystoreConfig("other"),
        plain: plainConfig("plain"),
    });
    const pulumi = new Pulumi(project, work);
    for (const stack of ["ks", "other", "plain"]) pulumi.run(["stack", "init", stack]);
    const logs = [];

    section("preview and up of a stack that asks for keystores, another one, and one without");
    const firstPreview = pulumi.run(["preview", "--json", "--stack", "ks"]);
    logs.push(firstPreview.stdout, firstPreview.stderr);
    const firstSteps = changedSteps(JSON.parse(firstPreview.stdout));
    checks.ok(
        firstSteps.filter((s) => /RandomPassword::/.test(s)).length === 5,
        "the preview creates one RandomPassword per keystore service (five), none for the env-delivered one",
        firstSteps.filter((s) => /RandomPassword/.test(s)).join(", "),
    );
    for (const stack of ["ks", "other", "plain"]) {
        const up = pulumi.run(["up", "--yes", "--skip-preview", "--stack", stack]);
        logs.push(up.stdout, up.stderr);
    }

    section("the rendered Secrets hold the stores; nothing else does");
    const objects = readManifests(render("ks"));
    const stores = renderedStores("ks");
    const secrets = objects.filter((o) => o.kind === "Secret");
    const keysOf = (svc) => {
        const material = serviceMaterial(objects, svc);
        const secretName = material.deployment.spec.template.spec.volumes?.[0]?.projected.sources.find((s) => s.secret)
            ?.secret.name;
        const secret = secrets.find((s) => s.metadata.name === secretName);
        return secret ? [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})].sort() : [];
    };
    checks.ok(
        keysOf("user-service").join() === "keystore-password,keystore.p12,tls.key,truststore.jks,truststore.p12",
        "user-service's Secret: tls.key, keystore.p12, truststore.p12, truststore.jks, keystore-password",
        keysOf("user-service").join(),
    );
    checks.ok(
        ["order-service", "payment-service", "audit-service", "report-service"].every(
            (svc) => keysOf(svc).join() === "keystore-password,keystore.p12,tls.key,truststore.p12",
        ),
        "every other keystore service's Secret: tls.key, keystore.p12, truststore.p12, keystore-password",
    );
    const legacy = serviceMaterial(objects, "legacy-service");
    checks.ok(
        legacy.delivery === "env" &&
            !Object.keys(legacy.env).some((e) => e.startsWith("MTLS_KEYSTORE")) &&
            !legacy.files["keystore.p12"],
        "legacy-service (env delivery, keystores: []) gets no stores and no keystore variables",
    );
    const plainSecrets = readManifests(render("plain")).filter((o) => o.kind === "Secret");
    checks.ok(
        plainSecrets.length === 6 &&
            plainSecrets.every((s) => Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) }).join() === "tls.key"),
        "the stack without keystores: every Secret holds tls.key only",
    );
    const user = serviceMaterial(objects, "user-service");
    const env = (name) => user.env[name];
    checks.ok(
        env("MTLS_KEYSTORE_FILE")?.value === "/etc/mtls/keystore.p12" &&
            env("MTLS_TRUSTSTORE_FILE")?.value === "/etc/mtls/truststore.p12" &&
            env("MTLS_TRUSTSTORE_JKS_FILE")?.value === "/etc/mtls/truststore.jks" &&
            env("MTLS_KEYSTORE_TYPE")?.value === "PKCS12",
        "user-service: MTLS_KEYSTORE_FILE, MTLS_TRUSTSTORE_FILE, MTLS_TRUSTSTORE_JKS_FILE, MTLS_KEYSTORE_TYPE=PKCS12",
    );
    checks.ok(
        env("MTLS_KEYSTORE_PASSWORD")?.value === undefined &&
            env("MTLS_KEYSTORE_PASSWORD")?.valueFrom?.secretKeyRef?.key === "keystore-password",
        "MTLS_KEYSTORE_PASSWORD comes by secretKeyRef, never as a value",
    );
    checks.ok(
        STORES.every((f) => user.files[f]?.mode === 0o400) &&
            user.files["tls.key"].mode === 0o400 &&
            user.readOnly === true,
        "the stores are in the read-only projected volume, mode 0400 like tls.key",
    );
    const secretValues = needles(stores);
    checks.ok(
        secretValues.length === 5 + 10 * 2 + 1,
        `${secretValues.length} secret strings to look for (5 passwords, 10 PKCS#12 stores, 1 JKS)`,
    );
    const secretFiles = new Set(secrets.map((s) => s.__file));
    const elsewhere = [];
    for (const stack of ["ks", "other", "plain"]) {
        for (const file of listFiles(render(stack))) {
            if (stack === "ks" && secretFiles.has(file)) continue;
            const text = fs.readFileSync(file, "utf8");
            if (secretValues.some((needle) => text.includes(needle))) elsewhere.push(path.relative(work, file));
        }
    }
    checks.ok(
        elsewhere.length === 0,
        "no password or store bytes in any other rendered file (ConfigMaps, Deployments, Services, namespace; the other stacks)",
        elsewhere.join(", "),
    );
    const exported = pulumi.run(["stack", "export", "--stack", "ks"]).stdout;
    const outputs = pulumi.run(["stack", "output", "--json", "--show-secrets", "--stack", "ks"]).stdout;
    const noChangePreview = pulumi.run(["preview", "--json", "--stack", "ks"]);
    logs.push(noChangePreview.stdout, noChangePreview.stderr);
    const stateFiles = listFiles(path.join(work, "state"))
        .map((f) => fs.readFileSync(f, "utf8"))
        .join("\n");
    const leaks = Object.entries({
        "stack export": exported,
        "stack outputs (--show-secrets)": outputs,
        "preview JSON": noChangePreview.stdout,
        "up and preview logs": logs.join("\n"),
        "the state backend's files": stateFiles,
    })
        .filter(([, text]) => secretValues.some((needle) => text.includes(needle)))
        .map(([where]) => where);
    checks.ok(
        leaks.length === 0,
        "none in the state (export and backend files), the stack outputs, the preview JSON or the logs of up and preview",
        leaks.join(", "),
    );
    checks.ok(
        /"ciphertext"/.test(exported) &&
            JSON.parse(exported)
                .deployment.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword")
                .every((r) => r.outputs.result?.ciphertext && r.outputs.bcryptHash?.ciphertext),
        "every RandomPassword's result and bcryptHash are secrets in the state",
    );

    section("a second up changes nothing");
    const before = manifests("ks");
    checks.ok(
        changedSteps(JSON.parse(noChangePreview.stdout)).length === 0,
        "a preview plans no change",
        changedSteps(JSON.parse(noChangePreview.stdout)).join(", "),
    );
    const second = pulumi.run(["up", "--yes", "--expect-no-changes", "--stack", "ks"], { allowFail: true });
    checks.ok(
        second.status === 0,
        "pulumi up --expect-no-changes succeeds: the stores were rebuilt byte for byte",
        second.stdout.slice(-600),
    );
    const after = manifests("ks");
    const touched = Object.keys({ ...before, ...after }).filter((f) => before[f] !== after[f]);
    checks.ok(touched.length === 0, "no rendered file changed", touched.join(", "));

    section("keytool and OpenSSL read every store with the password from the Secret");
    const material = snapshot("ks", "steady");
    const chainCount = (dir) =>
        (fs.readFileSync(path.join(dir, "tls.crt"), "utf8").match(/BEGIN CERTIFICATE/g) ?? []).length;
    for (const svc of KEYSTORE_SERVICES) {
        const dir = material[svc];
        const pw = path.join(dir, "keystore-password");
        const ks = keytool(path.join(dir, "keystore.p12"), "PKCS12", pw);
        checks.ok(
            ks.status === 0 &&
                ks.entries.join() === svc &&
                ks.types.join() === "PrivateKeyEntry" &&
                ks.chainLength === chainCount(dir) &&
                ks.chainLength === 2 &&
                ks.owners[0] === `CN=${svc}` &&
                /CN=shop ks root CA intermediate/.test(ks.owners[1] ?? ""),
            `${svc}: keytool lists keystore.p12: one PrivateKeyEntry "${svc}", chain of ${ks.chainLength} (leaf, intermediate)`,
            ks.out.slice(0, 600),
        );
        const ts = keytool(path.join(dir, "truststore.p12"), "PKCS12", pw);
        checks.ok(
            ts.status === 0 && ts.types.join() === "trustedCertEntry" && ts.entries.join() === "shop-ks-root-ca",
            `${svc}: keytool lists truststore.p12: the root as trustedCertEntry`,
            ts.out.slice(0, 400),
        );
        if (svc === "user-service") {
            const jks = keytool(path.join(dir, "truststore.jks"), "JKS", pw);
            checks.ok(
                jks.status === 0 && jks.types.join() === "trustedCertEntry" && /Keystore type: JKS/.test(jks.out),
                "user-service: keytool lists truststore.jks (type JKS): the root as trustedCertEntry",
                jks.out.slice(0, 400),
            );
        }
        const info = sh("openssl", [
            "pkcs12",
            "-in",
            path.join(dir, "keystore.p12"),
            "-info",
            "-noout",
            "-passin",
            `file:${pw}`,
        ]).out;
        checks.ok(
            /MAC: sha256, Iteration 10000/.test(info) &&
                (info.match(/PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/g) ?? []).length === 2 &&
                !/RC2|3DES|DES-EDE|SHA1/i.test(info),
            `${svc}: OpenSSL reads keystore.p12: SHA-256 MAC, key and certificates under PBES2 AES-256-CBC / hmacWithSHA256`,
            info.slice(0, 400),
        );
    }
    const wrongPw = path.join(work, "wrong-password");
    fs.writeFileSync(wrongPw, "not-the-password", { mode: 0o600 });
    const dir = material["user-service"];
    const wrongKeytool = keytool(path.join(dir, "keystore.p12"), "PKCS12", wrongPw);
    const wrongJks = keytool(path.join(dir, "truststore.jks"), "JKS", wrongPw);
    checks.ok(
        wrongKeytool.status !== 0 &&
            /password was incorrect/.test(wrongKeytool.out) &&
            wrongJks.status !== 0 &&
            /password was incorrect/.test(wrongJks.out),
        "keytool refuses keystore.p12 and truststore.jks with a wrong password",
        `${wrongKeytool.out.trim()} | ${wrongJks.out.trim()}`,
    );

    section("Java opens the stores as a service does; a wrong password fails to load, before any connection");
    const javaPeer = (mode, args) => sh("java", ["-cp", javaClassPath(), "MtlsPeer", mode, ...args]);
    const loaded = javaPeer("load", [
        "--keystore",
        path.join(dir, "keystore.p12"),
        "--truststore",
        path.join(dir, "truststore.p12"),
        "--password-file",
        path.join(dir, "keystore-password"),
    ]);
    let view = {};
    try {
        view = JSON.parse(loaded.out.trim().split("\n").pop());
    } catch {
        // reported below
    }
    checks.ok(
        loaded.status === 0 &&
            view.keystore?.[0]?.alias === "user-service" &&
            view.keystore[0].key === true &&
            view.keystore[0].chain === 2 &&
            view.truststore?.every((t) => t.trusted),
        "the Java peer loads keystore.p12 (key entry, chain of 2) and truststore.p12 (trusted entries)",
        loaded.out.slice(0, 400),
    );
    const wrong = javaPeer("load", [
        "--keystore",
        path.join(dir, "keystore.p12"),
        "--truststore",
        path.join(dir, "truststore.p12"),
        "--password-file",
        wrongPw,
    ]);
    checks.ok(
        wrong.status === 3 && /load_error/.test(wrong.out) && /keystore password was incorrect/.test(wrong.out),
        "with a wrong password the Java peer fails to load the keystore (exit 3), it does not start half-working",
        wrong.out.trim(),
    );
    const wrongDir = path.join(work, "material", "wrong-password-server");
    fs.cpSync(dir, wrongDir, { recursive: true });
    fs.chmodSync(path.join(wrongDir, "keystore-password"), 0o600);
    fs.writeFileSync(path.join(wrongDir, "keystore-password"), "not-the-password");
    const wrongServer = sh("timeout", [
        "30",
        "java",
        "-cp",
        javaClassPath(),
        "MtlsPeer",
        "server",
        "--dir",
        wrongDir,
        "--allowed",
        "order-service",
    ]);
    checks.ok(
        wrongServer.status === 3 && !/READY/.test(wrongServer.out) && /cannot load the keystores/.test(wrongServer.out),
        "a Java server with a wrong password never listens (exit 3, no READY)",
        wrongServer.out.trim().slice(0, 300),
    );

    section("plain JSSE as the README shows it: javax.net.ssl.* from the MTLS_* variables, SSLContext.getDefault()");
    const jsse = await readmeJsse(material);
    checks.ok(
        jsse.allowed?.outcome === "http" &&
            jsse.allowed.status === 200 &&
            JSON.parse(jsse.allowed.body).cn === "order-service",
        "order-service's JVM reaches user-service's JVM (setNeedClientAuth) with the default context alone",
        JSON.stringify(jsse.allowed),
    );
    checks.ok(
        jsse.forbidden?.status === 403,
        "audit-service completes the handshake and user-service answers 403 (not in MTLS_ALLOWED_CLIENTS)",
        JSON.stringify(jsse.forbidden),
    );
    checks.ok(
        jsse.serverOnly &&
            jsse.serverOnly.outcome !== "http" &&
            /Extended key usage does not permit use for TLS client authentication/.test(jsse.serverLog),
        "report-service's server-only certificate is refused as a client: the server names the extended key usage",
        `${JSON.stringify(jsse.serverOnly)} ${jsse.serverLog.slice(0, 300)}`,
    );
    checks.ok(
        jsse.wrongPassword?.outcome === "load_error" && jsse.wrongPasswordStatus === 3,
        "with a wrong MTLS_KEYSTORE_PASSWORD the default context fails to load (exit 3)",
        JSON.stringify(jsse.wrongPassword),
    );

    section("the Java matrix: Java server and client with the stores, against OpenSSL, curl, Python and Go");
    const foreign = snapshot("other", "foreign");
    const spiffe = (svc) => `spiffe://${TRUST_DOMAIN}/ns/${NS}/sa/${svc}`;
    const scenario = {
        server: {
            name: "user-service",
            dir,
            dnsName: `user-service.${NS}.svc.cluster.local`,
            allowedClients: ["order-service", "payment-service"],
        },
        clients: [
            {
                label: "order-service",
                dir: material["order-service"],
                expect: "ok",
                expectCN: "order-service",
                expectURI: spiffe("order-service"),
            },
            {
                label: "payment-service",
                dir: material["payment-service"],
                expect: "ok",
                expectCN: "payment-service",
                expectURI: spiffe("payment-service"),
            },
            {
                label: "audit-service (valid, not in allowFrom)",
                dir: material["audit-service"],
                expect: "forbidden",
                expectCN: "audit-service",
            },
            { label: "order-service from another stack's CA", dir: foreign["order-service"], expect: "refused" },
            {
                label: "report-service: server-only cert as a client",
                dir: material["report-service"],
                expect: "refused",
            },
            { label: "no client certificate", dir: null, expect: "refused" },
        ],
        badServers: [
            {
                label: "report-service cert answering as user-service (SAN mismatch)",
                dir: material["report-service"],
                expect: "refused",
            },
        ],
        plainTcp: true,
        builtins: true,
    };
    const matrix = peers("java-matrix", scenario, ["--peers", "openssl,curl,python,go,java"]);
    checks.ok(
        matrix.status === 0 && matrix.failed === 0 && matrix.passed > 0,
        `Java matrix: ${matrix.passed} passed, ${matrix.failed} failed`,
    );
    const javaClient = matrix.json?.perClientPeer?.java;
    const javaServer = matrix.json?.perServerPeer?.java;
    checks.ok(
        javaClient?.tried > 0 && javaClient.failed === 0,
        `the Java client against every server: ${javaClient?.tried} tried, ${javaClient?.passed} as expected, refused as expected ${javaClient?.refusedAsExpected}/${javaClient?.refusalsExpected}`,
    );
    checks.ok(
        javaServer?.tried > 0 && javaServer.failed === 0,
        `every client against the Java server: ${javaServer?.tried} tried, ${javaServer?.passed} as expected, refused as expected ${javaServer?.refusedAsExpected}/${javaServer?.refusalsExpected}`,
    );
    const javaRefusals = (matrix.json?.cases ?? []).filter(
        (c) => c.serverPeer === "java" && c.kind === "handshake" && c.expect === "refused",
    );
    for (const label of [
        "order-service from another stack's CA",
        "report-service: server-only cert as a client",
        "no client certificate",
    ]) {
        const cases = javaRefusals.filter((c) => c.case === label);
        checks.ok(
            cases.length > 0 && cases.every((c) => c.pass),
            `the Java server refuses "${label}" from every client (${cases.filter((c) => c.pass).length}/${cases.length})`,
        );
    }

    section("CA rotation: each phase rebuilds what it changes, and the Java peers agree with the others");
    const phases = [
        {
            label: "introduce",
            ca: { rotation: "introduce" },
            expect: (svc) => [`${svc}/truststore.p12`, ...(svc === "user-service" ? [`${svc}/truststore.jks`] : [])],
        },
        { label: "switch", ca: { rotation: "switch" }, expect: (svc) => [`${svc}/keystore.p12`] },
        {
            label: "retire",
            ca: { rotation: "retire" },
            expect: (svc) => [`${svc}/truststore.p12`, ...(svc === "user-service" ? [`${svc}/truststore.jks`] : [])],
        },
        { label: "generation 2", ca: { generation: 2 }, expect: () => [] },
    ];
    let previous = { label: "steady", material, stores };
    const rotationCounts = {};
    for (const phase of phases) {
        writeStack(project, "ks", keystoreConfig("ks", { ca: phase.ca }));
        pulumi.run(["up", "--yes", "--skip-preview", "--stack", "ks"]);
        const current = {
            label: phase.label,
            material: snapshot("ks", phase.label.replace(/ /g, "-")),
            stores: renderedStores("ks"),
        };
        const got = rebuilt(previous.stores, current.stores);
        const want = KEYSTORE_SERVICES.flatMap((svc) => phase.expect(svc)).sort();
        checks.ok(
            got.join() === want.join(),
            `${phase.label}: exactly these stores were rebuilt: ${want.length ? want.join(", ").replace(/-service/g, "") : "none"}`,
            `got ${got.join(", ")}`,
        );
        const together = [previous, current];
        const counts = { java: { tried: 0, passed: 0 }, others: { tried: 0, passed: 0 } };
        for (const server of together) {
            const clients = together.flatMap(({ label, material: m }) =>
                ["order-service", "payment-service"].map((svc) => ({
                    label: `${svc} (${label})`,
                    dir: m[svc],
                    expect: "ok",
                    expectCN: svc,
                })),
            );
            const r = peers(
                `rotation-${phase.label.replace(/ /g, "-")}-server-${server.label.replace(/ /g, "-")}`,
                {
                    server: {
                        name: "user-service",
                        dir: server.material["user-service"],
                        dnsName: `user-service.${NS}.svc`,
                        allowedClients: ["order-service", "payment-service"],
                    },
                    clients,
                    builtins: false,
                },
                ["--peers", "openssl,go,java", "--tls", "1.3"],
            );
            checks.ok(
                r.status === 0 && r.failed === 0,
                `${phase.label}: user-service (${server.label}) accepts every client deployed with it, Java as server and client too (${r.passed} passed, ${r.failed} failed)`,
            );
            for (const c of r.json?.cases ?? []) {
                if (c.kind !== "handshake") continue;
                const side = c.clientPeer === "java" || c.serverPeer === "java" ? counts.java : counts.others;
                side.tried += 1;
                if (c.pass) side.passed += 1;
            }
        }
        rotationCounts[phase.label] = counts;
        previous = current;
    }
    const retired = previous.material;
    const old = matrixAfterRetire(retired, material);
    checks.ok(
        old.status === 0 && old.failed === 0,
        `after retire, a generation-1 leaf is refused by the Java server and every other (${old.passed} passed, ${old.failed} failed)`,
    );
    console.log(
        `\n  handshake matrix per phase (Java as client or server / the others): ${JSON.stringify(rotationCounts)}`,
    );

    section("a password bump rebuilds that service's stores; the old password no longer opens them");
    const beforeBump = renderedStores("ks");
    writeStack(
        project,
        "ks",
        keystoreConfig("ks", {
            ca: { generation: 2 },
            services: { "payment-service": { keystorePasswordVersion: 2 } },
        }),
    );
    const bumpPreview = changedSteps(pulumi.json(["preview", "--stack", "ks"]).json);
    checks.ok(
        bumpPreview.length > 0 &&
            bumpPreview.every((s) => s.includes("::payment-service")) &&
            bumpPreview.some((s) => /^replace .*RandomPassword::payment-service-keystore-password/.test(s)),
        "the preview replaces only payment-service's RandomPassword, Secret and Deployment",
        bumpPreview.join(", "),
    );
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "ks"]);
    const afterBump = renderedStores("ks");
    checks.ok(
        rebuilt(beforeBump, afterBump).join() ===
            "payment-service/keystore-password,payment-service/keystore.p12,payment-service/truststore.p12",
        "the new password rebuilt payment-service's stores and nothing else",
        rebuilt(beforeBump, afterBump).join(", "),
    );
    const bumped = snapshot("ks", "bumped")["payment-service"];
    const oldPw = path.join(work, "old-password");
    fs.writeFileSync(oldPw, Buffer.from(beforeBump["payment-service"]["keystore-password"], "base64"), { mode: 0o600 });
    checks.ok(
        keytool(path.join(bumped, "keystore.p12"), "PKCS12", oldPw).status !== 0 &&
            keytool(path.join(bumped, "keystore.p12"), "PKCS12", path.join(bumped, "keystore-password")).status === 0,
        "keytool opens the new keystore with the new password only",
    );

    section("renewal rebuilds only the renewed service's keystore");
    const now = Date.now();
    const renewAt = { MTLS_NOW: new Date(now + 25 * HOUR).toISOString() };
    const planned = changedSteps(pulumi.json(["preview", "--stack", "ks"], { env: renewAt }).json);
    // The stack's renewal schedule is updated too: it holds one entry per certificate.
    const scheduleStep = SCHEDULE_STEP;
    const renewal = planned.filter((s) => s !== scheduleStep);
    checks.ok(
        planned.includes(scheduleStep) && renewal.length > 0 && renewal.every((s) => s.includes("::payment-service")),
        "25 h on (payment-service: 48 h, renewed 24 h before) the renewal schedule and only payment-service change",
        planned.join(", "),
    );
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "ks"], { env: renewAt });
    const renewed = rebuilt(afterBump, renderedStores("ks"));
    checks.ok(
        renewed.join() === "payment-service/keystore.p12",
        "its keystore.p12 was rebuilt (new key and chain), its truststore and every other store stayed",
        renewed.join(", "),
    );
    const settled = pulumi.run(["up", "--yes", "--expect-no-changes", "--stack", "ks"], {
        env: renewAt,
        allowFail: true,
    });
    checks.ok(settled.status === 0, "and the next up at the same time changes nothing", settled.stdout.slice(-400));

    section("every key algorithm: keytool reads the stores and Java completes mTLS with OpenSSL and Go");
    const algorithms = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "ED25519"];
    writeStack(project, "algos", {
        ...keystoreConfig("algos"),
        "mtls:ca": { commonName: "shop algos root CA", validityHours: 8760 },
        "mtls:services": algorithms.map((a, i) => ({
            name: `svc-${a.toLowerCase()}`,
            image: "example/app:1",
            port: 10000 + i,
            keyAlgorithm: a,
            allowFrom: [`svc-${a.toLowerCase()}`],
        })),
    });
    pulumi.run(["stack", "init", "algos"]);
    pulumi.run(["up", "--yes", "--skip-preview", "--stack", "algos"]);
    const algoObjects = readManifests(render("algos"));
    for (const a of algorithms) {
        const name = `svc-${a.toLowerCase()}`;
        const svcDir = layOut(serviceMaterial(algoObjects, name), path.join(work, "material-algos", name));
        const ks = keytool(path.join(svcDir, "keystore.p12"), "PKCS12", path.join(svcDir, "keystore-password"));
        const r = peers(
            `algo-${a}`,
            {
                server: { name, dir: svcDir, dnsName: `${name}.${NS}.svc`, allowedClients: [name] },
                clients: [
                    { label: `${name} as its own client`, dir: svcDir, expect: "ok", expectCN: name },
                    { label: "no client certificate", dir: null, expect: "refused" },
                ],
                builtins: false,
            },
            ["--peers", "openssl,go,java"],
        );
        checks.ok(
            ks.status === 0 &&
                ks.types.join() === "PrivateKeyEntry" &&
                r.status === 0 &&
                r.failed === 0 &&
                r.json?.perClientPeer?.java?.passed > 0,
            `${a}: keytool lists the key entry; Java, OpenSSL and Go complete mTLS over TLS 1.3 and 1.2 (${r.passed} passed, ${r.failed} failed)`,
            ks.out.slice(0, 200),
        );
    }

    section("destroy leaves nothing");
    for (const stack of ["ks", "other", "plain", "algos"]) {
        pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stack], stack === "ks" ? { env: renewAt } : {});
        const left = listFiles(render(stack));
        const resources =
            JSON.parse(pulumi.run(["stack", "export", "--stack", stack]).stdout).deployment.resources ?? [];
        checks.ok(
            left.length === 0 && resources.length === 0,
            `destroy ${stack}: no manifest and no resource left`,
            `${left.length} files, ${resources.length} resources`,
        );
    }
});

/** Where the peers harness compiled the Java peer (it compiles it on first use). */
function javaClassPath() {
    if (classPath) return classPath;
    const r = spawnSync(
        process.execPath,
        [path.join(ROOT, "test", "e2e", "peers", "run.mjs"), "--setup-only", "--peers", "java"],
        { encoding: "utf8" },
    );
    classPath = /^java peer: (.+)$/m.exec(r.stdout)?.[1];
    if (r.status !== 0 || !classPath)
        throw new Error(`the peers harness could not set up the Java peer: ${r.stdout}${r.stderr}`);
    return classPath;
}

/** The environment a service's container gets for its keystores, from the files laid out for it. */
function keystoreEnv(dir) {
    return {
        ...process.env,
        MTLS_KEYSTORE_FILE: path.join(dir, "keystore.p12"),
        MTLS_TRUSTSTORE_FILE: path.join(dir, "truststore.p12"),
        MTLS_KEYSTORE_TYPE: "PKCS12",
        MTLS_KEYSTORE_PASSWORD: fs.readFileSync(path.join(dir, "keystore-password"), "utf8"),
    };
}

/** A Java server and clients set up only by the README's plain-JSSE lines (`--default-context`). */
async function readmeJsse(material) {
    const java = ["-cp", javaClassPath(), "MtlsPeer"];
    const server = spawn(
        "java",
        [
            ...java,
            "server",
            "--default-context",
            "--dir",
            material["user-service"],
            "--allowed",
            "order-service,payment-service",
            "--max-seconds",
            "120",
        ],
        { env: keystoreEnv(material["user-service"]), stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let serverLog = "";
    server.stderr.on("data", (d) => {
        serverLog += d;
    });
    const port = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 30_000);
        server.stdout.on("data", (d) => {
            out += d;
            const m = /^READY (\d+)$/m.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        });
        server.on("close", () => resolve(undefined));
    });
    const client = (svc, env) => {
        const args = [
            ...java,
            "client",
            "--default-context",
            "--url",
            `https://user-service.${NS}.svc:${port}/api/data`,
            "--connect",
            `127.0.0.1:${port}`,
            "--servername",
            `user-service.${NS}.svc`,
        ];
        const r = spawnSync("java", args, {
            env: env ?? keystoreEnv(material[svc]),
            encoding: "utf8",
            timeout: 30_000,
        });
        try {
            return { status: r.status, result: JSON.parse(r.stdout.trim().split("\n").pop()) };
        } catch {
            return { status: r.status, result: { outcome: "error", error: `${r.stdout}${r.stderr}` } };
        }
    };
    try {
        if (!port) return { serverLog };
        const allowed = client("order-service").result;
        const forbidden = client("audit-service").result;
        const serverOnly = client("report-service");
        const wrong = client("order-service", {
            ...keystoreEnv(material["order-service"]),
            MTLS_KEYSTORE_PASSWORD: "not-the-password",
        });
        await new Promise((r) => setTimeout(r, 300));
        return {
            allowed,
            forbidden,
            serverOnly: serverOnly.result,
            wrongPassword: wrong.result,
            wrongPasswordStatus: wrong.status,
            serverLog,
        };
    } finally {
        server.stdin.end();
        server.kill("SIGTERM");
    }
}

/** The retired phase's user-service against clients of both generations: the old ones must be refused. */
function matrixAfterRetire(retired, steady) {
    return runPeers(
        work,
        "retired-vs-old",
        {
            server: {
                name: "user-service",
                dir: retired["user-service"],
                dnsName: `user-service.${NS}.svc`,
                allowedClients: ["order-service", "payment-service"],
            },
            clients: [
                {
                    label: "order-service (generation 2)",
                    dir: retired["order-service"],
                    expect: "ok",
                    expectCN: "order-service",
                },
                { label: "order-service (generation 1)", dir: steady["order-service"], expect: "refused" },
                { label: "payment-service (generation 1)", dir: steady["payment-service"], expect: "refused" },
            ],
            builtins: false,
        },
        ["--peers", "openssl,go,java", "--tls", "1.3"],
    );
}
