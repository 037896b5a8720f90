// Stands in for the whatwg-url package in the task bundles (scripts/build.mjs, plugin
// "node-fetch-url"). Its only importer, node-fetch@2 (under @kubernetes/client-node), reads
// `Url.URL || whatwgUrl.URL`: on Node, url.URL always exists, so whatwg-url and the IDNA table it
// loads (tr46, about 260 KB per bundle) are never used. Node's own WHATWG URL, same API.
export { URL, URLSearchParams } from 'node:url';
