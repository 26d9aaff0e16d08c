/** The part of workerd's `cloudflare:workers` module the tests use. */
declare module 'cloudflare:workers' {
  export const exports: { default: { fetch(request: Request): Promise<Response> } };
}
