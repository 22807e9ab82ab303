package eventlog

// The event types ce writes. The log is a contract that scripts and
// frontends read, so every type is named here and nowhere else; Data keys
// are documented with each.
const (
	// Sessions. session.created: user, slot, dir (and by or job for
	// sessions the heartbeat or a cron job made); session.renamed: old;
	// session.stopped: cleared (queued prompts cancelled); session.removed:
	// job and reason when a cron run's fresh session ends.
	SessionCreated = "session.created"
	SessionRenamed = "session.renamed"
	SessionStopped = "session.stopped"
	SessionRemoved = "session.removed"

	// Prompts. prompt.queued: source, bytes, and retry_of, ask or job when
	// they apply; prompt.cancelled.
	PromptQueued    = "prompt.queued"
	PromptCancelled = "prompt.cancelled"

	// Runs of a queue item. run.started: run, attempt; run.retry: run,
	// reason; run.parked: run, until; run.finished: run, state, cost_usd,
	// duration_ms, error.
	RunStarted  = "run.started"
	RunRetry    = "run.retry"
	RunParked   = "run.parked"
	RunFinished = "run.finished"

	// Questions (data: the pending request): asked, answered, closed
	// without an answer.
	AskCreated  = "ask.created"
	AskAnswered = "ask.answered"
	AskClosed   = "ask.closed"

	// Cron. cron.fired / cron.failed: job, fire, due, manual (and error);
	// cron.skipped: job, count, removed; cron.created / cron.deleted by a
	// session's tools: job (and schedule, target).
	CronFired   = "cron.fired"
	CronFailed  = "cron.failed"
	CronSkipped = "cron.skipped"
	CronCreated = "cron.created"
	CronDeleted = "cron.deleted"

	// Heartbeat. heartbeat.beat: tier, outcome, valve, reason, cost_usd;
	// heartbeat.paused: by or auth, reason, until; heartbeat.resumed: by,
	// cleared; heartbeat.breaker: failures, until, error;
	// heartbeat.trigger: urgency, force, source, reason;
	// heartbeat.instructions: path, bytes.
	HeartbeatBeat         = "heartbeat.beat"
	HeartbeatPaused       = "heartbeat.paused"
	HeartbeatResumed      = "heartbeat.resumed"
	HeartbeatBreaker      = "heartbeat.breaker"
	HeartbeatTrigger      = "heartbeat.trigger"
	HeartbeatInstructions = "heartbeat.instructions"

	// Vault tools of sessions. vault.stored: key, tags, replaced;
	// vault.removed: key; vault.exec: program, keys (and denied).
	VaultStored  = "vault.stored"
	VaultRemoved = "vault.removed"
	VaultExec    = "vault.exec"
)
