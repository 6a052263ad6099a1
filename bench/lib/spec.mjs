// The generated stack of N services used by the construction and issuance benchmarks.

export function serviceName(i) {
    return `svc-${String(i).padStart(4, "0")}`;
}

/**
 * Raw `mtls:*` config (without the prefix) for N services: each serves on 8443 and
 * is a client too (usage both, the default), files delivery, and allows the previous
 * service to call it. Key algorithms are the project's defaults (ECDSA-P256).
 */
export function benchRawConfig(n, renderDirectory) {
    const services = [];
    for (let i = 1; i <= n; i++) {
        services.push({
            name: serviceName(i),
            image: `example/${serviceName(i)}:1.0`,
            port: 8443,
            ...(i > 1 ? { allowFrom: [serviceName(i - 1)] } : {}),
        });
    }
    return {
        namespace: "bench",
        trustDomain: "bench.internal",
        services,
        kubernetes: { renderDirectory },
    };
}

/** The same config as a stack file holds it (`mtls:` keys). */
export function benchStackConfig(n, renderDirectory) {
    return Object.fromEntries(Object.entries(benchRawConfig(n, renderDirectory)).map(([k, v]) => [`mtls:${k}`, v]));
}
