import { createHash } from 'node:crypto'

/** SHA-256 of bytes or of a string's UTF-8, as lowercase hex (Node's OpenSSL). */
export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')
