/*
 * What the receiver holds (netsend_impl.h): the LIST answer, reported
 * and kept in the result, and, without a parent given, the parent and
 * clone sources snap_choose picks from it.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"
#include "engine/snapshot.h"

/* What LIST found: the newest snapshot held and every partial. */
static void
net_listed(struct netsend *n, const struct wire_list_reply *l)
{
	const struct wire_partial *p;
	char u[37];
	uint32_t i;

	if (l->nsnaps > 0) {
		uuid_unparse(l->snaps[l->nsnaps - 1].received.uuid, u);
		net_say(n, "%s holds %u snapshot%s of job %s, the last %s "
		    "(received uuid %s, ctransid %" PRIu64 ")\n", n->to,
		    l->nsnaps, l->nsnaps == 1 ? "" : "s", n->job,
		    l->snaps[l->nsnaps - 1].name, u,
		    l->snaps[l->nsnaps - 1].received.ctransid);
	} else
		net_say(n, "%s holds no snapshot of job %s\n", n->to, n->job);
	for (i = 0; i < l->npartials; i++) {
		p = &l->partials[i];
		uuid_unparse(p->id.snap.uuid, u);
		net_say(n, "%s holds a partial of %s (uuid %s, ctransid %"
		    PRIu64 ", %s, stream v%u, flags 0x%x, %u clone source%s) "
		    "at command %" PRIu64 ", byte %" PRIu64 "\n", n->to,
		    p->name, u, p->id.snap.ctransid, memcmp(&p->id.parent,
		    &(struct wire_ref){ 0 }, sizeof(p->id.parent)) ?
		    "incremental" : "full", p->id.version, p->id.flags,
		    p->id.nclones, p->id.nclones == 1 ? "" : "s",
		    p->point.index, p->point.offset);
	}
}

/* dir and base (each PATH_MAX) of a path. */
void
net_split(const char *path, char *dir, char *base)
{
	char a[4096], b[4096];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, 4096, "%s", dirname(a));
	snprintf(base, 4096, "%s", basename(b));
}

static void
net_held_free(struct netsend_result *res)
{
	size_t i;

	for (i = 0; res->held_names != NULL && i < res->nheld; i++)
		free(res->held_names[i]);
	free(res->held_names);
	free(res->held);
	res->held_names = NULL;
	res->held = NULL;
	res->nheld = 0;
}

/* Without -p: parent and clones among what the receiver holds. */
int
net_choose(struct netsend *n, char *parent, size_t plen,
    char clones[][4096], size_t *nclones)
{
	struct snap_info *local = NULL;
	struct wire_msg m;
	uint8_t (*held)[16] = NULL;
	char dir[4096], base[4096], err[256];
	size_t nlocal = 0, i, idx, pidx, cidx[16], nc = 0;
	int rc = -1;

	n->res->parent[0] = '\0';

	if (net_list(n, &m) == -1)
		return -1;
	net_held_free(n->res);
	n->res->nheld = m.u.list.nsnaps;
	n->res->held = xcalloc(m.u.list.nsnaps + 1, 16);
	n->res->held_names = xcalloc(m.u.list.nsnaps + 1, sizeof(char *));
	for (i = 0; i < m.u.list.nsnaps; i++) {
		memcpy(n->res->held[i], m.u.list.snaps[i].received.uuid, 16);
		n->res->held_names[i] = xstrdup(m.u.list.snaps[i].name);
	}
	n->res->listed = 1;
	net_listed(n, &m.u.list);
	net_split(n->snapshot, dir, base);
	if (snapshot_list(dir, n->job, &local, &nlocal, err, sizeof(err)) == -1) {
		log_warnx("send: %s", err);
		n->permanent = true;
		goto done;
	}
	for (idx = 0; idx < nlocal && strcmp(local[idx].name, base); idx++)
		;
	rc = 0;
	*nclones = 0;
	parent[0] = '\0';
	if (idx == nlocal || m.u.list.nsnaps == 0)
		goto done;
	held = xcalloc(m.u.list.nsnaps, 16);
	for (i = 0; i < m.u.list.nsnaps; i++)
		memcpy(held[i], m.u.list.snaps[i].received.uuid, 16);
	if (snap_choose(local, nlocal, idx, (const uint8_t (*)[16])held,
	    m.u.list.nsnaps, &pidx, cidx, 16, &nc) == 1) {
		frame_errf(parent, plen, "%s/%s", dir, local[pidx].name);
		for (i = 0; i < nc; i++)
			frame_errf(clones[i], 4096, "%s/%s", dir,
			    local[cidx[i]].name);
		*nclones = nc;
		snprintf(n->res->parent, sizeof(n->res->parent), "%s",
		    local[pidx].name);
		net_say(n, "%s: incremental from %s\n", base, local[pidx].name);
	}
done:
	free(held);
	free(local);
	wire_msg_free(&m);
	return rc;
}

void
netsend_result_free(struct netsend_result *res)
{
	net_held_free(res);
}
