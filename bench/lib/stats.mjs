// Small statistics for repeated measurements: median and the min–max spread.

export function summarize(values) {
    const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return { n: 0, median: null, min: null, max: null, values: [] };
    const mid = Math.floor(v.length / 2);
    const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    return { n: v.length, median, min: v[0], max: v[v.length - 1], values };
}

/**
 * Ratio of two summaries: median / median, with the widest spread the runs allow
 * (smallest numerator over largest denominator, and the reverse).
 */
export function ratio(num, den) {
    if (!num?.n || !den?.n || !den.median || !den.min || !den.max) return null;
    return { median: num.median / den.median, min: num.min / den.max, max: num.max / den.min };
}

export function round(x, digits = 3) {
    if (x === null || x === undefined || !Number.isFinite(x)) return x;
    const f = 10 ** digits;
    return Math.round(x * f) / f;
}

/** "median (min–max)" with the given formatter. */
export function fmtSpread(s, fmt = (x) => x.toFixed(1)) {
    if (!s || s.n === 0 || s.median === null) return "n/a";
    if (s.n === 1) return `${fmt(s.median)} (1 run)`;
    return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}
