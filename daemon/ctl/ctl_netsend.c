/*
 * btrsendctl send --to HOST[:PORT]: options and the target, then the network
 * sender (daemon/net/netsend.h) does the rest; see there.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "conf/conf.h"
#include "conf/value.h"
#include "daemon/ctl/ctl.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"
#include "daemon/net/netsend.h"
#include "daemon/net/tls.h"
#include "engine/send.h"
#include "engine/snapshot.h"

#define NET_MAX_CLONES  WIRE_CLONES_MAX

struct netsend {
	const char *conf_path, *to, *job, *snapshot, *parent;
	const char *clones[NET_MAX_CLONES];
	size_t nclones;
	uint32_t proto;
	int compressed_data, retries, no_estimate;
	uint64_t limit;
	uint64_t timeout;       /* seconds, 0: the target's or the default */
	/* resolved */
	struct tls_conf tls;
	char host[256], name[256], port[8];
	bool zstd;
};

#define NET_LINE_SECS	10	/* plain progress lines when not a terminal */

static const char *const net_total_names[] = {
	[TOTAL_UNKNOWN] = "unknown",
	[TOTAL_ESTIMATE] = "estimate",
	[TOTAL_PREVIOUS] = "previous run",
};

/*
 * Percent and ETA need a total; an estimate can fall short, so percent
 * stops at 99 until the receiver has it all and the ETA is then unknown.
 */
static void
net_meter_tail(const struct netsend_progress *p, double rate, char *buf,
    size_t len)
{
	double pct, eta;

	buf[0] = '\0';
	if (p->total == 0)
		return;
	pct = 100.0 * (double)p->done / (double)p->total;
	if (p->final)
		pct = 100;
	else if (pct > 99)
		pct = 99;
	if (p->final || rate <= 0 || p->done >= p->total) {
		snprintf(buf, len, "  %3.0f%%", pct);
		return;
	}
	eta = (double)(p->total - p->done) / rate;
	snprintf(buf, len, "  %3.0f%%  ETA %02d:%02d:%02d", pct,
	    (int)(eta / 3600), (int)(eta / 60) % 60, (int)eta % 60);
}

static void
net_meter_tty(const struct netsend_progress *p, double rate, const char *tail)
{
	char done[FMT_SIZE_LEN], total[4 + FMT_SIZE_LEN] = "", r[FMT_SIZE_LEN];

	fmt_size(done, sizeof(done), p->done, 0);
	fmt_size(r, sizeof(r), rate > 0 ? (uint64_t)(rate + 0.5) : 0, 0);
	if (p->total > 0) {
		strcpy(total, " of ");
		fmt_size(total + 4, sizeof(total) - 4, p->total, 0);
	}
	fprintf(stderr, "\r%s%s  %s/s%s%s\033[K%s", done, total, r, tail,
	    p->total ? (p->total_src == TOTAL_ESTIMATE ?
	    " (est.)" : " (prev.)") : "", p->final ? "\n" : "");
}

static void
net_meter_line(struct ctl_meter *m, const struct netsend_progress *p,
    double rate, const char *tail)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!m->started) {
		m->started = 1;
		m->last = now;
	}
	/* the estimate comes while the send runs: say the total when known */
	if (!m->said_total && (p->total_src != TOTAL_UNKNOWN ||
	    p->final)) {
		m->said_total = p->total_src == TOTAL_ESTIMATE ||
		    p->final;
		fprintf(stderr, "btrsendctl: %s: %s: total %llu bytes (%s",
		    m->verb, m->snapshot, (unsigned long long)p->total,
		    net_total_names[p->total_src]);
		/* a restore's total is the backup host's, made there */
		if (p->total_src == TOTAL_ESTIMATE && p->estimate_secs > 0)
			fprintf(stderr, ", %.3f s", p->estimate_secs);
		fputs(")\n", stderr);
	}
	if (!p->final && now.tv_sec - m->last.tv_sec < NET_LINE_SECS)
		return;
	m->last = now;
	fprintf(stderr, "btrsendctl: %s: %s: %llu bytes%s, %.0f bytes/s%s\n",
	    m->verb, m->snapshot, (unsigned long long)p->done, p->final ? " done" : "",
	    rate, tail);
}

void
ctl_meter(const struct netsend_progress *p, void *arg)
{
	struct ctl_meter *m = arg;
	char tail[64];
	double rate;

	rate = p->secs > 0 ? (double)(p->done - p->resumed_at) / p->secs : 0;
	net_meter_tail(p, rate, tail, sizeof(tail));
	if (m->tty)
		net_meter_tty(p, rate, tail);
	else
		net_meter_line(m, p, rate, tail);
}

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
    OPT_LIMIT, OPT_TIMEOUT, OPT_NO_ESTIMATE };

static const struct option net_opts[] = {
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "compressed-data", no_argument, NULL, OPT_COMPRESSED },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "to", required_argument, NULL, OPT_TO },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-estimate", no_argument, NULL, OPT_NO_ESTIMATE },
	{ NULL, 0, NULL, 0 },
};

static int
net_parse(int argc, char **argv, struct netsend *n)
{
	const char *why;
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
		case OPT_NO_ESTIMATE: n->no_estimate = 1; break;
		case OPT_LIMIT:
			if (net_parse_size(optarg, &n->limit) == -1)
				return -1;
			break;
		case OPT_TIMEOUT:
			if (conf_parse_duration(optarg, &n->timeout, &why) == -1 ||
			    n->timeout == 0 || n->timeout > CONF_MAX_TIMEOUT) {
				log_warnx("send: --timeout %s: from 1s to 1d",
				    optarg);
				return -1;
			}
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
	struct ctl_net t;

	if (ctl_net_resolve(n->conf_path, n->to, "send", &t) == -1)
		return -1;
	n->tls = t.tls;
	memcpy(n->host, t.host, sizeof(n->host));
	memcpy(n->port, t.port, sizeof(n->port));
	memcpy(n->name, t.name, sizeof(n->name));
	n->zstd = t.zstd;
	if (n->limit == 0)
		n->limit = t.limit;
	if (n->timeout == 0)
		n->timeout = t.timeout;
	return 0;
}

int
ctl_send_net(int argc, char **argv)
{
	static struct netsend n;
	struct netsend_target tg;
	struct netsend_opts o;
	struct netsend_result res;
	struct ctl_meter m;
	SSL_CTX *ctx;
	char err[512];
	int rc;

	memset(&n, 0, sizeof(n));
	if (net_parse(argc, argv, &n) == -1) {
		log_warnx("send: usage: send [-f CONF] [-p PARENT] [-c CLONE]... "
		    "[--proto 1|2|3|auto] [--compressed-data] [--job NAME] "
		    "[--retries N] [--limit BYTES/S] [--timeout DURATION] "
		    "[--no-estimate] "
		    "--to HOST[:PORT] SNAPSHOT");
		return CTL_USAGE;
	}
	if (net_resolve(&n) == -1)
		return CTL_USAGE;
	if ((ctx = tls_ctx_new(&n.tls, false, err, sizeof(err))) == NULL) {
		log_warnx("send: %s", err);
		return CTL_USAGE;
	}
	memset(&tg, 0, sizeof(tg));
	tg.label = n.to;
	tg.host = n.host;
	tg.port = n.port;
	tg.cert_name = n.name;
	tg.bandwidth = n.limit;
	tg.zstd = n.zstd;
	tg.timeout_ms = (int)(n.timeout ? n.timeout : CONF_DEFAULT_TIMEOUT) *
	    1000;
	memset(&o, 0, sizeof(o));
	o.proto = n.proto;
	o.compressed_data = n.compressed_data;
	o.retries = n.retries;
	o.parent = n.parent;
	o.clones = n.clones;
	o.nclones = n.nclones;
	memset(&m, 0, sizeof(m));
	m.verb = "send";
	m.snapshot = n.snapshot;
	m.tty = isatty(STDERR_FILENO);
	o.on_progress = ctl_meter;
	o.progress_arg = &m;
	o.estimate = !n.no_estimate;
	o.print = 1;
	rc = netsend_run(ctx, &tg, n.job, n.snapshot, &o, &res);
	netsend_result_free(&res);
	SSL_CTX_free(ctx);
	return rc == 0 ? CTL_OK : CTL_FAILED;
}

/* Any option only the network send has selects it. */
int
ctl_send_wants_net(int argc, char **argv)
{
	static const char *const only_net[] = { "--to", "--job", "--retries",
	    "--limit", "--timeout", "--no-estimate", "-f" };
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
