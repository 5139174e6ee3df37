// The graphql-http package's audit of a GraphQL-over-HTTP server (every MUST and SHOULD of
// the specification it checks), printed as JSON lines: {status, id, name, reason}.
// Usage: node audit.mjs URL [AUTHORIZATION]. A summary goes to stderr; the exit status is 1
// when any check warned or failed.
import { auditServer } from 'graphql-http';

const [url, authorization] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (authorization) headers.set('authorization', authorization);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  const line = { status: result.status, id: result.id, name: result.name };
  if (result.status !== 'ok') line.reason = result.reason;
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  console.log(JSON.stringify(line));
}
console.error(`${results.length} checks: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors`);
process.exitCode = counts.warn || counts.error ? 1 : 0;
