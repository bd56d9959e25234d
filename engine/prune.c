/*
 * Pruning (see prune.h).
 */
#include <stdio.h>
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

/* The newest snapshot del[] still deletes, or n if none. */
static size_t
prune_newest_deleted(const struct snap_info *snaps, size_t n, const bool *del)
{
	size_t i, newest = n;

	for (i = 0; i < n; i++)
		if (del[i] && (newest == n ||
		    snap_info_cmp(&snaps[i], &snaps[newest]) > 0))
			newest = i;
	return newest;
}

size_t
prune_veto(const struct prune_authority *a, int64_t now,
    const struct snap_info *snaps, size_t n, size_t judged, bool *del,
    enum prune_veto *why)
{
	size_t i, left = judged, vetoed = 0;

	for (i = 0; i < n; i++) {
		why[i] = PRUNE_VETO_NONE;
		if (!del[i])
			continue;
		if (a->append_only)
			why[i] = PRUNE_VETO_APPEND_ONLY;
		/* A future otime (clock set back) is young too. */
		else if (a->protect != 0 && (snaps[i].otime.tv_sec > now ||
		    (uint64_t)(now - snaps[i].otime.tv_sec) < a->protect))
			why[i] = PRUNE_VETO_PROTECT;
		if (why[i] != PRUNE_VETO_NONE) {
			del[i] = false;
			vetoed++;
		} else
			left--;
	}
	/* Keep the newest of the doomed: the history nearest today. */
	while (left < a->keep_min &&
	    (i = prune_newest_deleted(snaps, n, del)) < n) {
		del[i] = false;
		why[i] = PRUNE_VETO_KEEP_MIN;
		vetoed++;
		left++;
	}
	return vetoed;
}

const char *
prune_fmt_duration(uint64_t v, char *buf, size_t len)
{
	static const struct {
		char		 c;
		uint64_t	 mult;
	} u[] = { { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 },
	    { 'm', 60 }, { 's', 1 } };
	size_t i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (v % u[i].mult == 0 && (v != 0 || u[i].c == 's')) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / u[i].mult), u[i].c);
			break;
		}
	return buf;
}

void
prune_refusal_text(const struct prune_authority *a,
    const struct prune_result *res, char *buf, size_t len)
{
	uint32_t total = 0;
	char d[32];
	int i, w;

	buf[0] = '\0';
	for (i = 1; i < PRUNE_VETO_N; i++)
		total += res->refused[i];
	if (total == 0)
		return;
	if (res->refused[PRUNE_VETO_APPEND_ONLY] != 0) {
		snprintf(buf, len, "append-only: the backup host deletes "
		    "nothing on a client's request (%u kept)", total);
		return;
	}
	w = snprintf(buf, len, "%u kept by the backup host:", total);
	if (res->refused[PRUNE_VETO_PROTECT] != 0 && w >= 0 &&
	    (size_t)w < len)
		w += snprintf(buf + w, len - (size_t)w, " protect %s (%u)%s",
		    prune_fmt_duration(a->protect, d, sizeof(d)),
		    res->refused[PRUNE_VETO_PROTECT],
		    res->refused[PRUNE_VETO_KEEP_MIN] != 0 ? "," : "");
	if (res->refused[PRUNE_VETO_KEEP_MIN] != 0 && w >= 0 &&
	    (size_t)w < len)
		snprintf(buf + w, len - (size_t)w, " keep-min %u (%u)",
		    a->keep_min, res->refused[PRUNE_VETO_KEEP_MIN]);
}

int
prune_run(const struct prune_req *rq, struct prune_result *res, char *err,
    size_t errlen)
{
	struct snap_info *snaps = NULL;
	enum prune_veto *why = NULL;
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
	if (rq->received && rq->authority != NULL) {
		why = xcalloc(n + 1, sizeof(*why));
		prune_veto(rq->authority, rq->now, snaps, n, judged, del, why);
		for (i = 0; i < n; i++) {
			if (why[i] == PRUNE_VETO_NONE)
				continue;
			res->refused[why[i]]++;
			if (rq->vetoed != NULL)
				rq->vetoed(snaps[i].name, why[i], rq->arg);
		}
	}
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
	free(why);
	free(del);
	free(pinned);
	free(snaps);
	return rc;
}
