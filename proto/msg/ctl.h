/*
 * Messages of the control socket between btrsendctl and btrsendd's
 * parent (docs/control.md).  Framing is proto/msg/frame.h; every type has a
 * payload bound checked on the header before a payload byte is read, and
 * every decoder checks each length against the bytes left and the field
 * it fills (strings go into fixed arrays: no allocation while decoding).
 *
 * A conversation: the client sends CTL_HELLO with CTL_VERSION; the server
 * answers CTL_HELLO with its version and the access it grants, or
 * CTL_M_FAIL saying why (version mismatch, not allowed) and closes.  Then
 * each CTL_REQUEST is answered by zero or more records (JOB, TARGET,
 * LIVE, RUN, SNAP, EVENT, RECV) and one CTL_M_OK or CTL_M_FAIL; MONITOR sends
 * events until the client closes.
 *
 * Payload fields (proto/msg/codec.h), big-endian: u8/u32/u64 integers
 * (i64 as u64), strings as u16 length and bytes (no NUL inside, shorter
 * than their field).
 */
#ifndef BTRSEND_PROTO_MSG_CTL_H
#define BTRSEND_PROTO_MSG_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"
#include "proto/msg/codec.h"
#include "proto/msg/frame.h"

#define CTL_VERSION	2
#define CTL_NAME_MAX	(SNAP_NAME_MAX + 1)	/* names with their NUL */
#define CTL_ERR_MAX	512		/* a run's error with its NUL */
#define CTL_TEXT_MAX	8192		/* OK/FAIL text with its NUL */
#define CTL_HELD_MAX	16		/* targets listed per snapshot */

enum ctl_type {
	CTL_HELLO = 1,		/* both ways: struct ctl_hello */
	CTL_REQUEST,		/* client: struct ctl_request */
	CTL_M_OK,			/* server: text, ends a reply */
	CTL_M_FAIL,		/* server: text, ends a reply */
	CTL_JOB,		/* server: struct ctl_job */
	CTL_TARGET,		/* server: struct ctl_target */
	CTL_LIVE,		/* server: struct ctl_live */
	CTL_RUN,		/* server: struct ctl_run */
	CTL_SNAP,		/* server: struct ctl_snap */
	CTL_EVENT,		/* server: struct ctl_event */
	CTL_RECV,		/* server: struct ctl_recv */
	CTL_TYPE_END
};

enum ctl_access {
	CTL_ACCESS_NONE = 0,	/* the client's hello */
	CTL_ACCESS_READ,	/* status, snapshots, history, monitor */
	CTL_ACCESS_ADMIN,	/* everything */
};

enum ctl_cmd {
	CTL_CMD_STATUS = 1,
	CTL_CMD_RUN,		/* arg: job */
	CTL_CMD_CANCEL,		/* num: run id */
	CTL_CMD_PAUSE,		/* arg: job */
	CTL_CMD_UNPAUSE,	/* arg: job */
	CTL_CMD_RELOAD,
	CTL_CMD_SNAPSHOTS,	/* arg: job */
	CTL_CMD_HISTORY,	/* num: the last N, 0 all */
	CTL_CMD_MONITOR,
	CTL_CMD_END
};

/* Mirrors enum stats_event_kind (daemon/stats.h). */
enum ctl_event_kind { CTL_EV_RUN_START, CTL_EV_PROGRESS, CTL_EV_TARGET_DONE,
	CTL_EV_RUN_END, CTL_EV_END };

struct ctl_hello {
	uint32_t	 version;
	uint8_t		 access;	/* enum ctl_access */
};

struct ctl_request {
	uint8_t		 cmd;		/* enum ctl_cmd */
	uint32_t	 num;
	char		 arg[CTL_NAME_MAX];
};

/* One job: its schedule and the outcome of its last run. */
struct ctl_job {
	char		 name[CTL_NAME_MAX];
	char		 schedule[64];	/* "manual", "every 3600s", "at 03:00" */
	uint8_t		 paused, running, queued;
	int64_t		 start, end;	/* last run; 0 never */
	uint8_t		 result;	/* enum run_result */
	char		 error[CTL_ERR_MAX];
	int64_t		 next;		/* next scheduled start; 0 none */
};

/* One (job, target): its last result and what it last said it held. */
struct ctl_target {
	char		 job[CTL_NAME_MAX];
	char		 target[CTL_NAME_MAX];
	int64_t		 start, end;
	uint8_t		 result;	/* enum run_result */
	char		 error[CTL_ERR_MAX];
	int64_t		 last_success;	/* 0 none known */
	int64_t		 held_when;	/* 0: never reported */
	uint32_t	 nheld;
};

struct ctl_live {
	uint32_t	 id;
	char		 job[CTL_NAME_MAX];
	char		 phase[64];
	char		 target[CTL_NAME_MAX];
	char		 snapshot[CTL_NAME_MAX];
	int64_t		 start;
	uint64_t	 done, total;	/* total 0: unknown */
	uint8_t		 total_src;	/* enum total_source */
	uint64_t	 resumed_at, rate;
	uint32_t	 resumes;
};

struct ctl_run {
	uint32_t	 id;
	char		 job[CTL_NAME_MAX];
	char		 target[CTL_NAME_MAX];
	char		 snapshot[CTL_NAME_MAX];
	char		 parent[CTL_NAME_MAX];
	int64_t		 start, end;
	uint8_t		 result;	/* enum run_result */
	uint64_t	 bytes;
	uint32_t	 resumes;
	char		 error[CTL_ERR_MAX];
};

/* A local snapshot of a job and the targets that hold it. */
struct ctl_snap {
	char		 job[CTL_NAME_MAX];
	char		 name[CTL_NAME_MAX];
	int64_t		 time;
	uint32_t	 nheld;		/* <= CTL_HELD_MAX */
	char		 held[CTL_HELD_MAX][CTL_NAME_MAX];
};

/* On a receiver: one client job, as its area last showed it. */
struct ctl_recv {
	char		 client[CTL_NAME_MAX];
	char		 job[CTL_NAME_MAX];
	char		 last[CTL_NAME_MAX];	/* "" none complete */
	int64_t		 last_time;	/* 0 none */
	uint32_t	 snapshots, partials;
	int64_t		 partial_oldest; /* 0 none (or unknown) */
	uint64_t	 stale_after;	/* seconds, 0 off */
	uint8_t		 stale;
	int64_t		 scanned;	/* when the area was read */
};

/* live for RUN_START and PROGRESS, run for TARGET_DONE and RUN_END. */
struct ctl_event {
	uint8_t		 kind;		/* enum ctl_event_kind */
	int64_t		 when;
	struct ctl_live	 live;
	struct ctl_run	 run;
};

extern const struct frame_rules ctl_rules;
const char	*ctl_type_name(uint16_t type);
const char	*ctl_cmd_name(uint8_t cmd);
/* Read-only commands, allowed with CTL_ACCESS_READ. */
int		 ctl_cmd_readonly(uint8_t cmd);
const char	*ctl_event_name(uint8_t kind);

/*
 * A received frame's header beyond ctl_rules: no flag is defined on the
 * control socket (docs/control.md), so any is refused.  0, or -1 with a
 * message.
 */
int		 ctl_hdr_check(const struct frame_hdr *, char *, size_t);

/*
 * Append one whole frame to b (the caller frees it with msgbuf_free).
 * 0, or -1, logged, with b as before: a string that does not fit its
 * field with the NUL (ctl_put_text: over CTL_TEXT_MAX - 1 bytes) or
 * nheld over CTL_HELD_MAX; the daemon's fields and texts are sized so
 * that this does not happen.
 */
int	ctl_put_hello(struct msgbuf *, const struct ctl_hello *);
int	ctl_put_request(struct msgbuf *, const struct ctl_request *);
int	ctl_put_text(struct msgbuf *, uint16_t type, const char *text);
int	ctl_put_job(struct msgbuf *, const struct ctl_job *);
int	ctl_put_target(struct msgbuf *, const struct ctl_target *);
int	ctl_put_live(struct msgbuf *, const struct ctl_live *);
int	ctl_put_run(struct msgbuf *, const struct ctl_run *);
int	ctl_put_snap(struct msgbuf *, const struct ctl_snap *);
int	ctl_put_event(struct msgbuf *, const struct ctl_event *);
int	ctl_put_recv(struct msgbuf *, const struct ctl_recv *);

/*
 * Decode one payload.  0, or -1 with a message in err: truncated,
 * trailing bytes, a string too long for its field or holding a NUL, a
 * value out of range.  ctl_get_hello checks nothing about the version:
 * each side decides and says why it refuses.
 */
int	ctl_get_hello(const uint8_t *, size_t, struct ctl_hello *, char *,
	    size_t);
int	ctl_get_request(const uint8_t *, size_t, struct ctl_request *, char *,
	    size_t);
int	ctl_get_text(const uint8_t *, size_t, char *text, size_t textlen,
	    char *, size_t);
int	ctl_get_job(const uint8_t *, size_t, struct ctl_job *, char *, size_t);
int	ctl_get_target(const uint8_t *, size_t, struct ctl_target *, char *,
	    size_t);
int	ctl_get_live(const uint8_t *, size_t, struct ctl_live *, char *,
	    size_t);
int	ctl_get_run(const uint8_t *, size_t, struct ctl_run *, char *, size_t);
int	ctl_get_snap(const uint8_t *, size_t, struct ctl_snap *, char *,
	    size_t);
int	ctl_get_event(const uint8_t *, size_t, struct ctl_event *, char *,
	    size_t);
int	ctl_get_recv(const uint8_t *, size_t, struct ctl_recv *, char *,
	    size_t);

#endif
