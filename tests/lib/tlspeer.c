/*
 * tlspeer: both ends of the btrsend TLS handshake and hello, using the
 * daemon's own tls.c and wireio.c, for the authentication tests.
 *
 *   tlspeer serve -c CERT -k KEY -a CA -P PORTFILE [-C CLIENT]... [-n N]
 *       listen on 127.0.0.1 (port written to PORTFILE), take N
 *       connections one at a time, print one line for each:
 *       "admitted NAME" or "refused: WHY"
 *   tlspeer connect -c CERT -k KEY -a CA -H NAME -p PORT [-V VERSION]
 *           [-L JOB | -E TEXT] [-W SECS]
 *       print "connected: receiver speaks version V" (exit 0) or
 *       "refused: WHY" (exit 1); -V sends a hello of another version;
 *       -W holds the connection SECS seconds after the hello (a client's
 *       transfer in progress, as the receiver counts them).
 *       After the hello, as a hostile client would: -L sends LIST of JOB
 *       as it is (no name check) and prints "reply: TYPE" (exit 0) or
 *       "refused: WHY" (exit 1); -E sends ERROR internal with TEXT and
 *       prints "sent error".
 *   tlspeer serve ... -S STREAM [-L NAMES] [-N NAME] [-U UUID] [-F]
 *           [-R TYPE:LEN]
 *       a fake backup host for the restore tests (hostile answers):
 *       after the hello it answers CATALOG with NAMES (comma separated,
 *       oldest first; default "snap.1"), each a copy whose received uuid
 *       and ctransid are those of STREAM's first command; LS with a
 *       not-found ERROR; RESTORE with BEGIN (name: the one asked, or
 *       NAME; ref: STREAM's, or UUID announced instead, the stream left
 *       as it is; for a path, the SUBTREE flag, -F adds SUBTREE_FILE,
 *       and the stream's SUBVOL uuid is rewritten to the subtree's
 *       identity unless -U), then from the point its BEGIN-REPLY asks
 *       the stream in DATA of whole commands, END; it prints a line per
 *       step ("catalog JOB", "restore JOB SNAP PATH", "begin-reply
 *       STATUS", "sent N commands", "done PATH" or "refused: WHY").
 *       -R answers the first request with a bare frame header of TYPE
 *       and LEN instead (an oversized or unexpected answer).
 * Either mode dies after 60 s ($TLSPEER_ALARM seconds if set); each wait
 * for the peer lasts 10 s at most ($TLSPEER_TIMEOUT seconds if set).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>
#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

/* Per wait; $TLSPEER_TIMEOUT seconds if set. */
static int
timeout_ms(void)
{
	const char *e = getenv("TLSPEER_TIMEOUT");

	return e != NULL ? atoi(e) * 1000 : 10000;
}

struct opts {
	struct tls_conf tls;
	const char *portfile, *name, *list, *error, *raw, *stream, *job;
	const char *begin_name;         /* serve -N */
	uint8_t announce[16];           /* serve -U */
	uint64_t ctransid;
	bool set_ctransid, flip, set_announce, file;
	char *clients[16];
	size_t nclients;
	int n, port, version, hold;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tlspeer serve|connect -c CERT -k KEY -a CA "
	    "[-P PORTFILE] [-C CLIENT]... [-n N] [-H NAME] [-p PORT] "
	    "[-V VERSION] [-W SECS] [-L JOB | -E TEXT | -R TYPE:LEN | "
	    "-S STREAM -J JOB [-T CTRANSID] [-Z]]\n"
	    "       tlspeer serve ... -S STREAM [-L NAMES] [-N NAME] [-U UUID] "
	    "[-F] [-R TYPE:LEN]\n");
	exit(2);
}

static void host_session(struct wireio *, const struct opts *);

static void
serve_one(SSL_CTX *ctx, int fd, const struct opts *o)
{
	struct tls_conn t;
	struct wireio w;
	struct wire_hello peer;
	char err[512];
	int r;

	r = tls_accept(&t, ctx, fd, timeout_ms(), o->clients, o->nclients, err,
	    sizeof(err));
	if (r == -1) {
		printf("refused: %s\n", err);
		goto done;
	}
	wireio_init(&w, &t, WIRE_SERVER);
	if (r == -2) {
		wireio_fail(&w, WIRE_E_AUTH, "%s", err);
		printf("refused: %s\n", err);
	} else if (wireio_hello(&w, WIRE_CAP_ZSTD, 2, &peer) == -1)
		printf("refused: %s: %s\n", t.peer, w.err);
	else {
		printf("admitted %s\n", t.peer);
		if (o->stream != NULL) {
			fflush(stdout);
			host_session(&w, o);
		}
	}
	wireio_free(&w);
done:
	fflush(stdout);
	tls_close(&t);
	close(fd);
}

static int
serve(const struct opts *o)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	SSL_CTX *ctx;
	char err[512];
	FILE *f;
	int s, fd, i;

	if ((ctx = tls_ctx_new(&o->tls, true, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1)
		fatal("bind/listen");
	if ((f = fopen(o->portfile, "w")) == NULL)
		fatal("%s", o->portfile);
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	for (i = 0; i < o->n; i++) {
		if ((fd = accept(s, NULL, NULL)) == -1)
			fatal("accept");
		serve_one(ctx, fd, o);
	}
	SSL_CTX_free(ctx);
	close(s);
	return 0;
}

static int
client_hello(struct wireio *w, int version)
{
	struct wire_msg m;
	struct wire_hello peer;

	if (version == WIRE_VERSION)
		return wireio_hello(w, WIRE_CAP_ZSTD, 2, &peer);
	/* Bypass our own order check to put a foreign version on the wire. */
	memset(&m, 0, sizeof(m));
	m.type = WIRE_HELLO;
	m.u.hello.version = (uint16_t)version;
	w->out.len = 0;
	if (wire_encode(&w->out, &m, w->err, sizeof(w->err)) == -1 ||
	    tls_write_all(w->tls, w->out.p, w->out.len, w->err,
	    sizeof(w->err)) == -1)
		return -1;
	w->fsm.hello_c = true;
	if (wireio_recv(w, &m) == -1)
		return -1;
	wire_msg_free(&m);
	return 0;
}

/* LIST of job framed by hand: our encoder would refuse a bad name. */
static int
client_list(struct wireio *w, const char *job)
{
	struct frame_hdr h = { WIRE_LIST, 0, 0, 0, 0 };
	uint8_t buf[FRAME_HEADER_LEN + 2 + 256];
	struct wire_msg m;
	size_t n = strlen(job);

	if (n > 256)
		n = 256;
	h.len = (uint32_t)(2 + n);
	frame_hdr_encode(buf, &h);
	frame_put16(buf + FRAME_HEADER_LEN, (uint16_t)n);
	memcpy(buf + FRAME_HEADER_LEN + 2, job, n);
	if (tls_write_all(w->tls, buf, FRAME_HEADER_LEN + 2 + n, w->err,
	    sizeof(w->err)) == -1)
		return -1;
	w->fsm.pending = WIRE_LIST;
	if (wireio_recv(w, &m) == -1)
		return -1;
	printf("reply: %s\n", wire_type_name(m.type));
	wire_msg_free(&m);
	return 0;
}

/* -R: a bare header, no payload: the answer must not wait for one. */
static int
client_raw(struct wireio *w, const char *spec)
{
	struct frame_hdr h = { 0, 0, 0, 0, 0 };
	struct timespec t0, t1;
	struct wire_msg m;
	uint8_t buf[FRAME_HEADER_LEN];
	unsigned type;
	unsigned long len;
	int rc;

	if (sscanf(spec, "%u:%lu", &type, &len) != 2)
		fatalx("-R TYPE:LEN");
	h.type = (uint16_t)type;
	h.len = (uint32_t)len;
	frame_hdr_encode(buf, &h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (tls_write_all(w->tls, buf, sizeof(buf), w->err,
	    sizeof(w->err)) == -1)
		return -1;
	rc = wireio_recv(w, &m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0) {
		printf("reply: %s\n", wire_type_name(m.type));
		wire_msg_free(&m);
	} else
		printf("refused: %s\n", w->err);
	printf("after %ld ms\n", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
}

/* A frame written by hand: the order machine is told it was sent. */
static int
client_put(struct wireio *w, const struct wire_msg *m, const void *body,
    size_t blen)
{
	w->out.len = 0;
	if ((body != NULL ? wire_encode_head(&w->out, m, w->err,
	    sizeof(w->err)) : wire_encode(&w->out, m, w->err,
	    sizeof(w->err))) == -1)
		return -1;
	(void)wire_fsm_step(&w->fsm, true, m, NULL, 0);
	return tls_write2_all(w->tls, w->out.p, w->out.len, body, blen, w->err,
	    sizeof(w->err));
}

struct tp_stream {
	uint8_t *p;
	size_t len;
	uint64_t *ends;         /* end offset of each command */
	uint64_t ncmds;
	struct stream_digest digest;
	const struct stream_cmd *first;
	struct stream_cmd c0;
	uint32_t version;
};

/* The digest of the stream: its header and every command header. */
static void
tp_redigest(struct tp_stream *t)
{
	uint8_t hdr[STREAM_HEADER_LEN];
	uint64_t k;

	stream_digest_init(&t->digest);
	stream_header_encode(hdr, t->version);
	stream_digest_add(&t->digest, hdr, sizeof(hdr));
	for (k = 0; k < t->ncmds; k++)
		stream_digest_add(&t->digest, t->p + (k == 0 ? t->first->offset :
		    t->ends[k - 1]), STREAM_CMD_HEADER_LEN);
}

/*
 * Read and parse the stream file: command boundaries and its digest.
 * Past its first command a stream may be broken (hostile cases).
 */
static void
tp_load(struct tp_stream *t, const char *path)
{
	struct stream_reader r;
	struct stream_cmd c;
	FILE *f;
	long n;
	int ev;

	memset(t, 0, sizeof(*t));
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) == -1)
		fatal("%s", path);
	t->len = (size_t)n;
	t->p = xmalloc(t->len);
	if (fread(t->p, 1, t->len, f) != t->len)
		fatal("%s", path);
	fclose(f);
	t->ends = xcalloc(t->len / STREAM_CMD_HEADER_LEN + 1, sizeof(*t->ends));
	/* parsed in place: the first command's attributes point into t->p */
	if (stream_reader_init(&r, NULL) == -1 ||
	    stream_reader_attach(&r, t->p, t->len) == -1)
		fatalx("reader");
	stream_reader_eof(&r);
	while ((ev = stream_reader_next(&r, &c)) != STREAM_DONE) {
		/*
		 * A broken stream (a hostile case): what follows the last
		 * whole command goes as one command, for the peer to judge.
		 */
		if ((ev == STREAM_ERROR || ev == STREAM_NEED_MORE) &&
		    t->first != NULL) {
			if (t->ends[t->ncmds - 1] < t->len)
				t->ends[t->ncmds++] = t->len;
			break;
		}
		if (ev == STREAM_ERROR || ev == STREAM_NEED_MORE)
			fatalx("%s: %s", path, r.err.msg);
		if (ev == STREAM_HEADER) {
			t->version = r.version;
			continue;
		}
		if (t->first == NULL) {
			t->c0 = c;
			t->first = &t->c0;
		}
		t->ends[t->ncmds++] = c.offset + STREAM_CMD_HEADER_LEN + c.len;
	}
	stream_reader_free(&r);
	if (t->first == NULL)
		fatalx("%s: no command", path);
	tp_redigest(t);
}

static int
client_begin(struct wireio *w, const struct opts *o, const struct tp_stream *t)
{
	struct wire_msg m;
	const uint8_t *name;
	uint32_t len;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN;
	snprintf(m.u.begin.job, sizeof(m.u.begin.job), "%s", o->job);
	if (stream_get_bytes(t->first, SEND_A_PATH, &name, &len) == -1 ||
	    len >= sizeof(m.u.begin.name) ||
	    stream_get_uuid(t->first, SEND_A_UUID, m.u.begin.id.snap.uuid) == -1 ||
	    stream_get_u64(t->first, SEND_A_CTRANSID,
	    &m.u.begin.id.snap.ctransid) == -1)
		fatalx("first command is no SUBVOL/SNAPSHOT");
	memcpy(m.u.begin.name, name, len);
	if (o->set_ctransid)
		m.u.begin.id.snap.ctransid = o->ctransid;
	if (t->first->type == SEND_C_SNAPSHOT &&
	    stream_get_uuid(t->first, SEND_A_CLONE_UUID,
	    m.u.begin.id.parent.uuid) == -1)
		fatalx("SNAPSHOT without CLONE_UUID");
	m.u.begin.id.version = t->version;
	if (client_put(w, &m, NULL, 0) == -1 || wireio_recv(w, &m) == -1)
		return -1;
	if (m.type != WIRE_BEGIN_REPLY ||
	    m.u.begin_reply.status != WIRE_BEGIN_FRESH) {
		snprintf(w->err, sizeof(w->err), "begin: not answered fresh");
		wire_msg_free(&m);
		return -1;
	}
	wire_msg_free(&m);
	return 0;
}

/* -S: BEGIN, DATA of whole commands up to 1 MiB, END; DONE or ERROR. */
static int
client_stream(struct wireio *w, const struct opts *o)
{
	struct tp_stream t;
	struct wire_msg m;
	uint64_t i = 0, j, start = 0;
	int rc = -1;

	tp_load(&t, o->stream);
	if (client_begin(w, o, &t) == -1)
		goto done;
	while (i < t.ncmds) {
		for (j = i; j + 1 < t.ncmds && t.ends[j + 1] - start <= (1u << 20);
		    j++)
			;
		memset(&m, 0, sizeof(m));
		m.type = WIRE_DATA;
		m.u.data.index = i;
		m.u.data.offset = start;
		m.u.data.ncmds = (uint32_t)(j + 1 - i);
		m.u.data.raw_len = (uint32_t)(t.ends[j] - start);
		m.u.data.body = t.p + start;
		m.u.data.body_len = m.u.data.raw_len;
		if (client_put(w, &m, m.u.data.body, m.u.data.body_len) == -1)
			goto done;
		start = t.ends[j];
		i = j + 1;
		/* acks may come; read them so the receiver never blocks */
		while (wireio_poll(w, &m) == 1)
			wire_msg_free(&m);
		if (w->fsm.closed)
			goto done;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_END;
	m.u.point.index = t.ncmds;
	m.u.point.offset = start;
	m.u.point.digest = t.digest;
	if (o->flip)
		m.u.point.digest.d[0] ^= 1;
	if (client_put(w, &m, NULL, 0) == -1)
		goto done;
	for (;;) {
		if (wireio_recv(w, &m) == -1)
			goto done;
		if (m.type == WIRE_DONE)
			break;
		wire_msg_free(&m);
	}
	printf("done %s\n", m.u.done.path);
	wire_msg_free(&m);
	rc = 0;
done:
	free(t.p);
	free(t.ends);
	return rc;
}

/* After the hello: what -L, -E, -R or -S ask, else report the hello. */
static int
client_act(struct wireio *w, const struct opts *o)
{
	if (o->raw != NULL)
		return client_raw(w, o->raw);
	if (o->stream != NULL)
		return client_stream(w, o);
	if (o->list != NULL)
		return client_list(w, o->list);
	if (o->error != NULL) {
		wireio_fail(w, WIRE_E_INTERNAL, "%s", o->error);
		printf("sent error\n");
		return 0;
	}
	if (o->hold > 0)
		sleep((unsigned)o->hold);
	printf("connected: receiver speaks version %d\n", WIRE_VERSION);
	return 0;
}

/*
 * The fake backup host (serve -S): hostile answers for the restore
 * tests.  Everything it announces is consistent with STREAM unless an
 * option asks otherwise, so that the client's refusal, when it comes,
 * is for what the test breaks.
 */

/* STREAM's first command: its uuid TLV rewritten, the CRC made right. */
static void
host_set_uuid(struct tp_stream *t, const uint8_t uuid[16])
{
	uint8_t *c = t->p + t->first->offset, *a;
	uint32_t len = t->first->len, crc;
	uint16_t type, alen;
	size_t off;

	for (off = STREAM_CMD_HEADER_LEN; off + 4 <= STREAM_CMD_HEADER_LEN +
	    (size_t)len; off += 4 + alen) {
		a = c + off;
		type = (uint16_t)(a[0] | a[1] << 8);
		alen = (uint16_t)(a[2] | a[3] << 8);
		if (type == SEND_A_UUID && alen == 16) {
			memcpy(a + 4, uuid, 16);
			memset(c + 6, 0, 4);
			crc = stream_crc32c(0, c, STREAM_CMD_HEADER_LEN + len);
			c[6] = crc & 0xff;
			c[7] = (crc >> 8) & 0xff;
			c[8] = (crc >> 16) & 0xff;
			c[9] = crc >> 24;
			/* the digest covers command headers: made again */
			tp_redigest(t);
			return;
		}
	}
	fatalx("%s: first command has no uuid", "stream");
}

/* The stream's ref: its first command's uuid and ctransid. */
static void
host_ref(const struct tp_stream *t, struct wire_ref *r)
{
	if (stream_get_uuid(t->first, SEND_A_UUID, r->uuid) == -1 ||
	    stream_get_u64(t->first, SEND_A_CTRANSID, &r->ctransid) == -1)
		fatalx("first command is no SUBVOL/SNAPSHOT");
}

/* CATALOG-REPLY: the names of -L, each "the same" copy. */
static int
host_catalog(struct wireio *w, const struct opts *o, const struct tp_stream *t)
{
	struct wire_catalog_entry e[16];
	struct wire_msg m;
	struct wire_ref r;
	char names[1024], *tok, *save = NULL;
	uint32_t n = 0;

	host_ref(t, &r);
	if (o->set_announce)
		memcpy(r.uuid, o->announce, 16);
	snprintf(names, sizeof(names), "%s", o->list ? o->list : "snap.1");
	memset(e, 0, sizeof(e));
	for (tok = strtok_r(names, ",", &save); tok != NULL && n < 16;
	    tok = strtok_r(NULL, ",", &save), n++) {
		snprintf(e[n].name, sizeof(e[n].name), "%s", tok);
		memset(e[n].self.uuid, 0x11 + (int)n, 16);
		e[n].self.ctransid = r.ctransid;
		e[n].received = r;
		e[n].otime = 1767225600 + n * 3600;
		e[n].size = t->len;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_CATALOG_REPLY;
	m.u.catalog.n = n;
	m.u.catalog.snaps = e;
	return wireio_send(w, &m);
}

/* -R: a bare header instead of an answer; the client must not wait. */
static int
host_raw(struct wireio *w, const char *spec)
{
	struct frame_hdr h = { 0, 0, 0, 0, 0 };
	uint8_t buf[FRAME_HEADER_LEN];
	unsigned type;
	unsigned long len;

	if (sscanf(spec, "%u:%lu", &type, &len) != 2)
		fatalx("-R TYPE:LEN");
	h.type = (uint16_t)type;
	h.len = (uint32_t)len;
	frame_hdr_encode(buf, &h);
	if (tls_write_all(w->tls, buf, sizeof(buf), w->err,
	    sizeof(w->err)) == -1)
		return -1;
	printf("sent raw %u:%lu\n", type, len);
	return 0;
}

/* DATA of whole commands up to 1 MiB from command i, then END. */
static int
host_data(struct wireio *w, const struct tp_stream *t, uint64_t i)
{
	struct wire_msg m;
	uint64_t j, start = i > 0 ? t->ends[i - 1] : 0, sent = 0;

	while (i < t->ncmds) {
		for (j = i; j + 1 < t->ncmds && t->ends[j + 1] - start <= (1u << 20);
		    j++)
			;
		memset(&m, 0, sizeof(m));
		m.type = WIRE_DATA;
		m.u.data.index = i;
		m.u.data.offset = start;
		m.u.data.ncmds = (uint32_t)(j + 1 - i);
		m.u.data.raw_len = (uint32_t)(t->ends[j] - start);
		m.u.data.body = t->p + start;
		m.u.data.body_len = m.u.data.raw_len;
		if (client_put(w, &m, m.u.data.body, m.u.data.body_len) == -1)
			return -1;
		sent += j + 1 - i;
		start = t->ends[j];
		i = j + 1;
		while (wireio_poll(w, &m) == 1)
			wire_msg_free(&m);
		if (w->fsm.closed)
			return -1;
	}
	printf("sent %llu commands\n", (unsigned long long)sent);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_END;
	m.u.point.index = t->ncmds;
	m.u.point.offset = start;
	m.u.point.digest = t->digest;
	return client_put(w, &m, NULL, 0);
}

static const char *
host_status(uint32_t s)
{
	return s == WIRE_BEGIN_FRESH ? "fresh" : s == WIRE_BEGIN_RESUME ?
	    "resume" : s == WIRE_BEGIN_COMPLETE ? "complete" : "unknown";
}

static int
host_restore(struct wireio *w, const struct opts *o, struct tp_stream *t,
    const struct wire_restore *rq)
{
	struct wire_msg m;
	uint64_t from = 0;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN;
	snprintf(m.u.begin.job, sizeof(m.u.begin.job), "%s", rq->job);
	snprintf(m.u.begin.name, sizeof(m.u.begin.name), "%s",
	    o->begin_name ? o->begin_name : rq->snapshot);
	host_ref(t, &m.u.begin.id.snap);
	if (rq->path[0] != '\0') {
		m.u.begin.id.flags = WIRE_BEGIN_SUBTREE |
		    (o->file ? WIRE_BEGIN_SUBTREE_FILE : 0);
		if (!o->set_announce) {
			wire_subtree_uuid(m.u.begin.id.snap.uuid, rq->path,
			    m.u.begin.id.snap.uuid);
			host_set_uuid(t, m.u.begin.id.snap.uuid);
		}
	}
	if (o->set_announce)
		memcpy(m.u.begin.id.snap.uuid, o->announce, 16);
	if (t->first->type == SEND_C_SNAPSHOT &&
	    stream_get_uuid(t->first, SEND_A_CLONE_UUID,
	    m.u.begin.id.parent.uuid) == -1)
		fatalx("SNAPSHOT without CLONE_UUID");
	m.u.begin.id.version = t->version;
	m.u.begin.size_hint = t->len;
	if (wireio_send(w, &m) == -1 || wireio_recv(w, &m) == -1)
		return -1;
	if (m.type != WIRE_BEGIN_REPLY) {
		snprintf(w->err, sizeof(w->err), "answered BEGIN with %s",
		    wire_type_name(m.type));
		wire_msg_free(&m);
		return -1;
	}
	printf("begin-reply %s\n", host_status(m.u.begin_reply.status));
	fflush(stdout);
	if (m.u.begin_reply.status == WIRE_BEGIN_COMPLETE) {
		wire_msg_free(&m);
		return 0;
	}
	if (m.u.begin_reply.status == WIRE_BEGIN_RESUME)
		from = m.u.begin_reply.point.index;
	wire_msg_free(&m);
	if (from > t->ncmds) {
		snprintf(w->err, sizeof(w->err), "resume beyond the end");
		return -1;
	}
	if (host_data(w, t, from) == -1)
		return -1;
	for (;;) {
		if (wireio_recv(w, &m) == -1)
			return -1;
		if (m.type == WIRE_DONE)
			break;
		wire_msg_free(&m);
	}
	printf("done %s\n", m.u.done.path);
	wire_msg_free(&m);
	return 0;
}

static void
host_session(struct wireio *w, const struct opts *o)
{
	struct tp_stream t;
	struct wire_msg m;
	int rc = 0;

	tp_load(&t, o->stream);
	while (rc == 0) {
		if (wireio_recv(w, &m) == -1) {
			printf("closed: %s\n", w->err);
			break;
		}
		if (m.type == WIRE_CATALOG) {
			printf("catalog %s\n", m.u.catalog_job);
			if (o->raw != NULL)
				rc = host_raw(w, o->raw) == 0 ? 1 : -1;
			else
				rc = host_catalog(w, o, &t);
		} else if (m.type == WIRE_LS) {
			printf("ls %s %s '%s'\n", m.u.ls.job, m.u.ls.snapshot,
			    m.u.ls.path);
			wireio_fail(w, WIRE_E_NOTFOUND, "no such snapshot or path");
			rc = 1;
		} else if (m.type == WIRE_RESTORE) {
			printf("restore %s %s '%s'\n", m.u.restore.job,
			    m.u.restore.snapshot, m.u.restore.path);
			fflush(stdout);
			rc = o->raw ? host_raw(w, o->raw) :
			    host_restore(w, o, &t, &m.u.restore);
			if (rc == 0)
				rc = 1;
		} else {
			printf("unexpected %s\n", wire_type_name(m.type));
			rc = 1;
		}
		wire_msg_free(&m);
		fflush(stdout);
	}
	if (rc == -1)
		printf("refused: %s\n", w->err);
	if (o->raw != NULL) {
		/* what the client does about it: an error or a close */
		if (wireio_recv(w, &m) == 0) {
			printf("then %s\n", wire_type_name(m.type));
			wire_msg_free(&m);
		} else
			printf("then closed: %s\n", w->err);
	}
	free(t.p);
	free(t.ends);
}

static int
connect_to(const struct opts *o)
{
	struct sockaddr_in sa;
	struct tls_conn t;
	struct wireio w;
	SSL_CTX *ctx;
	char err[512];
	int fd, rc = 1;

	if ((ctx = tls_ctx_new(&o->tls, false, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)o->port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		fatal("connect to port %d", o->port);
	if (tls_connect(&t, ctx, fd, o->name, timeout_ms(), err,
	    sizeof(err)) == -1) {
		printf("refused: %s\n", err);
		goto done;
	}
	wireio_init(&w, &t, WIRE_CLIENT);
	if (client_hello(&w, o->version) == -1 || client_act(&w, o) == -1)
		printf("refused: %s\n", w.err);
	else
		rc = 0;
	wireio_free(&w);
done:
	tls_close(&t);
	close(fd);
	SSL_CTX_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	const char *mode;
	int ch;

	memset(&o, 0, sizeof(o));
	o.n = 1;
	o.version = WIRE_VERSION;
	log_init("tlspeer", 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "a:C:c:E:FH:J:k:L:N:n:P:p:R:S:T:U:V:W:Z"))
	    != -1) {
		switch (ch) {
		case 'a': o.tls.ca = optarg; break;
		case 'C':
			if (o.nclients == 16)
				usage();
			o.clients[o.nclients++] = optarg;
			break;
		case 'c': o.tls.certificate = optarg; break;
		case 'E': o.error = optarg; break;
		case 'F': o.file = true; break;
		case 'N': o.begin_name = optarg; break;
		case 'U':
			if (uuid_parse(optarg, o.announce) == -1)
				usage();
			o.set_announce = true;
			break;
		case 'H': o.name = optarg; break;
		case 'J': o.job = optarg; break;
		case 'R': o.raw = optarg; break;
		case 'S': o.stream = optarg; break;
		case 'T':
			o.ctransid = strtoull(optarg, NULL, 10);
			o.set_ctransid = true;
			break;
		case 'Z': o.flip = true; break;
		case 'k': o.tls.key = optarg; break;
		case 'L': o.list = optarg; break;
		case 'n': o.n = atoi(optarg); break;
		case 'P': o.portfile = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'V': o.version = atoi(optarg); break;
		case 'W': o.hold = atoi(optarg); break;
		default: usage();
		}
	}
	if (!o.tls.ca || !o.tls.certificate || !o.tls.key ||
	    (strcmp(mode, "connect") == 0 && o.stream != NULL && o.job == NULL))
		usage();
	/* Bounded: a test waiting on a connection that never comes fails. */
	alarm(getenv("TLSPEER_ALARM") != NULL ?
	    (unsigned)atoi(getenv("TLSPEER_ALARM")) : 60);
	if (strcmp(mode, "serve") == 0 && o.portfile)
		return serve(&o);
	if (strcmp(mode, "connect") == 0 && o.name && o.port)
		return connect_to(&o);
	usage();
}
