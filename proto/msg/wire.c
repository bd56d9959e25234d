/*
 * Network messages declared over the codec (codec.h), their order checks
 * and DATA compression (see wire.h, docs/protocol.md).  A ref is 16 uuid
 * bytes and a u64 ctransid; a point is u64 index, u64 offset and 32
 * digest bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "proto/base/log.h"
#include "proto/msg/wire.h"

static const char *const wire_type_names[] = {
	[WIRE_HELLO] = "hello",
	[WIRE_LIST] = "list",
	[WIRE_LIST_REPLY] = "list-reply",
	[WIRE_BEGIN] = "begin",
	[WIRE_BEGIN_REPLY] = "begin-reply",
	[WIRE_DATA] = "data",
	[WIRE_ACK] = "ack",
	[WIRE_END] = "end",
	[WIRE_DONE] = "done",
	[WIRE_PRUNE] = "prune",
	[WIRE_PRUNE_REPLY] = "prune-reply",
	[WIRE_ERROR] = "error",
	[WIRE_KEEPALIVE] = "keepalive",
	[WIRE_CATALOG] = "catalog",
	[WIRE_CATALOG_REPLY] = "catalog-reply",
	[WIRE_LS] = "ls",
	[WIRE_LS_REPLY] = "ls-reply",
	[WIRE_RESTORE] = "restore",
};

static const char *const wire_error_names[] = {
	[WIRE_E_PROTOCOL] = "protocol",
	[WIRE_E_VERSION] = "version",
	[WIRE_E_AUTH] = "auth",
	[WIRE_E_DENIED] = "denied",
	[WIRE_E_NOTFOUND] = "not-found",
	[WIRE_E_STREAM] = "stream",
	[WIRE_E_APPLY] = "apply",
	[WIRE_E_BUSY] = "busy",
	[WIRE_E_RESOURCE] = "resource",
	[WIRE_E_TIMEOUT] = "timeout",
	[WIRE_E_INTERNAL] = "internal",
	[WIRE_E_SHUTDOWN] = "shutdown",
};

static bool
wire_known(uint16_t type)
{
	return type >= WIRE_HELLO && type <= WIRE_TYPE_MAX;
}

static uint32_t wire_max_len(uint16_t type);
static const char *wire_refused_from_client(uint16_t type);
static const char *wire_refused_from_server(uint16_t type);

/* Bounds derived from the declarations below. */
const struct frame_rules wire_rules = { wire_known, wire_max_len, NULL };
const struct frame_rules wire_rules_from_client = { wire_known, wire_max_len,
    wire_refused_from_client };
const struct frame_rules wire_rules_from_server = { wire_known, wire_max_len,
    wire_refused_from_server };

const struct frame_rules *
wire_rules_for(enum wire_role role)
{
	return role == WIRE_SERVER ? &wire_rules_from_client :
	    &wire_rules_from_server;
}

void
wire_error_vset(struct wire_msg *m, uint32_t code, const char *fmt,
    va_list ap)
{
	memset(m, 0, sizeof(*m));
	m->type = WIRE_ERROR;
	m->u.error.code = code;
	vsnprintf(m->u.error.text, sizeof(m->u.error.text), fmt, ap);
}

const char *
wire_type_name(uint16_t type)
{
	return wire_known(type) ? wire_type_names[type] : "unknown";
}

const char *
wire_error_name(uint32_t code)
{
	if (code >= 1 && code <= WIRE_E_MAX)
		return wire_error_names[code];
	return "unknown";
}

enum err_class
wire_error_class(uint32_t code)
{
	switch (code) {
	case WIRE_E_VERSION:
	case WIRE_E_AUTH:
	case WIRE_E_DENIED:
	case WIRE_E_NOTFOUND:
	case WIRE_E_APPLY:
		return ERR_PERMANENT;
	default:
		return ERR_TEMPORARY;
	}
}

/* Control bytes would reach logs and terminals through every name. */
static bool
wire_name_plain(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

bool
wire_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= WIRE_NAME_MAX && strchr(s, '/') == NULL &&
	    strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && wire_name_plain(s);
}

/*
 * A path names something inside a snapshot (LS, RESTORE): the server
 * opens it component by component below the snapshot's root, so nothing
 * here may climb out or be ambiguous.  Control bytes are allowed: file
 * names may hold them (printers escape them).
 */
bool
wire_path_valid(const char *s)
{
	const char *p, *slash;
	size_t n, len = strnlen(s, WIRE_PATH_MAX + 1);

	if (len == 0)
		return true;
	if (len > WIRE_PATH_MAX)
		return false;
	for (p = s; ; p = slash + 1) {
		slash = strchr(p, '/');
		n = slash == NULL ? strlen(p) : (size_t)(slash - p);
		if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
	}
}

/*
 * Two subtrees of one snapshot, or the same path in two snapshots, are
 * different streams: a partial of one is never resumed as the other.
 */
void
wire_subtree_uuid(const uint8_t snap_uuid[16], const char *path,
    uint8_t out[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, snap_uuid, 16) != 1 ||
	    EVP_DigestUpdate(ctx, path, strlen(path)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
		fatalx("wire_subtree_uuid: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	memcpy(out, md, 16);
}

/* ---- the messages, each declared once (codec.h) ---- */

static void
wire_name(struct msgc *c, const char *field, char *s)
{
	msg_str(c, field, s, WIRE_NAME_MAX);
	if (!c->bad && c->mode != MSG_MEASURE && !wire_name_valid(s))
		msg_fail(c, field, "not a valid name "
		    "(empty, '.', '..', or contains '/' or a control byte)");
}

static void
wire_text(struct msgc *c, const char *field, char *s)
{
	msg_str(c, field, s, WIRE_TEXT_MAX);
}

static void
fields_ref(struct msgc *c, void *arg)
{
	struct wire_ref *r = arg;

	msg_bytes(c, "uuid", r->uuid, sizeof(r->uuid));
	msg_u64(c, "ctransid", &r->ctransid);
}

static void
fields_point(struct msgc *c, void *arg)
{
	struct wire_point *p = arg;

	msg_u64(c, "command index", &p->index);
	msg_u64(c, "byte offset", &p->offset);
	msg_bytes(c, "digest", p->digest.d, STREAM_DIGEST_LEN);
}

/* WIRE_BEGIN_RESTART is known in BEGIN only. */
static void
wire_stream_id(struct msgc *c, struct wire_stream_id *id, bool in_begin)
{
	uint32_t known = WIRE_BEGIN_FLAGS_KNOWN |
	    (in_begin ? WIRE_BEGIN_RESTART : 0);

	fields_ref(c, &id->snap);
	fields_ref(c, &id->parent);
	msg_u32(c, "stream version", &id->version);
	msg_u32(c, "flags", &id->flags);
	msg_check(c, (id->flags & ~known) == 0, "flags",
	    "unknown stream flags");
	msg_array(c, "clone sources", &id->nclones, WIRE_CLONES_MAX,
	    &id->clones, sizeof(*id->clones), fields_ref);
}

static void
fields_hello(struct msgc *c, void *arg)
{
	struct wire_hello *h = arg;

	msg_u16(c, "version", &h->version);
	msg_u32(c, "capabilities", &h->caps);
	msg_u32(c, "stream version", &h->stream_version_max);
	msg_u32(c, "data bound", &h->data_max);
	wire_text(c, "agent", h->agent);
}

static void
fields_list(struct msgc *c, void *arg)
{
	wire_name(c, "job name", arg);
}

static void
fields_snapshot(struct msgc *c, void *arg)
{
	struct wire_snapshot *s = arg;

	wire_name(c, "snapshot name", s->name);
	fields_ref(c, &s->received);
}

static void
fields_partial(struct msgc *c, void *arg)
{
	struct wire_partial *p = arg;

	wire_name(c, "partial name", p->name);
	wire_stream_id(c, &p->id, false);
	fields_point(c, &p->point);
}

static void
fields_list_reply(struct msgc *c, void *arg)
{
	struct wire_list_reply *l = arg;

	msg_array(c, "snapshots", &l->nsnaps, WIRE_LIST_MAX, &l->snaps,
	    sizeof(*l->snaps), fields_snapshot);
	msg_array(c, "partials", &l->npartials, WIRE_PARTIALS_MAX,
	    &l->partials, sizeof(*l->partials), fields_partial);
}

static void
fields_begin(struct msgc *c, void *arg)
{
	struct wire_begin *b = arg;

	wire_name(c, "job name", b->job);
	wire_name(c, "snapshot name", b->name);
	wire_stream_id(c, &b->id, true);
	msg_u64(c, "size hint", &b->size_hint);
}

static void
fields_begin_reply(struct msgc *c, void *arg)
{
	struct wire_begin_reply *b = arg;

	msg_u32(c, "status", &b->status);
	fields_point(c, &b->point);
	wire_text(c, "reason", b->reason);
	msg_check(c, b->status <= WIRE_BEGIN_COMPLETE, "status",
	    "unknown begin status");
}

/* zstd comes from the frame flags; the body is the rest of the payload. */
static void
fields_data(struct msgc *c, void *arg)
{
	struct wire_data *d = arg;

	msg_u64(c, "data index", &d->index);
	msg_u64(c, "data offset", &d->offset);
	msg_u32(c, "command count", &d->ncmds);
	msg_u32(c, "raw length", &d->raw_len);
	msg_tail(c, "data body", &d->body, &d->body_len, WIRE_DATA_RAW_MAX);
	if (c->bad || c->mode == MSG_MEASURE)
		return;
	if (d->raw_len > WIRE_DATA_RAW_MAX)
		msg_fail(c, "raw length", "over the data bound");
	else if (!d->zstd && d->body_len != d->raw_len)
		msg_fail(c, "raw length", "differs from the body length");
	msg_check(c, d->raw_len != 0 && d->ncmds != 0, "data",
	    "empty data frame");
}

static void
fields_done(struct msgc *c, void *arg)
{
	struct wire_done *d = arg;

	fields_point(c, &d->point);
	wire_text(c, "path", d->path);
}

static void
fields_prune(struct msgc *c, void *arg)
{
	struct wire_prune *p = arg;

	wire_name(c, "job name", p->job);
	msg_u32(c, "hourly", &p->keep.hourly);
	msg_u32(c, "daily", &p->keep.daily);
	msg_u32(c, "weekly", &p->keep.weekly);
	msg_u32(c, "monthly", &p->keep.monthly);
	msg_u32(c, "yearly", &p->keep.yearly);
	msg_u64(c, "min-age", &p->keep.min_age);
}

static void
fields_prune_reply(struct msgc *c, void *arg)
{
	struct wire_prune_reply *p = arg;

	msg_u32(c, "deleted", &p->deleted);
	msg_u32(c, "kept", &p->kept);
	msg_u32(c, "refused", &p->refused);
	wire_text(c, "refusal reason", p->reason);
	msg_check(c, p->refused <= p->kept, "refused",
	    "more refused than kept");
}

static void
fields_error(struct msgc *c, void *arg)
{
	struct wire_error *e = arg;

	msg_u32(c, "error code", &e->code);
	wire_text(c, "error text", e->text);
}

/* A path inside a snapshot (wire_path_valid). */
static void
wire_path(struct msgc *c, const char *field, char *s)
{
	msg_str(c, field, s, WIRE_PATH_MAX);
	if (!c->bad && c->mode != MSG_MEASURE && !wire_path_valid(s))
		msg_fail(c, field, "not a valid path inside a snapshot (a "
		    "leading, trailing or double '/', or a '.' or '..' "
		    "component, or one over 255 bytes)");
}

static void
fields_catalog(struct msgc *c, void *arg)
{
	wire_name(c, "job name", arg);
}

static void
fields_catalog_entry(struct msgc *c, void *arg)
{
	struct wire_catalog_entry *e = arg;

	wire_name(c, "snapshot name", e->name);
	fields_ref(c, &e->self);
	fields_ref(c, &e->received);
	msg_u64(c, "otime", &e->otime);
	msg_u64(c, "size", &e->size);
}

static void
fields_catalog_reply(struct msgc *c, void *arg)
{
	struct wire_catalog_reply *r = arg;

	msg_array(c, "snapshots", &r->n, WIRE_CATALOG_MAX, &r->snaps,
	    sizeof(*r->snaps), fields_catalog_entry);
}

static void
fields_ls(struct msgc *c, void *arg)
{
	struct wire_ls *l = arg;

	wire_name(c, "job name", l->job);
	wire_name(c, "snapshot name", l->snapshot);
	wire_path(c, "path", l->path);
	msg_u64(c, "start", &l->start);
}

/*
 * A directory entry's name as the kernel holds it: it may carry any byte
 * but '/' and NUL (control bytes too: whoever prints it escapes them),
 * and a server cannot make a client step up or stay in place with it.
 */
static void
fields_ls_entry(struct msgc *c, void *arg)
{
	struct wire_ls_entry *e = arg;

	msg_str(c, "entry name", e->name, sizeof(e->name) - 1);
	if (!c->bad && c->mode != MSG_MEASURE && (e->name[0] == '\0' ||
	    strchr(e->name, '/') != NULL || strcmp(e->name, ".") == 0 ||
	    strcmp(e->name, "..") == 0))
		msg_fail(c, "entry name", "not a file name (empty, '.', '..', "
		    "or contains '/')");
	msg_u32(c, "mode", &e->mode);
	msg_u32(c, "uid", &e->uid);
	msg_u32(c, "gid", &e->gid);
	msg_u32(c, "nlink", &e->nlink);
	msg_u64(c, "size", &e->size);
	msg_u64(c, "rdev", &e->rdev);
	msg_i64(c, "mtime", &e->mtime_sec);
	msg_u32(c, "mtime nanoseconds", &e->mtime_nsec);
	msg_check(c, e->mtime_nsec < 1000000000u, "mtime nanoseconds",
	    "not below one second");
	msg_str(c, "link target", e->target, WIRE_PATH_MAX);
}

static void
fields_ls_reply(struct msgc *c, void *arg)
{
	struct wire_ls_reply *r = arg;

	msg_array(c, "entries", &r->n, WIRE_LS_MAX, &r->entries,
	    sizeof(*r->entries), fields_ls_entry);
	msg_u32(c, "flags", &r->flags);
	msg_check(c, (r->flags & ~(uint32_t)WIRE_LS_MORE) == 0, "flags",
	    "unknown ls flags");
	msg_u64(c, "next", &r->next);
}

static void
fields_restore(struct msgc *c, void *arg)
{
	struct wire_restore *r = arg;

	wire_name(c, "job name", r->job);
	wire_name(c, "snapshot name", r->snapshot);
	wire_path(c, "path", r->path);
	msg_array(c, "bases", &r->nhave, WIRE_HAVE_MAX, &r->have,
	    sizeof(*r->have), fields_ref);
}

static void
fields_none(struct msgc *c, void *arg)
{
	(void)c;
	(void)arg;
}

/*
 * Who sends a type (docs/protocol.md §3, "dir").  Since version 2 a
 * transfer may go either way (RESTORE turns it), so BEGIN, DATA, END and
 * their answers come from both roles; requests only from a client, their
 * replies only from a server.
 */
#define BY_C	0x1	/* the client */
#define BY_S	0x2	/* the server, the backup host */

static const struct {
	msg_fields_fn	*fn;
	size_t		 size;
	uint32_t	 cap;	/* docs/protocol.md's bound of len */
	unsigned	 by;	/* BY_C, BY_S */
} wire_msgs[WIRE_TYPE_MAX + 1] = {
	[WIRE_HELLO] = { fields_hello, sizeof(struct wire_hello),
	    WIRE_CTRL_MAX, BY_C | BY_S },
	[WIRE_LIST] = { fields_list, WIRE_NAME_MAX + 1, WIRE_CTRL_MAX, BY_C },
	[WIRE_LIST_REPLY] = { fields_list_reply, sizeof(struct wire_list_reply),
	    WIRE_LIST_REPLY_MAX, BY_S },
	[WIRE_BEGIN] = { fields_begin, sizeof(struct wire_begin),
	    WIRE_CTRL_MAX, BY_C | BY_S },
	[WIRE_BEGIN_REPLY] = { fields_begin_reply,
	    sizeof(struct wire_begin_reply), WIRE_CTRL_MAX, BY_C | BY_S },
	[WIRE_DATA] = { fields_data, sizeof(struct wire_data), WIRE_DATA_MAX,
	    BY_C | BY_S },
	[WIRE_ACK] = { fields_point, sizeof(struct wire_point), WIRE_CTRL_MAX,
	    BY_C | BY_S },
	[WIRE_END] = { fields_point, sizeof(struct wire_point), WIRE_CTRL_MAX,
	    BY_C | BY_S },
	[WIRE_DONE] = { fields_done, sizeof(struct wire_done), WIRE_CTRL_MAX,
	    BY_C | BY_S },
	[WIRE_PRUNE] = { fields_prune, sizeof(struct wire_prune),
	    WIRE_CTRL_MAX, BY_C },
	[WIRE_PRUNE_REPLY] = { fields_prune_reply,
	    sizeof(struct wire_prune_reply), WIRE_CTRL_MAX, BY_S },
	[WIRE_ERROR] = { fields_error, sizeof(struct wire_error),
	    WIRE_CTRL_MAX, BY_C | BY_S },
	[WIRE_KEEPALIVE] = { fields_none, 1, 0, BY_C | BY_S },
	[WIRE_CATALOG] = { fields_catalog, WIRE_NAME_MAX + 1, WIRE_CTRL_MAX,
	    BY_C },
	[WIRE_CATALOG_REPLY] = { fields_catalog_reply,
	    sizeof(struct wire_catalog_reply), WIRE_LIST_REPLY_MAX, BY_S },
	[WIRE_LS] = { fields_ls, sizeof(struct wire_ls), WIRE_CTRL_MAX, BY_C },
	[WIRE_LS_REPLY] = { fields_ls_reply, sizeof(struct wire_ls_reply),
	    WIRE_LIST_REPLY_MAX, BY_S },
	[WIRE_RESTORE] = { fields_restore, sizeof(struct wire_restore),
	    WIRE_CTRL_MAX, BY_C },
};

/*
 * A frame of a type the peer's role never sends is refused on its header,
 * before a byte of its payload is read or buffered: a client cannot make
 * a server hold a 16 MiB LIST-REPLY or LS-REPLY.  The text names the type
 * and the direction.
 */
static const char *
wire_refused_from_client(uint16_t type)
{
	static const char *const why[WIRE_TYPE_MAX + 1] = {
		[WIRE_LIST_REPLY] = "list-reply is sent only by a server; "
		    "refused from the client on its header",
		[WIRE_PRUNE_REPLY] = "prune-reply is sent only by a server; "
		    "refused from the client on its header",
		[WIRE_CATALOG_REPLY] = "catalog-reply is sent only by a "
		    "server; refused from the client on its header",
		[WIRE_LS_REPLY] = "ls-reply is sent only by a server; "
		    "refused from the client on its header",
	};

	if (!wire_known(type) || (wire_msgs[type].by & BY_C))
		return NULL;
	return why[type];
}

static const char *
wire_refused_from_server(uint16_t type)
{
	static const char *const why[WIRE_TYPE_MAX + 1] = {
		[WIRE_LIST] = "list is sent only by a client; refused from "
		    "the server on its header",
		[WIRE_PRUNE] = "prune is sent only by a client; refused from "
		    "the server on its header",
		[WIRE_CATALOG] = "catalog is sent only by a client; refused "
		    "from the server on its header",
		[WIRE_LS] = "ls is sent only by a client; refused from the "
		    "server on its header",
		[WIRE_RESTORE] = "restore is sent only by a client; refused "
		    "from the server on its header",
	};

	if (!wire_known(type) || (wire_msgs[type].by & BY_S))
		return NULL;
	return why[type];
}

/*
 * The largest payload the declaration allows, and never more than the
 * protocol's bound (LIST-REPLY: a reply over it is refused).
 */
static uint32_t
wire_max_len(uint16_t type)
{
	static uint32_t max[WIRE_TYPE_MAX + 1];
	uint32_t n;

	if (!wire_known(type))
		return 0;
	n = msg_bound(&max[type], wire_msgs[type].fn, wire_msgs[type].size);
	return n < wire_msgs[type].cap ? n : wire_msgs[type].cap;
}

static int
wire_encode_part(struct msgbuf *b, const struct wire_msg *m, bool head_only,
    char *err, size_t errlen)
{
	struct msgc c;
	uint16_t flags;

	if (!wire_known(m->type)) {
		frame_errf(err, errlen, "unknown message type %u", m->type);
		return -1;
	}
	flags = m->type == WIRE_DATA && m->u.data.zstd ? WIRE_F_ZSTD : 0;
	msg_encode_begin(&c, b, m->type, flags, 0);
	c.omit_tail = head_only;
	/* Only decoding writes through the field pointers. */
	wire_msgs[m->type].fn(&c, (void *)(uintptr_t)&m->u);
	if (msg_encode_end(&c, &wire_rules) == -1) {
		frame_errf(err, errlen, "%s message: %s",
		    wire_type_name(m->type), c.why);
		return -1;
	}
	return 0;
}

int
wire_encode(struct msgbuf *b, const struct wire_msg *m, char *err,
    size_t errlen)
{
	return wire_encode_part(b, m, false, err, errlen);
}

int
wire_encode_head(struct msgbuf *b, const struct wire_msg *m, char *err,
    size_t errlen)
{
	return wire_encode_part(b, m, true, err, errlen);
}

/*
 * The frame decoder checked h against wire_rules; a header built by hand
 * is bounded by its payload's declaration all the same.
 */
int
wire_decode(struct wire_msg *m, const struct frame_hdr *h,
    const uint8_t *payload, char *err, size_t errlen)
{
	struct msgc c;

	memset(m, 0, sizeof(*m));
	m->type = h->type;
	if (!wire_known(h->type)) {
		frame_errf(err, errlen, "unknown message type %u", h->type);
		return -1;
	}
	if (h->flags != 0 && !(h->type == WIRE_DATA && h->flags == WIRE_F_ZSTD)) {
		frame_errf(err, errlen, "%s: unknown frame flags 0x%x",
		    wire_type_name(h->type), h->flags);
		return -1;
	}
	m->u.data.zstd = h->type == WIRE_DATA && (h->flags & WIRE_F_ZSTD);
	msg_decode_begin(&c, payload, h->len);
	wire_msgs[h->type].fn(&c, &m->u);
	return msg_decode_end(&c, wire_type_name(h->type), err, errlen);
}

static void
wire_stream_id_free(struct wire_stream_id *id)
{
	free(id->clones);
	id->clones = NULL;
	id->nclones = 0;
}

void
wire_msg_free(struct wire_msg *m)
{
	uint32_t i;

	switch (m->type) {
	case WIRE_LIST_REPLY:
		for (i = 0; i < m->u.list.npartials; i++)
			wire_stream_id_free(&m->u.list.partials[i].id);
		free(m->u.list.snaps);
		free(m->u.list.partials);
		break;
	case WIRE_BEGIN:
		wire_stream_id_free(&m->u.begin.id);
		break;
	case WIRE_CATALOG_REPLY:
		free(m->u.catalog.snaps);
		break;
	case WIRE_LS_REPLY:
		free(m->u.ls_reply.entries);
		break;
	case WIRE_RESTORE:
		free(m->u.restore.have);
		break;
	}
	memset(m, 0, sizeof(*m));
}

/* ---- compression ---- */

long
wire_zstd_compress(struct ZSTD_CCtx_s *cctx, const void *src, size_t len,
    void *dst, size_t cap)
{
	size_t n;

	/* The checksum makes a damaged body fail here, not in the codec. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
		return -1;
	n = ZSTD_compress2(cctx, dst, cap, src, len);
	if (ZSTD_isError(n) || n >= len)
		return -1;
	return (long)n;
}

int
wire_zstd_decompress(struct ZSTD_DCtx_s *dctx, const struct wire_data *d,
    void *out, size_t cap, char *err, size_t errlen)
{
	unsigned long long want;
	size_t n;

	if (cap < d->raw_len) {
		frame_errf(err, errlen, "data: raw length %u over buffer of %zu",
		    d->raw_len, cap);
		return -1;
	}
	want = ZSTD_getFrameContentSize(d->body, d->body_len);
	if (want != ZSTD_CONTENTSIZE_UNKNOWN && want != d->raw_len) {
		frame_errf(err, errlen, "data at command %llu: zstd frame "
		    "declares %llu bytes, header says %u",
		    (unsigned long long)d->index, want, d->raw_len);
		return -1;
	}
	/* Bounded by raw_len: a bomb cannot write past what was declared. */
	n = ZSTD_decompressDCtx(dctx, out, d->raw_len, d->body, d->body_len);
	if (ZSTD_isError(n) || n != d->raw_len) {
		frame_errf(err, errlen, "data at command %llu: zstd: %s",
		    (unsigned long long)d->index, ZSTD_isError(n) ?
		    ZSTD_getErrorName(n) : "short output");
		return -1;
	}
	return 0;
}

/* ---- order ---- */

int
wire_take(struct wire_fsm *f, const struct frame_hdr *h,
    const uint8_t *payload, struct wire_msg *m, uint32_t *code, char *err,
    size_t errlen)
{
	*code = WIRE_E_PROTOCOL;
	/* The decoder checked this already; a hand-made header is checked. */
	if (frame_hdr_check(h, wire_rules_for(f->role), err, errlen) == -1) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	if (wire_decode(m, h, payload, err, errlen) == -1)
		return -1;
	if (wire_fsm_step(f, false, m, err, errlen) == -1) {
		*code = f->code;
		return -1;
	}
	return 0;
}

void
wire_fsm_init(struct wire_fsm *f, enum wire_role role)
{
	memset(f, 0, sizeof(*f));
	f->role = role;
}

/*
 * c2s: the message goes from the client to the server.  The texts name
 * the roles; in a transfer the sending end is the client unless a
 * RESTORE turned it (f->turned).
 */
static int
fsm_fail(char *err, size_t errlen, bool c2s, const struct wire_msg *m,
    const char *why)
{
	frame_errf(err, errlen, "%s from %s out of order: %s",
	    wire_type_name(m->type), c2s ? "client" : "server", why);
	return -1;
}

/* The message comes from the end that sends the transfer's stream. */
static bool
fsm_by_sender(const struct wire_fsm *f, bool c2s)
{
	return c2s != f->turned;
}

/*
 * A message of an open transfer, from its sending end (DATA, END) or its
 * receiving end (ACK, DONE).
 */
static int
fsm_in_xfer(struct wire_fsm *f, bool c2s, bool from_sender,
    const struct wire_msg *m, char *err, size_t errlen)
{
	if (!f->xfer || (from_sender && f->end_sent))
		return fsm_fail(err, errlen, c2s, m, "no transfer open");
	if (fsm_by_sender(f, c2s) != from_sender)
		return fsm_fail(err, errlen, c2s, m, f->turned ?
		    "wrong direction (this transfer goes from the server to "
		    "the client)" : "wrong direction (this transfer goes from "
		    "the client to the server)");
	return 0;
}

static int
fsm_reply(struct wire_fsm *f, bool c2s, uint16_t request,
    const struct wire_msg *m, char *err, size_t errlen)
{
	if (f->pending != request)
		return fsm_fail(err, errlen, c2s, m, "no matching request");
	f->pending = 0;
	return 0;
}

static int
fsm_begin_reply(struct wire_fsm *f, bool c2s, const struct wire_msg *m,
    char *err, size_t errlen)
{
	const struct wire_begin_reply *b = &m->u.begin_reply;

	if (f->pending != WIRE_BEGIN || fsm_by_sender(f, c2s))
		return fsm_fail(err, errlen, c2s, m,
		    "no matching request (no begin to answer)");
	f->pending = 0;
	if (b->status == WIRE_BEGIN_COMPLETE) {
		f->turned = false;
		return 0;
	}
	if (b->status == WIRE_BEGIN_RESUME && f->restart)
		return fsm_fail(err, errlen, c2s, m,
		    "the sender asked to restart, not to resume");
	if (b->status == WIRE_BEGIN_FRESH && (b->point.index != 0 ||
	    b->point.offset != 0))
		return fsm_fail(err, errlen, c2s, m,
		    "a fresh start must be at index 0, offset 0");
	f->xfer = true;
	f->next_index = b->point.index;
	f->next_offset = b->point.offset;
	f->acked = b->point.index;
	return 0;
}

static int
fsm_data(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	const struct wire_data *d = &m->u.data;
	char why[160];

	if (fsm_in_xfer(f, c2s, true, m, err, errlen) == -1)
		return -1;
	if (d->index != f->next_index || d->offset != f->next_offset) {
		frame_errf(why, sizeof(why), "starts at command %llu, byte "
		    "%llu; expected command %llu, byte %llu",
		    (unsigned long long)d->index, (unsigned long long)d->offset,
		    (unsigned long long)f->next_index,
		    (unsigned long long)f->next_offset);
		return fsm_fail(err, errlen, c2s, m, why);
	}
	f->next_index += d->ncmds;
	f->next_offset += d->raw_len;
	return 0;
}

static int
fsm_end(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (fsm_in_xfer(f, c2s, true, m, err, errlen) == -1)
		return -1;
	if (m->u.point.index != f->next_index ||
	    m->u.point.offset != f->next_offset)
		return fsm_fail(err, errlen, c2s, m,
		    "totals differ from the data sent");
	f->end_sent = true;
	return 0;
}

static int
fsm_ack(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (fsm_in_xfer(f, c2s, false, m, err, errlen) == -1)
		return -1;
	if (m->u.point.index < f->acked || m->u.point.index > f->next_index)
		return fsm_fail(err, errlen, c2s, m,
		    "acknowledges commands never sent or goes backwards");
	f->acked = m->u.point.index;
	return 0;
}

static int
fsm_done(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (fsm_in_xfer(f, c2s, false, m, err, errlen) == -1)
		return -1;
	if (!f->end_sent)
		return fsm_fail(err, errlen, c2s, m, "before end");
	f->xfer = f->end_sent = f->turned = false;
	return 0;
}

/*
 * Version 1 peers are refused by ALPN already; a HELLO of another
 * version reaches here only from a peer that agreed on btrsend/2 and
 * then spoke otherwise.  The text says which end to upgrade.
 */
static int
fsm_version(struct wire_fsm *f, bool c2s, const struct wire_msg *m,
    char *err, size_t errlen)
{
	unsigned v = m->u.hello.version;
	bool older = v < WIRE_VERSION;

	f->code = WIRE_E_VERSION;
	if (c2s)
		frame_errf(err, errlen, "this backup host speaks btrsend "
		    "protocol %u; the peer speaks %u: upgrade %s",
		    WIRE_VERSION, v, older ? "it" : "this backup host");
	else
		frame_errf(err, errlen, "the backup host speaks btrsend "
		    "protocol %u; this end speaks %u: upgrade %s", v,
		    WIRE_VERSION, older ? "the backup host" : "this end");
	return -1;
}

static int
fsm_hello(struct wire_fsm *f, bool c2s, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (c2s ? f->hello_c : (!f->hello_c || f->hello_s))
		return fsm_fail(err, errlen, c2s, m, c2s ? "second hello" :
		    "hello before the client's or twice");
	if (m->u.hello.version != WIRE_VERSION)
		return fsm_version(f, c2s, m, err, errlen);
	/* A new capability comes with a new version: this one has none. */
	if ((m->u.hello.caps & ~WIRE_CAPS_KNOWN) != 0) {
		frame_errf(err, errlen, "hello from %s has unknown capabilities "
		    "0x%x", c2s ? "client" : "server",
		    m->u.hello.caps & ~WIRE_CAPS_KNOWN);
		return -1;
	}
	if (c2s) {
		f->hello_c = true;
		f->stream_max_c = m->u.hello.stream_version_max;
	} else {
		f->hello_s = true;
		f->stream_max = m->u.hello.stream_version_max;
	}
	return 0;
}

/*
 * A send-stream version the receiving end announced it takes: the
 * server's HELLO for a client's BEGIN, the client's for a turned one.
 */
static int
fsm_stream_version(struct wire_fsm *f, const struct wire_begin *b,
    uint32_t max, char *err, size_t errlen)
{
	if (b->id.version >= 1 && b->id.version <= max)
		return 0;
	f->code = WIRE_E_VERSION;
	frame_errf(err, errlen, "begin of %s: send-stream version %u is not "
	    "supported (the receiver takes 1 to %u)", b->name, b->id.version,
	    max);
	return -1;
}

static int
fsm_request(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (f->pending != 0)
		return fsm_fail(err, errlen, true, m,
		    "a request is still unanswered");
	if (f->xfer)
		return fsm_fail(err, errlen, true, m, "a transfer is open");
	if (m->type == WIRE_BEGIN && fsm_stream_version(f, &m->u.begin,
	    f->stream_max, err, errlen) == -1)
		return -1;
	f->pending = m->type;
	f->restart = m->type == WIRE_BEGIN &&
	    (m->u.begin.id.flags & WIRE_BEGIN_RESTART) != 0;
	return 0;
}

/*
 * The server's BEGIN answers a RESTORE and turns the roles for one
 * transfer.  No restart flag: a client whose resume fails discards its
 * partial itself and asks again.
 */
static int
fsm_turned_begin(struct wire_fsm *f, const struct wire_msg *m, char *err,
    size_t errlen)
{
	if (f->pending != WIRE_RESTORE)
		return fsm_fail(err, errlen, false, m, "no restore asked for");
	if (m->u.begin.id.flags & WIRE_BEGIN_RESTART)
		return fsm_fail(err, errlen, false, m, "a restore's begin "
		    "carries no restart flag (the client discards its partial "
		    "itself)");
	if (fsm_stream_version(f, &m->u.begin, f->stream_max_c, err,
	    errlen) == -1)
		return -1;
	f->pending = WIRE_BEGIN;
	f->restart = false;
	f->turned = true;
	return 0;
}

int
wire_fsm_step(struct wire_fsm *f, bool outgoing, const struct wire_msg *m,
    char *err, size_t errlen)
{
	bool c2s = (f->role == WIRE_CLIENT) == outgoing;

	f->code = WIRE_E_PROTOCOL;
	if (f->closed)
		return fsm_fail(err, errlen, c2s, m, "after an error");
	if (m->type == WIRE_ERROR) {
		f->closed = true;
		return 0;
	}
	if (m->type == WIRE_HELLO)
		return fsm_hello(f, c2s, m, err, errlen);
	if (!f->hello_c || !f->hello_s)
		return fsm_fail(err, errlen, c2s, m, "before the hellos");
	if (m->type == WIRE_KEEPALIVE)
		return 0;
	switch (m->type) {
	case WIRE_LIST:
	case WIRE_PRUNE:
	case WIRE_CATALOG:
	case WIRE_LS:
	case WIRE_RESTORE:
		if (c2s)
			return fsm_request(f, m, err, errlen);
		break;
	case WIRE_BEGIN:
		return c2s ? fsm_request(f, m, err, errlen) :
		    fsm_turned_begin(f, m, err, errlen);
	case WIRE_DATA:
		return fsm_data(f, c2s, m, err, errlen);
	case WIRE_END:
		return fsm_end(f, c2s, m, err, errlen);
	case WIRE_LIST_REPLY:
		if (!c2s)
			return fsm_reply(f, c2s, WIRE_LIST, m, err, errlen);
		break;
	case WIRE_PRUNE_REPLY:
		if (!c2s)
			return fsm_reply(f, c2s, WIRE_PRUNE, m, err, errlen);
		break;
	case WIRE_CATALOG_REPLY:
		if (!c2s)
			return fsm_reply(f, c2s, WIRE_CATALOG, m, err, errlen);
		break;
	case WIRE_LS_REPLY:
		if (!c2s)
			return fsm_reply(f, c2s, WIRE_LS, m, err, errlen);
		break;
	case WIRE_BEGIN_REPLY:
		return fsm_begin_reply(f, c2s, m, err, errlen);
	case WIRE_ACK:
		return fsm_ack(f, c2s, m, err, errlen);
	case WIRE_DONE:
		return fsm_done(f, c2s, m, err, errlen);
	}
	return fsm_fail(err, errlen, c2s, m, "wrong direction");
}
