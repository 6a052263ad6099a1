// The one time format of the scripts' output: ISO 8601 in UTC to the second,
// e.g. 2026-12-02T09:30:00Z. The inputs come in several: the tls provider writes
// nanoseconds (2026-12-23T07:14:22.018343376Z), the program's outputs milliseconds
// (2026-12-23T07:14:22.000Z). X.509 validity has whole seconds, so nothing is lost.

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * `value` as ISO 8601 UTC to the second (fractions cut, as X.509 does); anything that is not an
 * ISO 8601 time is returned as it is.
 * @template T
 * @param {T} value
 * @returns {T | string}
 */
export function isoSecond(value) {
    if (typeof value !== "string" || !ISO_8601.test(value)) return value;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return value;
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}
