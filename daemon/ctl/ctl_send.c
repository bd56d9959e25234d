/*
 * btrsendctl send: run the kernel send into a file.  The bytes are those
 * `btrfs send` writes for the same arguments; the default protocol is 1,
 * as there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/fmt.h"
#include "proto/base/log.h"
#include "proto/base/fdio.h"
#include "engine/send.h"

#define SEND_MAX_CLONES 4096

struct send_progress {
	int enabled;
	int estimated;                  /* --estimate: total is known */
	uint64_t total;                 /* data bytes, 0: unknown */
	struct timespec start, last;
};

static double
ctl_send_elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
ctl_send_progress(struct send_progress *pr, const struct send *s, int final)
{
	struct send_stats st;
	struct timespec now;
	char done[32], rate[32], tail[64] = "";
	double el, r, pct;

	if (!pr->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && ctl_send_elapsed(&pr->last, &now) < 0.25)
		return;
	pr->last = now;
	send_get_stats(s, &st);
	el = ctl_send_elapsed(&pr->start, &now);
	r = el > 0 ? (double)st.bytes / el : 0;
	fmt_size(done, sizeof(done), st.bytes, 0);
	fmt_size(rate, sizeof(rate), (uint64_t)(r + 0.5), 0);
	if (pr->total > 0) {
		pct = 100.0 * (double)st.data_bytes / (double)pr->total;
		if (pct > 100)
			pct = 100;
		if (st.data_bytes > 0 && !final) {
			double eta = el * ((double)pr->total /
			    (double)st.data_bytes - 1);

			snprintf(tail, sizeof(tail), "  %3.0f%%  ETA %02d:%02d:%02d",
			    pct, (int)eta / 3600, (int)eta / 60 % 60, (int)eta % 60);
		} else
			snprintf(tail, sizeof(tail), "  %3.0f%%", pct);
	}
	fprintf(stderr, "\r%s  %s/s  %llu commands%s\033[K%s", done, rate,
	    (unsigned long long)st.ncmds, tail, final ? "\n" : "");
}

/* Like `btrfs send -f`: reuse an existing file, else create it 0600. */
static int
ctl_send_open_output(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else {
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT)
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    0600);
		if (fd == -1) {
			log_warn("cannot open output %s", path);
			return -1;
		}
	}
	if (isatty(fd)) {
		log_warnx("not writing a send stream to a terminal: give -o FILE");
		if (fd != STDOUT_FILENO)
			close(fd);
		return -1;
	}
	return fd;
}

static void
ctl_send_fail(const struct send_error *e)
{
	log_warnx("send: %s [%s]", e->msg, err_class_name(e->cls));
}

static void
ctl_send_summary(const struct send *s, uint64_t estimate)
{
	struct send_stats st;

	send_get_stats(s, &st);
	fprintf(stderr, "btrsendctl: send: %llu bytes, %llu commands, "
	    "%llu bytes of file data (estimated %llu)\n",
	    (unsigned long long)st.bytes, (unsigned long long)st.ncmds,
	    (unsigned long long)st.data_bytes, (unsigned long long)estimate);
}

/* The output is opened only once the send has started: a refusal leaves
 * no file behind. */
static int
ctl_send_run(const struct send_params *p, const char *out_path,
    struct send_progress *pr)
{
	struct send_error e;
	struct send_unit u;
	struct send *s;
	int rc, out;

	if (send_start(&s, p, &e) == -1) {
		ctl_send_fail(&e);
		return CTL_FAILED;
	}
	if ((out = ctl_send_open_output(out_path)) == -1) {
		send_free(s);
		return CTL_FAILED;
	}
	clock_gettime(CLOCK_MONOTONIC, &pr->start);
	pr->last = pr->start;
	while ((rc = send_next(s, &u, &e)) == 1) {
		if (fd_write_all(out, u.raw, u.len) == -1) {
			log_warn("send: writing %s", out_path);
			goto fail;
		}
		ctl_send_progress(pr, s, 0);
	}
	ctl_send_progress(pr, s, 1);
	if (rc == 0 && pr->estimated)
		ctl_send_summary(s, pr->total);
	send_free(s);
	s = NULL;
	if (rc == -1) {
		ctl_send_fail(&e);
		goto fail;
	}
	if (out != STDOUT_FILENO && close(out) == -1) {
		log_warn("send: closing %s", out_path);
		return CTL_FAILED;
	}
	return CTL_OK;
fail:
	send_free(s);
	if (out != STDOUT_FILENO)
		close(out);
	return CTL_FAILED;
}

static int
ctl_send_proto(const char *arg, uint32_t *proto)
{
	if (strcmp(arg, "auto") == 0 || strcmp(arg, "0") == 0) {
		*proto = SEND_PROTO_AUTO;
		return 0;
	}
	if (strcmp(arg, "1") == 0 || strcmp(arg, "2") == 0 ||
	    strcmp(arg, "3") == 0) {
		*proto = (uint32_t)(arg[0] - '0');
		return 0;
	}
	log_warnx("send: --proto takes 1, 2, 3 or auto, not '%s'", arg);
	return -1;
}

enum { OPT_PROTO = 256, OPT_COMPRESSED, OPT_NODATA, OPT_ESTIMATE };

static const struct option ctl_send_opts[] = {
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "compressed-data", no_argument, NULL, OPT_COMPRESSED },
	{ "no-data", no_argument, NULL, OPT_NODATA },
	{ "estimate", no_argument, NULL, OPT_ESTIMATE },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

struct ctl_send_args {
	struct send_params p;
	const char *clones[SEND_MAX_CLONES];
	const char *out_path;
	int estimate;
};

/* 0, or -1 after a message: a usage error. */
static int
ctl_send_parse(int argc, char **argv, struct ctl_send_args *a)
{
	int c, proto_given = 0;

	a->p.proto = SEND_PROTO_DEFAULT;
	a->p.clones = a->clones;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:p:", ctl_send_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (a->p.nclones == SEND_MAX_CLONES) {
				log_warnx("send: too many clone sources");
				return -1;
			}
			a->clones[a->p.nclones++] = optarg;
			break;
		case 'o':
			a->out_path = optarg;
			break;
		case 'p':
			if (a->p.parent != NULL) {
				log_warnx("send: only one parent (-p)");
				return -1;
			}
			a->p.parent = optarg;
			break;
		case OPT_PROTO:
			if (ctl_send_proto(optarg, &a->p.proto) == -1)
				return -1;
			proto_given = 1;
			break;
		case OPT_COMPRESSED:
			a->p.compressed_data = 1;
			break;
		case OPT_NODATA:
			a->p.no_data = 1;
			break;
		case OPT_ESTIMATE:
			a->estimate = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind >= argc || a->out_path == NULL) {
		log_warnx("send: usage: send [-p PARENT] [-c CLONE]... "
		    "[--proto 1|2|auto] [--compressed-data] [--no-data] "
		    "[--estimate] -o FILE SNAPSHOT...");
		return -1;
	}
	/* As in `btrfs send`: --compressed-data implies protocol 2. */
	if (a->p.compressed_data && !proto_given)
		a->p.proto = 2;
	a->p.snapshots = (const char *const *)&argv[optind];
	a->p.nsnapshots = (size_t)(argc - optind);
	return 0;
}

static const char ctl_send_usage[] =
    "usage: btrsendctl send [-p PARENT] [-c CLONE]... [--proto 1|2|auto]\n"
    "           [--compressed-data] [--no-data] [--estimate] -o FILE SNAPSHOT...\n"
    "       btrsendctl send -f CONF [-p PARENT] [-c CLONE]... [--proto 1|2|auto]\n"
    "           [--compressed-data] [--job NAME] [--retries N] [--limit RATE]\n"
    "           --to TARGET|HOST[:PORT] SNAPSHOT\n";

static bool
ctl_send_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

int
ctl_send(int argc, char **argv)
{
	static struct ctl_send_args a;
	struct send_progress pr;
	struct send_error e;

	memset(&a, 0, sizeof(a));
	memset(&pr, 0, sizeof(pr));
	if (ctl_send_wants_help(argc, argv)) {
		fputs(ctl_send_usage, stdout);
		return CTL_OK;
	}
	if (ctl_send_wants_net(argc, argv))
		return ctl_send_net(argc, argv);
	if (ctl_send_parse(argc, argv, &a) == -1)
		return CTL_USAGE;
	pr.enabled = isatty(STDERR_FILENO);
	if (a.estimate) {
		if (send_estimate(&a.p, &pr.total, &e) == -1) {
			ctl_send_fail(&e);
			return CTL_FAILED;
		}
		pr.estimated = 1;
	}
	return ctl_send_run(&a.p, a.out_path, &pr);
}
