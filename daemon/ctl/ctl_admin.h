/*
 * btrsendctl's side of the control socket (proto/msg/ctl.h): options common
 * to the admin subcommands, one connection, one request at a time, and
 * the shared formatting of times and JSON.
 */
#ifndef BTRSEND_DAEMON_CTL_CTL_ADMIN_H
#define BTRSEND_DAEMON_CTL_CTL_ADMIN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/base/json.h"
#include "proto/msg/ctl.h"

#define ADMIN_JSON_VERSION	1	/* the "version" of every --json */
#define ADMIN_COLUMNS		80	/* human output's width */

struct admin_opts {
	const char	*socket;	/* -s, or from -f / the default */
	const char	*conf;		/* -f */
	int		 json;		/* --json */
	long		 n;		/* -n, history only */
	int		 argc;		/* operands */
	char		**argv;
};

/*
 * Parse [-f CONF] [-s SOCKET] and, when allowed ("j" --json, "n" -n N),
 * the others; nargs operands exactly.  CTL_OK or CTL_USAGE (said why).
 */
int	admin_getopt(int argc, char **argv, const char *allowed, int nargs,
	    const char *usage, struct admin_opts *);

struct admin_conn {
	int		 fd;
	uint8_t		 access;	/* granted by the server */
	struct frame_decoder dec;
	uint8_t		 buf[8192];
	size_t		 have, off;
	char		 sock[256];
};

/* Connect and say hello; CTL_OK or CTL_FAILED (said why). */
int	admin_connect(const struct admin_opts *, struct admin_conn *);
void	admin_close(struct admin_conn *);
int	admin_send(struct admin_conn *, uint8_t cmd, const char *arg,
	    uint32_t num);
/* Set by SIGINT/SIGTERM while monitoring: stop quietly. */
extern volatile sig_atomic_t admin_interrupted;

/*
 * The next message; 0 with *h and *p (valid until the next call), or -1
 * after saying why (connection closed, protocol error), or quietly once
 * admin_interrupted is set.
 */
int	admin_next(struct admin_conn *, const struct frame_hdr **h,
	    const uint8_t **p);

/* A record of a reply, handed to the command's function. */
typedef int admin_record_fn(const struct frame_hdr *, const uint8_t *,
	    void *arg);
/*
 * Send a request and read its reply: every record goes to fn; CTL_OK
 * (text in ok, may be NULL), or CTL_FAILED after printing the server's
 * FAIL text or the error.
 */
int	admin_call(struct admin_conn *, uint8_t cmd, const char *arg,
	    uint32_t num, admin_record_fn *fn, void *fnarg, char *ok,
	    size_t oklen);
/* One whole command: connect, call, close; the OK text is printed. */
int	admin_simple(const struct admin_opts *, uint8_t cmd, const char *arg,
	    uint32_t num);

/* Formatting (ctl_admin_fmt.c). */
/*
 * Copy src into dst (len bytes) up to columns visible characters;
 * colour escapes are kept and take none, and a cut colour is reset.
 * Returns the columns used.
 */
size_t	 admin_fit(char *dst, size_t len, const char *src, size_t columns);
/* printf one line of human output, cut to ADMIN_COLUMNS. */
void	 admin_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	 admin_colour(void);
const char *admin_result_colour(uint8_t result);
void	 admin_time(char *buf, size_t len, int64_t t);
void	 admin_duration(char *buf, size_t len, int64_t secs);
/* A progress bar line for a running transfer, at most 80 columns. */
void	 admin_progress(FILE *, const struct ctl_live *);
/* Percent and ETA in seconds, -1 when not known. */
int	 admin_percent(const struct ctl_live *);
int64_t	 admin_eta(const struct ctl_live *);
/*
 * The objects of the --json schemas (docs/control.md); name is the member
 * name, NULL in an array.  Times of 0 ("never") are null.
 */
void	 admin_json_live(struct json *, const char *name,
	    const struct ctl_live *);
void	 admin_json_run(struct json *, const char *name,
	    const struct ctl_run *);
void	 admin_json_target(struct json *, const struct ctl_target *);
void	 admin_json_recv(struct json *, const struct ctl_recv *);
/* Seconds since the epoch, or null for 0 ("never"). */
void	 admin_json_time(struct json *, const char *name, int64_t);
/* End a --json document: CTL_OK, or CTL_FAILED after saying why. */
int	 admin_json_finish(struct json *);

#endif
