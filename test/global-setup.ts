// Runs once before the tests: the conformance tests read public sample captures from
// ../shared/conformance beside the clone (CI puts it there). Without it, dozens of tests fail with
// ENOENT; say once, first, what is missing and where it was looked for.

import { existsSync } from "node:fs";
import { resolve } from "node:path";

export default function setup(): void {
  const dir = resolve(__dirname, "../../shared/conformance/captures");
  if (!existsSync(dir)) {
    process.stderr.write(
      `\noffload-emu tests: ${dir} is missing: the conformance tests (test/wire, test/conformance, ` +
        `the scenario replay) read the public sample captures there and will fail. Put the shared folder beside this clone.\n\n`,
    );
  }
}
