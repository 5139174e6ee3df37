// A real Apollo Federation 2 gateway in front of two subgraphs: the coupon service and a
// test's own `orders` subgraph. Prints "ready <url>" once it serves, then runs until killed.
//
// Environment: COUPONS_URL, ORDERS_URL (the subgraphs' /graphql), PORT (0: any free one),
// COUPONS_AUTHORIZATION (sent to the coupon service on every request, as a BFF's gateway
// sends its own key). With COUPONS_SDL and ORDERS_SDL (files), the supergraph is composed
// from them ahead of time, as `rover supergraph compose` would; without them the gateway
// asks each subgraph for its SDL (`_service { sdl }`) and composes at start.
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';

const env = process.env;
const subgraphs = [
  { name: 'coupons', url: env.COUPONS_URL, sdl: env.COUPONS_SDL },
  { name: 'orders', url: env.ORDERS_URL, sdl: env.ORDERS_SDL },
];

class KeyedDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    if (this.url === env.COUPONS_URL && env.COUPONS_AUTHORIZATION) {
      request.http.headers.set('authorization', env.COUPONS_AUTHORIZATION);
    }
  }
}

function composedAheadOfTime() {
  const composed = composeServices(
    subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(readFileSync(sdl, 'utf8')) })),
  );
  if (composed.errors) {
    console.error(composed.errors.map((error) => error.message).join('\n'));
    process.exit(2);
  }
  return composed.supergraphSdl;
}

const gateway = new ApolloGateway({
  ...(env.COUPONS_SDL
    ? { supergraphSdl: composedAheadOfTime() }
    : { supergraphSdl: new IntrospectAndCompose({ subgraphs: subgraphs.map(({ name, url }) => ({ name, url })) }) }),
  buildService: ({ url }) => new KeyedDataSource({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(env.PORT ?? 0) } });
console.log(`ready ${url}`);
