/**
 * External store errors (spec CT-3).
 *
 * - `Determinate`: the operation definitely did not happen.
 * - `Indeterminate`: the operation may or may not have happened (timeouts, lost connections).
 *
 * Both are Schema errors so a trace can serialise them.
 */
import { Schema } from "effect"

export class Determinate extends Schema.TaggedError<Determinate>()("Determinate", {
  message: Schema.String
}) {}

export class Indeterminate extends Schema.TaggedError<Indeterminate>()("Indeterminate", {
  message: Schema.String,
  /** Set when the store refused a call that broke its contract (persist reports those as Indeterminate too). */
  contractViolation: Schema.optional(Schema.Boolean)
}) {}

export type ExternalError = Determinate | Indeterminate

/** A shard's codecs differ from the caller's (persist's `CodecMismatch`). */
export class CodecMismatch extends Schema.TaggedError<CodecMismatch>()("CodecMismatch", {
  requested: Schema.Array(Schema.String),
  actual: Schema.Array(Schema.String)
}) {}
