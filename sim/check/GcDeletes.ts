/**
 * GC deletes only blobs some committed version referenced (issue 15).
 *
 * GC learns what to delete from the diffs it walks (ALG-GC: every blob a diff below the
 * truncation point unlinked), never from a listing, so every key it deletes was linked by a
 * committed version first. A key no version ever referenced is a blob GC must not touch: it may
 * be a part a writer has written and not yet linked (its compare_and_append then links a part
 * that is gone), or no blob at all — a key GC made up from something that is not a blob, such
 * as an inline part, which lives in state and has no key. Neither breaks any other invariant at
 * once (a delete of a missing key is a no-op; the writer's part is only missed if it is linked
 * later), which is why this is checked where the delete lands.
 *
 * GC's deletes are the ones core attributes to its `delete_and_truncate` op (core/Gc.ts); the
 * other deleters (a writer's unlinked batch, a compaction output that lost, a rollup that lost
 * its CaS) delete blobs that were never linked, by design.
 */
import type { RequestBy } from "./Violations.ts"

/** The op core's GC runs its blob deletes under (core/Gc.ts `deleteAndTruncate`). */
export const GC_DELETE_OP = "delete_and_truncate"

/** The fields of a GcDeletedUnreferenced verdict, or undefined when the delete is fine. */
export const gcDeleteProblem = (
  key: string,
  by: RequestBy,
  everReferenced: (key: string) => boolean
): { readonly key: string; readonly by: RequestBy } | undefined => (by.op === GC_DELETE_OP && !everReferenced(key) ? { key, by } : undefined)
