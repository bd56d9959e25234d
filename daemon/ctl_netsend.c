/*
 * btrsendctl send --to HOST[:PORT]: the kernel send streamed to a btrsendd
 * receiver over TLS (docs/protocol.md).  Without -p it asks the receiver
 * what it holds and lets the send engine's choice function pick the
 * parent and clone sources.  A lost connection is retried with backoff.
 */
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "conf/conf.h"
#include "daemon/ctl.h"
#include "daemon/log.h"
#include "daemon/tls.h"
#include "daemon/wireio.h"
#include "engine/send.h"
#include "engine/snapshot.h"

#define NET_MAX_CLONES  WIRE_CLONES_MAX
#define NET_FRAME       (1u << 20)      /* raw bytes per DATA frame */
#define NET_TIMEOUT_MS  60000

struct netsend {
	const char *conf_path, *to, *job, *snapshot, *parent;
	const char *clones[NET_MAX_CLONES];
	size_t nclones;
	uint32_t proto;
	int compressed_data, retries;
	uint64_t limit;
	/* resolved */
	struct tls_conf tls;
	char host[256], name[256], port[8];
	bool zstd;
	/* one attempt */
	struct tls_conn t;
	struct wireio w;
	bool use_zstd;
	bool permanent;                 /* do not retry */
	ZSTD_CCtx *cctx;
	uint8_t *frame, *zbuf;
	size_t flen;
	uint64_t f_index, f_offset, ncmds, bytes, acked;
	uint32_t f_ncmds;
	struct wire_point resume;       /* from the receiver's BEGIN-REPLY */
	struct timespec start;
	bool progress;
};

static int
net_parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': n <<= 10; /* FALLTHROUGH */
	case 'M': n <<= 10; /* FALLTHROUGH */
	case 'K': n <<= 10; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end != '\0')
		return -1;
	*v = n;
	return 0;
}

enum { OPT_PROTO = 256, OPT_COMPRESSED, OPT_JOB, OPT_TO, OPT_RETRIES,
    OPT_LIMIT };

static const struct option net_opts[] = {
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "compressed-data", no_argument, NULL, OPT_COMPRESSED },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "to", required_argument, NULL, OPT_TO },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ NULL, 0, NULL, 0 },
};

static int
net_parse(int argc, char **argv, struct netsend *n)
{
	int c;

	n->conf_path = CONF_DEFAULT_PATH;
	n->job = "manual";
	n->retries = 10;
	n->proto = SEND_PROTO_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:f:p:", net_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (n->nclones == NET_MAX_CLONES)
				return -1;
			n->clones[n->nclones++] = optarg;
			break;
		case 'f': n->conf_path = optarg; break;
		case 'p': n->parent = optarg; break;
		case OPT_PROTO:
			if (strcmp(optarg, "auto") == 0)
				n->proto = SEND_PROTO_AUTO;
			else if ((n->proto = (uint32_t)atoi(optarg)) < 1 ||
			    n->proto > 3)
				return -1;
			break;
		case OPT_COMPRESSED: n->compressed_data = 1; break;
		case OPT_JOB: n->job = optarg; break;
		case OPT_TO: n->to = optarg; break;
		case OPT_RETRIES: n->retries = atoi(optarg); break;
		case OPT_LIMIT:
			if (net_parse_size(optarg, &n->limit) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || n->to == NULL || !wire_name_valid(n->job))
		return -1;
	if (n->compressed_data && n->proto == SEND_PROTO_DEFAULT)
		n->proto = 2;
	n->snapshot = argv[optind];
	return 0;
}

/* The tls block, and the target named HOST or HOST[:PORT] itself. */
static int
net_resolve(struct netsend *n)
{
	struct conf_errors errs;
	const struct conf_target *tg;
	struct conf *conf;
	char *colon;

	if ((conf = conf_load(n->conf_path, &errs)) == NULL) {
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		return -1;
	}
	if (!conf->tls_set) {
		log_warnx("send: %s has no tls block", n->conf_path);
		conf_free(conf);
		return -1;
	}
	n->tls.certificate = xstrdup(conf->tls_certificate);
	n->tls.key = xstrdup(conf->tls_key);
	n->tls.ca = xstrdup(conf->tls_ca);
	if ((tg = conf_target_find(conf, n->to)) != NULL) {
		snprintf(n->host, sizeof(n->host), "%s", tg->address.host);
		snprintf(n->port, sizeof(n->port), "%u", tg->address.port);
		snprintf(n->name, sizeof(n->name), "%s", tg->cert_name ?
		    tg->cert_name : tg->address.host);
		n->zstd = tg->compress == CONF_COMPRESS_ZSTD;
		if (n->limit == 0)
			n->limit = tg->bandwidth;
	} else {
		snprintf(n->host, sizeof(n->host), "%s", n->to);
		snprintf(n->port, sizeof(n->port), "%d", WIRE_DEFAULT_PORT);
		if ((colon = strrchr(n->host, ':')) != NULL) {
			snprintf(n->port, sizeof(n->port), "%s", colon + 1);
			*colon = '\0';
		}
		snprintf(n->name, sizeof(n->name), "%s", n->host);
	}
	conf_free(conf);
	return 0;
}

static int
net_dial(struct netsend *n)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(n->host, n->port, &hints, &res)) != 0) {
		log_warnx("send: %s:%s: %s", n->host, n->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_warn("send: connect to %s:%s", n->host, n->port);
	return fd;
}

/* Fail the attempt; an ERROR from the receiver may forbid retrying. */
static int
net_fail(struct netsend *n)
{
	switch (n->w.peer_error) {
	case WIRE_E_VERSION:
	case WIRE_E_AUTH:
	case WIRE_E_DENIED:
	case WIRE_E_APPLY:
	case WIRE_E_NOTFOUND:
		n->permanent = true;
	}
	log_warnx("send to %s: %s", n->to, n->w.err);
	return -1;
}

/* dir and base (each PATH_MAX) of a path. */
static void
net_split(const char *path, char *dir, char *base)
{
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, 4096, "%s", dirname(a));
	snprintf(base, 4096, "%s", basename(b));
}

/* Without -p: parent and clones among what the receiver holds. */
static int
net_choose(struct netsend *n, char *parent, size_t plen,
    char clones[][4096], size_t *nclones)
{
	struct snap_info *local = NULL;
	struct wire_msg m;
	uint8_t (*held)[16] = NULL;
	char dir[4096], base[4096], err[256];
	size_t nlocal = 0, i, idx, pidx, cidx[16], nc = 0;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_LIST;
	snprintf(m.u.job, sizeof(m.u.job), "%s", n->job);
	if (wireio_send(&n->w, &m) == -1 || wireio_recv(&n->w, &m) == -1)
		return net_fail(n);
	net_split(n->snapshot, dir, base);
	if (snapshot_list(dir, n->job, &local, &nlocal, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		n->permanent = true;
		goto done;
	}
	for (idx = 0; idx < nlocal && strcmp(local[idx].name, base); idx++)
		;
	rc = 0;
	*nclones = 0;
	parent[0] = '\0';
	if (idx == nlocal || m.u.list.nsnaps == 0)
		goto done;
	held = xcalloc(m.u.list.nsnaps, 16);
	for (i = 0; i < m.u.list.nsnaps; i++)
		memcpy(held[i], m.u.list.snaps[i].received.uuid, 16);
	if (snap_choose(local, nlocal, idx, (const uint8_t (*)[16])held,
	    m.u.list.nsnaps, &pidx, cidx, 16, &nc) == 1) {
		frame_errf(parent, plen, "%s/%s", dir, local[pidx].name);
		for (i = 0; i < nc; i++)
			frame_errf(clones[i], 4096, "%s/%s", dir,
			    local[cidx[i]].name);
		*nclones = nc;
		printf("%s: incremental from %s\n", base, local[pidx].name);
	}
done:
	free(held);
	free(local);
	wire_msg_free(&m);
	return rc;
}

static void
net_progress(struct netsend *n, bool final)
{
	struct timespec now;
	double secs, rate;

	if (!n->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - n->start.tv_sec) +
	    (double)(now.tv_nsec - n->start.tv_nsec) / 1e9;
	rate = secs > 0 ? (double)n->bytes / secs : 0;
	fprintf(stderr, "\r%s: %.1f MiB sent, %.1f MiB/s, %" PRIu64
	    " commands%s", n->snapshot, (double)n->bytes / 1048576.0,
	    rate / 1048576.0, n->ncmds, final ? "\n" : "");
}

/* Keep the average rate at or below the limit. */
static void
net_throttle(struct netsend *n)
{
	struct timespec now, ts;
	double secs, due;

	if (n->limit == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - n->start.tv_sec) +
	    (double)(now.tv_nsec - n->start.tv_nsec) / 1e9;
	due = (double)n->bytes / (double)n->limit;
	if (due > secs) {
		ts.tv_sec = (time_t)(due - secs);
		ts.tv_nsec = (long)((due - secs - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Take any ACKs that arrived, without waiting. */
static int
net_poll_acks(struct netsend *n)
{
	struct pollfd p = { n->t.fd, POLLIN, 0 };
	struct wire_msg m;

	while (tls_pending(&n->t) || poll(&p, 1, 0) == 1) {
		if (wireio_recv(&n->w, &m) == -1)
			return net_fail(n);
		if (m.type == WIRE_ACK)
			n->acked = m.u.point.index;
		wire_msg_free(&m);
		p.revents = 0;
	}
	return 0;
}

static int
net_flush(struct netsend *n)
{
	struct wire_msg m;
	long z = -1;

	if (n->flen == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data.index = n->f_index;
	m.u.data.offset = n->f_offset;
	m.u.data.ncmds = n->f_ncmds;
	m.u.data.raw_len = (uint32_t)n->flen;
	m.u.data.body = n->frame;
	m.u.data.body_len = (uint32_t)n->flen;
	if (n->use_zstd)
		z = wire_zstd_compress(n->cctx, n->frame, n->flen, n->zbuf,
		    ZSTD_compressBound(WIRE_DATA_RAW_MAX));
	if (z > 0) {
		m.u.data.zstd = true;
		m.u.data.body = n->zbuf;
		m.u.data.body_len = (uint32_t)z;
	}
	if (wireio_send(&n->w, &m) == -1)
		return net_fail(n);
	n->bytes += n->flen;
	n->f_index += n->f_ncmds;
	n->f_offset += n->flen;
	n->flen = 0;
	n->f_ncmds = 0;
	net_throttle(n);
	net_progress(n, false);
	return net_poll_acks(n);
}

/*
 * TEST ONLY: BTRSEND_TEST_FLIP_AT=N flips the last byte of the Nth stream
 * command (counted from 0 as the receiver's errors count, header
 * not counted) after the kernel produced it and
 * the sender checked its CRC, once per process, so that the receiver's
 * CRC check is exercised behind TLS (tests/integration/net_corrupt.sh).
 * Unset, it costs one getenv.
 */
static uint64_t
net_test_flip_at(void)
{
	static int read;
	static uint64_t at;
	const char *v;

	if (!read) {
		read = 1;
		at = UINT64_MAX;
		if ((v = getenv("BTRSEND_TEST_FLIP_AT")) != NULL)
			at = strtoull(v, NULL, 10);
	}
	return at;
}

static void
net_test_flip(struct netsend *n)
{
	static int flipped;

	if (flipped)
		return;
	flipped = 1;
	n->frame[n->flen - 1] ^= 0x01;
	log_warnx("send: TEST: flipped the last byte of command %llu",
	    (unsigned long long)n->ncmds);
}

static int
net_stream(struct netsend *n, struct send *s)
{
	struct send_unit u;
	struct send_error e;
	int r;

	while ((r = send_next(s, &u, &e)) == 1) {
		if (n->flen + u.len > WIRE_DATA_RAW_MAX ||
		    (n->flen >= NET_FRAME && n->f_ncmds > 0))
			if (net_flush(n) == -1)
				return -1;
		memcpy(n->frame + n->flen, u.raw, u.len);
		n->flen += u.len;
		if (!u.is_header && n->ncmds == net_test_flip_at())
			net_test_flip(n);
		if (!u.is_header) {
			n->f_ncmds++;
			n->ncmds++;
		}
	}
	if (r == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == SEND_ERR_PERMANENT;
		return -1;
	}
	return net_flush(n);
}

static int
net_finish(struct netsend *n, struct send *s)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_END;
	m.u.point.index = n->f_index;
	m.u.point.offset = n->f_offset;
	send_get_digest(s, &m.u.point.digest);
	if (wireio_send(&n->w, &m) == -1)
		return net_fail(n);
	for (;;) {
		if (wireio_recv(&n->w, &m) == -1)
			return net_fail(n);
		if (m.type == WIRE_DONE)
			break;
		wire_msg_free(&m);
	}
	net_progress(n, true);
	printf("%s: sent to %s as %s (%" PRIu64 " commands, %" PRIu64
	    " bytes)\n", n->snapshot, n->to, m.u.done.path, n->ncmds, n->bytes);
	wire_msg_free(&m);
	return 0;
}

static int
net_begin(struct netsend *n, struct send *s, const struct send_params *p)
{
	struct send_item_desc d;
	struct snap_info si;
	struct wire_msg m;
	char err[256] = "", base[4096], dir[4096];
	size_t i;

	if (send_describe(s, 0, &d) == -1 ||
	    snapshot_info(n->snapshot, &si, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_BEGIN;
	net_split(n->snapshot, dir, base);
	snprintf(m.u.begin.job, sizeof(m.u.begin.job), "%s", n->job);
	frame_errf(m.u.begin.name, sizeof(m.u.begin.name), "%s", base);
	memcpy(m.u.begin.id.snap.uuid, d.uuid, 16);
	m.u.begin.id.snap.ctransid = si.ctransid;
	if (d.has_parent)
		memcpy(m.u.begin.id.parent.uuid, d.parent_uuid, 16);
	m.u.begin.id.nclones = (uint32_t)d.nclones;
	m.u.begin.id.clones = xcalloc(d.nclones + 1, sizeof(struct wire_ref));
	for (i = 0; i < d.nclones; i++)
		memcpy(m.u.begin.id.clones[i].uuid, d.clone_uuids[i], 16);
	m.u.begin.id.version = d.version;
	m.u.begin.id.flags = p->compressed_data ? WIRE_BEGIN_COMPRESSED_DATA : 0;
	if (wireio_send(&n->w, &m) == -1) {
		free(m.u.begin.id.clones);
		return net_fail(n);
	}
	free(m.u.begin.id.clones);
	if (wireio_recv(&n->w, &m) == -1)
		return net_fail(n);
	if (m.u.begin_reply.reason[0] != '\0')
		log_warnx("send: receiver: %s", m.u.begin_reply.reason);
	n->resume = m.u.begin_reply.point;
	return (int)m.u.begin_reply.status;
}

/* Regenerate up to the receiver's checkpoint; the digests must agree. */
static int
net_skip(struct netsend *n, struct send *s)
{
	struct send_error e;

	if (send_skip(s, n->resume.index, &n->resume.digest, &e) == -1) {
		log_warnx("send: CANNOT RESUME %s at command %" PRIu64 ": %s",
		    n->snapshot, n->resume.index, e.msg);
		wireio_fail(&n->w, WIRE_E_STREAM, "sender cannot resume at "
		    "command %" PRIu64 ": %s", n->resume.index, e.msg);
		n->permanent = true;
		return -1;
	}
	/*
	 * The digest chains every header, and each command header carries
	 * its length: equal digests mean equal offsets too.
	 */
	n->f_index = n->ncmds = n->resume.index;
	n->f_offset = n->resume.offset;
	printf("%s: resuming at command %" PRIu64 ", byte %" PRIu64 "\n",
	    n->snapshot, n->resume.index, n->resume.offset);
	fflush(stdout);
	return 0;
}

static int
net_attempt(struct netsend *n, SSL_CTX *ctx)
{
	struct send_params p;
	struct send_error e;
	struct wire_hello peer;
	struct send *s = NULL;
	char parent[4096], clones[16][4096], err[512];
	const char *snaps[1] = { n->snapshot }, *cl[NET_MAX_CLONES];
	size_t nc = 0, i;
	int fd, rc = -1, st;

	if ((fd = net_dial(n)) == -1)
		return -1;
	if (tls_connect(&n->t, ctx, fd, n->name, NET_TIMEOUT_MS, err,
	    sizeof(err)) == -1) {
		log_warnx("send to %s: %s", n->to, err);
		n->permanent = strstr(err, "certificate") != NULL;
		goto done;
	}
	wireio_init(&n->w, &n->t, WIRE_CLIENT);
	if (wireio_hello(&n->w, WIRE_CAP_ZSTD | WIRE_CAP_COMPRESSED_DATA,
	    STREAM_VERSION_MAX, &peer) == -1) {
		net_fail(n);
		goto done;
	}
	n->use_zstd = n->zstd && (peer.caps & WIRE_CAP_ZSTD);
	memset(&p, 0, sizeof(p));
	p.snapshots = snaps;
	p.nsnapshots = 1;
	p.proto = n->proto;
	p.compressed_data = n->compressed_data;
	p.parent = n->parent;
	p.clones = n->clones;
	p.nclones = n->nclones;
	if (n->parent == NULL) {
		if (net_choose(n, parent, sizeof(parent), clones, &nc) == -1)
			goto done;
		if (parent[0] != '\0') {
			p.parent = parent;
			for (i = 0; i < nc; i++)
				cl[i] = clones[i];
			p.clones = cl;
			p.nclones = nc;
		}
	}
	if (send_start(&s, &p, &e) == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == SEND_ERR_PERMANENT;
		goto done;
	}
	if ((st = net_begin(n, s, &p)) == -1)
		goto done;
	if (st == WIRE_BEGIN_COMPLETE) {
		printf("%s: the receiver already holds it\n", n->snapshot);
		rc = 0;
		goto done;
	}
	n->flen = n->f_ncmds = 0;
	n->f_index = n->f_offset = n->ncmds = n->bytes = 0;
	if (st == WIRE_BEGIN_RESUME && net_skip(n, s) == -1)
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &n->start);
	if (net_stream(n, s) == 0 && net_finish(n, s) == 0)
		rc = 0;
done:
	if (s != NULL)
		send_free(s);
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
	return rc;
}

int
ctl_send_net(int argc, char **argv)
{
	static struct netsend n;
	SSL_CTX *ctx;
	char err[512];
	int attempt, delay = 1;

	memset(&n, 0, sizeof(n));
	if (net_parse(argc, argv, &n) == -1) {
		log_warnx("send: usage: send [-f CONF] [-p PARENT] [-c CLONE]... "
		    "[--proto 1|2|3|auto] [--compressed-data] [--job NAME] "
		    "[--retries N] [--limit BYTES/S] --to HOST[:PORT] SNAPSHOT");
		return CTL_USAGE;
	}
	if (net_resolve(&n) == -1)
		return CTL_USAGE;
	if ((ctx = tls_ctx_new(&n.tls, false, err, sizeof(err))) == NULL) {
		log_warnx("send: %s", err);
		return CTL_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	n.progress = isatty(STDERR_FILENO);
	n.cctx = ZSTD_createCCtx();
	n.frame = xmalloc(WIRE_DATA_RAW_MAX);
	n.zbuf = xmalloc(ZSTD_compressBound(WIRE_DATA_RAW_MAX));
	for (attempt = 0; ; attempt++) {
		if (net_attempt(&n, ctx) == 0)
			break;
		if (n.permanent || attempt >= n.retries) {
			log_warnx("send: giving up on %s after %d attempt%s",
			    n.snapshot, attempt + 1, attempt ? "s" : "");
			SSL_CTX_free(ctx);
			return CTL_FAILED;
		}
		log_warnx("send: retrying in %d s (%d of %d)", delay,
		    attempt + 1, n.retries);
		sleep((unsigned)delay);
		delay = delay < 30 ? delay * 2 : 60;
	}
	SSL_CTX_free(ctx);
	ZSTD_freeCCtx(n.cctx);
	free(n.frame);
	free(n.zbuf);
	return CTL_OK;
}

/* Any option only the network send has selects it. */
int
ctl_send_wants_net(int argc, char **argv)
{
	static const char *const only_net[] = { "--to", "--job", "--retries",
	    "--limit", "-f" };
	size_t j, n;
	int i;

	for (i = 1; i < argc; i++)
		for (j = 0; j < sizeof(only_net) / sizeof(only_net[0]); j++) {
			n = strlen(only_net[j]);
			if (strncmp(argv[i], only_net[j], n) == 0 &&
			    (argv[i][n] == '\0' || argv[i][n] == '=' ||
			    only_net[j][1] != '-'))
				return 1;
		}
	return 0;
}
