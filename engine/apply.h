/*
 * Receive/apply engine: applies validated send-stream commands to a
 * directory DIR on btrfs.  This is the narrow interface between whoever
 * reads the stream (btrsendctl receive from a file, the network receiver)
 * and the filesystem:
 *
 *	a = apply_new(dirfd, &opts);
 *	apply_header(a, hdr, 17);       for every stream header
 *	apply_cmd(a, &cmd);             for every command, in order
 *	apply_checkpoint(a);            "checkpoint now" (also done by itself)
 *	apply_finish(a);                end of input
 *
 * Subvolumes are built under a staging name in DIR (engine/partial.h
 * names every file of a partial) and take their final name only after
 * END, once received and read-only.  Beside the staging
 * subvolume lives its checkpoint (engine/checkpoint.h).  When a SUBVOL or
 * SNAPSHOT command names a subvolume with a matching partial, the engine
 * skips the commands the partial already holds (checking the digest of the
 * skipped prefix): exactly from the checkpoint snapshot after a machine
 * crash, tolerantly from the progress record after a killed process.  A network receiver
 * that fast-forwards the sender instead calls apply_resume with the
 * checkpoint found by apply_find_checkpoint and feeds commands from
 * checkpoint.ncmds on.
 *
 * Every error is one message in apply_error(a) naming the command index,
 * the byte offset and the reason.
 */
#ifndef BTRSEND_ENGINE_APPLY_H
#define BTRSEND_ENGINE_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/checkpoint.h"
#include "engine/partial.h"
#include "proto/stream/stream.h"

#define APPLY_CKPT_BYTES_DEFAULT  (64ull << 20)
#define APPLY_CKPT_MSECS_DEFAULT  10000
/*
 * Where a killed receive's exact progress is kept (engine/apply_progress.c):
 * one file per partial, named <dev>.<inode> (hex) of its lock file.  Made
 * mode 0700 if missing, and used only while it is a directory of the
 * effective user that no one else may write.
 */
#define APPLY_PROGRESS_DIR        "/run/btrsend/progress"
/*
 * That directory, made if missing and checked, open (for a sandbox rule
 * granting the engine its records); -1 if it cannot be used.
 */
int apply_progress_dir_fd(void);

struct apply_opts {
	bool force_decompress;  /* never BTRFS_IOC_ENCODED_WRITE */
	bool quiet;             /* no per-subvolume summary lines */
	uint64_t ckpt_bytes;    /* 0: default; UINT64_MAX: never by size */
	uint32_t ckpt_msecs;    /* 0: default; UINT32_MAX: never by time */
	/*
	 * The stream's END does not finish its subvolume: the engine holds
	 * it (no checkpoint, no progress past END, nothing more accepted)
	 * until apply_commit, so that a network receiver checks the sender's
	 * totals and digest first.  The stream then carries one subvolume.
	 */
	bool hold_end;
	/*
	 * A subtree stream (docs/protocol.md, "The subtree stream"): SUBVOL
	 * makes a plain directory .btrsend-partial.NAME (mode 0700 until
	 * finished) on any filesystem, renamed to NAME at the end, never
	 * over an existing NAME.  SNAPSHOT and CLONE are refused, encoded
	 * writes decompressed, no received uuid, no read-only, no
	 * checkpoint snapshots: a resume replays tolerantly from the last
	 * durable checkpoint.  What the destination cannot hold (xattrs,
	 * owners, inode flags, device files) is counted, not fatal: see
	 * apply_warnings.
	 */
	bool plain_dir;
	/* With plain_dir: the stream's root holds one entry NAME, which
	 * becomes DIR/NAME itself (a subtree that is one file). */
	bool single_file;
	/* How DIR is named in apply_warnings ("/dest"); NULL: "DIR". */
	const char *dest_label;
	/*
	 * Look parents and clone sources up beneath parents_fd instead of
	 * DIR (a restore: the top of DEST's filesystem, whose subvolumes the
	 * client offered as bases); the rule is the same.
	 */
	bool parents_elsewhere;
	int parents_fd;
};

/* Per-subvolume result, handed to the summary callback. */
struct apply_summary {
	const char *name;
	uint64_t ncmds;         /* commands applied by this run */
	uint64_t bytes;         /* stream bytes of those commands */
	double seconds;
	bool resumed;           /* continued from a checkpoint */
	bool already;           /* was already received; nothing applied */
};

struct apply;

/* dirfd: DIR, on btrfs; the engine dups it.  NULL with errno on failure. */
struct apply *apply_new(int dirfd, const struct apply_opts *o);
void apply_free(struct apply *a);
void apply_set_summary_cb(struct apply *a,
    void (*cb)(const struct apply_summary *, void *), void *arg);

/* A 17-byte stream header at byte offset `offset` of the input. */
int apply_header(struct apply *a, const uint8_t *hdr, size_t len, uint64_t offset);
/* One whole, CRC-checked command (from stream_reader_next). */
int apply_cmd(struct apply *a, const struct stream_cmd *c);
/* Make the applied state durable and write the checkpoint. */
int apply_checkpoint(struct apply *a);
/*
 * The same without waiting, for a receiver that acks checkpoints: start
 * one at the current position in the background.  If one is still being
 * made durable there, `wait` waits for it; otherwise the new one is left
 * pending and starts after the first command applied once the background
 * is free.  0, or -1 on failure.  apply_checkpoint_done hands each out
 * once it is durable: 1 and *c, 0 when none is new, -1 when one failed.
 */
int apply_checkpoint_start(struct apply *a, bool wait);
int apply_checkpoint_done(struct apply *a, struct checkpoint *c);
/*
 * End of input.  Clean (every subvolume finished): 0.  A subvolume still
 * open (input ended early or was cut): its checkpoint is written exactly
 * at the last applied command, the partial is kept for resume, -1.
 */
int apply_finish(struct apply *a);
/*
 * hold_end: finish the subvolume whose END was held (received uuid,
 * read-only, final name).  0, or -1 when no END is held or finishing
 * failed (the partial stays, resumable before its END).
 */
int apply_commit(struct apply *a);
/* After a bad command: drop the current partial (it is not resumable). */
void apply_abort(struct apply *a, bool keep_partial);

/*
 * Whether every one of uuids[0..n) names a subvolume beneath DIR that
 * may stand for it as a stream's parent or clone source, by the rule
 * apply uses (docs/architecture.md, "Parents and clone sources"): by
 * received uuid read-only and unchanged since received, or by its own
 * uuid with ctransids[i] (0: not told, not checked).  Partials and
 * checkpoint snapshots do not count; an all-zero uuid names nothing.
 * 1; 0 with *missing the index of the first that does not fit and why
 * (for a message after the uuid) in why; -1 (see apply_error).  One
 * listing of DIR for all of them.
 */
int apply_holds_subvols(struct apply *a, const uint8_t (*uuids)[16],
    const uint64_t *ctransids, size_t n, size_t *missing, char *why,
    size_t whylen);

/*
 * Stream parameters the stream itself does not carry (send flags, clone
 * sources), told by a network sender: they become part of the identity of
 * every subvolume begun afterwards, so a partial of the same snapshot sent
 * with other flags or clone sources is not resumed.  0, or -1 (more than
 * CKPT_MAX_CLONES clone sources).
 */
int apply_set_stream_params(struct apply *a, uint64_t flags, uint32_t nclones,
    const uint8_t (*clones)[16]);
/*
 * Delete the partial of subvolume `name` (staging subvolume, state file,
 * checkpoint snapshots, progress record), if any, so that its stream
 * starts from zero.  No subvolume may be open.  0 or -1.
 */
int apply_discard_partial(struct apply *a, const char *name);

/* Resume driven by a network receiver (see above). */
int apply_find_checkpoint(int dirfd, const char *name, struct checkpoint *c,
    char *err, size_t errlen);
int apply_resume(struct apply *a, const struct checkpoint *c);

const char *apply_error(const struct apply *a);
/*
 * The errno behind apply_error, 0 when none is (a malformed or
 * mismatched stream): ENOSPC or EDQUOT tell a full filesystem from a
 * refused command.
 */
int apply_errno(const struct apply *a);
/*
 * plain_dir: what was not restored, one line per kind (extended
 * attributes, owners, inode flags, device files), each with its count,
 * the first path, the error and why, e.g. "3 extended attributes not
 * restored: /dest/x: Operation not supported (the destination
 * filesystem lacks them)".  "" when everything was.  Valid until the
 * next call on a; the counts cover this apply's whole life.
 */
const char *apply_warnings(struct apply *a);
/* The number of things not restored (the sum of the counts above). */
uint64_t apply_nwarnings(const struct apply *a);

/* Subvolumes finished by this run (for exit status and tests). */
uint64_t apply_nfinished(const struct apply *a);

/*
 * Path rules (engine/apply_path.c), exposed for unit tests.  A stream path
 * is relative to the subvolume root: components separated by single '/',
 * none empty, "." or "..", no NUL, at most NAME_MAX bytes each and
 * PATH_MAX - 1 in all.  The empty path is the subvolume root and only
 * allowed where `root_ok`.  0, or -1 with a reason in why.
 */
int apply_path_check(const uint8_t *p, uint32_t len, bool root_ok,
    const char **why);
/* A subvolume name: one plain component. */
int apply_name_check(const uint8_t *p, uint32_t len, const char **why);

/*
 * The flags file of a partial (engine/apply_defer.c), exposed for tests:
 * checks the APPLY_DEFER_REC-byte records of buf[0, len), whose command
 * indices must not go below *prev nor reach limit, and returns the length
 * of the valid prefix, with *prev the last index in it and *why the reason
 * it ends early (NULL when it does not).
 */
#define APPLY_DEFER_REC	32
size_t apply_defer_check(const uint8_t *buf, size_t len, uint64_t *prev,
    uint64_t limit, const char **why);

/*
 * Tolerant replay (engine/apply_replay.c).  After a crash the commands
 * following the checkpoint may have been applied already; this says what
 * an errno from re-applying a command of type `cmd` means.
 */
enum replay_verdict {
	REPLAY_FAIL = 0,        /* a real error */
	REPLAY_DONE,            /* already applied: carry on */
	REPLAY_REPLACE,         /* remove the existing destination, retry once */
	REPLAY_DROP_SOURCE,     /* rename onto a populated dir: drop the source */
};
enum replay_verdict apply_replay_verdict(int cmd, int err);

#endif
