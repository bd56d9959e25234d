/*
 * restorepeer: the client's half of RESTORE at its barest, for the
 * backup host's tests (tests/integration/restore_ls.sh): the stream the
 * backup host sends is written to a file as it comes, to be checked
 * with `btrfs receive` or compared, and nothing is applied.
 *
 *   restorepeer -c CERT -k KEY -a CA -H NAME -p PORT -j JOB -s SNAPSHOT
 *       [-P PATH] [-u UUID]... [-o FILE] [-x BYTES] [-r INDEX:OFFSET:HEX]
 *       [-R STREAM:N] [-C]
 *
 * -u offers UUID (36 characters) as a base the client holds; -x cuts
 * the connection once BYTES stream bytes arrived; -r answers BEGIN with
 * a resume at command INDEX, byte OFFSET with the digest HEX (else
 * fresh); -R resumes after the first N commands of the stream file
 * STREAM (a whole stream received earlier: its point and digest computed
 * here); -C announces compressed-data; -o appends the stream's bytes from where it starts to FILE.
 * Prints "begin NAME uuid UUID ctransid N parent UUID|- flags 0xF
 * version V hint N", then "done BYTES" (exit 0) or "refused: WHY"
 * (exit 1) or "cut at BYTES" (exit 3).  Dies after 120 s.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uuid/uuid.h>
#include <zstd.h>

#include "proto/base/log.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

struct opts {
	struct tls_conf tls;
	const char *name, *job, *snap, *path, *out, *resume, *prefix;
	int compressed;
	struct wire_ref have[16];
	uint32_t nhave;
	uint64_t cut;
	int port;
};

static void
usage(void)
{
	fprintf(stderr, "usage: restorepeer -c CERT -k KEY -a CA -H NAME -p "
	    "PORT -j JOB -s SNAPSHOT [-P PATH] [-u UUID]... [-o FILE] "
	    "[-x BYTES] [-r INDEX:OFFSET:HEX] [-R STREAM:N] [-C]\n");
	exit(2);
}

static void
print_begin(const struct wire_begin *b)
{
	static const uint8_t zero[16];
	char u[37], p[37] = "-";

	uuid_unparse(b->id.snap.uuid, u);
	if (memcmp(b->id.parent.uuid, zero, 16) != 0)
		uuid_unparse(b->id.parent.uuid, p);
	printf("begin %s uuid %s ctransid %llu parent %s flags 0x%x version "
	    "%u hint %llu\n", b->name, u,
	    (unsigned long long)b->id.snap.ctransid, p, b->id.flags,
	    b->id.version, (unsigned long long)b->size_hint);
	fflush(stdout);
}

/* -R FILE:N: the point after the first N commands of the stream in FILE. */
static void
prefix_point(const char *spec, struct wire_point *pt)
{
	struct stream_reader r;
	struct stream_cmd c;
	uint8_t hdr[STREAM_HEADER_LEN], *p;
	char path[4096], *colon;
	unsigned long long want;
	FILE *f;
	long len;
	int ev;

	snprintf(path, sizeof(path), "%s", spec);
	if ((colon = strrchr(path, ':')) == NULL)
		fatalx("-R STREAM:N");
	*colon = '\0';
	want = strtoull(colon + 1, NULL, 10);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) == -1)
		fatal("%s", path);
	p = xmalloc((size_t)len);
	if (fread(p, 1, (size_t)len, f) != (size_t)len)
		fatal("%s", path);
	fclose(f);
	memset(pt, 0, sizeof(*pt));
	stream_digest_init(&pt->digest);
	if (stream_reader_init(&r, NULL) == -1 ||
	    stream_reader_attach(&r, p, (size_t)len) == -1)
		fatalx("reader");
	stream_reader_eof(&r);
	while (pt->index < want &&
	    (ev = stream_reader_next(&r, &c)) != STREAM_DONE) {
		if (ev == STREAM_ERROR || ev == STREAM_NEED_MORE)
			fatalx("%s: %s", path, r.err.msg);
		if (ev == STREAM_HEADER) {
			stream_header_encode(hdr, r.version);
			stream_digest_add(&pt->digest, hdr, sizeof(hdr));
			continue;
		}
		stream_digest_add(&pt->digest, c.raw, STREAM_CMD_HEADER_LEN);
		pt->index++;
		pt->offset = c.offset + STREAM_CMD_HEADER_LEN + c.len;
	}
	stream_reader_free(&r);
	free(p);
	printf("resume at %llu, byte %llu\n", (unsigned long long)pt->index,
	    (unsigned long long)pt->offset);
}

/* BEGIN-REPLY: fresh, or the resume point of -r or -R. */
static int
reply_begin(struct wireio *w, const struct opts *o)
{
	struct wire_msg m;
	unsigned long long idx, off;
	char hex[2 * sizeof(m.u.begin_reply.point.digest.d) + 1];
	size_t i;
	unsigned v;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN_REPLY;
	m.u.begin_reply.status = WIRE_BEGIN_FRESH;
	if (o->prefix != NULL) {
		m.u.begin_reply.status = WIRE_BEGIN_RESUME;
		prefix_point(o->prefix, &m.u.begin_reply.point);
	} else if (o->resume != NULL) {
		if (sscanf(o->resume, "%llu:%llu:%128s", &idx, &off, hex) != 3 ||
		    strlen(hex) != sizeof(hex) - 1)
			fatalx("-r INDEX:OFFSET:HEX");
		m.u.begin_reply.status = WIRE_BEGIN_RESUME;
		m.u.begin_reply.point.index = idx;
		m.u.begin_reply.point.offset = off;
		for (i = 0; i < sizeof(m.u.begin_reply.point.digest.d); i++) {
			sscanf(hex + 2 * i, "%2x", &v);
			m.u.begin_reply.point.digest.d[i] = (uint8_t)v;
		}
	}
	return wireio_send(w, &m);
}

static int
restore(struct wireio *w, const struct opts *o)
{
	struct wire_msg m;
	struct wire_point end;
	struct wire_ref have[16];
	ZSTD_DCtx *z = ZSTD_createDCtx();
	uint8_t *raw = xmalloc(WIRE_DATA_RAW_MAX);
	uint64_t got = 0;
	FILE *f = NULL;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_RESTORE;
	snprintf(m.u.restore.job, sizeof(m.u.restore.job), "%s", o->job);
	snprintf(m.u.restore.snapshot, sizeof(m.u.restore.snapshot), "%s",
	    o->snap);
	snprintf(m.u.restore.path, sizeof(m.u.restore.path), "%s",
	    o->path != NULL ? o->path : "");
	m.u.restore.nhave = o->nhave;
	memcpy(have, o->have, sizeof(have));
	m.u.restore.have = have;
	if (wireio_send(w, &m) == -1 || wireio_recv(w, &m) == -1)
		goto done;
	print_begin(&m.u.begin);
	wire_msg_free(&m);
	if (o->out != NULL && (f = fopen(o->out, "ab")) == NULL)
		fatal("%s", o->out);
	if (reply_begin(w, o) == -1)
		goto done;
	for (;;) {
		if (wireio_recv(w, &m) == -1)
			goto done;
		if (m.type == WIRE_END) {
			end = m.u.point;
			break;
		}
		if (m.type == WIRE_DATA) {
			const uint8_t *b = m.u.data.body;

			if (m.u.data.zstd) {
				if (ZSTD_isError(ZSTD_decompressDCtx(z, raw,
				    WIRE_DATA_RAW_MAX, b, m.u.data.body_len)))
					fatalx("zstd");
				b = raw;
			}
			if (f != NULL && fwrite(b, 1, m.u.data.raw_len, f) !=
			    m.u.data.raw_len)
				fatal("%s", o->out);
			got += m.u.data.raw_len;
			if (o->cut > 0 && got >= o->cut) {
				printf("cut at %llu\n", (unsigned long long)got);
				rc = 3;
				wire_msg_free(&m);
				goto done;
			}
		}
		wire_msg_free(&m);
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DONE;
	m.u.done.point = end;
	snprintf(m.u.done.path, sizeof(m.u.done.path), "restored");
	if (wireio_send(w, &m) == -1)
		goto done;
	printf("done %llu\n", (unsigned long long)got);
	rc = 0;
done:
	if (f != NULL)
		fclose(f);
	free(raw);
	ZSTD_freeDCtx(z);
	return rc;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct wire_hello peer;
	struct tls_conn t;
	struct wireio w;
	struct opts o;
	SSL_CTX *ctx;
	char err[512];
	int ch, fd, rc = 1;

	memset(&o, 0, sizeof(o));
	log_init("restorepeer", 0);
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	while ((ch = getopt(argc, argv, "a:Cc:H:j:k:o:P:p:R:r:s:u:x:")) != -1) {
		switch (ch) {
		case 'a': o.tls.ca = optarg; break;
		case 'c': o.tls.certificate = optarg; break;
		case 'k': o.tls.key = optarg; break;
		case 'H': o.name = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'j': o.job = optarg; break;
		case 's': o.snap = optarg; break;
		case 'P': o.path = optarg; break;
		case 'o': o.out = optarg; break;
		case 'r': o.resume = optarg; break;
		case 'R': o.prefix = optarg; break;
		case 'C': o.compressed = 1; break;
		case 'x': o.cut = strtoull(optarg, NULL, 10); break;
		case 'u':
			if (o.nhave == 16 ||
			    uuid_parse(optarg, o.have[o.nhave++].uuid) == -1)
				usage();
			break;
		default: usage();
		}
	}
	if (o.name == NULL || o.job == NULL || o.snap == NULL || o.port == 0)
		usage();
	if ((ctx = tls_ctx_new(&o.tls, false, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)o.port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		fatal("connect to port %d", o.port);
	if (tls_connect(&t, ctx, fd, o.name, 30000, err, sizeof(err)) == -1) {
		printf("refused: %s\n", err);
		return 1;
	}
	wireio_init(&w, &t, WIRE_CLIENT);
	if (wireio_hello(&w, WIRE_CAP_ZSTD | (o.compressed ?
	    WIRE_CAP_COMPRESSED_DATA : 0), STREAM_VERSION_MAX, &peer) == -1 ||
	    (rc = restore(&w, &o)) == -1) {
		printf("refused: %s\n", w.err);
		rc = 1;
	}
	fflush(stdout);
	if (rc != 3)
		wireio_free(&w);
	tls_close(&t);
	close(fd);
	SSL_CTX_free(ctx);
	return rc;
}
