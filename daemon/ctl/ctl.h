/*
 * btrsendctl subcommands.  Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code:
 * 0 ok, 1 operation failed, 2 usage or config error.
 */
#ifndef BTRSEND_DAEMON_CTL_CTL_H
#define BTRSEND_DAEMON_CTL_CTL_H

#define CTL_OK     0
#define CTL_FAILED 1
#define CTL_USAGE  2

struct ctl_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;      /* arguments, shown by --help */
	const char *summary;    /* one line */
};

int ctl_cancel(int argc, char **argv);
int ctl_dump(int argc, char **argv);
int ctl_history(int argc, char **argv);
int ctl_monitor(int argc, char **argv);
int ctl_pause(int argc, char **argv);
int ctl_receive(int argc, char **argv);
int ctl_reload(int argc, char **argv);
int ctl_run_job(int argc, char **argv);
int ctl_send(int argc, char **argv);
/* send --to HOST: to a btrsendd receiver (ctl_netsend.c). */
int ctl_send_net(int argc, char **argv);
int ctl_send_wants_net(int argc, char **argv);
int ctl_snapshots(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_unpause(int argc, char **argv);
int ctl_verify(int argc, char **argv);

/*
 * The progress printer of send --to and restore (ctl_netsend.c): percent
 * and ETA on a terminal, a plain line every few seconds otherwise.
 */
#include <time.h>

struct netsend_progress;
struct ctl_meter {
	const char	*verb;		/* "send", "restore" */
	const char	*snapshot;
	int		 tty;
	int		 started;
	int		 said_total;
	struct timespec	 last;
};
void ctl_meter(const struct netsend_progress *p, void *arg);

/* btrsendctl restore --from TARGET (ctl_restore.c). */
int ctl_restore(int argc, char **argv);

/* Open -f FILE or stdin ("-" or NULL) for reading; -1 with a message. */
int ctl_open_input(const char *path);

#endif
