/*
 * The keywords of btrsend.conf: one sorted table per block, and what each
 * key does.  To add a key: add its field to conf/conf.h, a row to the
 * table of its block (keep the table sorted, bsearch relies on it), its
 * default to conf_new(), and teach conf/print.c and conf_equal() about it.
 */
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/parse.h"
#include "conf/value.h"
#include "proto/base/log.h"

#define CONF_COUNT_MAX 1000000

static conf_kw_fn kw_str, kw_count, kw_duration, kw_bool, kw_addr;
static conf_kw_fn kw_include, kw_max_transfers, kw_metrics, kw_tls;
static conf_kw_fn kw_control, kw_target, kw_job, kw_receive, kw_bandwidth;
static conf_kw_fn kw_compress, kw_schedule, kw_send_to, kw_protocol;
static conf_kw_fn kw_timeout, kw_handshakes, kw_client_transfers;
static conf_kw_fn kw_retention, kw_listen, kw_client, kw_size;
static int conf_sub_block(struct conf_parser *, struct conf_block *,
    const struct conf_loc *);
static void conf_block_init(struct conf_block *, const char *,
    const struct conf_table *, void *);

#define TABLE(t) { t, sizeof(t) / sizeof(t[0]) }
#define REQ CONF_KW_REQUIRED
#define REP CONF_KW_REPEAT

static const struct conf_kw top_kw[] = {
	{ "control", kw_control, 0, NULL, 0 },
	{ "include", kw_include, 0, NULL, REP },
	{ "job", kw_job, 0, NULL, REP },
	{ "max-transfers", kw_max_transfers, 0, NULL, 0 },
	{ "metrics", kw_metrics, 0, NULL, 0 },
	{ "min-free", kw_size, offsetof(struct conf, min_free), NULL, 0 },
	{ "receive", kw_receive, 0, NULL, 0 },
	{ "state-dir", kw_str, offsetof(struct conf, state_dir),
	  conf_check_path, 0 },
	{ "target", kw_target, 0, NULL, REP },
	{ "timezone", kw_str, offsetof(struct conf, timezone),
	  conf_check_timezone, 0 },
	{ "tls", kw_tls, 0, NULL, 0 },
};
const struct conf_table conf_top_table = TABLE(top_kw);

static const struct conf_kw tls_kw[] = {
	{ "ca", kw_str, offsetof(struct conf, tls_ca), conf_check_path, REQ },
	{ "certificate", kw_str, offsetof(struct conf, tls_certificate),
	  conf_check_path, REQ },
	{ "key", kw_str, offsetof(struct conf, tls_key), conf_check_path,
	  REQ },
};
static const struct conf_table tls_table = TABLE(tls_kw);

static const struct conf_kw control_kw[] = {
	{ "group", kw_str, offsetof(struct conf, control_group),
	  conf_check_group, 0 },
	{ "socket", kw_str, offsetof(struct conf, control_socket),
	  conf_check_path, 0 },
};
static const struct conf_table control_table = TABLE(control_kw);

static const struct conf_kw target_kw[] = {
	{ "address", kw_addr, offsetof(struct conf_target, address), NULL,
	  REQ },
	{ "bandwidth", kw_bandwidth, 0, NULL, 0 },
	{ "compress", kw_compress, 0, NULL, 0 },
	{ "name", kw_str, offsetof(struct conf_target, cert_name),
	  conf_check_host, 0 },
	{ "timeout", kw_timeout, offsetof(struct conf_target, timeout), NULL,
	  0 },
};
static const struct conf_table target_table = TABLE(target_kw);

static const struct conf_kw job_kw[] = {
	{ "before-snapshot", kw_str, offsetof(struct conf_job, before_snapshot),
	  conf_check_command, 0 },
	{ "compressed-data", kw_bool,
	  offsetof(struct conf_job, compressed_data), NULL, 0 },
	{ "keep-source", kw_retention, offsetof(struct conf_job, keep_source),
	  NULL, 0 },
	{ "keep-target", kw_retention, offsetof(struct conf_job, keep_target),
	  NULL, 0 },
	{ "min-free", kw_size, offsetof(struct conf_job, min_free), NULL, 0 },
	{ "on-failure", kw_str, offsetof(struct conf_job, on_failure),
	  conf_check_command, 0 },
	{ "on-success", kw_str, offsetof(struct conf_job, on_success),
	  conf_check_command, 0 },
	{ "protocol", kw_protocol, 0, NULL, 0 },
	{ "schedule", kw_schedule, 0, NULL, 0 },
	{ "send-to", kw_send_to, 0, conf_check_name, REP },
	{ "snapshot-dir", kw_str, offsetof(struct conf_job, snapshot_dir),
	  conf_check_path, REQ },
	{ "snapshot-if-changed", kw_bool,
	  offsetof(struct conf_job, snapshot_if_changed), NULL, 0 },
	{ "source", kw_str, offsetof(struct conf_job, source),
	  conf_check_path, REQ },
};
static const struct conf_table job_table = TABLE(job_kw);

static const struct conf_kw retention_kw[] = {
	{ "daily", kw_count, offsetof(struct retention_policy, daily), NULL, 0 },
	{ "hourly", kw_count, offsetof(struct retention_policy, hourly), NULL,
	  0 },
	{ "min-age", kw_duration, offsetof(struct retention_policy, min_age),
	  NULL, 0 },
	{ "monthly", kw_count, offsetof(struct retention_policy, monthly), NULL,
	  0 },
	{ "weekly", kw_count, offsetof(struct retention_policy, weekly), NULL,
	  0 },
	{ "yearly", kw_count, offsetof(struct retention_policy, yearly), NULL,
	  0 },
};
static const struct conf_table retention_table = TABLE(retention_kw);

static const struct conf_kw receive_kw[] = {
	{ "append-only", kw_bool,
	  offsetof(struct conf_receive, authority.append_only), NULL, 0 },
	{ "client", kw_client, 0, conf_check_host, REQ | REP },
	{ "handshake-timeout", kw_timeout,
	  offsetof(struct conf_receive, handshake_timeout), NULL, 0 },
	{ "keep-min", kw_count,
	  offsetof(struct conf_receive, authority.keep_min), NULL, 0 },
	{ "listen", kw_listen, 0, NULL, REQ | REP },
	{ "max-handshakes", kw_handshakes,
	  offsetof(struct conf_receive, max_handshakes), NULL, 0 },
	{ "max-handshakes-per-address", kw_handshakes,
	  offsetof(struct conf_receive, max_handshakes_addr), NULL, 0 },
	{ "max-transfers-per-client", kw_client_transfers,
	  offsetof(struct conf_receive, max_client_transfers), NULL, 0 },
	{ "on-stale", kw_str, offsetof(struct conf_receive, on_stale), NULL,
	  0 },
	{ "protect", kw_duration,
	  offsetof(struct conf_receive, authority.protect), NULL, 0 },
	{ "root", kw_str, offsetof(struct conf_receive, root),
	  conf_check_path, REQ },
	{ "stale-after", kw_duration,
	  offsetof(struct conf_receive, authority.stale_after), NULL, 0 },
	{ "timeout", kw_timeout, offsetof(struct conf_receive, timeout), NULL,
	  0 },
};
static const struct conf_table receive_table = TABLE(receive_kw);

/* client NAME { ... }: the same keys, bits CONF_AUTH_* in this order. */
static const struct conf_kw client_kw[] = {
	{ "append-only", kw_bool,
	  offsetof(struct conf_client, authority.append_only), NULL, 0 },
	{ "keep-min", kw_count,
	  offsetof(struct conf_client, authority.keep_min), NULL, 0 },
	{ "protect", kw_duration,
	  offsetof(struct conf_client, authority.protect), NULL, 0 },
	{ "stale-after", kw_duration,
	  offsetof(struct conf_client, authority.stale_after), NULL, 0 },
};
static const struct conf_table client_table = TABLE(client_kw);
static const unsigned client_kw_bit[] = {
	CONF_AUTH_APPEND_ONLY, CONF_AUTH_KEEP_MIN, CONF_AUTH_PROTECT,
	CONF_AUTH_STALE_AFTER
};

#define FIELD(obj, kw, type) ((type *)(void *)((char *)(obj) + (kw)->off))

struct conf *
conf_new(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->max_transfers = CONF_DEFAULT_MAX_TRANSFERS;
	c->state_dir = xstrdup(CONF_DEFAULT_STATE_DIR);
	c->timezone = xstrdup(CONF_DEFAULT_TIMEZONE);
	c->control_socket = xstrdup(CONF_DEFAULT_SOCKET);
	c->receive.handshake_timeout = CONF_DEFAULT_HANDSHAKE_TIMEOUT;
	c->receive.max_handshakes = CONF_DEFAULT_MAX_HANDSHAKES;
	c->receive.max_handshakes_addr = CONF_DEFAULT_MAX_HANDSHAKES_ADDR;
	c->receive.max_client_transfers = CONF_DEFAULT_CLIENT_TRANSFERS;
	return c;
}

/* One argument, checked with check(); NULL (reported) if bad. */
static char *
conf_value(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, int (*check)(const char *, const char **),
    int *shape)
{
	struct conf_loc loc;
	const char *why;
	char *s;

	*shape = 0;
	if (conf_arg(p, kw, kwloc, &s, &loc) == -1) {
		*shape = -1;
		return NULL;
	}
	if (check != NULL && check(s, &why) == -1) {
		conf_error(p->errs, &loc, "%s '%s': %s", kw->name, s, why);
		free(s);
		return NULL;
	}
	return s;
}

static int
kw_str(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	char **field = FIELD(obj, kw, char *);
	char *s;
	int shape;

	if ((s = conf_value(p, kw, kwloc, kw->check, &shape)) != NULL) {
		free(*field);
		*field = s;
	}
	return shape;
}

/* A number, duration or size, through parse(); -1 only for shape. */
static int
conf_scalar(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc,
    int (*parse)(const char *, uint64_t *, const char **), uint64_t *out,
    int *ok)
{
	struct conf_loc loc;
	const char *why;
	char *s;

	*ok = 0;
	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return -1;
	if (parse(s, out, &why) == -1)
		conf_error(p->errs, &loc, "%s '%s': %s", kw->name, s, why);
	else
		*ok = 1;
	free(s);
	return 0;
}

static int
conf_parse_count(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_number(s, CONF_COUNT_MAX, out, why) == -1) {
		*why = "expected a count from 0 to 1000000";
		return -1;
	}
	return 0;
}

static int
kw_count(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_count, &v, &ok);
	if (ok)
		*FIELD(obj, kw, uint32_t) = (uint32_t)v;
	return r;
}

static int
kw_duration(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_duration, &v, &ok);
	if (ok)
		*FIELD(obj, kw, uint64_t) = v;
	return r;
}

static int
kw_size(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_size, &v, &ok);
	if (ok)		/* UINT64_MAX is CONF_MIN_FREE_UNSET: a byte less */
		*FIELD(obj, kw, uint64_t) = v == UINT64_MAX ? v - 1 : v;
	return r;
}

/* A connection timeout: whole seconds, 1 s to 1 day. */
static int
conf_parse_timeout(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_duration(s, out, why) == -1)
		return -1;
	if (*out == 0 || *out > CONF_MAX_TIMEOUT) {
		*why = "must be from 1s to 1d";
		return -1;
	}
	return 0;
}

static int
kw_timeout(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_timeout, &v, &ok);
	if (ok)
		*FIELD(obj, kw, uint64_t) = v;
	return r;
}

/* Connections in TLS handshake at once: each holds a descriptor. */
static int
conf_parse_handshakes(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_number(s, CONF_MAX_HANDSHAKES_LIMIT, out, why) == -1 ||
	    *out == 0) {
		*why = "expected a number from 1 to 4096";
		return -1;
	}
	return 0;
}

static int
kw_handshakes(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_handshakes, &v, &ok);
	if (ok)
		*FIELD(obj, kw, uint32_t) = (uint32_t)v;
	return r;
}

/* Receive workers of one client: never more than the receiver runs. */
static int
conf_parse_client_transfers(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_number(s, CONF_MAX_CLIENT_TRANSFERS, out, why) == -1 ||
	    *out == 0) {
		*why = "expected a number from 1 to 256";
		return -1;
	}
	return 0;
}

static int
kw_client_transfers(struct conf_parser *p, const struct conf_kw *kw,
    void *obj, const struct conf_loc *kwloc)
{
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_client_transfers, &v, &ok);
	if (ok)
		*FIELD(obj, kw, uint32_t) = (uint32_t)v;
	return r;
}

static int
conf_parse_transfers(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_number(s, CONF_MAX_TRANSFERS_LIMIT, out, why) == -1 ||
	    *out == 0) {
		*why = "expected a number from 1 to 1024";
		return -1;
	}
	return 0;
}

static int
kw_max_transfers(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf *c = obj;
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_transfers, &v, &ok);
	if (ok)
		c->max_transfers = (uint32_t)v;
	return r;
}

static int
conf_parse_bandwidth(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_size(s, out, why) == -1)
		return -1;
	if (*out == 0) {
		*why = "must be more than 0 (leave bandwidth out for no limit)";
		return -1;
	}
	return 0;
}

static int
kw_bandwidth(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_target *t = obj;
	uint64_t v;
	int ok, r;

	r = conf_scalar(p, kw, kwloc, conf_parse_bandwidth, &v, &ok);
	if (ok)
		t->bandwidth = v;
	return r;
}

/* A word out of a fixed list; its index in *out, -1 if none matched. */
static int
conf_choice(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, const char *const *words, const char *why,
    int *out)
{
	struct conf_loc loc;
	char *s;
	int i;

	*out = -1;
	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return -1;
	for (i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			*out = i;
	if (*out == -1)
		conf_error(p->errs, &loc, "%s '%s': %s", kw->name, s, why);
	free(s);
	return 0;
}

static int
kw_bool(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	static const char *const words[] = { "no", "yes", NULL };
	int v, r;

	r = conf_choice(p, kw, kwloc, words, "expected yes or no", &v);
	if (v != -1)
		*FIELD(obj, kw, int) = v;
	return r;
}

static int
kw_compress(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	static const char *const words[] = { "none", "zstd", NULL };
	struct conf_target *t = obj;
	int v, r;

	r = conf_choice(p, kw, kwloc, words, "expected none or zstd", &v);
	if (v != -1)
		t->compress = v == 1 ? CONF_COMPRESS_ZSTD : CONF_COMPRESS_NONE;
	return r;
}

static int
kw_protocol(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	static const char *const words[] = { "auto", "1", "2", NULL };
	struct conf_job *j = obj;
	int v, r;

	r = conf_choice(p, kw, kwloc, words, "expected 1, 2 or auto", &v);
	if (v != -1)
		j->protocol = (enum conf_protocol)v;
	return r;
}

/* An address into *a, which is replaced; 1 if one was stored. */
static int
conf_addr_arg(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, struct conf_addr *a, int *stored)
{
	struct conf_addr n;
	struct conf_loc loc;
	const char *why;
	char *s;

	*stored = 0;
	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return -1;
	if (conf_parse_addr(s, &n, &why) == -1)
		conf_error(p->errs, &loc, "%s '%s': %s", kw->name, s, why);
	else {
		free(a->host);
		*a = n;
		*stored = 1;
	}
	free(s);
	return 0;
}

static int
kw_addr(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	int stored;

	return conf_addr_arg(p, kw, kwloc, FIELD(obj, kw, struct conf_addr),
	    &stored);
}

static int
kw_listen(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_receive *r = obj;
	struct conf_addr a = { NULL, 0, 0 };
	int stored, ret;

	ret = conf_addr_arg(p, kw, kwloc, &a, &stored);
	if (stored) {
		r->listen = xrealloc(r->listen,
		    (r->nlisten + 1) * sizeof(*r->listen));
		r->listen[r->nlisten++] = a;
	}
	return ret;
}

static int
kw_metrics(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	static const struct conf_kw listen = { "metrics listen", NULL, 0,
	    NULL, 0 };
	struct conf *c = obj;
	const struct conf_tok *t = conf_lex_peek(p->lx);
	int stored, r;

	if (t->type != CONF_TOK_WORD || strcmp(t->text, "listen") != 0) {
		conf_error(p->errs, kwloc, "expected 'listen ADDRESS' after "
		    "'%s'", kw->name);
		return -1;
	}
	conf_lex_take(p->lx);
	r = conf_addr_arg(p, &listen, kwloc, &c->metrics_listen, &stored);
	if (stored)
		c->metrics_set = 1;
	return r;
}

/* Names to the end of the line, appended to *list; returns -1 if none. */
static int
conf_list(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, const char *what, char ***list, size_t *n,
    int is_ref)
{
	struct conf_ref *ref;
	int shape;
	size_t i;
	char *s;

	if (!conf_more_args(p))
		return conf_arg(p, kw, kwloc, &s, NULL);
	while (conf_more_args(p)) {
		struct conf_loc loc = conf_lex_peek(p->lx)->loc;

		if ((s = conf_value(p, kw, kwloc, kw->check, &shape)) == NULL)
			continue;
		for (i = 0; i < *n && strcmp((*list)[i], s) != 0; i++)
			;
		if (i < *n) {
			conf_error(p->errs, &loc, "%s '%s' listed twice", what,
			    s);
			free(s);
			continue;
		}
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = s;
		if (!is_ref)
			continue;
		p->refs = xrealloc(p->refs, (p->nrefs + 1) * sizeof(*p->refs));
		ref = &p->refs[p->nrefs++];
		ref->name = xstrdup(s);
		ref->loc = loc;
		ref->job = p->conf->njobs - 1;
	}
	return 0;
}

static int
kw_send_to(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_job *j = obj;

	return conf_list(p, kw, kwloc, "target", &j->send_to,
	    &j->nsend_to, 1);
}

/*
 * client NAME [NAME ...], or client NAME { overrides }: a block opens on
 * the statement's own line, so the one-line list keeps its meaning.
 */
static int
kw_client(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_receive *r = obj;
	struct conf_client dummy, *cc = &dummy;
	struct conf_block b;
	size_t i, before = r->nclients;
	size_t nerr = p->errs->n + p->errs->dropped;
	int rc;

	rc = conf_list(p, kw, kwloc, "client", &r->clients, &r->nclients, 0);
	r->client_conf = xrealloc(r->client_conf,
	    (r->nclients + 1) * sizeof(*r->client_conf));
	memset(&r->client_conf[before], 0,
	    (r->nclients + 1 - before) * sizeof(*r->client_conf));
	if (rc == -1 || conf_lex_peek(p->lx)->type != CONF_TOK_LBRACE)
		return rc;
	if (r->nclients == before + 1)
		cc = &r->client_conf[before];
	else if (p->errs->n + p->errs->dropped == nerr) /* not a duplicate */
		conf_error(p->errs, kwloc, "a client block names one client: "
		    "client NAME { ... }");
	memset(&dummy, 0, sizeof(dummy));
	conf_block_init(&b, "the client block", &client_table, cc);
	if (conf_sub_block(p, &b, kwloc) == -1)
		return -1;
	for (i = 0; i < client_table.n; i++)
		if (b.seen[i].line != 0)
			cc->given |= client_kw_bit[i];
	return 0;
}

/* A client's keys not in its block are the receive block's. */
static void
conf_resolve_clients(struct conf_receive *r)
{
	struct conf_client *cc;
	size_t i;

	for (i = 0; i < r->nclients; i++) {
		cc = &r->client_conf[i];
		if (!(cc->given & CONF_AUTH_PROTECT))
			cc->authority.protect = r->authority.protect;
		if (!(cc->given & CONF_AUTH_KEEP_MIN))
			cc->authority.keep_min = r->authority.keep_min;
		if (!(cc->given & CONF_AUTH_APPEND_ONLY))
			cc->authority.append_only = r->authority.append_only;
		if (!(cc->given & CONF_AUTH_STALE_AFTER))
			cc->authority.stale_after = r->authority.stale_after;
	}
}

static int
conf_schedule_at(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, struct conf_schedule *s)
{
	struct conf_loc loc;
	const char *why;
	char *v;

	if (conf_arg(p, kw, kwloc, &v, &loc) == -1)
		return -1;
	if (conf_parse_time(v, &s->hour, &s->minute, &why) == -1)
		conf_error(p->errs, &loc, "schedule at '%s': %s", v, why);
	else
		s->kind = CONF_SCHED_AT;
	free(v);
	return 0;
}

static int
conf_parse_every(const char *s, uint64_t *out, const char **why)
{
	if (conf_parse_duration(s, out, why) == -1)
		return -1;
	if (*out == 0) {
		*why = "the interval must be more than 0s";
		return -1;
	}
	return 0;
}

static int
kw_schedule(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	static const struct conf_kw every = { "schedule every", NULL, 0,
	    NULL, 0 };
	struct conf_job *j = obj;
	struct conf_loc loc;
	uint64_t v;
	int ok, r = 0;
	char *s;

	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return -1;
	if (strcmp(s, "manual") == 0) {
		memset(&j->schedule, 0, sizeof(j->schedule));
		j->schedule.kind = CONF_SCHED_MANUAL;
	} else if (strcmp(s, "every") == 0) {
		r = conf_scalar(p, &every, kwloc, conf_parse_every, &v, &ok);
		if (ok) {
			memset(&j->schedule, 0, sizeof(j->schedule));
			j->schedule.kind = CONF_SCHED_EVERY;
			j->schedule.every = v;
		}
	} else if (strcmp(s, "at") == 0) {
		memset(&j->schedule, 0, sizeof(j->schedule));
		r = conf_schedule_at(p, kw, kwloc, &j->schedule);
	} else {
		conf_error(p->errs, &loc, "schedule '%s': expected every "
		    "DURATION, at HH:MM or manual", s);
		r = -1;
	}
	free(s);
	return r;
}

/* '{' statements '}' into b, then the required keys. */
static int
conf_sub_block(struct conf_parser *p, struct conf_block *b,
    const struct conf_loc *kwloc)
{
	struct conf_loc open;
	size_t i;

	if (conf_open_brace(p, b->what, kwloc, &open) == -1)
		return -1;
	if (conf_parse_body(p, b, &open) == -1)
		return 0;
	for (i = 0; i < b->table->n; i++)
		if ((b->table->kw[i].flags & CONF_KW_REQUIRED) &&
		    b->seen[i].line == 0)
			conf_error(p->errs, kwloc, "%s has no '%s' (required)",
			    b->what, b->table->kw[i].name);
	return 0;
}

static void
conf_block_init(struct conf_block *b, const char *what,
    const struct conf_table *table, void *obj)
{
	memset(b, 0, sizeof(*b));
	b->what = what;
	b->table = table;
	b->obj = obj;
}

static int
kw_tls(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf *c = obj;
	struct conf_block b;

	(void)kw;
	conf_block_init(&b, "the tls block", &tls_table, c);
	c->tls_set = 1;
	return conf_sub_block(p, &b, kwloc);
}

static int
kw_control(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_block b;

	(void)kw;
	conf_block_init(&b, "the control block", &control_table, obj);
	return conf_sub_block(p, &b, kwloc);
}

static int
kw_receive(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf *c = obj;
	struct conf_block b;
	int r;

	(void)kw;
	if (p->tls_needed.line == 0)
		p->tls_needed = *kwloc;
	c->receive.set = 1;
	conf_block_init(&b, "the receive block", &receive_table, &c->receive);
	r = conf_sub_block(p, &b, kwloc);
	conf_resolve_clients(&c->receive);
	return r;
}

static int
kw_retention(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct retention_policy *r = FIELD(obj, kw, struct retention_policy);
	size_t i, nerr = p->errs->n + p->errs->dropped;
	struct conf_block b;
	int any = 0;

	conf_block_init(&b, kw->name, &retention_table, r);
	r->set = 1;
	if (conf_sub_block(p, &b, kwloc) == -1)
		return -1;
	/* A bad value inside already said what is wrong. */
	if (p->errs->n + p->errs->dropped != nerr)
		return 0;
	for (i = 0; i < retention_table.n; i++)
		any |= b.seen[i].line != 0;
	if (!any)
		conf_error(p->errs, kwloc, "empty %s block: give at least one "
		    "of hourly, daily, weekly, monthly, yearly or min-age",
		    kw->name);
	else if (r->hourly == 0 && r->daily == 0 && r->weekly == 0 &&
	    r->monthly == 0 && r->yearly == 0 && r->min_age == 0)
		conf_error(p->errs, kwloc, "%s keeps no snapshots: every count "
		    "and min-age is 0", kw->name);
	return 0;
}

/* NAME of a target or job block; duplicates are reported, not dropped. */
static char *
conf_block_name(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, const struct conf_loc *locs,
    char *(*name_at)(const struct conf *, size_t), size_t n)
{
	struct conf_loc loc;
	const char *why;
	char *s;
	size_t i;

	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return NULL;
	if (conf_check_name(s, &why) == -1)
		conf_error(p->errs, &loc, "%s '%s': %s", kw->name, s, why);
	for (i = 0; i < n; i++)
		if (strcmp(name_at(p->conf, i), s) == 0) {
			conf_error(p->errs, &loc, "duplicate %s '%s' (first "
			    "defined at %s:%d:%d)", kw->name, s, locs[i].file,
			    locs[i].line, locs[i].col);
			break;
		}
	return s;
}

static char *
conf_target_name(const struct conf *c, size_t i)
{
	return c->targets[i].name;
}

static char *
conf_job_name(const struct conf *c, size_t i)
{
	return c->jobs[i].name;
}

static int
kw_target(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf *c = obj;
	struct conf_target *t;
	struct conf_block b;
	char what[128], *name;
	int r;

	name = conf_block_name(p, kw, kwloc, p->target_locs, conf_target_name,
	    c->ntargets);
	if (name == NULL)
		return -1;
	if (p->tls_needed.line == 0)
		p->tls_needed = *kwloc;
	c->targets = xrealloc(c->targets,
	    (c->ntargets + 1) * sizeof(*c->targets));
	p->target_locs = xrealloc(p->target_locs,
	    (c->ntargets + 1) * sizeof(*p->target_locs));
	p->target_locs[c->ntargets] = *kwloc;
	t = &c->targets[c->ntargets++];
	memset(t, 0, sizeof(*t));
	t->name = name;
	snprintf(what, sizeof(what), "target '%.64s'", name);
	conf_block_init(&b, what, &target_table, t);
	r = conf_sub_block(p, &b, kwloc);
	if (t->cert_name == NULL && t->address.host != NULL)
		t->cert_name = xstrdup(t->address.host);
	return r;
}

static int
kw_job(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf *c = obj;
	struct conf_job *j;
	struct conf_block b;
	char what[128], *name;
	int r;

	name = conf_block_name(p, kw, kwloc, p->job_locs, conf_job_name,
	    c->njobs);
	if (name == NULL)
		return -1;
	c->jobs = xrealloc(c->jobs, (c->njobs + 1) * sizeof(*c->jobs));
	p->job_locs = xrealloc(p->job_locs,
	    (c->njobs + 1) * sizeof(*p->job_locs));
	p->job_locs[c->njobs] = *kwloc;
	j = &c->jobs[c->njobs++];
	memset(j, 0, sizeof(*j));
	j->name = name;
	j->min_free = CONF_MIN_FREE_UNSET;	/* conf_check: the default */
	snprintf(what, sizeof(what), "job '%.64s'", name);
	conf_block_init(&b, what, &job_table, j);
	r = conf_sub_block(p, &b, kwloc);
	if (r == 0 && j->keep_target.set && j->nsend_to == 0)
		conf_error(p->errs, kwloc, "job '%s' has keep-target but no "
		    "send-to", name);
	return r;
}

static char *
conf_include_path(const char *from, const char *path)
{
	char *dir, *copy, *full;

	if (*path == '/')
		return xstrdup(path);
	copy = xstrdup(from);
	dir = dirname(copy);
	if (asprintf(&full, "%s/%s", dir, path) == -1)
		fatalx("out of memory");
	free(copy);
	return full;
}

static int
kw_include(struct conf_parser *p, const struct conf_kw *kw, void *obj,
    const struct conf_loc *kwloc)
{
	struct conf_loc loc;
	char *s, *full;

	(void)obj;
	if (conf_arg(p, kw, kwloc, &s, &loc) == -1)
		return -1;
	full = conf_include_path(p->lx->file, s);
	conf_parse_file(p, full, &loc);
	free(full);
	free(s);
	return 0;
}

/* What can only be checked once everything is read. */
void
conf_check(struct conf_parser *p)
{
	struct conf *c = p->conf;
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i].min_free == CONF_MIN_FREE_UNSET)
			c->jobs[i].min_free = c->min_free;
	for (i = 0; i < p->nrefs; i++)
		if (conf_target_find(c, p->refs[i].name) == NULL)
			conf_error(p->errs, &p->refs[i].loc, "job '%s' sends "
			    "to unknown target '%s'", c->jobs[p->refs[i].job].name,
			    p->refs[i].name);
	if (p->tls_needed.line != 0 && !c->tls_set)
		conf_error(p->errs, &p->tls_needed, "a tls block is required "
		    "when a target or a receive block is configured");
}
