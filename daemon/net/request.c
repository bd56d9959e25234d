/*
 * The one-request exchanges (netsend.h): LIST and PRUNE, each over a
 * connection of its own, with the hellos but no transfer capabilities.
 * A transfer asks LIST too (net_list), on its own connection.
 */
#include <stdio.h>
#include <string.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"

/* n, quiet, for one request about job, on a connection of its own. */
static int
net_open_request(struct netsend *n, SSL_CTX *ctx,
    const struct netsend_target *tg, const char *job, const char *what)
{
	static const struct netsend_opts quiet = { 0 };
	struct wire_hello peer;

	memset(n, 0, sizeof(*n));
	n->tg = tg;
	n->o = &quiet;
	n->to = tg->label;
	n->job = job;
	n->t.fd = -1;
	return net_open(n, ctx, 0, what, &peer);
}

int
net_list(struct netsend *n, struct wire_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = WIRE_LIST;
	snprintf(m->u.job, sizeof(m->u.job), "%s", n->job);
	if (wireio_send(&n->w, m) == -1 || wireio_recv(&n->w, m) == -1) {
		memset(m, 0, sizeof(*m));
		return net_fail(n);
	}
	return 0;
}

int
netsend_list(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    struct wire_msg *m, enum err_class *cls)
{
	struct netsend n;
	int fd, rc = -1;

	memset(m, 0, sizeof(*m));
	*cls = ERR_NONE;
	if ((fd = net_open_request(&n, ctx, tg, job, "list")) == -1) {
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
		return -1;
	}
	if (net_list(&n, m) == -1)
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
	else
		rc = 0;
	net_close(&n, fd);
	return rc;
}

int
netsend_prune(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const struct retention_policy *p, struct netsend_refused *refused)
{
	struct netsend n;
	struct wire_msg m;
	int fd, rc = -1;

	if (refused != NULL)
		memset(refused, 0, sizeof(*refused));
	if ((fd = net_open_request(&n, ctx, tg, job, "prune")) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PRUNE;
	snprintf(m.u.prune.job, sizeof(m.u.prune.job), "%s", job);
	m.u.prune.keep = *p;
	if (wireio_send(&n.w, &m) == -1 || wireio_recv(&n.w, &m) == -1) {
		net_fail(&n);
		goto done;
	}
	log_info("prune on %s: job %s: %u deleted, %u kept", tg->label, job,
	    m.u.prune_reply.deleted, m.u.prune_reply.kept);
	/* The backup host's say, not a failure: the run stays ok. */
	if (m.u.prune_reply.refused != 0)
		log_info("prune on %s: job %s: the backup host kept %u this "
		    "client's keep-target would delete: %s", tg->label, job,
		    m.u.prune_reply.refused, m.u.prune_reply.reason);
	if (refused != NULL) {
		refused->n = m.u.prune_reply.refused;
		snprintf(refused->reason, sizeof(refused->reason), "%s",
		    m.u.prune_reply.reason);
	}
	rc = (int)m.u.prune_reply.deleted;
	wire_msg_free(&m);
done:
	net_close(&n, fd);
	return rc;
}
