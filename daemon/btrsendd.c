/*
 * btrsendd: the replication daemon.  -n checks the configuration; the
 * hidden -W is the worker mode the parent re-executes itself in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "daemon/daemon.h"
#include "daemon/net/tls.h"
#include "proto/base/log.h"
#include "daemon/worker/worker.h"

#define EXIT_USAGE 2

static void
usage(FILE *f)
{
	fprintf(f, "usage: btrsendd [-dhnv] [-f config]\n"
	    "  -f config  configuration file (default %s)\n"
	    "  -n         check the configuration and exit: 0 if valid,\n"
	    "             2 with every error as file:line:column otherwise\n"
	    "  -d         stay in the foreground and log to stderr\n"
	    "  -v         more verbose; with -n print the canonical form\n"
	    "  -h         this help\n", CONF_DEFAULT_PATH);
}

static int
check_config(const char *path, int verbose)
{
	struct conf_errors errs;
	struct conf *conf;

	conf = conf_load(path, &errs);
	if (conf == NULL) {
		conf_errors_print(stderr, &errs);
		fprintf(stderr, "btrsendd: %zu error%s in %s\n",
		    errs.n + errs.dropped, errs.n + errs.dropped == 1 ? "" : "s",
		    path);
		conf_errors_free(&errs);
		return EXIT_USAGE;
	}
	if (verbose)
		conf_print(stdout, conf);
	if (fflush(stdout) == EOF) {
		log_warn("stdout");
		conf_free(conf);
		return 1;
	}
	fprintf(stderr, "configuration OK\n");
	conf_free(conf);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONF_DEFAULT_PATH;
	int ch, check = 0, foreground = 0, verbose = 0, worker = 0;

	if (tls_init() == -1) {
		fprintf(stderr, "btrsendd: OpenSSL allocated memory before "
		    "its allocator was set; this is a bug, please report it\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "df:hnvW", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'W':
			worker = 1;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (worker)
		return worker_main(foreground, verbose);
	log_init("btrsendd", verbose);
	if (check)
		return check_config(path, verbose);
	/* The daemon reports its runs by default; -v adds debug detail. */
	log_init("btrsendd", verbose + 1);
	return daemon_main(path, foreground, verbose + 1);
}
