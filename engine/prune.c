/*
 * Pruning (see prune.h).
 */
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "engine/prune.h"
#include "engine/retention.h"
#include "engine/snapshot.h"

/* A partial in a receive area is not ours to judge. */
static bool
prune_judged(const struct prune_req *rq, const struct snap_info *si)
{
	static const uint8_t zero[16];

	return !rq->received || (si->read_only &&
	    memcmp(si->received_uuid, zero, 16) != 0);
}

size_t
prune_decide(const struct prune_req *rq, const struct snap_info *snaps,
    size_t n, const int *pinned, bool *del)
{
	struct retention_item *items;
	size_t i, judged = 0, newest = (size_t)-1;

	items = xcalloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i].time = snaps[i].time;
		items[i].pinned = pinned != NULL && pinned[i];
		if (!prune_judged(rq, &snaps[i])) {
			items[i].pinned = 1;
			continue;
		}
		judged++;
		if (newest == (size_t)-1 ||
		    snap_info_cmp(&snaps[i], &snaps[newest]) > 0)
			newest = i;
	}
	if (rq->received && newest != (size_t)-1)
		items[newest].pinned = 1;
	retention_apply(rq->policy, rq->now, items, n);
	for (i = 0; i < n; i++)
		del[i] = prune_judged(rq, &snaps[i]) && items[i].keep == 0;
	free(items);
	return judged;
}

int
prune_run(const struct prune_req *rq, struct prune_result *res, char *err,
    size_t errlen)
{
	struct snap_info *snaps = NULL;
	int *pinned = NULL;
	bool *del = NULL;
	size_t i, n = 0, judged;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (snapshot_list(rq->dir, rq->job, &snaps, &n, err, errlen) == -1)
		return -1;
	pinned = xcalloc(n + 1, sizeof(*pinned));
	del = xcalloc(n + 1, sizeof(*del));
	if (rq->pin != NULL)
		rq->pin(snaps, n, pinned, rq->arg);
	judged = prune_decide(rq, snaps, n, pinned, del);
	for (i = 0; i < n; i++) {
		if (!del[i])
			continue;
		if (snapshot_delete(rq->dir, snaps[i].name, 0, err,
		    errlen) == -1) {
			if (rq->deleted == NULL ||
			    rq->deleted(snaps[i].name, err, rq->arg) == -1)
				goto done;
			continue;
		}
		res->deleted++;
		if (rq->deleted != NULL &&
		    rq->deleted(snaps[i].name, NULL, rq->arg) == -1)
			goto done;
	}
	rc = 0;
done:
	res->kept = (uint32_t)judged - res->deleted;
	free(del);
	free(pinned);
	free(snaps);
	return rc;
}
