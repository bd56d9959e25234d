/*
 * The parsed configuration of btrsendd (btrsend.conf(5)).
 *
 * Only the daemon's parent parses the file.  conf_load() returns a fully
 * validated structure with every default filled in; nothing modifies it
 * afterwards (a reload builds a new one and swaps), so readers take
 * `const struct conf *`.  All strings and arrays are owned by the structure
 * and released by conf_free().
 */
#ifndef BTRSEND_CONF_CONF_H
#define BTRSEND_CONF_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/base/types.h"

#define CONF_DEFAULT_PATH          "/etc/btrsend/btrsend.conf"
#define CONF_DEFAULT_STATE_DIR     "/var/lib/btrsend"
#define CONF_DEFAULT_SOCKET        "/run/btrsend/control.sock"
#define CONF_DEFAULT_TIMEZONE      "UTC"
#define CONF_DEFAULT_MAX_TRANSFERS 2
#define CONF_MIN_FREE_UNSET	UINT64_MAX	/* a job's, while parsing */
#define CONF_DEFAULT_TIMEOUT       60      /* seconds, network connections */
#define CONF_MAX_TIMEOUT           86400
#define CONF_MAX_TRANSFERS_LIMIT   1024
/* The receive block's limits before and after authentication. */
#define CONF_DEFAULT_HANDSHAKE_TIMEOUT  10      /* seconds, whole handshake */
#define CONF_DEFAULT_MAX_HANDSHAKES     64
#define CONF_DEFAULT_MAX_HANDSHAKES_ADDR 8
#define CONF_MAX_HANDSHAKES_LIMIT       4096
#define CONF_DEFAULT_CLIENT_TRANSFERS   4
#define CONF_MAX_CLIENT_TRANSFERS       256     /* the receive workers' cap */

/* A HOST:PORT or [V6]:PORT endpoint. */
struct conf_addr {
	char		*host;		/* name or literal, without brackets */
	uint16_t	 port;		/* 1..65535 */
	int		 v6;		/* host is an IPv6 literal ([..] form) */
};

enum conf_compress {
	CONF_COMPRESS_NONE = 0,		/* default */
	CONF_COMPRESS_ZSTD,
};

enum conf_protocol {
	CONF_PROTO_AUTO = 0,		/* default: highest both ends support */
	CONF_PROTO_1 = 1,
	CONF_PROTO_2 = 2,
};

enum conf_sched_kind {
	CONF_SCHED_MANUAL = 0,		/* default: only `btrsendctl run` */
	CONF_SCHED_EVERY,		/* sch_every seconds after the last run */
	CONF_SCHED_AT,			/* daily at sch_hour:sch_minute */
};

struct conf_schedule {
	enum conf_sched_kind kind;
	uint64_t	 every;		/* seconds, > 0, for CONF_SCHED_EVERY */
	int		 hour;		/* 0..23, for CONF_SCHED_AT ... */
	int		 minute;	/* 0..59, in conf->timezone */
};

struct conf_target {
	char		*name;		/* the block's NAME, [A-Za-z0-9_-]+ */
	struct conf_addr address;	/* required */
	char		*cert_name;	/* expected peer certificate name;
					   default: address.host */
	uint64_t	 bandwidth;	/* bytes per second, 0 = unlimited */
	enum conf_compress compress;	/* wire compression */
	uint64_t	 timeout;	/* seconds; 0 = CONF_DEFAULT_TIMEOUT */
};

struct conf_job {
	char		*name;		/* [A-Za-z0-9_-]+, prefixes snapshots */
	char		*source;	/* absolute path of the subvolume */
	char		*snapshot_dir;	/* absolute path, same filesystem */
	struct conf_schedule schedule;
	char		**send_to;	/* names of targets, each defined */
	size_t		 nsend_to;
	enum conf_protocol protocol;	/* send stream version */
	int		 compressed_data; /* pass compressed extents as is */
	struct retention_policy keep_source;
	struct retention_policy keep_target;
	/* bytes free on snapshot-dir's filesystem before a snapshot; 0 off */
	uint64_t	 min_free;
	char		*on_success;	/* command run after success, or NULL */
	char		*on_failure;	/* command run after failure, or NULL */
	char		*before_snapshot; /* run before the snapshot, or NULL */
	int		 snapshot_if_changed; /* no snapshot of an unchanged source */
};

/*
 * The backup host's say over a client's PRUNE (btrsend.conf(5)): what a
 * client may not delete however its keep-target reads.
 */
struct conf_authority {
	uint64_t	 protect;	/* seconds: younger is never deleted */
	uint32_t	 keep_min;	/* complete snapshots a job keeps */
	int		 append_only;	/* refuse every client prune */
	uint64_t	 stale_after;	/* seconds without a delivery; 0 off */
};

/* A client's own block, `client NAME { ... }`: its overrides. */
struct conf_client {
	struct conf_authority authority; /* the block's, overridden */
	unsigned	 given;		/* CONF_AUTH_* the client's block set */
};
#define CONF_AUTH_PROTECT	0x1
#define CONF_AUTH_KEEP_MIN	0x2
#define CONF_AUTH_APPEND_ONLY	0x4
#define CONF_AUTH_STALE_AFTER	0x8

struct conf_receive {
	int		 set;		/* a receive block was given */
	struct conf_addr *listen;	/* at least one when set */
	size_t		 nlisten;
	char		*root;		/* absolute path, on btrfs */
	char		**clients;	/* admitted certificate names, >= 1 */
	size_t		 nclients;
	struct conf_client *client_conf; /* [nclients], resolved */
	struct conf_authority authority; /* the receive block's defaults */
	char		*on_stale;	/* command for a stale client job */
	uint64_t	 timeout;	/* seconds; 0 = CONF_DEFAULT_TIMEOUT */
	uint64_t	 handshake_timeout; /* seconds, the whole TLS handshake */
	uint32_t	 max_handshakes; /* connections in handshake at once */
	uint32_t	 max_handshakes_addr; /* of them from one address */
	uint32_t	 max_client_transfers; /* receive workers per client */
};

struct conf {
	char		*path;		/* the file conf_load() read */
	uint32_t	 max_transfers;	/* concurrent transfers, 1..1024 */
	char		*state_dir;	/* absolute path */
	char		*timezone;	/* for `schedule at`, "UTC" default */
	uint64_t	 min_free;	/* the jobs' default, 0 off */

	/* tls: required once any target or receive block exists. */
	int		 tls_set;
	char		*tls_certificate;
	char		*tls_key;
	char		*tls_ca;

	char		*control_socket; /* absolute path */
	char		*control_group;	/* NULL: the daemon's own group */

	int		 metrics_set;
	struct conf_addr metrics_listen;

	struct conf_target *targets;	/* in file order, names unique */
	size_t		 ntargets;
	struct conf_job	*jobs;		/* in file order, names unique */
	size_t		 njobs;
	struct conf_receive receive;
};

/* Messages of a failed parse, each "file:line:column: what is wrong". */
struct conf_errors {
	char		**msg;
	size_t		 n;
	size_t		 dropped;	/* beyond CONF_MAX_ERRORS */
};
#define CONF_MAX_ERRORS 100

/*
 * Parse and validate a file (or a buffer named `name`, whose relative
 * includes resolve against dirname(name)).  NULL if anything was wrong,
 * with every problem found in errs (which the caller frees).
 */
struct conf	*conf_load(const char *path, struct conf_errors *errs);
struct conf	*conf_load_buffer(const char *name, const char *buf, size_t len,
		    struct conf_errors *errs);
void		 conf_free(struct conf *);

/* Write the canonical form: every default explicit, includes flattened. */
void		 conf_print(FILE *, const struct conf *);
/* 1 if both describe the same configuration (path is not compared). */
int		 conf_equal(const struct conf *, const struct conf *);
/* 1 if both bind the same addresses into the same root (clients aside). */
int		 conf_receive_bind_equal(const struct conf_receive *,
		    const struct conf_receive *);

/* The rules client's PRUNE obeys (its overrides, else the block's). */
const struct conf_authority *conf_receive_authority(
		    const struct conf_receive *, const char *client);

const struct conf_target *conf_target_find(const struct conf *, const char *);
const struct conf_job *conf_job_find(const struct conf *, const char *);

void		 conf_errors_print(FILE *, const struct conf_errors *);
void		 conf_errors_free(struct conf_errors *);

#endif
