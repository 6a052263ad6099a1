#!/usr/bin/env node
// Turns `pulumi preview --json` into a report of what a change does to certificates,
// fit for a pull-request comment: per certificate and CA the action, why, SANs
// before → after, notAfter, the Deployments that will roll, and the graph of who may
// call whom with the calls the change adds and removes. Never a key: only
// certificate-level fields and the allowlists are read, and any "[secret]" value is left out.
//
//   npm run cert-report -- --stack dev [--format md|json] [--out report.md]
//   npm run cert-report -- --from preview.json
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { argument, pulumiCapture } from "./cli.mjs";
import { specFromEngineConfig } from "./graph.mjs";
import { isoSecond } from "./time.mjs";
import { loadTypeScript } from "./typescript.mjs";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const COMPONENTS = /** @type {typeof import("../components/types.js")} */ (loadTypeScript("components/types.ts"))
    .COMPONENT_TYPES;
const TYPES = {
    serviceCertificate: COMPONENTS.serviceCertificate,
    // One service whole (certificate, material, workload); stacks made before it hold ServiceCertificate.
    mtlsService: COMPONENTS.mtlsService,
    certificateAuthority: COMPONENTS.certificateAuthority,
    key: "tls:index/privateKey:PrivateKey",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    deployment: "kubernetes:apps/v1:Deployment",
    certManagerCertificate: COMPONENTS.certManagerCertificate,
    certificate: "kubernetes:cert-manager.io/v1:Certificate",
};

/** @typedef {import("./cli.mjs").StackOutputs} StackOutputs */
/** @typedef {import("./cli.mjs").CaOutputs} CaOutputs */
/** @typedef {import("../infra/graph.js").PreviousAllowlist} PreviousAllowlist */
/** @typedef {typeof import("../infra/graph.js")} GraphModule */
/**
 * A resource's state in `pulumi preview --json`. Its inputs and outputs are foreign JSON, each
 * provider's own (hence `any`); a value the engine does not know yet is UNKNOWN, a secret "[secret]".
 * @typedef {object} ResourceState
 * @property {string} [urn]
 * @property {string} [type]
 * @property {Record<string, any>} [inputs]
 * @property {Record<string, any>} [outputs]
 */
/**
 * One step of `pulumi preview --json`.
 * @typedef {object} PreviewStep
 * @property {string} op create, update, same, delete, replace, create-replacement, delete-replaced, ...
 * @property {string} [urn]
 * @property {ResourceState} [oldState]
 * @property {ResourceState} [newState]
 * @property {string[]} [diffReasons]
 * @property {string[]} [replaceReasons]
 * @property {Record<string, unknown>} [detailedDiff]
 */
/**
 * The parts of `pulumi preview --json` the report reads.
 * @typedef {object} Preview
 * @property {PreviewStep[]} [steps]
 * @property {Record<string, string>} [config] the stack config as the engine passed it (structured values as JSON)
 * @property {{ severity: string, message: string }[]} [diagnostics]
 */
/**
 * @typedef {object} ParsedUrn
 * @property {string} type the last type of the type chain
 * @property {string} name
 * @property {string[]} parentTypes the types of the parents, outermost first
 */
/** @typedef {ParsedUrn & { step: PreviewStep }} IndexedStep one step per URN, with its URN's parts */
/** @typedef {"absent" | "create" | "update" | "replace" | "delete" | "same"} StepAction */
/**
 * A row of the certificates table.
 * @typedef {object} CertificateRow
 * @property {string} service
 * @property {"cert-manager"} [issuance] set for certificates the cluster issues
 * @property {"new" | "reissued" | "rotated" | "updated" | "deleted" | "unchanged"} action
 * @property {string[]} why
 * @property {string[] | undefined} sansBefore
 * @property {string[] | undefined} sansAfter
 * @property {string | undefined} notAfterBefore
 * @property {string | undefined} notAfterAfter "issued on apply" when the certificate is issued anew
 */
/**
 * A row of the CAs table.
 * @typedef {object} CaRow
 * @property {string} ca the resource name of the generation (`ca`, `ca-g2`, ...)
 * @property {string | undefined} commonName
 * @property {"new" | "rotated" | "deleted" | "unchanged"} action
 * @property {string[]} why
 * @property {string | undefined} notAfterBefore
 */
/**
 * A Deployment the change touches.
 * @typedef {object} DeploymentRow
 * @property {string} deployment the service's name
 * @property {string} action `rolls`, `created` or `deleted`
 */
/**
 * A call the change allows or no longer allows, by node label.
 * @typedef {object} Call
 * @property {string | undefined} from
 * @property {string | undefined} to
 * @property {string} identity what the caller presents
 */
/**
 * Who may call whom after the change, or why the graph could not be drawn.
 * @typedef {{ error: string, mermaid?: undefined }
 *     | { error?: undefined, mermaid: string, added: Call[], removed: Call[] }} GraphSection
 */
/**
 * The report model: what `--format json` prints and renderMarkdown renders.
 * @typedef {object} Report
 * @property {string} summary
 * @property {string} rotationPhase
 * @property {CertificateRow[]} certificates
 * @property {CaRow[]} cas
 * @property {DeploymentRow[]} deployments
 * @property {GraphSection} [graph] only when the preview carries the stack's services config
 */

/**
 * The last `::`-separated parts of a URN: its type (last of the type chain) and name.
 * @param {string} urn
 * @returns {ParsedUrn}
 */
export function parseUrn(urn) {
    const parts = urn.split("::");
    const typeChain = parts[2] ?? "";
    return {
        type: /** @type {string} */ (typeChain.split("$").pop()),
        name: parts.slice(3).join("::"),
        parentTypes: typeChain.split("$").slice(0, -1),
    };
}

const REPLACING = new Set(["replace", "create-replacement", "delete-replaced", "discard-replaced"]);

/**
 * @param {PreviewStep | undefined} step
 * @returns {StepAction}
 */
function stepAction(step) {
    if (!step) return "absent";
    if (REPLACING.has(step.op)) return "replace";
    if (step.op === "create") return "create";
    if (step.op === "delete") return "delete";
    if (step.op === "update") return "update";
    return "same";
}

/**
 * `value`, or undefined when it is absent, not known at preview, or a secret.
 * @template T
 * @param {T} value
 * @returns {T | undefined}
 */
function known(value) {
    if (value === undefined || value === null) return undefined;
    if (value === UNKNOWN || value === "[secret]") return undefined;
    if (Array.isArray(value) && value.some((v) => v === UNKNOWN)) return undefined;
    return value;
}

/**
 * The top-level input keys the engine names as changed.
 * @param {PreviewStep | undefined} step
 * @returns {string[]}
 */
function changedKeys(step) {
    const keys = new Set([
        ...(step?.diffReasons ?? []),
        ...(step?.replaceReasons ?? []),
        ...Object.keys(step?.detailedDiff ?? {}),
    ]);
    return [...keys].map((k) => k.replace(/[[.].*$/, ""));
}

/**
 * Merges the steps for one URN (a replace may show as create-replacement and delete-replaced).
 * @param {Preview} preview
 * @returns {IndexedStep[]}
 */
function indexSteps(preview) {
    /** @type {Map<string, PreviewStep>} */
    const byUrn = new Map();
    for (const step of preview.steps ?? []) {
        const urn = step.urn ?? step.newState?.urn ?? step.oldState?.urn;
        if (!urn) continue;
        const previous = byUrn.get(urn);
        if (!previous || REPLACING.has(step.op)) {
            byUrn.set(urn, {
                ...previous,
                ...step,
                oldState: step.oldState ?? previous?.oldState,
                newState: step.newState ?? previous?.newState,
            });
        }
    }
    return [...byUrn.values()].map((step) => ({
        step,
        ...parseUrn(/** @type {string} */ (step.urn ?? step.newState?.urn ?? step.oldState?.urn)),
    }));
}

/**
 * The SANs a CertRequest state asks for: DNS names, URIs, IP addresses.
 * @param {ResourceState | undefined} state
 * @returns {string[] | undefined}
 */
function sans(state) {
    const inputs = state?.inputs ?? {};
    const dns = known(inputs.dnsNames) ?? [];
    const uris = known(inputs.uris) ?? [];
    const ips = known(inputs.ipAddresses) ?? [];
    return state ? [...dns, ...uris, ...ips] : undefined;
}

/**
 * A key's algorithm in the stack config's words (ECDSA-P256, RSA-2048, ED25519), from tls.PrivateKey inputs.
 * @param {any} inputs the state's inputs: foreign JSON, the tls provider's, or undefined
 * @returns {string | undefined}
 */
function keyAlgorithm(inputs) {
    const algorithm = known(inputs?.algorithm);
    if (algorithm === "ECDSA") return known(inputs.ecdsaCurve) ? `ECDSA-${inputs.ecdsaCurve}` : undefined;
    if (algorithm === "RSA") return known(inputs.rsaBits) ? `RSA-${inputs.rsaBits}` : undefined;
    return algorithm;
}

/**
 * A leaf's usage in the stack config's words, from its extended key usages.
 * @param {unknown} allowedUses
 * @returns {"both" | "server" | "client" | "none" | undefined}
 */
function usage(allowedUses) {
    const uses = known(allowedUses);
    if (!Array.isArray(uses)) return undefined;
    const server = uses.includes("server_auth");
    const client = uses.includes("client_auth");
    return server && client ? "both" : server ? "server" : client ? "client" : "none";
}

/**
 * "was → is" when both sides are known and differ; `true` when they are not known but the
 * engine names the field as changed; undefined when it did not change.
 * @param {unknown} before
 * @param {unknown} after
 * @param {boolean} engineSaysChanged
 * @returns {string | true | undefined}
 */
function compare(before, after, engineSaysChanged) {
    if (before !== undefined && after !== undefined) return before === after ? undefined : `${before} → ${after}`;
    return engineSaysChanged ? true : undefined;
}

/**
 * Every reason a service certificate is reissued, each with its before → after when the
 * states show it. The states are compared, not only the engine's diff: when the request
 * is replaced the engine may list only the certificate's request as changed, and the
 * other changes (validity, usage) would go unmentioned.
 * @param {{ key?: PreviewStep, csr?: PreviewStep, cert?: PreviewStep }} steps the service's key, CSR and certificate
 * @param {string} phase the CA rotation phase
 * @returns {string[]}
 */
export function certificateChanges({ key, csr, cert }, phase) {
    /** @type {string[]} */
    const reasons = [];
    const csrKeys = changedKeys(csr);
    const certKeys = changedKeys(cert);
    const keyKeys = changedKeys(key);

    // A list the engine does not know yet at preview would read as every SAN removed.
    /** @param {ResourceState | undefined} state */
    const settled = (state) =>
        state &&
        ["dnsNames", "uris", "ipAddresses"].every(
            (k) => state.inputs?.[k] === undefined || known(state.inputs[k]) !== undefined,
        );
    const sansBefore = settled(csr?.oldState) ? sans(csr?.oldState) : undefined;
    const sansAfter = settled(csr?.newState) ? sans(csr?.newState) : undefined;
    const sanKeyChanged = csrKeys.some((k) => ["dnsNames", "uris", "ipAddresses"].includes(k));
    if (sansBefore && sansAfter && (sanKeyChanged || JSON.stringify(sansBefore) !== JSON.stringify(sansAfter))) {
        const added = sansAfter.some((n) => !sansBefore.includes(n));
        const removed = sansBefore.some((n) => !sansAfter.includes(n));
        reasons.push(
            added && removed
                ? "SANs added and removed"
                : added
                  ? "SAN added"
                  : removed
                    ? "SAN removed"
                    : "SANs reordered",
        );
    } else if (sanKeyChanged) reasons.push("SAN change");

    const cn = compare(
        known(csr?.oldState?.inputs?.subject?.commonName),
        known(csr?.newState?.inputs?.subject?.commonName),
        csrKeys.includes("subject"),
    );
    if (cn) reasons.push(cn === true ? "subject change" : `subject CN ${cn}`);

    const algorithm = compare(
        keyAlgorithm(key?.oldState?.inputs),
        keyAlgorithm(key?.newState?.inputs),
        keyKeys.some((k) => ["algorithm", "ecdsaCurve", "rsaBits"].includes(k)),
    );
    if (algorithm) reasons.push(algorithm === true ? "key algorithm" : `key algorithm ${algorithm}`);

    const validity = compare(
        known(cert?.oldState?.inputs?.validityPeriodHours),
        known(cert?.newState?.inputs?.validityPeriodHours),
        certKeys.includes("validityPeriodHours"),
    );
    if (validity) reasons.push(validity === true ? "validity" : `validity ${validity} h`);

    const uses = compare(
        usage(cert?.oldState?.inputs?.allowedUses),
        usage(cert?.newState?.inputs?.allowedUses),
        certKeys.includes("allowedUses"),
    );
    if (uses) reasons.push(uses === true ? "usage" : `usage ${uses}`);

    const caBefore = known(cert?.oldState?.inputs?.caCertPem);
    const caAfter = known(cert?.newState?.inputs?.caCertPem);
    if (
        certKeys.some((k) => k === "caCertPem" || k === "caPrivateKeyPem") ||
        (caBefore && caAfter && caBefore !== caAfter)
    )
        reasons.push(`CA rotation (phase ${phase})`);
    return reasons;
}

/**
 * A cert-manager privateKey in the stack config's words.
 * @param {{ algorithm?: string, size?: number } | undefined} key
 * @returns {string | undefined}
 */
function certManagerKey(key) {
    if (!key) return undefined;
    if (key.algorithm === "Ed25519") return "ED25519";
    if (key.algorithm === "ECDSA") return `ECDSA-P${key.size}`;
    return `${key.algorithm}-${key.size}`;
}

/** @param {unknown} duration a Go duration in whole hours (`720h`) */
const hoursOf = (duration) => (typeof duration === "string" ? duration.replace(/h$/, "") : undefined);

/**
 * What changes in a cert-manager Certificate's spec, each with before → after. cert-manager
 * acts on it in the cluster after `pulumi up`: a new identity, key or issuer is reissued at
 * once; a new duration or renewBefore applies from the next issue.
 */
/**
 * @typedef {object} CertManagerSpec the fields of a Certificate's spec the report compares (foreign JSON)
 * @property {string} [commonName]
 * @property {string[]} [dnsNames]
 * @property {string[]} [uris]
 * @property {string[]} [ipAddresses]
 * @property {{ algorithm?: string, size?: number }} [privateKey]
 * @property {string} [duration]
 * @property {string} [renewBefore]
 * @property {string[]} [usages]
 * @property {{ kind?: string, name?: string }} [issuerRef]
 * @property {string} [secretName]
 */
/**
 * @param {PreviewStep | undefined} step
 * @param {string} phase
 * @returns {string[]}
 */
export function certificateSpecChanges(step, phase) {
    /** @type {CertManagerSpec | undefined} */
    const before = known(step?.oldState?.inputs?.spec);
    /** @type {CertManagerSpec | undefined} */
    const after = known(step?.newState?.inputs?.spec);
    if (!before || !after) return changedKeys(step).includes("spec") ? ["Certificate spec"] : [];
    /** @type {string[]} */
    const reasons = [];
    /** @param {unknown} a @param {unknown} b */
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    /** @param {CertManagerSpec} spec */
    const sansOf = (spec) => [...(spec.dnsNames ?? []), ...(spec.uris ?? []), ...(spec.ipAddresses ?? [])];
    const sansBefore = sansOf(before);
    const sansAfter = sansOf(after);
    if (!same(sansBefore, sansAfter)) {
        const added = sansAfter.some((n) => !sansBefore.includes(n));
        const removed = sansBefore.some((n) => !sansAfter.includes(n));
        reasons.push(
            added && removed
                ? "SANs added and removed"
                : added
                  ? "SAN added"
                  : removed
                    ? "SAN removed"
                    : "SANs reordered",
        );
    }
    /** @param {string} label @param {unknown} a @param {unknown} b */
    const field = (label, a, b, unit = "") => {
        if (a !== undefined && b !== undefined && !same(a, b)) reasons.push(`${label} ${a}${unit} → ${b}${unit}`);
    };
    field("subject CN", before.commonName, after.commonName);
    field("key algorithm", certManagerKey(before.privateKey), certManagerKey(after.privateKey));
    field("duration", hoursOf(before.duration), hoursOf(after.duration), " h");
    field("renewBefore", hoursOf(before.renewBefore), hoursOf(after.renewBefore), " h");
    if (!same(before.usages, after.usages))
        reasons.push(`usages ${(before.usages ?? []).join(", ")} → ${(after.usages ?? []).join(", ")}`);
    if (!same(before.issuerRef, after.issuerRef))
        reasons.push(
            `new issuer ${after.issuerRef?.kind ?? ""} ${after.issuerRef?.name ?? ""}`.trim() +
                (phase === "steady" ? "" : ` (CA rotation, phase ${phase})`),
        );
    if (before.secretName !== after.secretName) reasons.push(`secretName ${before.secretName} → ${after.secretName}`);
    return reasons;
}

/**
 * A cert-manager service's row: the Certificate's spec, not a key or a date, is what the stack holds.
 * @param {string} name
 * @param {PreviewStep | undefined} step
 * @param {import("./cli.mjs").ServiceOutputs | undefined} outputs
 * @param {string} phase
 * @returns {CertificateRow}
 */
function certManagerRow(name, step, outputs, phase) {
    const action = stepAction(step);
    const spec = known(step?.newState?.inputs?.spec) ?? known(step?.oldState?.inputs?.spec);
    const renewBefore = hoursOf(spec?.renewBefore) ?? outputs?.renewBeforeHours;
    const inClusterText = `issued in cluster: renews ${renewBefore} h before its end`;
    /** @param {CertManagerSpec | undefined} s */
    const sansOf = (s) => (s ? [...(s.dnsNames ?? []), ...(s.uris ?? []), ...(s.ipAddresses ?? [])] : undefined);
    /** @type {CertificateRow["action"]} */
    let rowAction = "unchanged";
    /** @type {string[]} */
    const why = [];
    if (action === "delete") {
        rowAction = "deleted";
        why.push("service removed");
    } else if (action === "create" && !step?.oldState && !outputs) {
        rowAction = "new";
        why.push("new service, issued by cert-manager");
    } else if (action === "create" && !step?.oldState) {
        rowAction = "reissued";
        why.push("issuance pulumi → cert-manager");
    } else if (action !== "same" && action !== "absent") {
        why.push(...certificateSpecChanges(step, phase));
        rowAction = why.some((w) => !/^(duration|renewBefore) /.test(w)) ? "reissued" : "updated";
        if (why.length === 0) why.push("Certificate spec");
    }
    const sansBefore =
        rowAction === "new"
            ? undefined
            : (sansOf(known(step?.oldState?.inputs?.spec)) ??
              (outputs ? [...(outputs.dnsNames ?? []), ...(outputs.uris ?? [])] : undefined));
    const sansAfter = rowAction === "deleted" ? undefined : (sansOf(known(step?.newState?.inputs?.spec)) ?? sansBefore);
    return {
        service: name,
        issuance: "cert-manager",
        action: rowAction,
        why,
        sansBefore,
        sansAfter,
        notAfterBefore: rowAction === "new" ? undefined : inClusterText,
        notAfterAfter: rowAction === "deleted" ? undefined : inClusterText,
    };
}

/**
 * Resource name of a CA generation, as the program names it.
 * @param {string} generationKey
 * @returns {string}
 */
function caName(generationKey) {
    const n = Number(String(generationKey).replace(/^generation-/, ""));
    return n === 1 ? "ca" : `ca-g${n}`;
}

const ALLOWLIST_ENV = { commonNames: "MTLS_ALLOWED_CLIENTS", spiffeIds: "MTLS_ALLOWED_SPIFFE_IDS" };

/**
 * A Deployment state's allowlists, from its container's environment.
 * @param {ResourceState | undefined} state
 * @returns {PreviousAllowlist}
 */
function allowlists(state) {
    /** @type {{ name: string, value?: unknown }[]} */
    const env = state?.inputs?.spec?.template?.spec?.containers?.[0]?.env ?? [];
    /** @param {string} name */
    const list = (name) =>
        String(known(env.find((e) => e.name === name)?.value) ?? "")
            .split(",")
            .filter(Boolean);
    return { commonNames: list(ALLOWLIST_ENV.commonNames), spiffeIds: list(ALLOWLIST_ENV.spiffeIds) };
}

/**
 * Who may call whom after the change, with the calls it adds and removes. The graph comes
 * from the stack config the preview ran with (so it is complete, changing or not); what
 * the services admitted before comes from the allowlists in the previous state of each
 * Deployment the preview touches: a Deployment it does not list keeps its allowlists.
 * @param {Preview} preview
 * @param {IndexedStep[]} steps
 * @returns {GraphSection | undefined}
 */
function callGraphSection(preview, steps) {
    const config = preview.config ?? {};
    if (config["mtls:services"] === undefined) return undefined;
    const stackUrn = steps.find((s) => s.type === "pulumi:pulumi:Stack")?.step.urn ?? "";
    const [stack = "stack", project = "project"] = stackUrn.replace(/^urn:pulumi:/, "").split("::");
    let spec;
    try {
        spec = specFromEngineConfig(config, { project, stack });
    } catch (err) {
        return { error: /** @type {Error} */ (err).message };
    }
    const { callGraph, compareCallGraph, renderMermaid } = /** @type {GraphModule} */ (
        loadTypeScript("infra/graph.ts")
    );
    /** @type {Record<string, PreviousAllowlist>} */
    const previous = {};
    for (const s of steps) {
        if (s.type !== TYPES.deployment || stepAction(s.step) === "same") continue;
        previous[s.name.replace(/-deployment$/, "")] = s.step.oldState
            ? allowlists(s.step.oldState)
            : { commonNames: [], spiffeIds: [] };
    }
    const graph = compareCallGraph(callGraph(spec), previous, spec);
    const nodeName = new Map(
        graph.nodes.map((n) => [
            n.id,
            n.kind === "service" || n.label.length < 2 ? n.label[0] : `${n.label[0]} (${n.label[1]})`,
        ]),
    );
    /** @param {import("../infra/graph.js").GraphChange} change */
    const calls = (change) =>
        graph.edges
            .filter((e) => e.change === change)
            .map((e) => ({ from: nodeName.get(e.from), to: nodeName.get(e.to), identity: e.label }));
    return { mermaid: renderMermaid(graph), added: calls("added"), removed: calls("removed") };
}

/**
 * Why the stack's renewal schedule issues a certificate anew in this preview: its entry's reason,
 * when the entry's issue time moves; undefined otherwise.
 * @param {any} schedule the schedule's step, if the preview lists it
 * @param {string} name
 * @returns {string | undefined}
 */
function scheduledReason(schedule, name) {
    const after = schedule?.newState?.inputs?.certificates?.[name];
    const before = schedule?.oldState?.inputs?.certificates?.[name];
    if (!after || known(after.issuedAt) === known(before?.issuedAt)) return undefined;
    return known(after.reason);
}

/**
 * Builds the report model from a preview's JSON. The engine lists only the
 * resources that change (plus the stack itself), so the full set of
 * certificates and CAs comes from the stack's current outputs.
 * @param {Preview} preview
 * @returns {Report}
 */
export function buildReport(preview) {
    const steps = indexSteps(preview);
    /**
     * @param {string} type
     * @param {string} name
     */
    const find = (type, name) => steps.find((s) => s.type === type && s.name === name)?.step;
    const stack = steps.find((s) => s.type === "pulumi:pulumi:Stack")?.step;
    const current = /** @type {StackOutputs} */ (stack?.oldState?.outputs ?? {});
    const ledger = steps.find((s) => s.name === "ca-rotation" && s.type.endsWith("RotationLedger"))?.step;
    const phase = known(ledger?.newState?.inputs?.phase) ?? known(current.rotation?.phase) ?? "steady";
    const rotationChanged = Boolean(ledger && stepAction(ledger) !== "same");

    const schedule = steps.find((s) => s.type.endsWith("RenewalSchedule"))?.step;
    const serviceNames = new Set(Object.keys(current.services ?? {}));
    for (const s of steps) {
        const serviceParent =
            s.parentTypes.includes(TYPES.serviceCertificate) || s.parentTypes.includes(TYPES.mtlsService);
        if (s.type === TYPES.signed && serviceParent) serviceNames.add(s.name.replace(/-cert$/, ""));
        if (s.type === TYPES.serviceCertificate || s.type === TYPES.mtlsService) serviceNames.add(s.name);
        if (s.type === TYPES.certManagerCertificate) serviceNames.add(s.name);
        if (s.type === TYPES.certificate && s.parentTypes.includes(TYPES.certManagerCertificate))
            serviceNames.add(s.name.replace(/-certificate$/, ""));
    }
    const certificates = [...serviceNames].sort().map((name) => {
        const outputs = current.services?.[name];
        const issued = find(TYPES.certificate, `${name}-certificate`);
        const pulumiSteps = [`${name}-cert`, `${name}-key`].some((n) =>
            steps.some((s) => s.name === n && s.type.startsWith("tls:")),
        );
        if (
            issued
                ? !(pulumiSteps && stepAction(issued) === "delete")
                : outputs?.issuance === "cert-manager" && !pulumiSteps
        ) {
            return certManagerRow(name, issued, outputs, phase);
        }
        const key = find(TYPES.key, `${name}-key`);
        const csr = find(TYPES.csr, `${name}-csr`);
        const cert = find(TYPES.signed, `${name}-cert`);
        const clock = steps.find((s) => s.name === `${name}-renewal` && s.type.endsWith("RenewalClock"))?.step;
        const certAction = stepAction(cert);
        const keyAction = stepAction(key);
        /** @type {CertificateRow["action"]} */
        let action;
        if (certAction === "delete") action = "deleted";
        else if (certAction === "create" && !cert?.oldState && !outputs) action = "new";
        else if (certAction === "replace" || certAction === "create")
            action = keyAction === "replace" ? "rotated" : "reissued";
        else action = "unchanged";

        /** @type {string[]} */
        const why = [];
        if (action === "new") why.push("new service");
        if (action === "deleted") why.push("service removed");
        if (action === "reissued" || action === "rotated") {
            if (outputs?.issuance === "cert-manager") why.push("issuance cert-manager → pulumi");
            why.push(...certificateChanges({ key, csr, cert }, phase));
            const reason = clock ? known(clock.newState?.inputs?.reason) : scheduledReason(schedule, name);
            const moved = clock ? stepAction(clock) !== "same" : Boolean(schedule && stepAction(schedule) !== "same");
            if (moved && reason && reason !== "first issue") why.push(`renew window: ${reason}`);
            if (why.length === 0) why.push("inputs changed");
        }
        const currentSans = outputs ? [...(outputs.dnsNames ?? []), ...(outputs.uris ?? [])] : undefined;
        const before = action === "new" ? undefined : csr?.oldState ? sans(csr.oldState) : currentSans;
        const after = action === "deleted" ? undefined : csr?.newState ? sans(csr.newState) : before;
        const notAfterBefore = isoSecond(known(cert?.oldState?.outputs?.validityEndTime) ?? outputs?.notAfter);
        return {
            service: name,
            action,
            why,
            sansBefore: before,
            sansAfter: after,
            notAfterBefore,
            notAfterAfter:
                action === "unchanged" ? notAfterBefore : action === "deleted" ? undefined : "issued on apply",
        };
    });

    /** @type {Map<string, CaOutputs | undefined>} */
    const caNames = new Map(Object.entries(current.cas ?? {}).map(([generation, ca]) => [caName(generation), ca]));
    for (const s of steps) {
        if (s.type === TYPES.selfSigned && s.parentTypes.includes(TYPES.certificateAuthority))
            caNames.set(s.name.replace(/-root$/, ""), caNames.get(s.name.replace(/-root$/, "")));
    }
    const cas = [...caNames.entries()]
        .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
        .map(([name, outputs]) => {
            const root = find(TYPES.selfSigned, `${name}-root`);
            const rootAction = stepAction(root);
            /** @type {CaRow["action"]} */
            let action = "unchanged";
            if (rootAction === "delete") action = "deleted";
            else if (rootAction === "create" && !root?.oldState && !outputs) action = "new";
            else if (rootAction === "replace" || rootAction === "create") action = "rotated";
            /** @type {string[]} */
            const why = [];
            if (rotationChanged && action !== "unchanged") why.push(`CA rotation (phase ${phase})`);
            if (action === "rotated" && why.length === 0) why.push(changedKeys(root).join(", ") || "inputs changed");
            return {
                ca: name,
                commonName:
                    known(root?.newState?.inputs?.subject?.commonName) ??
                    known(root?.oldState?.inputs?.subject?.commonName) ??
                    outputs?.commonName,
                action,
                why,
                notAfterBefore: isoSecond(known(root?.oldState?.outputs?.validityEndTime) ?? outputs?.notAfter),
            };
        });

    const rolling = steps
        .filter(
            (s) =>
                s.type === TYPES.deployment && ["update", "replace", "create", "delete"].includes(stepAction(s.step)),
        )
        .map((s) => ({
            deployment: s.name.replace(/-deployment$/, ""),
            action:
                /** @type {Partial<Record<StepAction, string>>} */ ({ create: "created", delete: "deleted" })[
                    stepAction(s.step)
                ] ?? "rolls",
        }));

    const graph = callGraphSection(preview, steps);
    /**
     * @param {{ action: string }[]} items
     * @param {string} action
     */
    const count = (items, action) => items.filter((x) => x.action === action).length;
    /**
     * @param {{ action: string }[]} items
     * @param {string[]} actions
     */
    const parts = (items, actions) =>
        actions
            .map((a) => /** @type {[string, number]} */ ([a, count(items, a)]))
            .filter(([, n]) => n > 0)
            .map(([a, n]) => `${n} ${a}`);
    const summary = [
        `Certificates: ${parts(certificates, ["new", "reissued", "rotated", "deleted", "unchanged"]).join(", ") || "none"}`,
        `CAs: ${parts(cas, ["new", "rotated", "deleted", "unchanged"]).join(", ") || "none"}`,
        `Deployments rolling: ${
            rolling
                .filter((r) => r.action === "rolls")
                .map((r) => r.deployment)
                .join(", ") || "none"
        }`,
        ...(graph?.mermaid
            ? [
                  `Calls: ${[graph.added.length && `${graph.added.length} added`, graph.removed.length && `${graph.removed.length} removed`].filter(Boolean).join(", ") || "unchanged"}`,
              ]
            : []),
    ].join(" · ");
    return { summary, rotationPhase: phase, certificates, cas, deployments: rolling, ...(graph ? { graph } : {}) };
}

/** @param {string[] | undefined} values */
const list = (values) => (values?.length ? values.join(", ") : "—");

/**
 * The call graph for the comment: the diagram, then the changed calls as text for readers that do not render Mermaid.
 * @param {GraphSection} graph
 * @returns {string[]}
 */
function graphMarkdown(graph) {
    if (graph.error !== undefined)
        return ["#### Who may call whom", "", `The graph could not be drawn: ${graph.error.split("\n").join(" ")}`];
    /** @param {Call} c */
    const call = (c) => `${c.from} → ${c.to} as \`${c.identity}\``;
    return [
        "#### Who may call whom",
        "",
        "```mermaid",
        graph.mermaid.trimEnd(),
        "```",
        "",
        `Calls added: ${list(graph.added.map(call))}`,
        `Calls removed: ${list(graph.removed.map(call))}`,
    ];
}

/**
 * Markdown for a pull-request comment.
 * @param {Report} report
 * @param {string} [title]
 * @returns {string}
 */
export function renderMarkdown(report, title = "Certificate changes") {
    const lines = [`### ${title}`, "", `**${report.summary}**`, ""];
    lines.push("| service | action | why | SANs before → after | notAfter |", "|---|---|---|---|---|");
    for (const c of report.certificates) {
        let sanText = list(c.sansAfter ?? c.sansBefore);
        if (c.sansBefore && c.sansAfter && JSON.stringify(c.sansBefore) !== JSON.stringify(c.sansAfter)) {
            const added = c.sansAfter.filter((n) => !(/** @type {string[]} */ (c.sansBefore).includes(n)));
            const removed = c.sansBefore.filter((n) => !(/** @type {string[]} */ (c.sansAfter).includes(n)));
            sanText =
                [added.length ? `added ${added.join(", ")}` : "", removed.length ? `removed ${removed.join(", ")}` : ""]
                    .filter(Boolean)
                    .join("; ") || "reordered";
        }
        const notAfter =
            c.action === "unchanged"
                ? (c.notAfterBefore ?? "—")
                : `${c.notAfterBefore ?? "—"} → ${c.notAfterAfter ?? "—"}`;
        lines.push(`| ${c.service} | ${c.action} | ${c.why.join("; ") || "—"} | ${sanText} | ${notAfter} |`);
    }
    lines.push("", "| CA | action | why | notAfter |", "|---|---|---|---|");
    for (const ca of report.cas)
        lines.push(
            `| ${ca.ca}${ca.commonName ? ` (${ca.commonName})` : ""} | ${ca.action} | ${ca.why.join("; ") || "—"} | ${ca.notAfterBefore ?? "—"} |`,
        );
    lines.push("", `Rotation phase: ${report.rotationPhase}`);
    lines.push(
        `Deployments that roll: ${list(report.deployments.filter((d) => d.action === "rolls").map((d) => d.deployment))}`,
    );
    if (report.graph) lines.push("", ...graphMarkdown(report.graph));
    return `${lines.join("\n")}\n`;
}

/**
 * Runs `pulumi preview --json` for a stack through the project's wrapper and returns the parsed JSON.
 * @param {string} stack
 * @param {string[]} [extra] more flags for `pulumi preview`
 * @returns {Preview} foreign JSON, the engine's
 */
export function previewJson(stack, extra = []) {
    const result = pulumiCapture(["preview", "--json", "--non-interactive", "--stack", stack, ...extra]);
    /** @type {Preview} */
    let parsed;
    try {
        parsed = JSON.parse(result.stdout);
    } catch {
        throw new Error(`pulumi preview --json failed for stack ${stack}:\n${result.stderr || result.stdout}`);
    }
    if (result.status !== 0) {
        const messages = (parsed.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => d.message.trim());
        throw new Error(`pulumi preview failed for stack ${stack}:\n${messages.join("\n") || result.stderr}`);
    }
    return parsed;
}

/**
 * @param {string[]} args
 * @returns {number} the exit code
 */
function main(args) {
    /** @type {Preview} */
    let preview;
    try {
        const from = argument(args, "--from");
        const stack = argument(args, "--stack");
        if (!from && !stack)
            throw new Error("give --stack <name> (runs pulumi preview --json) or --from <preview.json>");
        preview = from ? JSON.parse(fs.readFileSync(from, "utf8")) : previewJson(/** @type {string} */ (stack));
    } catch (err) {
        console.error(`cert-report: ${/** @type {Error} */ (err).message}`);
        return 2;
    }
    const report = buildReport(preview);
    const format = argument(args, "--format") ?? "md";
    const text =
        format === "json"
            ? `${JSON.stringify(report, null, 2)}\n`
            : renderMarkdown(
                  report,
                  `Certificate changes${argument(args, "--stack") ? ` — ${argument(args, "--stack")}` : ""}`,
              );
    const out = argument(args, "--out");
    if (out) fs.writeFileSync(out, text);
    else process.stdout.write(text);
    return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    process.exitCode = main(process.argv.slice(2));
}
