/** Bytes <-> base64 with the browser's btoa/atob (the window API moves files as base64 strings). */

export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ''
  // In chunks: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

export const fromBase64 = (b64: string): Uint8Array => {
  const binary = atob(b64)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}
