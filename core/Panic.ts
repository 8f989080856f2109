/**
 * Persist's `panic!`, `assert!` and `.expect()` as a typed defect.
 *
 * In Rust an assertion failure stops the thread that hit it. Here it stops the fiber (the
 * simulated process) that hit it: pure code throws a `PersistPanic`, which Effect turns into
 * a defect (`Cause.die`), and effectful code uses `panic(...)`. The harness recognises the
 * tag and reports the message as a finding instead of crashing itself.
 */
import { Cause, Effect, Exit, Option, Schema } from "effect"

export class PersistPanic extends Schema.TaggedError<PersistPanic>()("PersistPanic", {
  message: Schema.String,
  /**
   * Where an assertion that an observer needs to tell apart stands (e.g.
   * `validator.rollupReinserted`), and the blob key it is about; most panics name neither.
   */
  site: Schema.optional(Schema.String),
  key: Schema.optional(Schema.String)
}) {}

/** Names an assertion for observers: its site and the key it concerns. */
export interface PanicSite {
  readonly site: string
  readonly key?: string
}

/** Throws a PersistPanic: for pure (synchronous) code that mirrors a Rust `panic!`. */
export const unsafePanic = (message: string, at?: PanicSite): never => {
  throw new PersistPanic(at === undefined ? { message } : { message, ...at })
}

/** Rust `assert!(cond, msg)`; `at` names the assertion for observers. */
export function assert(cond: boolean, message: string | (() => string), at?: PanicSite): asserts cond {
  if (!cond) unsafePanic(typeof message === "string" ? message : message(), at)
}

/** Rust `assert_eq!(left, right)` for primitives. */
export const assertEq = <A>(left: A, right: A, context = ""): void => {
  if (left !== right) {
    unsafePanic(`assertion \`left == right\` failed${context ? `: ${context}` : ""}\n  left: ${String(left)}\n right: ${String(right)}`)
  }
}

/** `panic!` inside an Effect: a defect that stops the calling process. */
export const panic = (message: string): Effect.Effect<never> => Effect.die(new PersistPanic({ message }))

/** The PersistPanic behind an exit, if that is why it failed. */
export const panicOf = (exit: Exit.Exit<unknown, unknown>): Option.Option<PersistPanic> =>
  Exit.isFailure(exit)
    ? Option.fromNullable(
        Cause.defects(exit.cause).pipe((defects) => {
          for (const d of defects) if (d instanceof PersistPanic) return d
          return undefined
        })
      )
    : Option.none()
