/**
 * The components as a real npm package: packed with `npm pack`, installed into
 * a fresh TypeScript project, type-checked there with strict settings, and run
 * under Pulumi's mocks.
 */
import { execFileSync } from "node:child_process";
import { builtinModules } from "node:module";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/stackConfig";

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
const EXAMPLE_TEST = "examples/testing/certificates.test.ts";
let work: string;
let tarball: string;

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
    return execFileSync(cmd, args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
}

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as mtls from "${pkg.name}";

const certPem = fs.readFileSync(process.env.FIXTURE_CERT as string, "utf8");
pulumi.runtime.setMocks({
    newResource: (args) => ({
        id: args.name + "-id",
        state: { ...args.inputs, certPem, privateKeyPem: "-----BEGIN PRIVATE KEY-----\\nmock\\n-----END PRIVATE KEY-----\\n", metadata: { ...(args.inputs.metadata ?? {}), name: args.name } },
    }),
    call: (args) => args.inputs,
});

async function main(): Promise<void> {
    const ca = new mtls.CertificateAuthority("ca", { commonName: "consumer root", keyAlgorithm: "ECDSA-P384" });
    const cert = new mtls.ServiceCertificate("api", { issuer: ca, serviceName: "api", namespace: "team", usage: "server", autoRenew: false });
    const material = new mtls.CertificateMaterial("api", { certificate: cert, namespace: "team" });
    const mounts = material.volumeMounts("/certs");
    const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => { resolve(v); return v; }));
    console.log(JSON.stringify({
        dnsNames: await value(cert.dnsNames),
        notAfter: await value(cert.notAfter),
        keySecret: await pulumi.isSecret(cert.privateKeyPem),
        mounts,
        algorithms: mtls.KEY_ALGORITHMS,
        keystoreFormats: mtls.KEYSTORE_FORMATS,
    }));
}
main().catch((err) => { console.error(err); process.exit(1); });
`;

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-package-"));
    const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", work], PROJECT_ROOT));
    tarball = path.join(work, packed[0].filename);
    const project = path.join(work, "consumer");
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    sh(
        "npm",
        [
            "install",
            "--prefer-offline",
            "--no-audit",
            "--no-fund",
            tarball,
            `@pulumi/pulumi@${pkg.devDependencies["@pulumi/pulumi"]}`,
            `typescript@${pkg.devDependencies.typescript}`,
            `@types/node@${pkg.devDependencies["@types/node"]}`,
        ],
        project,
    );
    fs.writeFileSync(
        path.join(project, "tsconfig.json"),
        JSON.stringify({
            compilerOptions: {
                target: "ES2022",
                module: "node16",
                moduleResolution: "node16",
                strict: true,
                esModuleInterop: true,
                outDir: "bin",
                types: ["node"],
            },
            files: ["index.ts"],
        }),
    );
    fs.writeFileSync(path.join(project, "index.ts"), PROGRAM);
    // The consumer test from examples/testing, as a consumer writes it: against the installed package.
    fs.mkdirSync(path.join(project, "test"));
    fs.copyFileSync(path.join(PROJECT_ROOT, EXAMPLE_TEST), path.join(project, "test", path.basename(EXAMPLE_TEST)));
    fs.writeFileSync(
        path.join(project, "tsconfig.test.json"),
        JSON.stringify({
            compilerOptions: {
                target: "ES2022",
                module: "node16",
                moduleResolution: "node16",
                strict: true,
                esModuleInterop: true,
                outDir: "bin-test",
                types: ["node"],
            },
            include: ["test/**/*.ts"],
        }),
    );
    sh(
        "openssl",
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path.join(work, "k.pem"),
            "-out",
            path.join(work, "cert.pem"),
            "-days",
            "30",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api,DNS:api.team,DNS:api.team.svc,DNS:api.team.svc.cluster.local",
        ],
        work,
    );
    fs.rmSync(path.join(work, "k.pem"));
}, 240_000);

afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("the npm package", () => {
    it("ships compiled components with types and nothing else of the repository", () => {
        const listing = sh("tar", ["-tzf", tarball], work).split("\n").filter(Boolean);
        expect(listing).toContain("package/dist/components/index.js");
        expect(listing).toContain("package/dist/components/index.d.ts");
        expect(listing).toContain("package/dist/components/serviceCertificate.d.ts");
        expect(listing.filter((f) => /\/(test|infra|stacks|engine|e2e|scripts)\//.test(f))).toEqual([]);
    });

    it("type-checks strictly and runs under mocks in a fresh project", () => {
        const project = path.join(work, "consumer");
        sh(path.join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], project);
        const out = JSON.parse(
            sh(process.execPath, ["bin/index.js"], project, { FIXTURE_CERT: path.join(work, "cert.pem") }),
        );
        expect(out.dnsNames).toEqual(["api", "api.team", "api.team.svc", "api.team.svc.cluster.local"]);
        expect(out.keySecret).toBe(true);
        expect(out.mounts).toEqual([{ name: "mtls-api", mountPath: "/certs", readOnly: true }]);
        expect(out.algorithms).toContain("ED25519");
        expect(out.keystoreFormats).toEqual(["pkcs12", "jks"]);
        expect(Date.parse(out.notAfter)).toBeGreaterThan(Date.now());
    });

    it("ships the testing export, whose code needs nothing beyond Node, the Pulumi SDKs and the package's own dependencies", () => {
        const project = path.join(work, "consumer");
        const installed = path.join(project, "node_modules", ...pkg.name.split("/"));
        const shipped = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
        expect(shipped.exports["./testing"]).toEqual({
            types: "./dist/components/testing/index.d.ts",
            default: "./dist/components/testing/index.js",
        });
        const required = new Set<string>();
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(full);
                else if (entry.name.endsWith(".js")) {
                    for (const m of fs.readFileSync(full, "utf8").matchAll(/require\("([^"]+)"\)/g))
                        if (!m[1].startsWith(".")) required.add(m[1]);
                }
            }
        };
        walk(path.join(installed, "dist"));
        const own = Object.keys(shipped.dependencies ?? {});
        const foreign = [...required].filter(
            (m) =>
                !m.startsWith("node:") && !m.startsWith("@pulumi/") && !builtinModules.includes(m) && !own.includes(m),
        );
        expect(foreign).toEqual([]);
        expect(fs.existsSync(path.join(project, "node_modules", "vitest"))).toBe(false);
        expect(fs.existsSync(path.join(project, "node_modules", "@peculiar"))).toBe(false);
    });

    it("runs the example consumer test (examples/testing) against the installed package with node --test", () => {
        const project = path.join(work, "consumer");
        sh(path.join(project, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.test.json"], project);
        const report = execFileSync(process.execPath, ["--test", "--test-reporter=tap", "bin-test/"], {
            cwd: project,
            encoding: "utf8",
            env: { ...process.env },
        });
        expect(report).toMatch(/^# pass 2$/m);
        expect(report).toMatch(/^# fail 0$/m);
        expect(report).toContain("names the service and its SPIFFE ID, and chains to the team's root");
    });

    it("takes the Pulumi SDKs as peers: one copy each in the consumer, none nested under the package; pins its PKCS#12 encoder", () => {
        const project = path.join(work, "consumer");
        const installed = path.join(project, "node_modules", ...pkg.name.split("/"));
        expect(fs.existsSync(path.join(installed, "node_modules", "@pulumi"))).toBe(false);
        for (const sdk of ["@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/tls", "@pulumi/random"]) {
            expect(fs.existsSync(path.join(project, "node_modules", sdk, "package.json")), sdk).toBe(true);
        }
        const shipped = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
        // Exact versions: the bytes of every keystore depend on the encoder (see the README's Keystores section).
        expect(shipped.dependencies).toEqual({ asn1js: pkg.dependencies.asn1js, pkijs: pkg.dependencies.pkijs });
        expect(Object.values(shipped.dependencies).every((v) => /^\d+\.\d+\.\d+$/.test(v as string))).toBe(true);
        expect(Object.keys(shipped.peerDependencies).sort()).toEqual([
            "@pulumi/kubernetes",
            "@pulumi/pulumi",
            "@pulumi/random",
            "@pulumi/tls",
        ]);
        expect(shipped.peerDependencies["@pulumi/random"]).toBe("^4.21.2");
    });
});
