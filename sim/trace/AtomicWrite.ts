/**
 * Writing a file so that its final name only ever holds a complete file: the bytes go to a
 * temporary file in the same folder (so the rename stays on one file system), then a rename
 * replaces the old file in one step. An interrupt at any moment leaves either the previous
 * file or the new one, plus at worst a stray temporary that `removeStrayTemps` clears.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { threadId } from "node:worker_threads"

/** Temporaries of this process end in `.<pid>.<thread>.tmp`: workers share the pid. */
const TEMP_SUFFIX = /\.(\d+)\.(\d+)\.tmp$/

export const tempNameFor = (file: string): string => join(dirname(file), `.${basename(file)}.${process.pid}.${threadId}.tmp`)

export const writeFileAtomic = (file: string, data: string | Uint8Array): void => {
  const tmp = tempNameFor(file)
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, file)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/** Removes this process's temporaries in `dir` (after worker threads were stopped mid-write). */
export const removeStrayTemps = (dir: string): number => {
  let removed = 0
  let names: Array<string>
  try {
    names = readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of names) {
    const m = TEMP_SUFFIX.exec(name)
    if (m !== null && Number(m[1]) === process.pid) {
      rmSync(join(dir, name), { force: true })
      removed++
    }
  }
  return removed
}

/** A folder that cannot be made or used; the message is one line. */
export class DirError extends Error {
  override readonly name = "DirError"
}

/**
 * Kernel file systems (statfs magic numbers) that are not places for files. procfs answers
 * `mkdir /proc/x` with ENOENT although /proc exists, and Node's recursive mkdir then retries
 * the parent and the child forever at 100 % CPU; the others refuse or misbehave alike.
 */
const SPECIAL_FS = new Map<number, string>([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0xcafe4a11, "bpf"],
  [0x6165676c, "pstore"],
  [0x62656570, "configfs"],
  [0xde5e81e4, "efivarfs"],
  [0x65735543, "fusectl"]
])

const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e)

/**
 * `mkdir -p` without Node's recursive mkdir: walks up to the first existing ancestor, refuses
 * one that is not a folder or lies on a special file system, then creates the missing folders
 * top-down one call each, so no answer of the kernel can make it loop.
 */
export const makeDirs = (dir: string): void => {
  if (dir === "") throw new DirError("the folder name is empty")
  const missing: Array<string> = []
  let cur = resolve(dir)
  for (;;) {
    try {
      if (!statSync(cur).isDirectory()) throw new DirError(`${cur} exists and is not a folder`)
      break
    } catch (e) {
      if (e instanceof DirError) throw e
      const code = codeOf(e)
      // ENOTDIR: a file somewhere above; climbing reaches it and names it.
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new DirError(`cannot inspect ${cur} (${code})`)
      const parent = dirname(cur)
      if (parent === cur) throw new DirError(`cannot inspect ${cur} (${code})`)
      missing.push(cur)
      cur = parent
    }
  }
  let fsType: number | undefined
  try {
    fsType = statfsSync(cur).type
  } catch {
    fsType = undefined // statfs unsupported here: the one-call mkdirs below still cannot loop
  }
  const special = fsType === undefined ? undefined : SPECIAL_FS.get(fsType)
  if (special !== undefined) throw new DirError(`${cur} is on the ${special} file system, not a place for files`)
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d)
    } catch (e) {
      const code = codeOf(e)
      if (code === "EEXIST" && statSync(d, { throwIfNoEntry: false })?.isDirectory() === true) continue
      throw new DirError(`cannot create folder ${d} (${code})`)
    }
  }
}
