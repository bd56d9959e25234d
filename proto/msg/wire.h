/*
 * The network protocol between a client (btrsendctl send, ls, restore; a
 * send worker) and a server, the backup host (btrsendd receive worker),
 * carried in frames (proto/msg/frame.h) over TLS 1.3 with ALPN
 * "btrsend/2".  A client sends snapshots, or (RESTORE) receives them back:
 * then the roles of the transfer turn.  docs/protocol.md
 * is the reference: payload layouts, the state machine, resume, errors.
 *
 * Decoding never trusts a length: every field is checked against the
 * payload's remaining bytes and against its own bound before use, and a
 * payload with trailing bytes is an error.  wire_fsm enforces message
 * order for one connection, in both directions.
 */
#ifndef BTRSEND_PROTO_MSG_WIRE_H
#define BTRSEND_PROTO_MSG_WIRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"
#include "proto/msg/codec.h"
#include "proto/msg/frame.h"

#define WIRE_VERSION            2
#define WIRE_ALPN               "btrsend/2"
/* What an older peer offers or selects: recognised only to say so. */
#define WIRE_ALPN_V1            "btrsend/1"
#define WIRE_DEFAULT_PORT       7464

#define WIRE_NAME_MAX           SNAP_NAME_MAX   /* job and snapshot names */
#define WIRE_TEXT_MAX           1024    /* error text, reasons, agent */
#define WIRE_CLONES_MAX         256     /* clone sources of one send */
#define WIRE_LIST_MAX           65536   /* snapshots in one list reply */
#define WIRE_PARTIALS_MAX       64
#define WIRE_CTRL_MAX           (64u << 10)     /* payload bound, control */
#define WIRE_LIST_REPLY_MAX     (16u << 20)
#define WIRE_CATALOG_MAX        32768   /* snapshots in one catalog reply */
#define WIRE_PATH_MAX           4095    /* LS and RESTORE paths, link targets */
#define WIRE_LS_MAX             4096    /* entries in one ls reply (a page) */
#define WIRE_HAVE_MAX           2048    /* refs a RESTORE offers as bases */
/* Raw bytes in one DATA frame: any single command fits (stream.h). */
#define WIRE_DATA_RAW_MAX       (8u << 20)
#define WIRE_DATA_HDR_LEN       24
#define WIRE_DATA_MAX           (WIRE_DATA_HDR_LEN + WIRE_DATA_RAW_MAX)

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_LIST = 2,
	WIRE_LIST_REPLY = 3,
	WIRE_BEGIN = 4,
	WIRE_BEGIN_REPLY = 5,
	WIRE_DATA = 6,
	WIRE_ACK = 7,
	WIRE_END = 8,
	WIRE_DONE = 9,
	WIRE_PRUNE = 10,
	WIRE_PRUNE_REPLY = 11,
	WIRE_ERROR = 12,
	WIRE_KEEPALIVE = 13,
	/* version 2: reading back (docs/protocol.md, "Restore") */
	WIRE_CATALOG = 14,
	WIRE_CATALOG_REPLY = 15,
	WIRE_LS = 16,
	WIRE_LS_REPLY = 17,
	WIRE_RESTORE = 18,
	WIRE_TYPE_MAX = 18,
};

/* Frame flags. */
#define WIRE_F_ZSTD             0x0001  /* DATA body is one zstd frame */

/* HELLO capabilities. */
#define WIRE_CAP_ZSTD           0x00000001u
#define WIRE_CAP_COMPRESSED_DATA 0x00000002u  /* v2 encoded writes */
#define WIRE_CAPS_KNOWN         0x00000003u

/* BEGIN flags: stream parameters (part of the stream's identity). */
#define WIRE_BEGIN_COMPRESSED_DATA 0x00000001u
/*
 * A subtree stream (RESTORE with a path): applied into a plain directory,
 * never a subvolume.  Its snapshot ref is the subtree's identity: uuid =
 * the first 16 bytes of SHA-256(snapshot uuid || path), ctransid = the
 * snapshot's ctransid (wire_subtree_uuid).
 */
#define WIRE_BEGIN_SUBTREE      0x00000002u
/*
 * With SUBTREE: the path names one file (not a directory).  The stream's
 * root directory then holds only that file, under the stream's name, and
 * the receiver moves it to DEST/<name> at the end.
 */
#define WIRE_BEGIN_SUBTREE_FILE 0x00000004u
#define WIRE_BEGIN_FLAGS_KNOWN  0x00000007u
/*
 * Not a stream parameter and only valid in BEGIN: "discard any partial of
 * this snapshot and start fresh" (the sender found, fast-forwarding, that
 * the partial's digest does not match the regenerated stream).  The reply
 * must not be RESUME.  Never part of the identity, never in a partial.
 */
#define WIRE_BEGIN_RESTART      0x80000000u

enum wire_begin_status {
	WIRE_BEGIN_FRESH = 0,           /* send from the start */
	WIRE_BEGIN_RESUME = 1,          /* send from the point given */
	WIRE_BEGIN_COMPLETE = 2,        /* receiver already holds it */
};

enum wire_error_code {
	WIRE_E_PROTOCOL = 1,    /* malformed, unknown or out-of-order */
	WIRE_E_VERSION = 2,     /* no common protocol version */
	WIRE_E_AUTH = 3,        /* peer identity not admitted */
	WIRE_E_DENIED = 4,      /* outside the client's area */
	WIRE_E_NOTFOUND = 5,    /* parent or clone source not held */
	WIRE_E_STREAM = 6,      /* bad send-stream command (CRC, TLV) */
	WIRE_E_APPLY = 7,       /* the filesystem refused a command */
	WIRE_E_BUSY = 8,        /* the same snapshot is being received */
	WIRE_E_RESOURCE = 9,    /* out of space, memory, processes */
	WIRE_E_TIMEOUT = 10,    /* idle or stalled peer */
	WIRE_E_INTERNAL = 11,
	WIRE_E_SHUTDOWN = 12,   /* receiver is stopping; retry later */
	WIRE_E_MAX = 12,
};

/* A subvolume as the receiver finds it: uuid plus ctransid. */
struct wire_ref {
	uint8_t uuid[16];
	uint64_t ctransid;
};

/* A place in a stream: commands and bytes before it, digest of them. */
struct wire_point {
	uint64_t index;
	uint64_t offset;
	struct stream_digest digest;
};

/* Everything that makes the kernel produce the same stream again. */
struct wire_stream_id {
	struct wire_ref snap;           /* the sent snapshot */
	struct wire_ref parent;         /* all zero: full send */
	uint32_t nclones;
	struct wire_ref *clones;        /* nclones entries */
	uint32_t version;               /* send-stream version */
	uint32_t flags;                 /* WIRE_BEGIN_* */
};

struct wire_hello {
	uint16_t version;
	uint32_t caps;
	uint32_t stream_version_max;
	uint32_t data_max;              /* largest raw DATA the peer takes */
	char agent[WIRE_TEXT_MAX + 1];
};

struct wire_snapshot {
	char name[WIRE_NAME_MAX + 1];
	struct wire_ref received;       /* received uuid and its ctransid */
};

struct wire_partial {
	char name[WIRE_NAME_MAX + 1];
	struct wire_stream_id id;
	struct wire_point point;
};

struct wire_list_reply {
	uint32_t nsnaps;
	struct wire_snapshot *snaps;
	uint32_t npartials;
	struct wire_partial *partials;
};

struct wire_begin {
	char job[WIRE_NAME_MAX + 1];
	char name[WIRE_NAME_MAX + 1];
	struct wire_stream_id id;
	uint64_t size_hint;             /* estimated stream bytes, 0 unknown */
};

struct wire_begin_reply {
	uint32_t status;                /* enum wire_begin_status */
	struct wire_point point;
	char reason[WIRE_TEXT_MAX + 1]; /* why a partial was discarded */
};

struct wire_data {
	uint64_t index;                 /* of the first command in body */
	uint64_t offset;                /* stream offset of body[0] */
	uint32_t ncmds;
	uint32_t raw_len;               /* body length once decompressed */
	bool zstd;
	const uint8_t *body;            /* points into the frame payload */
	uint32_t body_len;
};

struct wire_done {
	struct wire_point point;
	char path[WIRE_TEXT_MAX + 1];   /* where it landed, in the area */
};

struct wire_prune {
	char job[WIRE_NAME_MAX + 1];
	struct retention_policy keep;   /* keep-target; .set not carried */
};

struct wire_prune_reply {
	uint32_t deleted, kept;
	uint32_t refused;               /* of kept: the receiver's vetoes */
	char reason[WIRE_TEXT_MAX + 1]; /* why, "" when refused is 0 */
};

/* CATALOG-REPLY: one complete snapshot of the job on the backup host. */
struct wire_catalog_entry {
	char name[WIRE_NAME_MAX + 1];
	struct wire_ref self;           /* the backup host's copy: uuid, ctransid */
	struct wire_ref received;       /* its received uuid and stransid */
	uint64_t otime;                 /* when the copy was made (received), unix s */
	uint64_t size;                  /* stream bytes when known, else 0 */
};

struct wire_catalog_reply {
	uint32_t n;
	struct wire_catalog_entry *snaps;       /* oldest first */
};

/* LS: a directory (or a single file) inside a snapshot of the job. */
struct wire_ls {
	char job[WIRE_NAME_MAX + 1];
	char snapshot[WIRE_NAME_MAX + 1];
	char path[WIRE_PATH_MAX + 1];   /* "" the root; no "", ".", ".." component */
	uint64_t start;                 /* first entry wanted (paging) */
};

struct wire_ls_entry {
	char name[256];                 /* 1..255 bytes, no '/', not . or .. */
	uint32_t mode, uid, gid, nlink;
	uint64_t size, rdev;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char target[WIRE_PATH_MAX + 1]; /* symlink target, else "" */
};

#define WIRE_LS_MORE            0x1     /* another page follows from next */

struct wire_ls_reply {
	uint32_t n;
	struct wire_ls_entry *entries;
	uint32_t flags;                 /* WIRE_LS_MORE */
	uint64_t next;                  /* LS start of the next page */
};

/*
 * RESTORE: the client asks for snapshot (whole, path "") or a subtree of
 * it, and offers as possible bases the refs of subvolumes it holds (each
 * local read-only subvolume by its uuid and ctransid and, when it has
 * one, by its received uuid and stransid).  The roles then turn: the
 * server answers BEGIN and sends, the client answers BEGIN-REPLY, ACKs,
 * DONE.
 */
struct wire_restore {
	char job[WIRE_NAME_MAX + 1];
	char snapshot[WIRE_NAME_MAX + 1];
	char path[WIRE_PATH_MAX + 1];
	uint32_t nhave;
	struct wire_ref *have;          /* nhave entries */
};

struct wire_error {
	uint32_t code;                  /* enum wire_error_code */
	char text[WIRE_TEXT_MAX + 1];
};

struct wire_msg {
	uint16_t type;
	union {
		struct wire_hello hello;
		char job[WIRE_NAME_MAX + 1];            /* LIST */
		struct wire_list_reply list;
		struct wire_begin begin;
		struct wire_begin_reply begin_reply;
		struct wire_data data;
		struct wire_point point;                /* ACK, END */
		struct wire_done done;
		struct wire_prune prune;
		struct wire_prune_reply prune_reply;
		struct wire_error error;
		char catalog_job[WIRE_NAME_MAX + 1];    /* CATALOG */
		struct wire_catalog_reply catalog;
		struct wire_ls ls;
		struct wire_ls_reply ls_reply;
		struct wire_restore restore;
	} u;
};

/*
 * Bounds of len: the largest payload each type's declaration allows, and
 * never more than the table of docs/protocol.md.  wire_rules takes every
 * type (encoding, tests); a receiving end decodes with the rules of its
 * peer's role (wire_rules_for), which refuse on the header alone a type
 * that role never sends (docs/protocol.md §2, "Direction").
 */
extern const struct frame_rules wire_rules;
extern const struct frame_rules wire_rules_from_client;
extern const struct frame_rules wire_rules_from_server;

const char *wire_type_name(uint16_t type);
/* m becomes an ERROR message with code and the formatted text (cut). */
void wire_error_vset(struct wire_msg *m, uint32_t code, const char *fmt,
    va_list ap);
const char *wire_error_name(uint32_t code);
/*
 * How a sender treats an ERROR with this code (docs/protocol.md, "sender's
 * reaction"): ERR_PERMANENT for version, auth, denied, not-found and
 * apply, ERR_TEMPORARY for the others and unknown codes.
 */
enum err_class wire_error_class(uint32_t code);

/*
 * Append the frame of m to b.  0, or -1 with a message when m breaks a
 * bound (name too long, too many clones, ...): nothing is appended.
 */
int  wire_encode(struct msgbuf *b, const struct wire_msg *m,
    char *err, size_t errlen);
/*
 * The same, but for DATA without its body: the frame's bytes are what b
 * got followed by m->u.data.body (sent after it, not copied).  Other
 * types are encoded whole.
 */
int  wire_encode_head(struct msgbuf *b, const struct wire_msg *m,
    char *err, size_t errlen);

/*
 * Decode one frame (header already checked by the frame decoder) into m;
 * m->u.data.body points into payload.  0, or -1 with a message.  Call
 * wire_msg_free afterwards either way.
 */
int  wire_decode(struct wire_msg *m, const struct frame_hdr *h,
    const uint8_t *payload, char *err, size_t errlen);
void wire_msg_free(struct wire_msg *m);

/*
 * A name a kernel path component can be (not empty, ".", "..", no '/')
 * and that logs can quote as it is: no byte below 0x20, no DEL.
 */
bool wire_name_valid(const char *s);
/*
 * A path inside a snapshot as LS and RESTORE carry it: "" (the root), or
 * components separated by single '/', none empty, ".", "..", or with a
 * NUL; no leading or trailing '/'; at most WIRE_PATH_MAX bytes.
 */
bool wire_path_valid(const char *s);
/* The subtree's identity uuid (WIRE_BEGIN_SUBTREE). */
void wire_subtree_uuid(const uint8_t snap_uuid[16], const char *path,
    uint8_t out[16]);

/*
 * Message order on one connection, seen from one end.  Feed every message
 * sent (outgoing) and received; -1 with a message on a violation.
 */
enum wire_role { WIRE_CLIENT, WIRE_SERVER };

struct wire_fsm {
	enum wire_role role;
	bool hello_c, hello_s;          /* client / server hello seen */
	uint16_t pending;               /* request awaiting its reply */
	bool xfer, end_sent, closed;
	bool restart;                   /* pending BEGIN has WIRE_BEGIN_RESTART */
	/*
	 * The BEGIN pending or the transfer open answers a RESTORE: the
	 * server sends the stream, the client replies, ACKs and says DONE.
	 */
	bool turned;
	uint64_t next_index, next_offset;       /* next DATA must start here */
	uint64_t acked;                 /* last ACK index */
	uint32_t stream_max;            /* server's HELLO: highest stream version */
	uint32_t stream_max_c;          /* client's HELLO: the same */
	uint32_t code;                  /* WIRE_E_* to answer the last refusal */
};

/*
 * Per-frame zstd for DATA bodies.  compress: the compressed size, or -1
 * when it would not be smaller (send the body raw).  decompress: exactly
 * d->raw_len bytes into out (cap >= raw_len), or -1 with a message.
 */
struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
long wire_zstd_compress(struct ZSTD_CCtx_s *cctx, const void *src,
    size_t len, void *dst, size_t cap);
int  wire_zstd_decompress(struct ZSTD_DCtx_s *dctx, const struct wire_data *d,
    void *out, size_t cap, char *err, size_t errlen);

/* The frame rules an end of this role decodes its peer's frames with. */
const struct frame_rules *wire_rules_for(enum wire_role role);

void wire_fsm_init(struct wire_fsm *f, enum wire_role role);
/*
 * Besides order: a HELLO must be of WIRE_VERSION (else f->code is
 * WIRE_E_VERSION, and the text says which end to upgrade) with no
 * capability outside WIRE_CAPS_KNOWN; a BEGIN's send-stream version must
 * lie in 1..the receiving end's HELLO's highest (the server's for a
 * client's BEGIN, the client's for a server's, which answers a RESTORE),
 * else WIRE_E_VERSION.  Any other refusal leaves f->code WIRE_E_PROTOCOL.
 */
int  wire_fsm_step(struct wire_fsm *f, bool outgoing, const struct wire_msg *m,
    char *err, size_t errlen);
/*
 * One frame received by the f->role end, as every receive loop takes it
 * (wireio, tests/fuzz/fuzz_wire.c): the header against
 * wire_rules_for(f->role) (the frame decoder did so before reading the
 * payload; a header made by hand is checked here), the payload decoded,
 * then its order.  0 and *m; -1 with a message and *code, the WIRE_E_*
 * to answer it with.  wire_msg_free(m) afterwards either way.
 */
int  wire_take(struct wire_fsm *f, const struct frame_hdr *h,
    const uint8_t *payload, struct wire_msg *m, uint32_t *code, char *err,
    size_t errlen);

#endif
