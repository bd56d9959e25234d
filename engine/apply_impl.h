/*
 * Private state of the apply engine, shared by engine/apply*.c only.
 */
#ifndef BTRSEND_ENGINE_APPLY_IMPL_H
#define BTRSEND_ENGINE_APPLY_IMPL_H

#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <time.h>

#include "engine/apply.h"
#include "proto/stream/digest.h"

#define APPLY_NDIRS     64              /* parent directory fds kept open */
#define APPLY_WBUF      (1u << 20)      /* consecutive writes merged up to */
#define APPLY_WDIRECT   (32u << 10)     /* writes this big are not merged */
#define APPLY_FLUSH_AHEAD (16ull << 20) /* write back between checkpoints */

/* inode flags FILEATTR sets; the blocking ones go on at END */
#define FS_MANAGED_FL (FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | \
    FS_NODUMP_FL | FS_NOATIME_FL | FS_DIRSYNC_FL | FS_NOCOW_FL | \
    FS_NOCOMP_FL | FS_COMPR_FL)
#define FS_BLOCKING_FL (FS_IMMUTABLE_FL | FS_APPEND_FL)

struct apply_dir {
	char *path;                     /* relative to the subvolume, "" root */
	size_t len;
	int fd;                         /* O_PATH directory */
	uint64_t used;
};

struct apply_subv {
	char *rel;                      /* path relative to DIR */
	uint8_t uuid[16];
	uint8_t received_uuid[16];
	uint64_t ctransid, otransid, stransid, rtransid;
	bool read_only;
};

struct apply_mk {                       /* a create held back one command */
	bool on;
	int type;
	char *path, *target;
	uint32_t len;
	uint64_t mode, rdev;
	uint64_t index, offset;
};

/* plain_dir: what the destination could not take (apply_plain.c) */
enum apply_warn_kind {
	WARN_XATTR = 0,
	WARN_OWNER,
	WARN_FLAGS,
	WARN_DEVICE,
	WARN_NKINDS,
};

struct apply_warn {
	uint64_t count;
	int errnum;                     /* of the first */
	char *first;                    /* its stream path */
};

enum apply_sub_state {
	SUB_NONE = 0,                   /* between subvolumes */
	SUB_ACTIVE,                     /* applying into the staging subvolume */
	SUB_SKIP,                       /* already received: digest only */
};

struct apply {
	int dirfd;
	struct apply_opts o;
	char err[640];
	int errnum;                     /* errno behind err, or 0 */
	void (*cb)(const struct apply_summary *, void *);
	void *cbarg;

	/* input position: everything before pos is applied or skipped */
	uint32_t version;
	struct stream_digest digest;    /* of [0, pos) */
	uint64_t pos;
	uint64_t next_index;
	const struct stream_cmd *cur;   /* for error messages */

	/* current subvolume */
	enum apply_sub_state sub;
	char name[NAME_MAX + 1];
	char staging[NAME_MAX + 1];
	char statefile[NAME_MAX + 1];
	int subfd;
	struct ckpt_identity id;
	/* what the sender told us beyond the stream (apply_set_stream_params) */
	bool told;
	uint64_t told_flags;
	uint32_t told_nclones;
	uint8_t told_clones[CKPT_MAX_CLONES][16];
	bool resuming;                  /* skipping up to resume_index */
	uint64_t resume_index;
	struct stream_digest resume_digest;
	bool sealed;                    /* partial already received + ro */
	/*
	 * A merged write or held-back create of a command already counted
	 * as applied failed: the position overstates what is on disk, so
	 * no checkpoint may be taken at it (apply_write_checkpoint).
	 */
	bool lost;
	bool tolerant;                  /* replaying after a crash */
	bool resumed;
	/* hold_end: END taken, not applied; the position before it */
	bool end_held;
	uint64_t end_index, end_pos;
	struct stream_digest end_digest;

	/* per-subvolume statistics */
	uint64_t s_ncmds, s_bytes, s_data;
	struct timespec s_start;

	/* checkpoints */
	uint64_t ck_pos;
	uint64_t flush_pos;             /* of the last write-back started */
	bool ck_pending;                /* start one when the thread is free */
	struct timespec ck_time;
	int ck_snap;                    /* slot the state file names, -1 none */
	int ck_snaps;                   /* snapshots: 0 unknown, 1 on, -1 off */

	/* descriptor caches */
	struct apply_dir dirs[APPLY_NDIRS];
	uint64_t dir_clock;
	char *fpath;                    /* path of fd_file, NULL when none */
	size_t fpath_len;
	int fd_file;                    /* O_RDWR regular file */

	struct apply_mk mk;

	/* merged writes pending for fd_file */
	uint8_t *wbuf;
	size_t wlen;
	uint64_t woff;

	/* blocking inode flags for END, on disk (apply_defer.c) */
	int defer_fd;                   /* the flags file, -1 not open */
	uint64_t defer_len;             /* bytes of records in it */
	unsigned int root_flags;        /* the root's, set after the rename */

	/* subvolumes beneath DIR, for SNAPSHOT parents and CLONE sources */
	struct apply_subv *subvs;
	size_t nsubvs;
	int clone_fd;                   /* last foreign clone source subvolume */
	uint8_t clone_uuid[16];
	uint64_t clone_ctransid;
	bool rule_synced;               /* committed for the source rule */

	/* exact progress in a shared mapping (apply_progress.c) */
	void *progress;
	int progress_fd;                /* flock'ed: one receive per name */
	uint64_t progress_seq;
	bool pub_pending;               /* merged writes not yet handed over */
	uint64_t pub_ncmds, pub_offset;
	struct stream_digest pub_digest;

	struct apply_syncer *syncer;    /* background checkpoints */

	uint64_t nfinished;
	bool verity_warned;

	/* plain_dir (apply_plain.c) */
	struct apply_warn warns[WARN_NKINDS];
	char *warn_text;
	char *skip_path;                /* a device file not made: its commands */
	/*
	 * The root's CHMOD and UTIMES wait for the rename (the staging
	 * directory stays 0700); until END no checkpoint or progress record
	 * goes past the first of them, so a resume sends them again.
	 */
	bool root_mode_set, root_times_set;
	uint32_t root_mode;
	struct timespec root_times[2];
	bool pinned;
	uint64_t pin_index, pin_pos;
	struct stream_digest pin_digest;
};

int  apply_fail(struct apply *a, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void apply_clear_subvol(struct apply *a);

/* engine/apply_fs.c */
int  apply_fs_dispatch(struct apply *a, const struct stream_cmd *c);
int  apply_flush(struct apply *a);
int  apply_mk_settle(struct apply *a);
void apply_close_caches(struct apply *a);
int  apply_open_beneath(int base, const char *path, int flags, int resolve_extra);
int  apply_open_reg(int base, const char *path, int flags);
int  apply_set_fsflags(int fd, unsigned int want, unsigned int mask);

/* engine/apply_defer.c */
int  apply_defer_add(struct apply *a, int fd, unsigned int want,
    const uint8_t *p, uint32_t plen);
int  apply_defer_resume(struct apply *a, uint64_t durable, uint64_t next);
int  apply_defer_verify(int dirfd, const char *name, const struct checkpoint *c,
    char *err, size_t errlen);
void apply_defer_close(struct apply *a);
void apply_defer_remove(struct apply *a);
int  apply_set_deferred_flags(struct apply *a);
int  apply_set_root_flags(struct apply *a);
int  apply_subvol_delete(struct apply *a, const char *name);

/* engine/apply_ckpt.c */
bool apply_ckpt_enabled(struct apply *a);
int  apply_ckpt_name(const char *name, int slot, char out[NAME_MAX + 1]);
int  apply_ckpt_slot(const struct apply *a, const char *field);
int  apply_ckpt_take(struct apply *a, char out[NAME_MAX + 1], int *slot);
int  apply_ckpt_restore(struct apply *a, int slot);
void apply_ckpt_drop(struct apply *a, int slot);
void apply_ckpt_drop_all(struct apply *a);

/* engine/apply_progress.c */
int  apply_progress_open(struct apply *a);
void apply_progress_close(struct apply *a, bool remove);
void apply_progress_publish(struct apply *a, uint64_t ncmds, uint64_t offset,
    const struct stream_digest *d);
int  apply_progress_refine(int dirfd, const char *subvol, struct checkpoint *c);

/* engine/apply_sync.c */
int  apply_sync_idle(struct apply *a);
int  apply_sync_request(struct apply *a, const struct checkpoint *ck,
    const char *drop);
int  apply_sync_flush(struct apply *a);
int  apply_sync_wait(struct apply *a);
void apply_sync_free(struct apply *a);

/* engine/apply_plain.c */
int  apply_plain_create(struct apply *a);
int  apply_plain_remove(struct apply *a, const char *name);
int  apply_plain_finish(struct apply *a);
int  apply_plain_set_flags(struct apply *a);
bool apply_plain_lacks(struct apply *a, enum apply_warn_kind k, int err,
    const uint8_t *p, uint32_t len);
bool apply_plain_skipped(struct apply *a, const struct stream_cmd *c);
int  apply_plain_hold_root(struct apply *a, const struct stream_cmd *c,
    mode_t mode, const struct timespec ts[2]);
void apply_plain_clear(struct apply *a);
/* the inode field of a flags record in a plain directory: st_ino + 256 */
#define APPLY_PLAIN_INO_BIAS 256

/* engine/apply_subvol.c */
int  apply_subvol_begin(struct apply *a, const struct stream_cmd *c);
int  apply_subvol_end(struct apply *a);
int  apply_find_subvol(struct apply *a, const uint8_t uuid[16],
    uint64_t ctransid, const char *what);
int  apply_write_checkpoint(struct apply *a, bool sync, bool include_cur);
int  apply_checkpoint_async(struct apply *a);
void apply_drop_partial(struct apply *a);

#endif
