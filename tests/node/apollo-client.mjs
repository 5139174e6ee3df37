// Apollo Client (the web client) sending persisted operations to the service, as an app does.
//
//   node apollo-client.mjs '<json>'
//
// The JSON: { url, key, link, useGET, manifest, steps: [{ document, variables, kind }] }.
// `link` is "apq" (automatic persisted queries: the SHA-256 of each document, the document
// itself when the service asks for it), "manifest" (the ids of a persisted query manifest
// that @apollo/generate-persisted-query-manifest wrote, at `manifest`; nothing else is ever
// sent) or "text" (no persisted queries: the document's text). `useGET` sends hashed queries
// with GET (`useGETForHashedQueries`). Each step runs one document (a .graphql file) as a
// query or a mutation. Prints { results: [{ data } | { error, codes }], sent: [...] }: what
// each step answered, and every HTTP request the client made with the status it got.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';

const config = JSON.parse(process.argv[2]);
const sent = [];

async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const answer = JSON.parse(await response.clone().text());
  sent.push({
    method: init.method ?? 'GET',
    url: String(input),
    body: typeof init.body === 'string' ? JSON.parse(init.body) : null,
    status: response.status,
    codes: (answer.errors ?? []).map((error) => error.extensions?.code),
  });
  return response;
}

const http = new HttpLink({
  uri: config.url,
  fetch: recordingFetch,
  headers: { authorization: `Bearer ${config.key}` },
});

function persistedLink() {
  if (config.link === 'apq') {
    return createPersistedQueryLink({
      sha256: (text) => createHash('sha256').update(text).digest('hex'),
      useGETForHashedQueries: Boolean(config.useGET),
    });
  }
  if (config.link === 'manifest') {
    return createPersistedQueryLink({
      ...generatePersistedQueryIdsFromManifest({
        loadManifest: async () => JSON.parse(readFileSync(config.manifest, 'utf8')),
      }),
      useGETForHashedQueries: Boolean(config.useGET),
    });
  }
  return null;
}

const persisted = persistedLink();
const client = new ApolloClient({
  link: persisted ? ApolloLink.from([persisted, http]) : http,
  cache: new InMemoryCache(),
});

const results = [];
for (const step of config.steps) {
  const document = gql(readFileSync(step.document, 'utf8'));
  try {
    const answer =
      step.kind === 'mutation'
        ? await client.mutate({ mutation: document, variables: step.variables })
        : await client.query({ query: document, variables: step.variables, fetchPolicy: 'network-only' });
    results.push({ data: answer.data });
  } catch (error) {
    const errors = CombinedGraphQLErrors.is(error) ? error.errors : [];
    results.push({
      error: error.constructor.name,
      status: ServerError.is(error) ? error.statusCode : null,
      codes: errors.map((e) => e.extensions?.code),
    });
  }
}
console.log(JSON.stringify({ results, sent }));
