/*
 * Resume checkpoints of a receive in progress.  The receiver is the source
 * of truth: after making applied state durable (syncfs) it writes one of
 * these atomically beside the staging subvolume, then acknowledges.
 *
 * The file is text, one "key value" per line, ending with a line that
 * carries a CRC32C of everything before it; a torn or edited file is
 * refused, never half-trusted.
 */
#ifndef BTRSEND_ENGINE_CHECKPOINT_H
#define BTRSEND_ENGINE_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/stream/digest.h"

#define CKPT_MAX_CLONES 64

/* What makes two streams "the same stream" for resume purposes. */
struct ckpt_identity {
	char name[SNAP_NAME_MAX + 1];   /* subvolume name from SUBVOL/SNAPSHOT */
	uint8_t uuid[16];               /* UUID of SUBVOL/SNAPSHOT */
	uint64_t ctransid;
	bool has_parent;                /* incremental: SNAPSHOT */
	uint8_t parent_uuid[16];        /* CLONE_UUID of SNAPSHOT */
	uint64_t parent_ctransid;
	uint32_t version;               /* stream version */
	uint64_t flags;                 /* send flags, when the sender told us */
	uint32_t nclones;               /* clone sources, when the sender told us */
	uint8_t clone_uuids[CKPT_MAX_CLONES][16];
};

struct checkpoint {
	struct ckpt_identity id;
	uint64_t ncmds;                 /* commands applied: resume at this index */
	uint64_t offset;                /* input bytes consumed up to there */
	struct stream_digest digest;    /* of the prefix [0, offset) */
	uint64_t data_bytes;            /* file data bytes applied (progress) */
	/* receive engine: bytes of its flags file this position covers */
	uint64_t flags_bytes;
	/* the staging subvolume, or (receive engine) its checkpoint snapshot */
	char staging[SNAP_NAME_MAX + 1];
};

/* Same stream?  Compares every identity field. */
bool ckpt_identity_equal(const struct ckpt_identity *a, const struct ckpt_identity *b);

/*
 * Write c as `name` in directory dirfd: temp file, fsync, rename, fsync of
 * the directory.  Returns 0 or -1 with errno set.
 */
int checkpoint_write(int dirfd, const char *name, const struct checkpoint *c);

/*
 * Read and validate.  Returns 0; 1 when there is no such file; -1 with a
 * reason in err when it exists but is corrupt or unreadable.
 */
int checkpoint_read(int dirfd, const char *name, struct checkpoint *c,
    char *err, size_t errlen);

int checkpoint_remove(int dirfd, const char *name);

#endif
