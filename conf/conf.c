#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

static void
conf_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
conf_target_free(struct conf_target *t)
{
	free(t->name);
	free(t->address.host);
	free(t->cert_name);
}

static void
conf_job_free(struct conf_job *j)
{
	free(j->name);
	free(j->source);
	free(j->snapshot_dir);
	conf_strv_free(j->send_to, j->nsend_to);
	free(j->on_success);
	free(j->on_failure);
	free(j->before_snapshot);
}

static void
conf_receive_free(struct conf_receive *r)
{
	size_t i;

	for (i = 0; i < r->nlisten; i++)
		free(r->listen[i].host);
	free(r->listen);
	free(r->root);
	conf_strv_free(r->clients, r->nclients);
	free(r->client_conf);
	free(r->on_stale);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->timezone);
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->tls_ca);
	free(c->control_socket);
	free(c->control_group);
	free(c->metrics_listen.host);
	for (i = 0; i < c->ntargets; i++)
		conf_target_free(&c->targets[i]);
	free(c->targets);
	for (i = 0; i < c->njobs; i++)
		conf_job_free(&c->jobs[i]);
	free(c->jobs);
	conf_receive_free(&c->receive);
	free(c);
}

const struct conf_target *
conf_target_find(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntargets; i++)
		if (strcmp(c->targets[i].name, name) == 0)
			return &c->targets[i];
	return NULL;
}

const struct conf_authority *
conf_receive_authority(const struct conf_receive *r, const char *client)
{
	size_t i;

	for (i = 0; i < r->nclients; i++)
		if (strcmp(r->clients[i], client) == 0)
			return &r->client_conf[i].authority;
	return &r->authority;
}

const struct conf_job *
conf_job_find(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (strcmp(c->jobs[i].name, name) == 0)
			return &c->jobs[i];
	return NULL;
}

/* NULL equals only NULL. */
static int
conf_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
conf_strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!conf_str_eq(a[i], b[i]))
			return 0;
	return 1;
}

static int
conf_addr_eq(const struct conf_addr *a, const struct conf_addr *b)
{
	return conf_str_eq(a->host, b->host) && a->port == b->port &&
	    a->v6 == b->v6;
}

static int
conf_retention_eq(const struct retention_policy *a,
    const struct retention_policy *b)
{
	return a->set == b->set && a->hourly == b->hourly &&
	    a->daily == b->daily && a->weekly == b->weekly &&
	    a->monthly == b->monthly && a->yearly == b->yearly &&
	    a->min_age == b->min_age;
}

static int
conf_schedule_eq(const struct conf_schedule *a, const struct conf_schedule *b)
{
	return a->kind == b->kind && a->every == b->every &&
	    a->hour == b->hour && a->minute == b->minute;
}

static int
conf_target_eq(const struct conf_target *a, const struct conf_target *b)
{
	return conf_str_eq(a->name, b->name) &&
	    conf_addr_eq(&a->address, &b->address) &&
	    conf_str_eq(a->cert_name, b->cert_name) &&
	    a->bandwidth == b->bandwidth && a->compress == b->compress &&
	    a->timeout == b->timeout;
}

static int
conf_job_eq(const struct conf_job *a, const struct conf_job *b)
{
	return conf_str_eq(a->name, b->name) &&
	    conf_str_eq(a->source, b->source) &&
	    conf_str_eq(a->snapshot_dir, b->snapshot_dir) &&
	    conf_schedule_eq(&a->schedule, &b->schedule) &&
	    conf_strv_eq(a->send_to, a->nsend_to, b->send_to, b->nsend_to) &&
	    a->protocol == b->protocol &&
	    a->compressed_data == b->compressed_data &&
	    a->snapshot_if_changed == b->snapshot_if_changed &&
	    conf_retention_eq(&a->keep_source, &b->keep_source) &&
	    conf_retention_eq(&a->keep_target, &b->keep_target) &&
	    a->min_free == b->min_free &&
	    conf_str_eq(a->on_success, b->on_success) &&
	    conf_str_eq(a->on_failure, b->on_failure) &&
	    conf_str_eq(a->before_snapshot, b->before_snapshot);
}

static int
conf_authority_eq(const struct conf_authority *a,
    const struct conf_authority *b)
{
	return a->protect == b->protect && a->keep_min == b->keep_min &&
	    a->append_only == b->append_only &&
	    a->stale_after == b->stale_after;
}

static int
conf_receive_eq(const struct conf_receive *a, const struct conf_receive *b)
{
	size_t i;

	if (a->set != b->set || a->nlisten != b->nlisten ||
	    a->timeout != b->timeout ||
	    a->handshake_timeout != b->handshake_timeout ||
	    a->max_handshakes != b->max_handshakes ||
	    a->max_handshakes_addr != b->max_handshakes_addr ||
	    a->max_client_transfers != b->max_client_transfers ||
	    !conf_str_eq(a->root, b->root) ||
	    !conf_authority_eq(&a->authority, &b->authority) ||
	    !conf_str_eq(a->on_stale, b->on_stale) ||
	    !conf_strv_eq(a->clients, a->nclients, b->clients, b->nclients))
		return 0;
	for (i = 0; i < a->nclients; i++)
		if (a->client_conf[i].given != b->client_conf[i].given ||
		    !conf_authority_eq(&a->client_conf[i].authority,
		    &b->client_conf[i].authority))
			return 0;
	for (i = 0; i < a->nlisten; i++)
		if (!conf_addr_eq(&a->listen[i], &b->listen[i]))
			return 0;
	return 1;
}

int
conf_receive_bind_equal(const struct conf_receive *a,
    const struct conf_receive *b)
{
	size_t i;

	if (a->set != b->set || a->nlisten != b->nlisten ||
	    !conf_str_eq(a->root, b->root))
		return 0;
	for (i = 0; i < a->nlisten; i++)
		if (!conf_addr_eq(&a->listen[i], &b->listen[i]))
			return 0;
	return 1;
}

static int
conf_top_eq(const struct conf *a, const struct conf *b)
{
	return a->max_transfers == b->max_transfers &&
	    a->min_free == b->min_free &&
	    conf_str_eq(a->state_dir, b->state_dir) &&
	    conf_str_eq(a->timezone, b->timezone) &&
	    a->tls_set == b->tls_set &&
	    conf_str_eq(a->tls_certificate, b->tls_certificate) &&
	    conf_str_eq(a->tls_key, b->tls_key) &&
	    conf_str_eq(a->tls_ca, b->tls_ca) &&
	    conf_str_eq(a->control_socket, b->control_socket) &&
	    conf_str_eq(a->control_group, b->control_group) &&
	    a->metrics_set == b->metrics_set &&
	    conf_addr_eq(&a->metrics_listen, &b->metrics_listen);
}

int
conf_equal(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (!conf_top_eq(a, b) || a->ntargets != b->ntargets ||
	    a->njobs != b->njobs || !conf_receive_eq(&a->receive, &b->receive))
		return 0;
	for (i = 0; i < a->ntargets; i++)
		if (!conf_target_eq(&a->targets[i], &b->targets[i]))
			return 0;
	for (i = 0; i < a->njobs; i++)
		if (!conf_job_eq(&a->jobs[i], &b->jobs[i]))
			return 0;
	return 1;
}

void
conf_errors_print(FILE *f, const struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->dropped > 0)
		fprintf(f, "(%zu more errors not shown)\n", e->dropped);
}

void
conf_errors_free(struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}
