import type { CodegenConfig } from '@graphql-codegen/cli';

// The schema: the SDL the service prints (`coupons export-schema > schema.graphql`), or a running
// service's introspection when COUPONS_GRAPHQL_URL is set. In production only an admin key may
// introspect: set COUPONS_ADMIN_KEY and it travels as `Authorization: Bearer <key>`.
const url = process.env.COUPONS_GRAPHQL_URL;
const key = process.env.COUPONS_ADMIN_KEY;
const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};

const config: CodegenConfig = {
  schema: url ? [{ [url]: { headers } }] : 'schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // `getFragmentData`, not the default `useFragment`: it is no React hook.
        fragmentMasking: { unmaskFunctionName: 'getFragmentData' },
      },
      config: {
        scalars: {
          // Money and moments travel as strings: a JS number would round money, and a string
          // keeps the service's exact text (parse a DateTime with `new Date(...)` to show it).
          Decimal: 'string',
          DateTime: 'string',
          JSON: 'unknown', // Event.data
          // Apollo Federation's, for gateways: introspection shows them, schema.graphql does not.
          _Any: 'unknown',
          _FieldSet: 'string',
          link__Import: 'string',
        },
        strictScalars: true, // a new scalar in the schema fails codegen instead of becoming `any`
        enumsAsTypes: true, // string unions: no runtime enum objects, exhaustive `switch`es
        useTypeImports: true,
      },
    },
  },
};

export default config;
