// Runs a wasm32-wasip1 test binary under Node's WASI (preview1), so the filter's pure logic is
// also tested the way Envoy runs it: 32-bit, wasm allocator, no threads. Cargo calls this as the
// target's runner (.cargo/config.toml): `node wasi-runner.mjs <test.wasm> [libtest args...]`.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [file, ...args] = argv.slice(2);
const wasi = new WASI({
  version: "preview1",
  args: [file, ...args],
  env,
  // The repository root, read-only use: tests that read files see the same relative paths.
  preopens: { ".": "." },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
