#!/usr/bin/env node
// The adapter's entry point: `node dist/main.js`, run by
// `arrears verify --sut "node adapters/typescript/dist/main.js"`.

import { MaxComputeAdapter } from "./maxcompute";
import { PROTOCOL, serve } from "./protocol";

const USAGE = `usage: node dist/main.js [--help] [--version]

MaxCompute behind the arrears adapter protocol (${PROTOCOL}): reads one JSON
request per line on standard input and answers each with one JSON line on
standard output. Run it under arrears:

  arrears verify --sut "node adapters/typescript/dist/main.js"
`;

function main(argv: string[]): number | null {
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (arg === "--version") {
      process.stdout.write(`arrears-maxcompute-ts 0.1.0 (${PROTOCOL})\n`);
      return 0;
    }
    process.stderr.write(`arrears-maxcompute-ts: unknown argument \`${arg}\`\n${USAGE}`);
    return 2;
  }
  return null;
}

const code = main(process.argv.slice(2));
if (code === null) {
  serve(new MaxComputeAdapter()).catch((e: unknown) => {
    process.stderr.write(`arrears-maxcompute-ts: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
} else {
  process.exitCode = code;
}
