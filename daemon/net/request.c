/*
 * The one-request exchanges (netsend.h): LIST, PRUNE, CATALOG and LS,
 * each over a connection of its own, with the hellos but no transfer
 * capabilities.  A transfer asks LIST too (net_list), on its own
 * connection.  What a backup host answers is checked as hostile.
 */
#include <inttypes.h>
#include <stdbool.h>
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
	if (wireio_send(n->w, m) == -1 || wireio_recv(n->w, m) == -1) {
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
	if (wireio_send(n.w, &m) == -1 || wireio_recv(n.w, &m) == -1) {
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

int
netsend_catalog(SSL_CTX *ctx, const struct netsend_target *tg,
    const char *job, struct wire_msg *m, enum err_class *cls)
{
	struct netsend n;
	int fd, rc = -1;

	memset(m, 0, sizeof(*m));
	*cls = ERR_NONE;
	if ((fd = net_open_request(&n, ctx, tg, job, "catalog")) == -1) {
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
		return -1;
	}
	n.what = "catalog";
	m->type = WIRE_CATALOG;
	snprintf(m->u.catalog_job, sizeof(m->u.catalog_job), "%s", job);
	if (wireio_send(n.w, m) == -1 || wireio_recv(n.w, m) == -1) {
		memset(m, 0, sizeof(*m));
		net_fail(&n);
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
	} else
		rc = 0;
	net_close(&n, fd);
	return rc;
}

/* An entry name as LS may carry it: one path component, printable or not. */
static bool
net_ls_name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * One page is checked whole before fn sees it: a fake backup host must
 * not get a name with a '/' (or ".." ) to a caller that joins paths, nor
 * keep us paging for ever.
 */
static int
net_ls_page(struct netsend *n, const struct wire_ls_reply *r, uint64_t start,
    uint64_t total)
{
	uint32_t i;

	for (i = 0; i < r->n; i++)
		if (!net_ls_name_ok(r->entries[i].name)) {
			log_warnx("ls on %s: the backup host sent an entry "
			    "name that is not one path component; refused",
			    n->to);
			return -1;
		}
	if ((r->flags & WIRE_LS_MORE) && (r->n == 0 || r->next <= start)) {
		log_warnx("ls on %s: the backup host sent a page that does "
		    "not advance (start %" PRIu64 ", next %" PRIu64 "); "
		    "refused", n->to, start, r->next);
		return -1;
	}
	if (total + r->n > NETSEND_LS_TOTAL_MAX) {
		log_warnx("ls on %s: more than %u entries; listing stopped",
		    n->to, NETSEND_LS_TOTAL_MAX);
		return -1;
	}
	return 0;
}

int
netsend_ls(SSL_CTX *ctx, const struct netsend_target *tg, const char *job,
    const char *snapshot, const char *path, netsend_ls_fn *fn, void *arg,
    enum err_class *cls)
{
	struct netsend n;
	struct wire_msg m;
	uint64_t start = 0, total = 0;
	int fd, rc = -1, more;

	*cls = ERR_NONE;
	if ((fd = net_open_request(&n, ctx, tg, job, "ls")) == -1) {
		*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
		return -1;
	}
	n.what = "ls";
	do {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_LS;
		snprintf(m.u.ls.job, sizeof(m.u.ls.job), "%s", job);
		snprintf(m.u.ls.snapshot, sizeof(m.u.ls.snapshot), "%s",
		    snapshot);
		snprintf(m.u.ls.path, sizeof(m.u.ls.path), "%s", path);
		m.u.ls.start = start;
		if (wireio_send(n.w, &m) == -1 || wireio_recv(n.w, &m) == -1) {
			net_fail(&n);
			*cls = n.permanent ? ERR_PERMANENT : ERR_TEMPORARY;
			goto done;
		}
		if (net_ls_page(&n, &m.u.ls_reply, start, total) == -1 ||
		    fn(m.u.ls_reply.entries, m.u.ls_reply.n, arg) == -1) {
			wire_msg_free(&m);
			*cls = ERR_PERMANENT;
			goto done;
		}
		total += m.u.ls_reply.n;
		more = (m.u.ls_reply.flags & WIRE_LS_MORE) != 0;
		start = m.u.ls_reply.next;
		wire_msg_free(&m);
	} while (more);
	rc = 0;
done:
	net_close(&n, fd);
	return rc;
}
