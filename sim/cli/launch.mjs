// Runs one of our TypeScript entry points (`npm run sim`, `npm run bench`) from an esbuild
// bundle instead of through tsx's loader.
//
// Why: tsx transpiles with esbuild's keepNames, which wraps every function and closure our
// code creates in a `__name(...)` call; on the simulator's hot paths that costs about a fifth
// of the throughput. Its loader also makes each sweep worker thread spend ~1.5 s compiling
// before its first seed. A bundle built here takes well under a second and loads in one file.
//
// Usage: node sim/cli/launch.mjs <entry.ts> [args...]
// The sweep's worker entry is bundled beside the main one, so the bundled Sweep module finds
// `./sweepWorker.mjs` next to itself. Files are written to a temporary name and renamed, so
// concurrent runs never read a half-written bundle. If esbuild cannot be loaded, falls back
// to tsx (slower, same behaviour).
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const [entry, ...rest] = process.argv.slice(2)
if (entry === undefined) {
  console.error("usage: node sim/cli/launch.mjs <entry.ts> [args...]")
  process.exit(2)
}
const entryPath = join(root, entry)
if (!existsSync(entryPath)) {
  console.error(`persist-sim: no such entry point: ${entry}`)
  process.exit(2)
}
const name = basename(entry).replace(/\.ts$/, "")

const bundle = async () => {
  const { build } = await import("esbuild")
  // PERSIST_SIM_BUNDLE_DIR: a private folder under the project root (Stryker's sandboxes share
  // our node_modules by symlink, and each must run its own instrumented sources, not whatever
  // bundle was last written there); under the root so node_modules still resolves.
  const outdir = join(root, process.env.PERSIST_SIM_BUNDLE_DIR ?? join("node_modules", ".cache", "persist-sim"))
  const result = await build({
    entryPoints: { [name]: entryPath, sweepWorker: join(root, "sim", "cli", "sweepWorker.ts") },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // effect, seedrandom and friends stay in node_modules, resolved from the cache folder.
    packages: "external",
    outdir,
    outExtension: { ".js": ".mjs" },
    write: false,
    logLevel: "error"
  })
  mkdirSync(outdir, { recursive: true })
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${tag}.tmp`
    writeFileSync(tmp, f.contents)
    renameSync(tmp, f.path)
  }
  return join(outdir, `${name}.mjs`)
}

let target
try {
  target = await bundle()
} catch (e) {
  console.error(`persist-sim: could not bundle ${entry} (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); running it through tsx`)
  const { register } = await import("tsx/esm/api")
  register()
  target = entryPath
}
process.argv = [process.argv[0], target, ...rest]
await import(pathToFileURL(target).href)
