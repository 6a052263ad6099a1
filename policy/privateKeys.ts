/**
 * Finding private keys in text without ever repeating them: every function here answers with
 * the kind of PEM block it saw ("EC PRIVATE KEY"), never with its content.
 */

// PKCS#8 (PRIVATE KEY, ENCRYPTED PRIVATE KEY), PKCS#1 (RSA), SEC 1 (EC), DSA, OpenSSH and PGP blocks.
const PEM_PRIVATE_KEY = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----/;

// Runs long enough to hold an encoded PEM header; shorter ones cannot.
const BASE64_RUN = /[A-Za-z0-9+/_-]{24,}={0,2}/g;

/** Nesting depth of base64 encodings that is still unwrapped (a key base64-encoded twice is found). */
const MAX_ENCODING_DEPTH = 2;

/**
 * The kind of private-key block `text` holds, either as PEM or base64-encoded PEM (as in a
 * ConfigMap's `binaryData` or a Secret's `data`), or undefined when it holds none.
 */
export function privateKeyKind(text: string, depth = 0): string | undefined {
    const pem = PEM_PRIVATE_KEY.exec(text);
    if (pem) return pem[1];
    if (depth >= MAX_ENCODING_DEPTH) return undefined;
    // Line-wrapped base64 is still base64: look at the text with its whitespace taken out.
    const compact = text.replace(/\s+/g, "");
    for (const run of compact.match(BASE64_RUN) ?? []) {
        // The encoded key may sit after other base64-looking characters: try each 4-character alignment.
        for (let offset = 0; offset < 4; offset++) {
            const kind = privateKeyKind(decodeBase64(run.slice(offset)), depth + 1);
            if (kind) return kind;
        }
    }
    return undefined;
}

/** Whether `text` holds a private key in any form `privateKeyKind` recognises. */
export function holdsPrivateKey(text: string): boolean {
    return privateKeyKind(text) !== undefined;
}

function decodeBase64(run: string): string {
    const standard = run.replace(/-/g, "+").replace(/_/g, "/");
    return Buffer.from(standard, "base64").toString("latin1");
}
