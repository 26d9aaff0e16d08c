/** One file of the chat page as the server sends it: built by `scripts/build-ui.ts`. */
export interface ChatAsset {
  /** Where it is served; the script, style and icon paths carry `hash`, so they never change. */
  path: string;
  contentType: string;
  /** The first 16 hex digits of the SHA-256 of `body`: the ETag, and part of asset paths. */
  hash: string;
  body: string;
}
