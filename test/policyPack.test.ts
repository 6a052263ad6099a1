// The CrossGuard pack in policy/: each rule refuses a violating resource and accepts a compliant
// one, called as @pulumi/policy's analyzer server calls it (no engine).
import { beforeAll, describe, expect, it } from "vitest";
import {
    caUsagesOnlyOnCa,
    leafCertificateMaxValidity,
    mtlsWorkloadsRestricted,
    noPrivateKeyInAnnotations,
    noPrivateKeyInConfigMap,
    noPrivateKeyInEnv,
    noPrivateKeyInStackOutputs,
    policies,
    privateKeyStrength,
    tlsKeyMountReadOnly,
    tlsKeyOnlyInSecrets,
    tlsKeySecretMounts,
} from "../policy/policies";
import { holdsPrivateKey, privateKeyKind } from "../policy/privateKeys";
import {
    CONFIG_MAP,
    PEM_FORMS,
    SECRET,
    WORKLOAD_KINDS,
    certificatePem,
    keyBody,
    mtlsPodSpec,
    plainPodSpec,
    privateKeyPem,
    workload,
} from "./support/policyFixtures";
import { UNKNOWN_STRING, messages, validateResource, validateStack } from "./support/policyHarness";

const keys: Record<string, string> = {};
let certificate: string;

beforeAll(async () => {
    for (const form of PEM_FORMS) keys[form] = privateKeyPem(form);
    certificate = await certificatePem();
});

const ecKey = () => keys["EC PRIVATE KEY"];
const b64 = (text: string) => Buffer.from(text).toString("base64");

/** No message may carry key material, whatever it reports. */
function expectNoKeyIn(found: string[]): void {
    for (const message of found) {
        for (const pem of Object.values(keys)) expect(message.includes(keyBody(pem).split("\n")[0])).toBe(false);
        expect(holdsPrivateKey(message)).toBe(false);
    }
}

describe("finding private keys", () => {
    it.each(PEM_FORMS)("recognises a %s block, plain and base64-encoded, with its kind", (form) => {
        expect(privateKeyKind(keys[form])).toBe(form);
        expect(privateKeyKind(b64(keys[form]))).toBe(form);
        expect(privateKeyKind(b64(b64(keys[form])))).toBe(form);
        expect(privateKeyKind(`key=${b64(keys[form]).replace(/(.{76})/g, "$1\n")}`)).toBe(form);
    });

    it("does not mistake certificates, public keys or ordinary text for a key", () => {
        const publicKey = generatePublicKey();
        for (const text of [
            certificate,
            b64(certificate),
            publicKey,
            "PRIVATE KEY",
            "tls.key",
            "/etc/mtls/tls.key",
            b64("hello world, nothing to see"),
        ]) {
            expect(holdsPrivateKey(text), text.slice(0, 30)).toBe(false);
        }
    });
});

function generatePublicKey(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { generateKeyPairSync } = require("node:crypto") as typeof import("node:crypto");
    return generateKeyPairSync("ec", { namedCurve: "prime256v1" })
        .publicKey.export({ format: "pem", type: "spki" })
        .toString();
}

describe("no-private-key-in-configmap", () => {
    it.each(PEM_FORMS)("refuses a %s block in data, naming the key and the fix", async (form) => {
        const found = await messages(noPrivateKeyInConfigMap, {
            type: CONFIG_MAP,
            props: { data: { "ca.crt": certificate, "app.pem": keys[form] } },
        });
        expect(found).toHaveLength(1);
        expect(found[0]).toContain(`ConfigMap data["app.pem"] holds a private key (${form} block)`);
        expect(found[0]).toContain("Put the key in a Secret");
        expectNoKeyIn(found);
    });

    it("refuses a key base64-encoded in binaryData", async () => {
        const found = await messages(noPrivateKeyInConfigMap, {
            type: CONFIG_MAP,
            props: { binaryData: { "key.bin": b64(ecKey()) } },
        });
        expect(found).toEqual([
            expect.stringContaining(`ConfigMap binaryData["key.bin"] holds a private key (EC PRIVATE KEY block)`),
        ]);
        expectNoKeyIn(found);
    });

    it("refuses a key in a ConfigMapPatch too", async () => {
        const found = await messages(noPrivateKeyInConfigMap, {
            type: "kubernetes:core/v1:ConfigMapPatch",
            props: { data: { k: ecKey() } },
        });
        expect(found).toHaveLength(1);
    });

    it("accepts certificates and a CA bundle, plain or in binaryData", async () => {
        const props = {
            data: { "ca.crt": certificate, "tls.crt": `${certificate}${certificate}` },
            binaryData: { "ca.der": b64(certificate) },
        };
        expect(await messages(noPrivateKeyInConfigMap, { type: CONFIG_MAP, props })).toEqual([]);
    });

    it("leaves values unknown during preview to the update, without failing the whole check", async () => {
        const props = { data: { "tls.crt": UNKNOWN_STRING, "app.pem": ecKey() } };
        expect(await messages(noPrivateKeyInConfigMap, { type: CONFIG_MAP, props })).toHaveLength(1);
        expect(
            await messages(noPrivateKeyInConfigMap, {
                type: CONFIG_MAP,
                props: { data: { "tls.crt": UNKNOWN_STRING } },
            }),
        ).toEqual([]);
    });

    it("is about ConfigMaps only: a Secret may hold a key", async () => {
        expect(
            await messages(noPrivateKeyInConfigMap, { type: SECRET, props: { stringData: { "tls.key": ecKey() } } }),
        ).toEqual([]);
    });
});

describe("no-private-key-in-annotations", () => {
    it("refuses a key in an object's own annotations, on any kind", async () => {
        for (const type of [SECRET, "kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress"]) {
            const found = await messages(noPrivateKeyInAnnotations, {
                type,
                props: { metadata: { annotations: { "example.com/key": ecKey() } } },
            });
            expect(found, type).toEqual([
                expect.stringContaining(
                    `metadata.annotations["example.com/key"] holds a private key (EC PRIVATE KEY block)`,
                ),
            ]);
            expectNoKeyIn(found);
        }
    });

    it.each(WORKLOAD_KINDS.filter((k) => k !== "Pod"))(
        "refuses a key in the pod-template annotations of a %s",
        async (kind) => {
            const found = await messages(
                noPrivateKeyInAnnotations,
                workload(kind, mtlsPodSpec(), { "example.com/key": b64(keys["PRIVATE KEY"]) }),
            );
            const path = kind === "CronJob" ? "spec.jobTemplate.spec.template" : "spec.template";
            expect(found).toEqual([
                expect.stringContaining(
                    `${path}.metadata.annotations["example.com/key"] holds a private key (PRIVATE KEY block)`,
                ),
            ]);
        },
    );

    it("refuses a key in a CronJob's job-template annotations", async () => {
        const cron = workload("CronJob", mtlsPodSpec());
        cron.props.spec.jobTemplate.metadata = { annotations: { k: ecKey() } };
        expect(await messages(noPrivateKeyInAnnotations, cron)).toEqual([
            expect.stringContaining(`spec.jobTemplate.metadata.annotations["k"]`),
        ]);
    });

    it("accepts fingerprints and ordinary annotations", async () => {
        const deployment = workload("Deployment", mtlsPodSpec(), { "mtls.pulumi.com/cert-sha256": "ab".repeat(32) });
        deployment.props.metadata.annotations = { "pulumi.com/skipAwait": "true" };
        expect(await messages(noPrivateKeyInAnnotations, deployment)).toEqual([]);
    });
});

describe("no-private-key-in-env", () => {
    it.each(WORKLOAD_KINDS)("refuses a key as a plain env value in a %s container", async (kind) => {
        const spec = mtlsPodSpec();
        spec.containers[0].env.push({ name: "MTLS_KEY", value: keys["RSA PRIVATE KEY"] });
        const found = await messages(noPrivateKeyInEnv, workload(kind, spec));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(
            /containers\[0\] \(app\)\.env\[1\] \(MTLS_KEY\)\.value holds a private key \(RSA PRIVATE KEY block\)/,
        );
        expect(found[0]).toContain('valueFrom.secretKeyRef { name: <secret>, key: "tls.key" }');
        expectNoKeyIn(found);
    });

    it("refuses a key in an init container's env", async () => {
        const spec = mtlsPodSpec();
        spec.initContainers = [
            { name: "setup", image: "busybox", env: [{ name: "KEY", value: keys["OPENSSH PRIVATE KEY"] }] },
        ];
        const found = await messages(noPrivateKeyInEnv, workload("StatefulSet", spec));
        expect(found).toEqual([
            expect.stringContaining(
                "spec.template.spec.initContainers[0] (setup).env[0] (KEY).value holds a private key (OPENSSH PRIVATE KEY block)",
            ),
        ]);
    });

    it("accepts a key read from a Secret, and paths to key files", async () => {
        const spec = mtlsPodSpec();
        spec.containers[0].env.push({
            name: "MTLS_KEY",
            valueFrom: { secretKeyRef: { name: "app-key", key: "tls.key" } },
        });
        expect(await messages(noPrivateKeyInEnv, workload("Deployment", spec))).toEqual([]);
    });
});

describe("tls-key-only-in-secrets", () => {
    it("refuses a tls.key entry in a ConfigMap, whatever it holds", async () => {
        const found = await messages(tlsKeyOnlyInSecrets, {
            type: CONFIG_MAP,
            props: { data: { "tls.key": "placeholder" }, binaryData: { "tls.key": b64("x") } },
        });
        expect(found).toEqual([
            expect.stringContaining(`ConfigMap data["tls.key"]: a tls.key belongs in a Secret`),
            expect.stringContaining(`ConfigMap binaryData["tls.key"]: a tls.key belongs in a Secret`),
        ]);
    });

    it("accepts tls.key in a Secret, and tls.crt in a ConfigMap", async () => {
        expect(
            await messages(tlsKeyOnlyInSecrets, {
                type: SECRET,
                props: { type: "kubernetes.io/tls", stringData: { "tls.key": ecKey(), "tls.crt": certificate } },
            }),
        ).toEqual([]);
        expect(
            await messages(tlsKeyOnlyInSecrets, { type: CONFIG_MAP, props: { data: { "tls.crt": certificate } } }),
        ).toEqual([]);
    });
});

describe("tls-key-mount-read-only", () => {
    it("refuses a projected volume with tls.key mounted without readOnly", async () => {
        const spec = mtlsPodSpec();
        delete spec.containers[0].volumeMounts[0].readOnly;
        const found = await messages(tlsKeyMountReadOnly, workload("Deployment", spec));
        expect(found).toEqual([
            'spec.template.spec.containers[0] (app).volumeMounts[0] mounts volume "mtls", which holds tls.key from Secret "app-key-5e6f7a8b", ' +
                "with readOnly unset; set readOnly: true on this mount so the container cannot write where its key lives.",
        ]);
    });

    it("refuses a secret volume naming tls.key in items, mounted readOnly: false by an init container", async () => {
        const spec = mtlsPodSpec();
        spec.volumes.push({
            name: "key",
            secret: { secretName: "app-key", items: [{ key: "tls.key", path: "key.pem" }] },
        });
        spec.initContainers = [
            { name: "copy", image: "busybox", volumeMounts: [{ name: "key", mountPath: "/key", readOnly: false }] },
        ];
        const found = await messages(tlsKeyMountReadOnly, workload("Job", spec));
        expect(found).toEqual([
            expect.stringContaining(
                'initContainers[0] (copy).volumeMounts[0] mounts volume "key", which holds tls.key from Secret "app-key", with readOnly false',
            ),
        ]);
    });

    it("accepts read-only key mounts and writable mounts of other volumes", async () => {
        const spec = mtlsPodSpec();
        spec.volumes.push({ name: "tmp", emptyDir: {} }, { name: "certs", configMap: { name: "certs" } });
        spec.containers[0].volumeMounts.push(
            { name: "tmp", mountPath: "/tmp" },
            { name: "certs", mountPath: "/certs" },
        );
        expect(await messages(tlsKeyMountReadOnly, workload("DaemonSet", spec))).toEqual([]);
    });

    it("does not judge a readOnly that is unknown during preview", async () => {
        const spec = mtlsPodSpec();
        spec.containers[0].volumeMounts[0].readOnly = UNKNOWN_STRING;
        expect(await messages(tlsKeyMountReadOnly, workload("Deployment", spec))).toEqual([]);
    });
});

type Mutation = [string, (spec: Record<string, any>) => void, RegExp];

const RESTRICTED_BREAKS: Mutation[] = [
    [
        "runAsNonRoot unset",
        (s) => {
            delete s.securityContext.runAsNonRoot;
            delete s.containers[0].securityContext.runAsNonRoot;
        },
        /containers\[0\] \(app\) may run as root: set spec\.template\.spec\.securityContext\.runAsNonRoot: true/,
    ],
    [
        "runAsNonRoot false on the container",
        (s) => {
            s.containers[0].securityContext.runAsNonRoot = false;
        },
        /containers\[0\] \(app\)\.securityContext\.runAsNonRoot is false; set it to true/,
    ],
    [
        "runAsUser 0",
        (s) => {
            s.securityContext.runAsUser = 0;
        },
        /spec\.template\.spec\.securityContext\.runAsUser is 0 \(root\)/,
    ],
    [
        "no seccomp profile",
        (s) => {
            delete s.securityContext.seccompProfile;
        },
        /has no seccomp profile: set spec\.template\.spec\.securityContext\.seccompProfile\.type: RuntimeDefault/,
    ],
    [
        "seccomp Unconfined on the container",
        (s) => {
            s.containers[0].securityContext.seccompProfile = { type: "Unconfined" };
        },
        /containers\[0\] \(app\)\.securityContext\.seccompProfile\.type is "Unconfined"; set it to RuntimeDefault/,
    ],
    [
        "allowPrivilegeEscalation unset",
        (s) => {
            delete s.containers[0].securityContext.allowPrivilegeEscalation;
        },
        /allowPrivilegeEscalation is unset; set it to false/,
    ],
    [
        "allowPrivilegeEscalation true",
        (s) => {
            s.containers[0].securityContext.allowPrivilegeEscalation = true;
        },
        /allowPrivilegeEscalation is true; set it to false/,
    ],
    [
        "capabilities not dropped",
        (s) => {
            delete s.containers[0].securityContext.capabilities;
        },
        /capabilities\.drop does not include "ALL"; set capabilities\.drop: \["ALL"\]/,
    ],
    [
        "a capability added",
        (s) => {
            s.containers[0].securityContext.capabilities.add = ["NET_ADMIN"];
        },
        /capabilities\.add has "NET_ADMIN"/,
    ],
    [
        "privileged",
        (s) => {
            s.containers[0].securityContext.privileged = true;
        },
        /privileged is true; remove it/,
    ],
    [
        "hostNetwork",
        (s) => {
            s.hostNetwork = true;
        },
        /spec\.template\.spec\.hostNetwork is true/,
    ],
    [
        "hostPID",
        (s) => {
            s.hostPID = true;
        },
        /spec\.template\.spec\.hostPID is true/,
    ],
    [
        "hostIPC",
        (s) => {
            s.hostIPC = true;
        },
        /spec\.template\.spec\.hostIPC is true/,
    ],
    [
        "a hostPath volume",
        (s) => {
            s.volumes.push({ name: "host", hostPath: { path: "/var/run" } });
        },
        /spec\.template\.spec\.volumes\[1\] \("host"\) is a hostPath volume/,
    ],
    [
        "an init container that escalates",
        (s) => {
            s.initContainers = [
                { name: "init", image: "busybox", securityContext: { capabilities: { drop: ["ALL"] } } },
            ];
        },
        /initContainers\[0\] \(init\)\.securityContext\.allowPrivilegeEscalation is unset/,
    ],
];

describe("mtls-workloads-restricted", () => {
    it.each(WORKLOAD_KINDS)("accepts a restricted %s that carries material", async (kind) => {
        expect(await messages(mtlsWorkloadsRestricted, workload(kind, mtlsPodSpec()))).toEqual([]);
    });

    it.each(RESTRICTED_BREAKS)("refuses a Deployment carrying material with %s", async (_label, breakIt, expected) => {
        const spec = mtlsPodSpec();
        breakIt(spec);
        const found = await messages(mtlsWorkloadsRestricted, workload("Deployment", spec));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(
            /^Deployment carries mTLS material \(volume "mtls" holds tls\.key from Secret "app-key-5e6f7a8b"\) and must meet Pod Security "restricted": /,
        );
        expect(found[0]).toMatch(expected);
    });

    it("treats a secretKeyRef to tls.key and the certificate annotation as carrying material", async () => {
        const viaEnv = plainPodSpec();
        viaEnv.containers[0].env.push({
            name: "MTLS_KEY",
            valueFrom: { secretKeyRef: { name: "app-key", key: "tls.key" } },
        });
        const byEnv = await messages(mtlsWorkloadsRestricted, workload("Deployment", viaEnv));
        expect(byEnv[0]).toContain(
            '(spec.template.spec.containers[0] (web).env[1] reads tls.key from Secret "app-key")',
        );
        expect(byEnv.length).toBeGreaterThanOrEqual(4);

        const byAnnotation = await messages(
            mtlsWorkloadsRestricted,
            workload("Pod", plainPodSpec(), { "mtls.pulumi.com/cert-sha256": "ab".repeat(32) }),
        );
        expect(byAnnotation[0]).toContain("(the pod template carries the mtls.pulumi.com/cert-sha256 annotation)");
    });

    it("leaves workloads without mTLS material alone", async () => {
        expect(await messages(mtlsWorkloadsRestricted, workload("Deployment", plainPodSpec()))).toEqual([]);
    });

    it("accepts seccomp and non-root set per container instead of on the pod", async () => {
        const spec = mtlsPodSpec();
        spec.securityContext = {};
        spec.containers[0].securityContext.seccompProfile = { type: "RuntimeDefault" };
        expect(await messages(mtlsWorkloadsRestricted, workload("Deployment", spec))).toEqual([]);
    });

    it("does not judge security settings that are unknown during preview", async () => {
        const spec = mtlsPodSpec();
        spec.securityContext.runAsNonRoot = UNKNOWN_STRING;
        delete spec.containers[0].securityContext.runAsNonRoot;
        spec.containers[0].securityContext.capabilities = UNKNOWN_STRING;
        expect(await messages(mtlsWorkloadsRestricted, workload("Deployment", spec))).toEqual([]);
    });
});

const LEAF = "tls:index/locallySignedCert:LocallySignedCert";
const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";

describe("leaf-certificate-max-validity", () => {
    it("refuses a leaf valid for longer than the default 2160 hours", async () => {
        const found = await messages(leafCertificateMaxValidity, {
            type: LEAF,
            props: { isCaCertificate: false, validityPeriodHours: 8760 },
            config: {},
        });
        expect(found).toEqual([
            expect.stringContaining(
                "LocallySignedCert validityPeriodHours is 8760 (365 days) on a leaf certificate; at most 2160 (90 days) is allowed",
            ),
        ]);
        expect(found[0]).toContain("raise maxValidityHours in this policy's config");
    });

    it("refuses a self-signed leaf too, and treats an unset isCaCertificate as a leaf", async () => {
        expect(
            await messages(leafCertificateMaxValidity, { type: SELF_SIGNED, props: { validityPeriodHours: 2161 } }),
        ).toHaveLength(1);
    });

    it("accepts leaves within the limit and CAs of any lifetime", async () => {
        expect(
            await messages(leafCertificateMaxValidity, {
                type: LEAF,
                props: { isCaCertificate: false, validityPeriodHours: 2160 },
            }),
        ).toEqual([]);
        expect(
            await messages(leafCertificateMaxValidity, {
                type: SELF_SIGNED,
                props: { isCaCertificate: true, validityPeriodHours: 43800 },
            }),
        ).toEqual([]);
    });

    it("takes the maximum from the policy config", async () => {
        const config = { maxValidityHours: 720 };
        expect(
            await messages(leafCertificateMaxValidity, { type: LEAF, props: { validityPeriodHours: 2160 }, config }),
        ).toEqual([expect.stringContaining("at most 720 (30 days) is allowed")]);
        expect(
            await messages(leafCertificateMaxValidity, { type: LEAF, props: { validityPeriodHours: 720 }, config }),
        ).toEqual([]);
    });

    it("declares the maximum in its config schema, default 2160", () => {
        expect(leafCertificateMaxValidity.configSchema?.properties.maxValidityHours).toMatchObject({
            type: "integer",
            default: 2160,
        });
    });
});

describe("private-key-strength", () => {
    it("refuses RSA under 2048 bits", async () => {
        expect(
            await messages(privateKeyStrength, { type: PRIVATE_KEY, props: { algorithm: "RSA", rsaBits: 1024 } }),
        ).toEqual([expect.stringContaining("PrivateKey rsaBits is 1024; RSA keys need at least 2048 bits")]);
    });

    it("refuses ECDSA with ecdsaCurve unset, because the provider then makes a P224 key, and P224 itself", async () => {
        expect(await messages(privateKeyStrength, { type: PRIVATE_KEY, props: { algorithm: "ECDSA" } })).toEqual([
            expect.stringContaining(
                'ecdsaCurve is unset, and the tls provider then makes a P224 key, a curve too weak for new keys and refused by most TLS stacks; set ecdsaCurve: "P256"',
            ),
        ]);
        expect(
            await messages(privateKeyStrength, {
                type: PRIVATE_KEY,
                props: { algorithm: "ECDSA", ecdsaCurve: "P224" },
            }),
        ).toEqual([expect.stringContaining("PrivateKey ecdsaCurve is P224")]);
    });

    it("accepts RSA 2048 (the default) and up, ECDSA P256/P384/P521 and Ed25519", async () => {
        for (const props of [
            { algorithm: "RSA" },
            { algorithm: "RSA", rsaBits: 2048 },
            { algorithm: "RSA", rsaBits: 4096 },
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { algorithm: "ECDSA", ecdsaCurve: "P384" },
            { algorithm: "ECDSA", ecdsaCurve: "P521" },
            { algorithm: "ED25519" },
        ]) {
            expect(await messages(privateKeyStrength, { type: PRIVATE_KEY, props }), JSON.stringify(props)).toEqual([]);
        }
    });
});

describe("ca-usages-only-on-ca", () => {
    it("refuses cert_signing or crl_signing on a certificate that is not a CA", async () => {
        const found = await messages(caUsagesOnlyOnCa, {
            type: LEAF,
            props: {
                isCaCertificate: false,
                allowedUses: ["digital_signature", "cert_signing", "crl_signing", "server_auth"],
            },
        });
        expect(found).toEqual([
            expect.stringContaining(
                "LocallySignedCert allowedUses has cert_signing and crl_signing but isCaCertificate is false",
            ),
        ]);
        expect(
            await messages(caUsagesOnlyOnCa, { type: SELF_SIGNED, props: { allowedUses: ["crl_signing"] } }),
        ).toEqual([expect.stringContaining("allowedUses has crl_signing but isCaCertificate is <unset>")]);
    });

    it("accepts them on a CA, and leaf usages on a leaf", async () => {
        expect(
            await messages(caUsagesOnlyOnCa, {
                type: SELF_SIGNED,
                props: { isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"] },
            }),
        ).toEqual([]);
        expect(
            await messages(caUsagesOnlyOnCa, {
                type: LEAF,
                props: { isCaCertificate: false, allowedUses: ["digital_signature", "server_auth", "client_auth"] },
            }),
        ).toEqual([]);
    });
});

const STACK = "pulumi:pulumi:Stack";

describe("no-private-key-in-stack-outputs", () => {
    it("refuses a key at any depth of the outputs, naming its path", async () => {
        const outputs = {
            caCertPem: certificate,
            services: { api: { keyPem: ecKey() } },
            extra: [b64(keys["PRIVATE KEY"])],
        };
        const found = await validateStack(noPrivateKeyInStackOutputs, [
            { type: STACK, name: "project-dev", props: outputs },
        ]);
        expect(found.map((v) => v.message)).toEqual([
            expect.stringContaining("stack output services.api.keyPem holds a private key (EC PRIVATE KEY block)"),
            expect.stringContaining("stack output extra[0] holds a private key (PRIVATE KEY block)"),
        ]);
        expect(found[0].urn).toBe("urn:pulumi:test::policy-test::pulumi:pulumi:Stack::project-dev");
        expectNoKeyIn(found.map((v) => v.message));
    });

    it("accepts certificates and outputs listed in allowedOutputs", async () => {
        const outputs = { caCertPem: certificate, caPrivateKeyPem: ecKey() };
        expect(
            await validateStack(noPrivateKeyInStackOutputs, [
                { type: STACK, name: "s", props: { caCertPem: certificate } },
            ]),
        ).toEqual([]);
        expect(
            await validateStack(noPrivateKeyInStackOutputs, [{ type: STACK, name: "s", props: outputs }], {
                allowedOutputs: ["caPrivateKeyPem"],
            }),
        ).toEqual([]);
    });

    it("looks at the stack's outputs, not at other resources' state", async () => {
        const resources = [
            { type: STACK, name: "s", props: {} },
            { type: PRIVATE_KEY, name: "key", parent: "s", props: { privateKeyPem: ecKey() } },
        ];
        expect(await validateStack(noPrivateKeyInStackOutputs, resources)).toEqual([]);
    });
});

describe("tls-key-secret-mounts", () => {
    const keySecret = {
        type: SECRET,
        name: "app-key",
        props: {
            metadata: { name: "app-key", namespace: "shop" },
            type: "kubernetes.io/tls",
            data: { "tls.key": b64("k"), "tls.crt": b64("c") },
        },
    };
    const wholeSecretPod = () => {
        const spec = plainPodSpec();
        spec.volumes = [{ name: "tls", secret: { secretName: "app-key" } }];
        spec.containers[0].volumeMounts = [{ name: "tls", mountPath: "/tls" }];
        return spec;
    };

    it("refuses a workload that mounts a whole tls.key Secret of the stack writable and unrestricted", async () => {
        const deployment = { ...workload("Deployment", wholeSecretPod()), name: "web" };
        const found = (await validateStack(tlsKeySecretMounts, [keySecret, deployment])).map((v) => v.message);
        expect(found[0]).toBe(
            'Deployment web: spec.template.spec.containers[0] (web).volumeMounts[0] mounts volume "tls", which holds tls.key from Secret "app-key", ' +
                "with readOnly unset; set readOnly: true on this mount so the container cannot write where its key lives.",
        );
        expect(found.slice(1)).toContainEqual(
            expect.stringMatching(
                /^Deployment web carries mTLS material \(volume "tls" holds tls\.key from Secret "app-key"\) and must meet Pod Security "restricted": .*allowPrivilegeEscalation is unset/,
            ),
        );
        // The resource policies cannot see this: the volume names no tls.key item.
        expect(await messages(tlsKeyMountReadOnly, deployment)).toEqual([]);
    });

    it("accepts the same mount read-only in a restricted pod, and Secrets of other namespaces", async () => {
        const spec = mtlsPodSpec();
        spec.volumes = [{ name: "tls", secret: { secretName: "app-key" } }];
        spec.containers[0].volumeMounts = [{ name: "tls", mountPath: "/tls", readOnly: true }];
        expect(
            await validateStack(tlsKeySecretMounts, [keySecret, { ...workload("Deployment", spec), name: "web" }]),
        ).toEqual([]);
        const elsewhere = { ...workload("Deployment", wholeSecretPod()), name: "web" };
        elsewhere.props.metadata.namespace = "other";
        expect(await validateStack(tlsKeySecretMounts, [keySecret, elsewhere])).toEqual([]);
    });

    it("does not repeat what the resource policies already report", async () => {
        const spec = mtlsPodSpec();
        delete spec.containers[0].volumeMounts[0].readOnly;
        const named = {
            ...keySecret,
            props: { ...keySecret.props, metadata: { name: "app-key-5e6f7a8b", namespace: "shop" } },
        };
        expect(
            await validateStack(tlsKeySecretMounts, [named, { ...workload("Deployment", spec), name: "web" }]),
        ).toEqual([]);
        expect(await messages(tlsKeyMountReadOnly, workload("Deployment", spec))).toHaveLength(1);
    });
});

describe("the pack", () => {
    it("has unique names, a description and a mandatory default level for every policy", () => {
        const names = policies.map((p) => p.name);
        expect(new Set(names).size).toBe(names.length);
        expect(names).toEqual([
            "no-private-key-in-configmap",
            "no-private-key-in-annotations",
            "no-private-key-in-env",
            "tls-key-only-in-secrets",
            "tls-key-mount-read-only",
            "mtls-workloads-restricted",
            "leaf-certificate-max-validity",
            "private-key-strength",
            "ca-usages-only-on-ca",
            "no-private-key-in-stack-outputs",
            "tls-key-secret-mounts",
        ]);
        for (const p of policies) {
            expect(p.description.length, p.name).toBeGreaterThan(20);
            expect(p.enforcementLevel, p.name).toBe("mandatory");
        }
    });

    it("reports each resource policy's violations through reportViolation, without throwing on other types", async () => {
        for (const p of policies.filter((q) => "validateResource" in q)) {
            expect(
                await validateResource(p, { type: "random:index/randomId:RandomId", props: { byteLength: 8 } }),
                p.name,
            ).toEqual([]);
        }
    });
});
