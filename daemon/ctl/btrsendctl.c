/*
 * btrsendctl: the admin's tool.  Runs the engine by hand (dump, verify,
 * send, receive) and talks to btrsendd's control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "proto/base/log.h"

#ifndef BTRSEND_VERSION
#define BTRSEND_VERSION "0.1.0"
#endif

static int ctl_version(int, char **);

int
ctl_open_input(const char *path)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		log_warn("%s", path);
	return fd;
}

/* Sorted by name. */
static const struct ctl_command ctl_commands[] = {
	{ "cancel", ctl_cancel, "[-f CONF|-s SOCK] ID",
	  "stop a running run (it checkpoints; a later run resumes)" },
	{ "dump", ctl_dump, "[-f FILE]",
	  "print a send stream like 'btrfs receive --dump'" },
	{ "history", ctl_history, "[-f CONF|-s SOCK] [--json] [-n N]",
	  "past runs: start, duration, bytes, resumes, result" },
	{ "ls", ctl_ls, "[-f CONF] --from T [--job J] [--json] [SNAP [PATH]]",
	  "list what a backup host holds for us: snapshots, or files in one" },
	{ "monitor", ctl_monitor, "[-f CONF|-s SOCK] [--json]",
	  "print the daemon's events as they happen" },
	{ "pause", ctl_pause, "[-f CONF|-s SOCK] JOB",
	  "no scheduled runs of JOB until unpause (kept on restart)" },
	{ "receive", ctl_receive, "[-f FILE] [--force-decompress] DIR",
	  "apply send streams into DIR (on btrfs), confined and resumable" },
	{ "reload", ctl_reload, "[-f CONF|-s SOCK]",
	  "reread the daemon's configuration, or show its errors" },
	{ "restore", ctl_restore, "--from T [--path P] SNAP|latest DEST",
	  "a snapshot or a subtree of it back from a backup host" },
	{ "run", ctl_run_job, "[-f CONF|-s SOCK] JOB",
	  "start a run of JOB now" },
	{ "send", ctl_send, "[-p P] [-c C]... (-o FILE|--to T) SNAP",
	  "kernel send of read-only snapshots to a file or a btrsendd" },
	{ "snapshots", ctl_snapshots, "[-f CONF|-s SOCK] [--json] JOB",
	  "JOB's local snapshots and the targets holding each" },
	{ "status", ctl_status, "[-f CONF|-s SOCK] [--json]",
	  "jobs, last results, next runs, running transfers" },
	{ "unpause", ctl_unpause, "[-f CONF|-s SOCK] JOB",
	  "schedule JOB again" },
	{ "verify", ctl_verify, "[-v] [-f FILE]",
	  "check a send stream; -v lists the commands" },
	{ "version", ctl_version, "",
	  "print the version of btrsendctl" },
};

#define NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: btrsendctl COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %-40s %s\n", ctl_commands[i].name,
		    ctl_commands[i].usage, ctl_commands[i].summary);
	fprintf(f, "\nExit status: 0 ok, 1 operation failed, 2 usage error.\n");
}

static int
ctl_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("btrsendctl %s\n", BTRSEND_VERSION);
	return CTL_OK;
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init("btrsendctl", 0);
	if (argc < 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], ctl_commands[i].name) == 0)
			return ctl_commands[i].run(argc - 1, argv + 1);
	log_warnx("unknown command '%s' (see btrsendctl --help)", argv[1]);
	return CTL_USAGE;
}
