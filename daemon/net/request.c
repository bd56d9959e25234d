/*
 * The one-request exchanges (netsend.h): LIST and PRUNE, each over a
 * connection of its own, with the hellos but no transfer capabilities.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"
#include "engine/retention.h"

/*
 * A connection for one request (LIST, PRUNE): dialled, TLS up, hellos
 * exchanged.  The socket, or -1 (logged); close with net_close_request.
 */
static int
net_open_request(struct netsend *n, SSL_CTX *ctx, const char *what)
{
	static const struct netsend_opts quiet = { 0 };
	struct wire_hello peer;
	char err[512];
	int fd;

	n->o = &quiet;
	n->to = n->tg->label;
	n->t.fd = -1;
	if ((fd = net_dial(n)) == -1)
		return -1;
	if (tls_connect(&n->t, ctx, fd, n->tg->cert_name, n->timeout_ms, err,
	    sizeof(err)) == -1) {
		log_warnx("%s on %s: %s", what, n->tg->label, err);
		n->permanent = n->t.cls == ERR_PERMANENT;
		goto fail;
	}
	wireio_init(&n->w, &n->t, WIRE_CLIENT);
	if (wireio_hello(&n->w, 0, STREAM_VERSION_MAX, &peer) == -1) {
		net_fail(n);
		goto fail;
	}
	return fd;
fail:
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
	return -1;
}

static void
net_close_request(struct netsend *n, int fd)
{
	if (n->w.in != NULL)
		wireio_free(&n->w);
	tls_close(&n->t);
	close(fd);
}

int
netsend_list(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    struct wire_msg *m, enum err_class *cls)
{
	struct netsend_result res;
	struct netsend n;
	int fd, rc = -1;

	memset(m, 0, sizeof(*m));
	memset(&n, 0, sizeof(n));
	memset(&res, 0, sizeof(res));
	n.tg = tg;
	n.res = &res;
	n.job = job;
	*cls = ERR_NONE;
	if ((fd = net_open_request(&n, ctx, "list")) == -1) {
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
		return -1;
	}
	m->type = WIRE_LIST;
	snprintf(m->u.job, sizeof(m->u.job), "%s", job);
	if (wireio_send(&n.w, m) == -1 || wireio_recv(&n.w, m) == -1) {
		memset(m, 0, sizeof(*m));
		net_fail(&n);
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
	} else
		rc = 0;
	net_close_request(&n, fd);
	return rc;
}

int
netsend_prune(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const struct retention_policy *p)
{
	struct netsend_result res;
	struct netsend n;
	struct wire_msg m;
	int fd, rc = -1;

	memset(&n, 0, sizeof(n));
	memset(&res, 0, sizeof(res));
	n.tg = tg;
	n.res = &res;
	n.job = job;
	if ((fd = net_open_request(&n, ctx, "prune")) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PRUNE;
	snprintf(m.u.prune.job, sizeof(m.u.prune.job), "%s", job);
	m.u.prune.hourly = p->hourly;
	m.u.prune.daily = p->daily;
	m.u.prune.weekly = p->weekly;
	m.u.prune.monthly = p->monthly;
	m.u.prune.yearly = p->yearly;
	m.u.prune.min_age = (uint64_t)p->min_age;
	if (wireio_send(&n.w, &m) == -1 || wireio_recv(&n.w, &m) == -1) {
		net_fail(&n);
		goto done;
	}
	log_info("prune on %s: job %s: %u deleted, %u kept", tg->label, job,
	    m.u.prune_reply.deleted, m.u.prune_reply.kept);
	rc = (int)m.u.prune_reply.deleted;
	wire_msg_free(&m);
done:
	net_close_request(&n, fd);
	return rc;
}
