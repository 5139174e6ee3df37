// The one function that talks to the service: a typed document in, its typed data out.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

export interface CouponsClient {
  /** e.g. https://coupons.internal/graphql */
  endpoint: string;
  /** A storefront or admin key; leave it out for a development service without keys. */
  apiKey?: string;
}

export interface GraphQLErrorEntry {
  message: string;
  extensions?: { code?: string; requestId?: string; field?: string };
}

/** The request itself failed (bad input, no permission, outage): not a business refusal,
 * which comes back in a payload's `errors` instead. */
export class CouponsRequestError extends Error {
  constructor(readonly errors: readonly GraphQLErrorEntry[]) {
    super(errors.map((error) => error.message).join('; ') || 'no data in the answer');
  }
}

export async function request<TResult, TVariables>(
  client: CouponsClient,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await fetch(client.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json;q=0.9',
      ...(client.apiKey ? { Authorization: `Bearer ${client.apiKey}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  // Every answer is JSON in the GraphQL shape, whatever its status.
  const body = (await response.json()) as { data?: TResult | null; errors?: GraphQLErrorEntry[] };
  if (body.errors?.length || body.data == null) {
    throw new CouponsRequestError(body.errors ?? []);
  }
  return body.data;
}
