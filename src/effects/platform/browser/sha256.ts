import { sha256 as nobleSha256 } from '@noble/hashes/sha256'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils'

/**
 * SHA-256 of bytes or of a string's UTF-8, as lowercase hex: the same digests as Node's, computed
 * synchronously (the Web Crypto API only digests asynchronously, and checkpoint manifests are built
 * in synchronous code).
 */
export const sha256 = (bytes: Uint8Array | string): string => bytesToHex(nobleSha256(typeof bytes === 'string' ? utf8ToBytes(bytes) : bytes))
