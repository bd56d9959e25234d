/*
 * btrsendd: the replication daemon.  The configuration check (-n) and
 * the receiving side (a receive block) exist so far.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "daemon/listener.h"
#include "daemon/log.h"

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

/* For now the daemon runs the receiving side only. */
static int
run_receiver(const char *path)
{
	struct conf_errors errs;
	struct conf *conf;
	int rc;

	if ((conf = conf_load(path, &errs)) == NULL) {
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		return EXIT_USAGE;
	}
	if (!conf->receive.set) {
		log_warnx("%s: only the receive block is implemented in the "
		    "daemon so far, and there is none", path);
		conf_free(conf);
		return 1;
	}
	rc = listener_run(conf);
	conf_free(conf);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONF_DEFAULT_PATH;
	int ch, check = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "df:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
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
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	log_init("btrsendd", verbose);
	if (check)
		return check_config(path, verbose);
	return run_receiver(path);
}
