/*
 * The canonical form of a configuration: fixed order, one key per line,
 * every default written out, includes flattened, free-form strings quoted.
 * Parsing it gives back an equal structure (conf_equal).
 */
#include <stdio.h>

#include "conf/conf.h"
#include "conf/value.h"

static void
print_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
print_str(FILE *f, const char *indent, const char *key, const char *s)
{
	if (s == NULL)
		return;
	fprintf(f, "%s%s ", indent, key);
	print_quoted(f, s);
	fputc('\n', f);
}

static void
print_addr(FILE *f, const struct conf_addr *a)
{
	if (a->v6)
		fprintf(f, "[%s]:%u", a->host, a->port);
	else
		fprintf(f, "%s:%u", a->host, a->port);
}

static void
print_tls(FILE *f, const struct conf *c)
{
	if (!c->tls_set)
		return;
	fprintf(f, "tls {\n");
	print_str(f, "\t", "certificate", c->tls_certificate);
	print_str(f, "\t", "key", c->tls_key);
	print_str(f, "\t", "ca", c->tls_ca);
	fprintf(f, "}\n");
}

static void
print_control(FILE *f, const struct conf *c)
{
	fprintf(f, "control {\n");
	print_str(f, "\t", "socket", c->control_socket);
	if (c->control_group != NULL)
		fprintf(f, "\tgroup %s\n", c->control_group);
	fprintf(f, "}\n");
}

static void
print_target(FILE *f, const struct conf_target *t)
{
	char buf[32];

	fprintf(f, "\ntarget %s {\n\taddress ", t->name);
	print_addr(f, &t->address);
	fprintf(f, "\n\tname %s\n", t->cert_name);
	if (t->bandwidth != 0)
		fprintf(f, "\tbandwidth %s\n",
		    conf_fmt_size(t->bandwidth, buf, sizeof(buf)));
	fprintf(f, "\tcompress %s\n",
	    t->compress == CONF_COMPRESS_ZSTD ? "zstd" : "none");
	if (t->timeout != 0)
		fprintf(f, "\ttimeout %s\n",
		    conf_fmt_duration(t->timeout, buf, sizeof(buf)));
	fprintf(f, "}\n");
}

static void
print_schedule(FILE *f, const struct conf_schedule *s)
{
	char buf[32];

	switch (s->kind) {
	case CONF_SCHED_EVERY:
		fprintf(f, "\tschedule every %s\n",
		    conf_fmt_duration(s->every, buf, sizeof(buf)));
		break;
	case CONF_SCHED_AT:
		fprintf(f, "\tschedule at %02d:%02d\n", s->hour, s->minute);
		break;
	default:
		fprintf(f, "\tschedule manual\n");
		break;
	}
}

static void
print_retention(FILE *f, const char *key, const struct retention_policy *r)
{
	char buf[32];

	if (!r->set)
		return;
	fprintf(f, "\t%s {", key);
	if (r->hourly)
		fprintf(f, " hourly %u", r->hourly);
	if (r->daily)
		fprintf(f, " daily %u", r->daily);
	if (r->weekly)
		fprintf(f, " weekly %u", r->weekly);
	if (r->monthly)
		fprintf(f, " monthly %u", r->monthly);
	if (r->yearly)
		fprintf(f, " yearly %u", r->yearly);
	if (r->min_age)
		fprintf(f, " min-age %s",
		    conf_fmt_duration(r->min_age, buf, sizeof(buf)));
	fprintf(f, " }\n");
}

static void
print_job(FILE *f, const struct conf_job *j)
{
	static const char *const proto[] = { "auto", "1", "2" };
	char buf[32];
	size_t i;

	fprintf(f, "\njob %s {\n", j->name);
	print_str(f, "\t", "source", j->source);
	print_str(f, "\t", "snapshot-dir", j->snapshot_dir);
	print_schedule(f, &j->schedule);
	if (j->nsend_to > 0) {
		fprintf(f, "\tsend-to");
		for (i = 0; i < j->nsend_to; i++)
			fprintf(f, " %s", j->send_to[i]);
		fputc('\n', f);
	}
	fprintf(f, "\tprotocol %s\n", proto[j->protocol]);
	fprintf(f, "\tcompressed-data %s\n", j->compressed_data ? "yes" : "no");
	fprintf(f, "\tsnapshot-if-changed %s\n", j->snapshot_if_changed ?
	    "yes" : "no");
	print_retention(f, "keep-source", &j->keep_source);
	print_retention(f, "keep-target", &j->keep_target);
	print_str(f, "\t", "before-snapshot", j->before_snapshot);
	fprintf(f, "\tmin-free %s\n", conf_fmt_size(j->min_free, buf,
	    sizeof(buf)));
	print_str(f, "\t", "on-success", j->on_success);
	print_str(f, "\t", "on-failure", j->on_failure);
	fprintf(f, "}\n");
}

/* The keys of given (CONF_AUTH_* bits) of a receive or client block. */
static void
print_authority(FILE *f, const char *ind, const struct conf_authority *a,
    unsigned given)
{
	char buf[32];

	if (given & CONF_AUTH_PROTECT)
		fprintf(f, "%sprotect %s\n", ind,
		    conf_fmt_duration(a->protect, buf, sizeof(buf)));
	if (given & CONF_AUTH_KEEP_MIN)
		fprintf(f, "%skeep-min %u\n", ind, a->keep_min);
	if (given & CONF_AUTH_APPEND_ONLY)
		fprintf(f, "%sappend-only %s\n", ind,
		    a->append_only ? "yes" : "no");
	if (given & CONF_AUTH_STALE_AFTER)
		fprintf(f, "%sstale-after %s\n", ind,
		    conf_fmt_duration(a->stale_after, buf, sizeof(buf)));
}

static void
print_receive(FILE *f, const struct conf_receive *r)
{
	char buf[32];
	size_t i;

	if (!r->set)
		return;
	fprintf(f, "\nreceive {\n");
	for (i = 0; i < r->nlisten; i++) {
		fprintf(f, "\tlisten ");
		print_addr(f, &r->listen[i]);
		fputc('\n', f);
	}
	print_str(f, "\t", "root", r->root);
	print_authority(f, "\t", &r->authority, ~0U);
	print_str(f, "\t", "on-stale", r->on_stale);
	for (i = 0; i < r->nclients; i++) {
		if (r->client_conf[i].given == 0) {
			fprintf(f, "\tclient %s\n", r->clients[i]);
			continue;
		}
		fprintf(f, "\tclient %s {\n", r->clients[i]);
		print_authority(f, "\t\t", &r->client_conf[i].authority,
		    r->client_conf[i].given);
		fprintf(f, "\t}\n");
	}
	if (r->timeout != 0)
		fprintf(f, "\ttimeout %s\n",
		    conf_fmt_duration(r->timeout, buf, sizeof(buf)));
	fprintf(f, "\thandshake-timeout %s\n",
	    conf_fmt_duration(r->handshake_timeout, buf, sizeof(buf)));
	fprintf(f, "\tmax-handshakes %u\n", r->max_handshakes);
	fprintf(f, "\tmax-handshakes-per-address %u\n",
	    r->max_handshakes_addr);
	fprintf(f, "\tmax-transfers-per-client %u\n",
	    r->max_client_transfers);
	fprintf(f, "}\n");
}

void
conf_print(FILE *f, const struct conf *c)
{
	char buf[32];
	size_t i;

	fprintf(f, "max-transfers %u\n", c->max_transfers);
	print_str(f, "", "state-dir", c->state_dir);
	fprintf(f, "timezone %s\n", c->timezone);
	fprintf(f, "min-free %s\n", conf_fmt_size(c->min_free, buf,
	    sizeof(buf)));
	print_tls(f, c);
	print_control(f, c);
	if (c->metrics_set) {
		fprintf(f, "metrics listen ");
		print_addr(f, &c->metrics_listen);
		fputc('\n', f);
	}
	for (i = 0; i < c->ntargets; i++)
		print_target(f, &c->targets[i]);
	for (i = 0; i < c->njobs; i++)
		print_job(f, &c->jobs[i]);
	print_receive(f, &c->receive);
}
