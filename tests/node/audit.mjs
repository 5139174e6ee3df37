// The graphql-http package's audit of a GraphQL-over-HTTP server (every MUST and SHOULD of
// the specification it checks), printed as JSON lines: {status, id, name, reason}.
// Usage: node audit.mjs URL [AUTHORIZATION]
import { auditServer } from 'graphql-http';

const [url, authorization] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (authorization) headers.set('authorization', authorization);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
for (const result of results) {
  const line = { status: result.status, id: result.id, name: result.name };
  if (result.status !== 'ok') line.reason = result.reason;
  console.log(JSON.stringify(line));
}
