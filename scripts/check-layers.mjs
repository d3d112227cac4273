#!/usr/bin/env node
// The layer check of docs/architecture.md: reads every import of src/ (static, `import type`,
// re-exports and dynamic `import()`) and fails on an import against the folder order, a folder
// cycle, a file cycle, or native code named outside the one adapter allowed to load it.
//
//   node scripts/check-layers.mjs [--root DIR]
//
// Prints one line per violation (file:line: what and why) and exits 1, or prints a one-line
// summary and exits 0. `--root` points it at another tree (its tests plant violations there).
// Plain JavaScript with no dependency, so that it runs before anything is compiled.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * Each folder of src/ and the folders it may import, bottom to top. A folder never imports one
 * listed after it; where two folders are side by side (dp and ofproto), neither imports the other:
 * the host joins them, as ofproto-dpif-upcall joins dpif and xlate in Open vSwitch.
 */
export const LAYERS = [
  ["wire", []],
  ["ctl", []],
  ["flow", ["wire"]],
  ["tables", ["wire", "flow"]],
  ["io", ["wire"]],
  ["ovsdb", ["wire", "ctl"]],
  ["ports", ["wire", "ctl", "io", "ovsdb"]],
  ["dp", ["wire", "flow", "tables"]],
  ["ofproto", ["wire", "ctl", "flow", "tables"]],
  ["nic", ["wire", "flow", "tables", "dp"]],
  ["host", ["wire", "ctl", "flow", "tables", "io", "ovsdb", "ports", "dp", "ofproto", "nic"]],
  ["daemon", ["wire", "ctl", "flow", "tables", "io", "ovsdb", "ports", "dp", "ofproto", "nic", "host"]],
  ["scenario", ["wire", "ctl", "flow", "tables", "io", "ovsdb", "ports", "dp", "ofproto", "nic", "host"]],
  ["cmd", "*"],
  ["", "*"], // src/cli.ts and anything else at the top of src/
];

/** The only module that may load native code (STYLE.md, "Optional native code"). */
export const NATIVE_ADAPTERS = ["ports/tap.ts"];

/**
 * Violations the redesign of docs/architecture.md has not removed yet, each with the move that
 * removes it. The check reports them as pending and does not fail on them; the list only shrinks.
 */
const PENDING = [];

const IMPORT_RE =
  /(?:^|[\s;{}])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|(?:^|[^\w.])import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
const NATIVE_RE = /createRequire\s*\(|\.node["']|process\.dlopen/;

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".ts") || name.endsWith(".mjs") || name.endsWith(".js")) out.push(p);
  }
  return out;
}

/** Byte offset → 1-based line number. */
function lineAt(text, index) {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Comments out, strings kept (an import specifier is a string), offsets unchanged. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, " "));
}

export function checkLayers(root) {
  const src = resolve(root, "src");
  const allowed = new Map(LAYERS.map(([f, deps]) => [f, deps === "*" ? "*" : new Set(deps)]));
  const folderOf = (file) => {
    const rel = relative(src, file).split(sep);
    return rel.length > 1 ? rel[0] : "";
  };
  const files = walk(src, []);
  const known = new Set(files);
  const errors = [];
  const edges = new Map(files.map((f) => [f, []]));
  const folderEdges = new Map();

  for (const file of files) {
    const raw = readFileSync(file, "utf8");
    const text = stripComments(raw);
    const rel = relative(src, file).split(sep).join("/");
    const from = folderOf(file);
    if (!allowed.has(from))
      errors.push(`src/${rel}:1: folder src/${from}/ is not in the layer list (scripts/check-layers.mjs LAYERS)`);
    if (NATIVE_RE.test(text) && !NATIVE_ADAPTERS.includes(rel)) {
      const m = NATIVE_RE.exec(text);
      errors.push(`src/${rel}:${lineAt(text, m.index)}: loads native code; only ${NATIVE_ADAPTERS.join(", ")} may`);
    }
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith(".")) continue; // node: and packages are not layers
      const line = lineAt(text, m.index + m[0].indexOf(spec));
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src + sep)) {
        errors.push(`src/${rel}:${line}: imports ${spec}, outside src/`);
        continue;
      }
      if (!known.has(target)) {
        errors.push(`src/${rel}:${line}: imports ${spec}, which does not exist`);
        continue;
      }
      edges.get(file).push({ target, line });
      const to = folderOf(target);
      if (to === from) continue;
      if (!folderEdges.has(from)) folderEdges.set(from, new Map());
      if (!folderEdges.get(from).has(to)) folderEdges.get(from).set(to, `src/${rel}:${line}`);
      const ok = allowed.get(from);
      if (ok !== undefined && ok !== "*" && !ok.has(to)) {
        const toName = to === "" ? "src/" : `src/${to}/`;
        errors.push(
          `src/${rel}:${line}: src/${from}/ may not import ${toName} (${spec}); src/${from}/ imports only ${[...ok].map((d) => `${d}/`).join(", ") || "nothing of the project"}`,
        );
      }
    }
  }

  const name = (f) => `src/${relative(src, f).split(sep).join("/")}`;
  for (const comp of cycles([...edges.keys()], (f) => edges.get(f).map((e) => e.target))) {
    const inComp = new Set(comp);
    const links = comp.flatMap((f) =>
      edges
        .get(f)
        .filter((e) => inComp.has(e.target))
        .map((e) => `${name(f)}:${e.line} → ${name(e.target)}`),
    );
    errors.push(`${name(comp[0])}: file import cycle among ${comp.map(name).join(", ")} (${links.join("; ")})`);
  }
  const folders = [...new Set([...folderEdges.keys(), ...[...folderEdges.values()].flatMap((m) => [...m.keys()])])];
  for (const comp of cycles(folders, (f) => [...(folderEdges.get(f)?.keys() ?? [])])) {
    const inComp = new Set(comp);
    const links = comp.flatMap((f) =>
      [...folderEdges.get(f)].filter(([t]) => inComp.has(t)).map(([t, at]) => `src/${f}/ → src/${t}/ at ${at}`),
    );
    errors.push(`folder import cycle among ${comp.map((f) => `src/${f}/`).join(", ")} (${links.join("; ")})`);
  }
  return {
    files: files.length,
    errors: errors.filter((e) => !PENDING.some((p) => e.includes(p))),
    pending: errors.filter((e) => PENDING.some((p) => e.includes(p))),
  };
}

/** The strongly connected components of more than one node (Tarjan), each in a stable order. */
function cycles(nodes, next) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  let n = 0;
  const visit = (v) => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.reverse());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const i = process.argv.indexOf("--root");
  const root = i > 0 ? process.argv[i + 1] : resolve(dirname(new URL(import.meta.url).pathname), "..");
  const { files, errors, pending } = checkLayers(root);
  for (const p of pending) console.log(`pending: ${p}`);
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(`check-layers: ${errors.length} violation(s) of the layer order in docs/architecture.md`);
    process.exit(1);
  }
  console.log(`check-layers: ${files} files, imports follow the layer order`);
}
