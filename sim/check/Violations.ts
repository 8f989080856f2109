/**
 * Verdicts as data: every way the checker or the world can see a run go wrong is one tagged
 * kind with the fields that say what broke, where and who did it. Each kind names the spec
 * invariant it breaks (`invariant`, fixed per kind). Traces and `--json` carry these values;
 * `renderViolation` turns one into the sentence a person reads, and is the only place that
 * does. Nothing may match on that sentence: findings, shrinking and merges read the fields.
 */
import { Schema } from "effect"

/** The store request whose effect broke the invariant, and who sent it (see core/Attribution.ts). */
export const RequestBy = Schema.Struct({
  process: Schema.String,
  task: Schema.String,
  cmd: Schema.String,
  op: Schema.String
})
export type RequestBy = typeof RequestBy.Type

const at = { step: Schema.Number, t: Schema.Number }
const kind = <Tag extends string, Inv extends string, F extends Schema.Struct.Fields>(tag: Tag, invariant: Inv, fields: F) =>
  Schema.TaggedStruct(tag, { invariant: Schema.tag(invariant), ...at, ...fields })

// --- Consensus history (INV-1..INV-8, INV-10..INV-13) --------------------------------------
export const RowsNeverCommitted = kind("RowsNeverCommitted", "INV-1", {})
export const ShardLostEveryVersion = kind("ShardLostEveryVersion", "INV-1", {})
export const FirstVersionNotOne = kind("FirstVersionNotOne", "INV-2", { seqno: Schema.Number })
export const InitialRollupMissing = kind("InitialRollupMissing", "INV-2", { seqno: Schema.Number, key: Schema.String })
export const DiffSeqnosWrong = kind("DiffSeqnosWrong", "INV-3", { seqno: Schema.Number, seqnoFrom: Schema.Number, seqnoTo: Schema.Number })
export const CommitNotAfterHead = kind("CommitNotAfterHead", "INV-3", { seqno: Schema.Number, head: Schema.Number })
export const CachedStateRegressed = kind("CachedStateRegressed", "INV-4", { process: Schema.String, before: Schema.Number, after: Schema.Number })
export const CachedStatePastHead = kind("CachedStatePastHead", "INV-4", { process: Schema.String, seqno: Schema.Number, head: Schema.Number })
export const EarliestPastSeqnoSince = kind("EarliestPastSeqnoSince", "INV-5", { earliest: Schema.Number, seqnoSince: Schema.Number })
export const LiveRangeMismatch = kind("LiveRangeMismatch", "INV-6", {
  checkerEarliest: Schema.Number,
  checkerHead: Schema.Number,
  storeEarliest: Schema.Number,
  storeHead: Schema.Number
})
export const NoRollupAtEarliest = kind("NoRollupAtEarliest", "INV-7", { earliest: Schema.Number, head: Schema.Number })
export const EarliestRollupMissing = kind("EarliestRollupMissing", "INV-7", { earliest: Schema.Number, key: Schema.String })
export const DiffUndecodable = kind("DiffUndecodable", "INV-8", { seqno: Schema.Number, error: Schema.String })
export const DiffDoesNotApply = kind("DiffDoesNotApply", "INV-8", { seqno: Schema.Number, head: Schema.Number, error: Schema.String })
export const RollupMissing = kind("RollupMissing", "INV-9", { seqno: Schema.Number, key: Schema.String })
export const LiveRollupDeleted = kind("LiveRollupDeleted", "INV-9", { key: Schema.String, head: Schema.Number, by: RequestBy })
export const LatestRollupKeyMismatch = kind("LatestRollupKeyMismatch", "INV-10", { seqno: Schema.Number, diffKey: Schema.String, stateKey: Schema.String })
export const NoRollup = kind("NoRollup", "INV-11", { seqno: Schema.Number })
export const RollupKeyWrongSeqno = kind("RollupKeyWrongSeqno", "INV-12", { stateSeqno: Schema.Number, rollupSeqno: Schema.Number, key: Schema.String })
export const RollupNotBelowState = kind("RollupNotBelowState", "INV-13", { stateSeqno: Schema.Number, rollupSeqno: Schema.Number })
export const RollupUndecodable = kind("RollupUndecodable", "INV-14", { key: Schema.String, error: Schema.String })
// --- Blob (INV-17, INV-18) ------------------------------------------------------------------
export const PartMissing = kind("PartMissing", "INV-17", { seqno: Schema.Number, key: Schema.String })
export const LivePartDeleted = kind("LivePartDeleted", "INV-17", {
  key: Schema.String,
  liveSeqno: Schema.Number,
  seqnoSince: Schema.Number,
  by: RequestBy
})
export const BlobReinserted = kind("BlobReinserted", "INV-18", { seqno: Schema.Number, key: Schema.String, rollup: Schema.Boolean, by: RequestBy })
// --- State transitions (INV-S*) -------------------------------------------------------------
export const WalltimeRegressed = kind("WalltimeRegressed", "INV-S1", { seqno: Schema.Number, before: Schema.Number, after: Schema.Number })
export const FrontierRegressed = kind("FrontierRegressed", "INV-S2", {
  seqno: Schema.Number,
  frontier: Schema.Literal("since", "upper"),
  before: Schema.String,
  after: Schema.String
})
export const LastGcReqRegressed = kind("LastGcReqRegressed", "INV-S3", { seqno: Schema.Number, before: Schema.Number, after: Schema.Number })
export const LastGcReqPastSeqnoSince = kind("LastGcReqPastSeqnoSince", "INV-S3", { seqno: Schema.Number, lastGcReq: Schema.Number, seqnoSince: Schema.Number })
export const SeqnoSinceRegressed = kind("SeqnoSinceRegressed", "INV-S4", { seqno: Schema.Number, before: Schema.Number, after: Schema.Number })
export const ReaderHoldOutsideLive = kind("ReaderHoldOutsideLive", "INV-S5", { readerSeqno: Schema.Number, earliest: Schema.Number, head: Schema.Number })
export const SincePastReaders = kind("SincePastReaders", "INV-S6", { seqno: Schema.Number, since: Schema.String, readersSince: Schema.String })
export const TombstoneChanged = kind("TombstoneChanged", "INV-S7", { seqno: Schema.Number })
export const WriterUpperWrong = kind("WriterUpperWrong", "INV-S8", {
  seqno: Schema.Number,
  writerId: Schema.String,
  problem: Schema.Literal("regressed", "past the shard upper")
})
// --- History, liveness, the processes themselves ----------------------------------------------
export const AcknowledgedAppendLost = kind("AcknowledgedAppendLost", "HIST-append", { ackedUpper: Schema.String, shardUpper: Schema.String })
/** A warning persist logs that, with one linearizable Blob, means something broke (RACE-3/RACE-4/INV-7). */
export const PersistWarned = Schema.TaggedStruct("PersistWarned", {
  invariant: Schema.Literal("RACE-3", "RACE-4", "INV-7"),
  ...at,
  warning: Schema.String,
  message: Schema.String
})
export const Panic = kind("Panic", "PANIC", {
  process: Schema.String,
  where: Schema.String,
  message: Schema.String,
  /** The assertion's site when core names it (see core/Panic.ts), else "". */
  site: Schema.String,
  key: Schema.String
})
export const Defect = kind("Defect", "DEFECT", { process: Schema.String, where: Schema.String, message: Schema.String })
export const LivenessTimeout = kind("LivenessTimeout", "LIVENESS", { budget: Schema.Number })
export const GcDidNotTruncate = kind("GcDidNotTruncate", "LIVENESS-GC", { gcTarget: Schema.Number, earliest: Schema.Number, expected: Schema.Number })
export const LeakDetectorDisagrees = kind("LeakDetectorDisagrees", "LEAKS", {
  missed: Schema.Number,
  missedKeys: Schema.Array(Schema.String),
  extra: Schema.Number,
  extraKeys: Schema.Array(Schema.String)
})
/**
 * After the liveness phase, blobs no live state references that no leak-capable event explains
 * (sim/check/LeakAudit.ts): each was linked by a committed version, unlinked, and never deleted.
 */
export const LeakUnexplained = kind("LeakUnexplained", "INV-16", {
  count: Schema.Number,
  rollups: Schema.Number,
  keys: Schema.Array(Schema.String)
})
/** The janitor's GC reported results other than what the stores show it did (sim/check/LeakAudit.ts). */
export const GcResultWrong = kind("GcResultWrong", "LIVENESS-GC", {
  field: Schema.Literal("parts deleted", "rollups deleted", "truncated to", "rollups left in state"),
  reported: Schema.Number,
  observed: Schema.Number
})
/** A process's GC worker is idle while requests wait in its queue (sim/check/GcAudit.ts). */
export const GcRequestNotTaken = kind("GcRequestNotTaken", "GC-WORKER", { process: Schema.String, waiting: Schema.Number, seqnoSince: Schema.Number })
/** A GC pass finished without completing the Deferred of a request it took. */
export const GcCallerNotTold = kind("GcCallerNotTold", "GC-WORKER", { process: Schema.String, untold: Schema.Number, seqnoSince: Schema.Number })
/** A GC pass merged its requests into one that is not the largest seqno_since, or took requests never queued. */
export const GcMergeWrong = kind("GcMergeWrong", "GC-WORKER", {
  process: Schema.String,
  merged: Schema.Number,
  largest: Schema.Number,
  taken: Schema.Number,
  queued: Schema.Number
})
/** A GC pass finished short of its request: earliest below the latest rollup <= its seqno_since (sim/check/GcProgress.ts). */
export const GcPassShort = kind("GcPassShort", "GC-WORKER", { process: Schema.String, seqnoSince: Schema.Number, earliest: Schema.Number, expected: Schema.Number })
/**
 * A GC pass finished without doing its own part: when it started, Consensus was not yet truncated
 * to the latest rollup <= its seqno_since, and neither the earliest its live-state scan found nor
 * its own truncations reached it (sim/check/GcProgress.ts). Another GC may have done the work
 * meanwhile; this pass still planned from a state too old, or did less than it planned.
 */
export const GcPassSkippedWork = kind("GcPassSkippedWork", "GC-WORKER", {
  process: Schema.String,
  seqnoSince: Schema.Number,
  earliestAtStart: Schema.Number,
  reached: Schema.Number,
  expected: Schema.Number
})
/** GC deleted a blob no committed version ever referenced (sim/check/GcDeletes.ts). */
export const GcDeletedUnreferenced = kind("GcDeletedUnreferenced", "ALG-GC", { key: Schema.String, by: RequestBy })
export const CheckerFailed = kind("CheckerFailed", "CHECKER", { message: Schema.String })
/** A real backend (issue 12) answered a delivered request differently from the model it runs beside. */
export const BackendDiverged = kind("BackendDiverged", "MODEL", { call: Schema.String, arg: Schema.String, model: Schema.String, backend: Schema.String })
// --- The checker's own replay (sim/check/Replay.ts) disagrees with what processes hold -------
/** A linked rollup's state is not the state the checker replayed for its seqno. */
export const RollupContentWrong = kind("RollupContentWrong", "INV-14", { seqno: Schema.Number, key: Schema.String, path: Schema.String })
/** A process caches, for some seqno, a state other than the one the history gives. */
export const CachedStateWrong = kind("CachedStateWrong", "INV-4", { process: Schema.String, seqno: Schema.Number, path: Schema.String })
/** A writer was told its batch committed at `seqno`, but no version up to it ever held the batch. */
export const AckedBatchNotCommitted = kind("AckedBatchNotCommitted", "HIST-append", {
  process: Schema.String,
  writerId: Schema.String,
  seqno: Schema.Number,
  lower: Schema.String,
  upper: Schema.String
})
/** A reader's or writer's acknowledged command is not what the state at its seqno holds. */
export const AckedHoldWrong = kind("AckedHoldWrong", "HIST-hold", {
  process: Schema.String,
  handle: Schema.String,
  seqno: Schema.Number,
  field: Schema.Literal("reader since", "writer upper"),
  acked: Schema.String,
  inState: Schema.String
})
/**
 * ALG-CAA (RACE-14): one compare_and_append call proposes its batch under one idempotency token,
 * so a retry after an Indeterminate can recognise its own committed write. The same batch was
 * proposed (a CaS request, seen before any fault applies) under two tokens.
 */
export const AppendTokenChanged = kind("AppendTokenChanged", "ALG-CAA", {
  process: Schema.String,
  writerId: Schema.String,
  lower: Schema.String,
  upper: Schema.String,
  firstToken: Schema.String,
  laterToken: Schema.String
})
/**
 * An open (OP-1) returned a state older than the head when its first read reached Consensus:
 * a state no longer current during the call (spec RACE-3's check; sim/check/OpenAudit.ts).
 */
export const OpenedStale = kind("OpenedStale", "OP-1", { process: Schema.String, seqno: Schema.Number, headAtFirstScan: Schema.Number })
/**
 * An open (OP-1) returned while an initial rollup it wrote is neither linked by any version nor
 * deleted (spec RACE-1/RACE-2: only a crash before the delete may leave it), or wrote one
 * although its first read found the shard initialized (OP-1 step 2; OpenAudit.ts).
 */
export const OpenInitRollupWrong = kind("OpenInitRollupWrong", "RACE-1", {
  process: Schema.String,
  key: Schema.String,
  openedAt: Schema.Number,
  problem: Schema.Literal("left unlinked and undeleted", "written on an initialized shard")
})
/** The world itself threw (a harness or core exception outside any process): this seed's result. */
export const HarnessError = kind("HarnessError", "HARNESS", { message: Schema.String })

export const Violation = Schema.Union(
  RowsNeverCommitted,
  ShardLostEveryVersion,
  FirstVersionNotOne,
  InitialRollupMissing,
  DiffSeqnosWrong,
  CommitNotAfterHead,
  CachedStateRegressed,
  CachedStatePastHead,
  EarliestPastSeqnoSince,
  LiveRangeMismatch,
  NoRollupAtEarliest,
  EarliestRollupMissing,
  DiffUndecodable,
  DiffDoesNotApply,
  RollupMissing,
  LiveRollupDeleted,
  LatestRollupKeyMismatch,
  NoRollup,
  RollupKeyWrongSeqno,
  RollupNotBelowState,
  RollupUndecodable,
  PartMissing,
  LivePartDeleted,
  BlobReinserted,
  WalltimeRegressed,
  FrontierRegressed,
  LastGcReqRegressed,
  LastGcReqPastSeqnoSince,
  SeqnoSinceRegressed,
  ReaderHoldOutsideLive,
  SincePastReaders,
  TombstoneChanged,
  WriterUpperWrong,
  AcknowledgedAppendLost,
  PersistWarned,
  Panic,
  Defect,
  LivenessTimeout,
  GcDidNotTruncate,
  LeakDetectorDisagrees,
  LeakUnexplained,
  GcResultWrong,
  GcRequestNotTaken,
  GcCallerNotTold,
  GcMergeWrong,
  GcPassShort,
  GcPassSkippedWork,
  GcDeletedUnreferenced,
  CheckerFailed,
  BackendDiverged,
  RollupContentWrong,
  CachedStateWrong,
  AckedBatchNotCommitted,
  AppendTokenChanged,
  AckedHoldWrong,
  OpenedStale,
  OpenInitRollupWrong,
  HarnessError
)
export type Violation = typeof Violation.Type
export type ViolationTag = Violation["_tag"]

/** A violation's kind as shrinking and merging compare it: the tag and the invariant. */
export const violationKind = (v: Violation): string => `${v.invariant}/${v._tag}`

const by = (b: RequestBy): string => `${b.process}/${b.task}${b.cmd !== "" ? ` ${b.cmd}` : ""}${b.op !== "" ? ` (${b.op})` : ""}`

/** The sentence for a person. */
export const renderViolation = (v: Violation): string => {
  switch (v._tag) {
    case "RowsNeverCommitted":
      return "Consensus has rows the checker never saw committed"
    case "ShardLostEveryVersion":
      return "an initialized shard lost every version"
    case "FirstVersionNotOne":
      return `first version written at seqno ${v.seqno}`
    case "InitialRollupMissing":
      return `initial rollup ${v.key} of version ${v.seqno} is not in Blob`
    case "DiffSeqnosWrong":
      return `row ${v.seqno} holds a diff ${v.seqnoFrom}->${v.seqnoTo}`
    case "CommitNotAfterHead":
      return `row ${v.seqno} committed after head ${v.head}`
    case "CachedStateRegressed":
      return `${v.process}'s cached state regressed ${v.before} -> ${v.after}`
    case "CachedStatePastHead":
      return `${v.process}'s cached state ${v.seqno} is past the head ${v.head}`
    case "EarliestPastSeqnoSince":
      return `earliest ${v.earliest} > seqno_since ${v.seqnoSince}`
    case "LiveRangeMismatch":
      return `checker sees [${v.checkerEarliest}, ${v.checkerHead}], Consensus holds [${v.storeEarliest}, ${v.storeHead}]`
    case "NoRollupAtEarliest":
      return `current state (${v.head}) has no rollup at earliest ${v.earliest}`
    case "EarliestRollupMissing":
      return `rollup at earliest ${v.earliest} (${v.key}) is not in Blob`
    case "DiffUndecodable":
      return `row ${v.seqno} does not decode: ${v.error}`
    case "DiffDoesNotApply":
      return `diff ${v.seqno} does not apply to state ${v.head}: ${v.error}`
    case "RollupMissing":
      return `state ${v.seqno} references rollup ${v.key}, which is not in Blob`
    case "LiveRollupDeleted":
      return `${by(v.by)} deleted rollup ${v.key}, listed by the current state ${v.head}`
    case "LatestRollupKeyMismatch":
      return `diff ${v.seqno} names ${v.diffKey}, state's latest rollup is ${v.stateKey}`
    case "NoRollup":
      return `state ${v.seqno} has no rollup`
    case "RollupKeyWrongSeqno":
      return `state ${v.stateSeqno} lists rollup ${v.rollupSeqno} under key ${v.key}`
    case "RollupNotBelowState":
      return `state ${v.stateSeqno} lists a rollup at ${v.rollupSeqno}`
    case "RollupUndecodable":
      return `rollup ${v.key} does not decode: ${v.error}`
    case "PartMissing":
      return `state ${v.seqno} references part ${v.key}, which is not in Blob`
    case "LivePartDeleted":
      return `${by(v.by)} deleted part ${v.key}, referenced by live state ${v.liveSeqno} (seqno_since ${v.seqnoSince})`
    case "BlobReinserted":
      return `diff ${v.seqno} (${by(v.by)}) re-inserts ${v.rollup ? "rollup" : "part"} ${v.key}, referenced by an earlier version`
    case "WalltimeRegressed":
      return `walltime ${v.before} -> ${v.after} at ${v.seqno}`
    case "FrontierRegressed":
      return `${v.frontier} regressed ${v.before} -> ${v.after} at ${v.seqno}`
    case "LastGcReqRegressed":
      return `last_gc_req regressed ${v.before} -> ${v.after} at ${v.seqno}`
    case "LastGcReqPastSeqnoSince":
      return `last_gc_req ${v.lastGcReq} > seqno_since ${v.seqnoSince} at ${v.seqno}`
    case "SeqnoSinceRegressed":
      return `seqno_since regressed ${v.before} -> ${v.after} at ${v.seqno}`
    case "ReaderHoldOutsideLive":
      return `reader hold ${v.readerSeqno} outside [${v.earliest}, ${v.head}]`
    case "SincePastReaders":
      return `trace since ${v.since} past the readers' ${v.readersSince} at ${v.seqno}`
    case "TombstoneChanged":
      return `tombstone changed handles or batches at ${v.seqno}`
    case "WriterUpperWrong":
      return `writer ${v.writerId} upper ${v.problem} at ${v.seqno}`
    case "AcknowledgedAppendLost":
      return `acknowledged upper ${v.ackedUpper} is past the shard upper ${v.shardUpper}`
    case "PersistWarned":
      return `persist warned (${v.warning}): ${v.message}`
    case "Panic":
      return `${v.process} ${v.where} panicked: ${v.message}`
    case "Defect":
      return `${v.process} ${v.where} died: ${v.message}`
    case "LivenessTimeout":
      return `the janitor did not finish within ${v.budget} steps (a retry loop that never ends, or a deadlock)`
    case "GcDidNotTruncate":
      return `after GC to ${v.gcTarget}, earliest is ${v.earliest}, expected the latest rollup <= seqno_since (${v.expected})`
    case "LeakDetectorDisagrees":
      return `leaked-blob detector disagrees with the checker: missed ${v.missed} (${v.missedKeys.join(", ")}), extra ${v.extra} (${v.extraKeys.join(", ")})`
    case "LeakUnexplained":
      return `${v.count} unreferenced blob(s) (${v.rollups} rollups) were linked, unlinked and never deleted, with no crash, failed delete or late write to explain it: ${v.keys.join(", ")}`
    case "GcResultWrong":
      return `the janitor's GC reported ${v.field} ${v.reported}, the stores show ${v.observed}`
    case "GcRequestNotTaken":
      return `${v.process}'s GC worker is idle while ${v.waiting} request(s) wait in its queue (first to ${v.seqnoSince})`
    case "GcCallerNotTold":
      return `${v.process}'s GC pass finished without telling ${v.untold} caller(s) (first to ${v.seqnoSince})`
    case "GcMergeWrong":
      return `${v.process}'s GC pass ran to ${v.merged} after taking ${v.taken} request(s) (${v.queued} were queued, the largest to ${v.largest})`
    case "GcPassShort":
      return `${v.process}'s GC pass to ${v.seqnoSince} finished with earliest ${v.earliest}, short of the latest rollup <= ${v.seqnoSince} (${v.expected})`
    case "GcPassSkippedWork":
      return `${v.process}'s GC pass to ${v.seqnoSince} finished having reached only ${v.reached} itself (its live-state scan's earliest or its own truncations), short of the latest rollup <= ${v.seqnoSince} (${v.expected}), which was not yet truncated when the pass started (earliest ${v.earliestAtStart})`
    case "GcDeletedUnreferenced":
      return `GC deleted ${v.key}, which no committed version ever referenced, by ${by(v.by)}`
    case "CheckerFailed":
      return `the checker stopped checking this world: ${v.message}`
    case "BackendDiverged":
      return `the real backend answered ${v.call} ${v.arg} with ${v.backend}, the model with ${v.model}`
    case "RollupContentWrong":
      return `rollup ${v.key} linked at ${v.seqno} differs from the replayed state ${v.seqno} at ${v.path}`
    case "CachedStateWrong":
      return `${v.process}'s cached state ${v.seqno} differs from the replayed state at ${v.path}`
    case "AckedBatchNotCommitted":
      return `${v.process}'s writer ${v.writerId} was told [${v.lower}, ${v.upper}) committed at ${v.seqno}, but no version up to ${v.seqno} held it`
    case "AckedHoldWrong":
      return `${v.process}'s ${v.handle} was acknowledged ${v.field} ${v.acked} at ${v.seqno}, state ${v.seqno} holds ${v.inState}`
    case "AppendTokenChanged":
      return `${v.process}'s writer ${v.writerId} proposed batch [${v.lower}, ${v.upper}) under token ${v.firstToken}, then again under ${v.laterToken}: a retry cannot recognise its own committed write`
    case "OpenedStale":
      return `${v.process} opened the shard at state ${v.seqno}, older than the head ${v.headAtFirstScan} its first read saw`
    case "OpenInitRollupWrong":
      return `${v.process} returned from its open (state ${v.openedAt}) with its initial rollup ${v.key} ${v.problem}`
    case "HarnessError":
      return `the world threw: ${v.message}`
  }
}

/**
 * Whether a violation is the harness's own verdict: not core checking itself (a panic, a
 * process's defect: persist's asserts, which production builds may not have) and not the
 * harness failing. Issue 14's "caught by the checker alone" counts only these.
 */
export const isCheckerVerdict = (v: Violation): boolean => v._tag !== "Panic" && v._tag !== "Defect" && v._tag !== "HarnessError"
