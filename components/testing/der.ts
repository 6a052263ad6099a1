/**
 * Just enough ASN.1 DER to write and read certificates and certificate requests with
 * `node:crypto` alone: no third-party X.509 library at run time.
 * @internal
 */

/** A DER element read back: its tag byte, its content, and the whole element's bytes. */
export interface DerElement {
    tag: number;
    content: Buffer;
    raw: Buffer;
}

function lengthBytes(length: number): Buffer {
    if (length < 0x80) return Buffer.from([length]);
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: tag, length, content. */
export function tlv(tag: number, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, "utf8"));
export const printableString = (text: string): Buffer => tlv(0x13, Buffer.from(text, "ascii"));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** A context-specific tag: `[n]`, constructed (EXPLICIT or a constructed IMPLICIT) or primitive. */
export const contextTag = (n: number, content: Buffer, constructed = true): Buffer =>
    tlv((constructed ? 0xa0 : 0x80) | n, content);

/** A non-negative INTEGER from big-endian bytes or a number. */
export function integer(value: Buffer | number): Buffer {
    const hex = typeof value === "number" ? value.toString(16) : "";
    let bytes = typeof value === "number" ? Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex") : value;
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0 && (bytes[start + 1] & 0x80) === 0) start += 1;
    bytes = bytes.subarray(start);
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return tlv(0x02, bytes);
}

export function objectIdentifier(dotted: string): Buffer {
    const parts = dotted.split(".").map(Number);
    const out: number[] = [parts[0] * 40 + parts[1]];
    for (const part of parts.slice(2)) {
        const chunk: number[] = [part & 0x7f];
        for (let n = Math.floor(part / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
        out.push(...chunk);
    }
    return tlv(0x06, Buffer.from(out));
}

export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
    return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** A named BIT STRING (key usage) from bit positions, trailing zero bits dropped as DER requires. */
export function namedBits(positions: readonly number[]): Buffer {
    if (positions.length === 0) return bitString(Buffer.alloc(0));
    const highest = Math.max(...positions);
    const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
    for (const p of positions) bytes[Math.floor(p / 8)] |= 0x80 >> (p % 8);
    return bitString(bytes, bytes.length * 8 - (highest + 1));
}

/** UTCTime through 2049, GeneralizedTime after, to the second, as RFC 5280 asks. */
export function time(date: Date): Buffer {
    const iso = date
        .toISOString()
        .replace(/\.\d+Z$/, "Z")
        .replace(/[-:T]/g, "");
    const year = date.getUTCFullYear();
    return year >= 1950 && year < 2050
        ? tlv(0x17, Buffer.from(iso.slice(2), "ascii"))
        : tlv(0x18, Buffer.from(iso, "ascii"));
}

/** Reads the element at `offset`. */
export function readElement(buffer: Buffer, offset = 0): DerElement {
    const tag = buffer[offset];
    let length = buffer[offset + 1];
    let header = 2;
    if (length & 0x80) {
        const count = length & 0x7f;
        length = 0;
        for (let i = 0; i < count; i += 1) length = length * 256 + buffer[offset + 2 + i];
        header += count;
    }
    if (tag === undefined || offset + header + length > buffer.length)
        throw new Error("DER: element runs past the end of its data");
    return {
        tag,
        content: buffer.subarray(offset + header, offset + header + length),
        raw: buffer.subarray(offset, offset + header + length),
    };
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): DerElement[] {
    const out: DerElement[] = [];
    for (let offset = 0; offset < content.length; ) {
        const element = readElement(content, offset);
        out.push(element);
        offset += element.raw.length;
    }
    return out;
}

export function readObjectIdentifier(content: Buffer): string {
    const parts = [Math.floor(content[0] / 40), content[0] % 40];
    let value = 0;
    for (const byte of content.subarray(1)) {
        value = value * 128 + (byte & 0x7f);
        if ((byte & 0x80) === 0) {
            parts.push(value);
            value = 0;
        }
    }
    return parts.join(".");
}

/** PEM armour of DER bytes, 64 columns, ending in a newline. */
export function toPem(label: string, der: Buffer): string {
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** DER bytes of the first PEM block with this label. */
export function fromPem(label: string, pem: string): Buffer {
    const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
    if (!match) throw new Error(`no PEM ${label} block`);
    return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}
