import type { CodegenConfig } from "@graphql-codegen/cli";

// Types of every operation from the repository's schema.graphql: a schema change that
// breaks the portal fails `tsc` (make test).
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.tsx", "src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: {
          Cursor: "string",
          Date: "string",
          DateTime: "string",
          Decimal: "string",
          EmailAddress: "string",
          Iban: "string",
          JSON: "unknown",
          Line: "string",
          Text: "string",
          Upload: "File",
        },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};
export default config;
