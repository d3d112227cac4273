#!/usr/bin/env node
// Entry point for the `offload-emu` command: loads the TypeScript sources through tsx so that the
// package runs straight from a clone, with no build step to forget.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
