// graphql-codegen's client preset with persisted documents, as a frontend build runs it:
// writes `persisted-documents.json` ({"<hash>": "<document>"}) and the typed documents.
//
//   node codegen-persisted-documents.mjs <schema.graphql> <documents glob> <output dir>
//
// The preset's defaults otherwise (ids are the SHA-1 of each document, its own default).
import { generate } from '@graphql-codegen/cli';

const [schema, documents, output] = process.argv.slice(2);
await generate(
  {
    schema,
    documents,
    silent: true,
    generates: { [`${output}/`]: { preset: 'client', presetConfig: { persistedDocuments: true } } },
  },
  true,
);
console.log(`${output}/persisted-documents.json`);
