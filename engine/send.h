/*
 * The send runner: BTRFS_IOC_SEND in its own thread into a pipe, read back
 * as whole, CRC-checked commands with a running digest (proto/stream/digest.h).
 *
 *	send_start()	resolve the snapshots, parent and clone sources the
 *			way `btrfs send` does (spec 5.4) and start the ioctl
 *	send_next()	the next framing unit (stream header or command)
 *	send_skip()	fast-forward for resume: skip N commands and check
 *			the digest of the skipped prefix
 *	send_free()	cancel if still running: closes the pipe (the kernel
 *			gets EPIPE), joins the thread, frees everything
 *
 * Several snapshots are sent by separate ioctls, each with its own header
 * and END, so the output is a concatenation of complete streams, exactly
 * like `btrfs send A B` without -e.
 */
#ifndef BTRSEND_ENGINE_SEND_H
#define BTRSEND_ENGINE_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

#define SEND_PROTO_AUTO 0       /* the highest the kernel offers */
#define SEND_PROTO_DEFAULT 1    /* as `btrfs send`: streams any receiver reads */

/* BTRFS_SEND_FLAG_* (spec 5.2), for callers without linux/btrfs.h. */
#define SEND_FLAG_NO_FILE_DATA  0x1
#define SEND_FLAG_OMIT_HEADER   0x2
#define SEND_FLAG_OMIT_END      0x4
#define SEND_FLAG_VERSION       0x8
#define SEND_FLAG_COMPRESSED    0x10

/*
 * A subtree of a snapshot as a send stream of its own (restore --path,
 * docs/protocol.md "The subtree stream"): made by walking the directory
 * tree instead of BTRFS_IOC_SEND.  Its SUBVOL command carries name, uuid
 * and ctransid; the stream's root directory is the subtree's root (a
 * directory), or holds only the file named `name` (a file: is_file).
 */
struct send_subtree {
	int snapfd;                     /* the snapshot's root directory */
	const char *path;               /* inside it; "" the root */
	const char *name;               /* the stream's subvolume name */
	uint8_t uuid[16];               /* its identity (wire_subtree_uuid) */
	uint64_t ctransid;              /* the snapshot's */
	int is_file;                    /* set by send_start: path is a file */
};

struct send_params {
	const char *const *snapshots;   /* paths of read-only snapshots */
	size_t nsnapshots;
	const char *parent;             /* -p, or NULL */
	const char *const *clones;      /* -c */
	size_t nclones;
	uint32_t proto;                 /* 1, 2, ... or SEND_PROTO_AUTO */
	int compressed_data;            /* needs proto >= 2 */
	int no_data;
	size_t pipe_size;               /* 0: a good default */
	/*
	 * Not NULL: stream this subtree (proto 1 or 2) instead of the
	 * kernel's send of snapshots/parent/clones, which are ignored.
	 */
	struct send_subtree *subtree;
};

struct send_error {
	enum err_class cls;             /* send_classify of errnum, or ours */
	int errnum;                     /* errno, 0 when not from a syscall */
	char msg[512];                  /* says what failed and what to do */
};

/* One framing unit exactly as on the wire. */
struct send_unit {
	int is_header;                  /* a 17-byte stream header */
	const uint8_t *raw;
	size_t len;
	const struct stream_cmd *cmd;   /* NULL for a header */
};

struct send_stats {
	uint64_t bytes;                 /* stream bytes read so far */
	uint64_t ncmds;                 /* commands read so far */
	uint64_t data_bytes;            /* file bytes carried (write, clone, encoded) */
	uint32_t nstreams;
	uint32_t version;               /* of the current stream */
};

/*
 * What one ioctl of a send is given, with the uuids as the stream names
 * them (a subvolume's received uuid when it has one): the identity a
 * receiver's checkpoint must match before a resume.
 */
struct send_item_desc {
	const char *path;
	uint8_t uuid[16];
	int has_parent;
	uint8_t parent_uuid[16];
	size_t nclones;
	const uint8_t (*clone_uuids)[16];
	uint64_t flags;                 /* SEND_FLAG_* given to the ioctl */
	uint32_t version;               /* requested; 0 only on a v1 kernel */
};

struct send;

int  send_start(struct send **sp, const struct send_params *p,
    struct send_error *e);
/* 1 and *u; 0 at the clean end of the last stream; -1 with *e. */
int  send_next(struct send *s, struct send_unit *u, struct send_error *e);
/*
 * Skip the first ncmds commands (and the headers before them); then the
 * digest of what was skipped must equal want.  0, or -1 with *e (a
 * mismatch is ERR_PERMANENT: the partial cannot be resumed).
 */
int  send_skip(struct send *s, uint64_t ncmds, const struct stream_digest *want,
    struct send_error *e);
/* Number of snapshots (ioctls) in this send, and each one's description. */
size_t send_nitems(const struct send *s);
int  send_describe(const struct send *s, size_t i, struct send_item_desc *d);
void send_get_digest(const struct send *s, struct stream_digest *d);
void send_get_stats(const struct send *s, struct send_stats *st);
/* Cancel if running, join the ioctl thread, close everything. */
void send_free(struct send *s);

/*
 * Metadata-only pass (NO_FILE_DATA) with the same parameters: total file
 * data bytes the real send will carry, for percent and ETA.  For a
 * subtree: the bytes of its files' data regions, found without reading
 * them (send_stats.data_bytes reaches exactly that).
 */
int  send_estimate(const struct send_params *p, uint64_t *total,
    struct send_error *e);

/* Highest protocol the running kernel offers (sysfs; 1 when absent). */
uint32_t send_kernel_proto(void);

/* Classify an errno from the send ioctl or subvolume resolution. */
enum err_class send_classify(int errnum);

#endif
