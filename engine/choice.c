#include <stdbool.h>
#include <string.h>

#include "engine/snapshot.h"

static const uint8_t snap_zero_uuid[16];

int
snap_unchanged_since(int read_only, uint64_t ctransid, uint64_t since)
{
	return read_only && since != 0 && ctransid <= since;
}

/* Whether set names s: by its received uuid if it has one, else uuid. */
static int
snap_named(const struct snap_info *s, const uint8_t (*set)[16], size_t nset)
{
	const uint8_t *key;
	size_t i;

	key = memcmp(s->received_uuid, snap_zero_uuid, 16) != 0 ?
	    s->received_uuid : s->uuid;
	for (i = 0; i < nset; i++)
		if (memcmp(set[i], key, 16) == 0)
			return 1;
	return 0;
}

/*
 * Whether s may be a parent or clone source towards a target holding
 * held: named by it, and still what the target's copy holds.
 */
static int
snap_is_held(const struct snap_info *s, const uint8_t (*held)[16],
    size_t nheld)
{
	bool received = memcmp(s->received_uuid, snap_zero_uuid, 16) != 0;

	if (!snap_unchanged_since(s->read_only, s->ctransid,
	    received ? s->rtransid : s->otransid))
		return 0;
	return snap_named(s, held, nheld);
}

int
snap_choose(const struct snap_info *local, size_t nlocal, size_t send_idx,
    const uint8_t (*held)[16], size_t nheld, size_t *parent, size_t *clones,
    size_t max_clones, size_t *nclones)
{
	const struct snap_info *cur = &local[send_idx];
	size_t i, best = nlocal;

	*nclones = 0;
	for (i = 0; i < nlocal; i++) {
		if (i == send_idx || snap_info_cmp(&local[i], cur) >= 0)
			continue;
		if (!snap_is_held(&local[i], held, nheld))
			continue;
		if (best == nlocal || snap_info_cmp(&local[i], &local[best]) > 0)
			best = i;
	}
	if (best == nlocal)
		return 0;
	*parent = best;
	/* Clone sources: the other common ones, newest first. */
	while (*nclones < max_clones) {
		size_t next = nlocal;

		for (i = 0; i < nlocal; i++) {
			if (i == best || i == send_idx ||
			    snap_info_cmp(&local[i], cur) >= 0 ||
			    !snap_is_held(&local[i], held, nheld))
				continue;
			if (*nclones > 0 &&
			    snap_info_cmp(&local[i], &local[clones[*nclones - 1]]) >= 0)
				continue;
			if (next == nlocal ||
			    snap_info_cmp(&local[i], &local[next]) > 0)
				next = i;
		}
		if (next == nlocal)
			break;
		clones[(*nclones)++] = next;
	}
	return 1;
}

/* Index of the newest local snapshot that set names, or nlocal. */
static size_t
snap_newest_in(const struct snap_info *local, size_t nlocal,
    const uint8_t (*set)[16], size_t nset)
{
	size_t i, best = nlocal;

	for (i = 0; i < nlocal; i++) {
		if (!snap_is_held(&local[i], set, nset))
			continue;
		if (best == nlocal || snap_info_cmp(&local[i], &local[best]) > 0)
			best = i;
	}
	return best;
}

void
snap_pin_held(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld, int *pinned)
{
	size_t best;

	if ((best = snap_newest_in(local, nlocal, held, nheld)) < nlocal)
		pinned[best] = 1;
}

const char *
snap_base_name(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld)
{
	size_t best;

	if ((best = snap_newest_in(local, nlocal, held, nheld)) < nlocal)
		return local[best].name;
	return NULL;
}

int
snap_pin_last_known(const struct snap_info *local, size_t nlocal, int known,
    const char *base, int *pinned)
{
	size_t i;

	if (!known)
		return -1;
	for (i = 0; i < nlocal && base[0] != '\0'; i++)
		if (strcmp(local[i].name, base) == 0)
			pinned[i] = 1;
	return 0;
}

void
snap_pin_uuids(const struct snap_info *local, size_t nlocal,
    const uint8_t (*uuids)[16], size_t nuuids, int *pinned)
{
	size_t i;

	for (i = 0; i < nlocal; i++)
		if (snap_named(&local[i], uuids, nuuids))
			pinned[i] = 1;
}

/*
 * Every local snapshot newer than local[from] (and local[from] itself
 * when with_from), oldest first, into order.  The count.
 */
static size_t
snap_newer_than(const struct snap_info *local, size_t nlocal, size_t from,
    int with_from, size_t *order)
{
	size_t i, j, n = 0, tmp;

	for (i = 0; i < nlocal; i++) {
		if (i == from ? !with_from :
		    snap_info_cmp(&local[i], &local[from]) <= 0)
			continue;
		order[n++] = i;
	}
	/* Insertion sort: lists are short and usually already in order. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 &&
		    snap_info_cmp(&local[order[j - 1]], &local[order[j]]) > 0;
		    j--) {
			tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	return n;
}

size_t
snap_plan(const struct snap_info *local, size_t nlocal,
    const uint8_t (*held)[16], size_t nheld, const uint8_t (*partial)[16],
    size_t npartial, size_t *order, size_t *base)
{
	size_t b, p, newest;

	*base = nlocal;
	if (nlocal == 0)
		return 0;
	if ((b = snap_newest_in(local, nlocal, held, nheld)) < nlocal) {
		*base = b;
		return snap_newer_than(local, nlocal, b, 0, order);
	}
	/*
	 * Nothing in common: the first snapshot sent is a full send.  Start
	 * from a full partial the target already has (its bytes are paid
	 * for) and chain the newer ones after it; else send only the newest:
	 * starting older costs a full send plus every delta after it before
	 * the target is current.
	 */
	if ((p = snap_newest_in(local, nlocal, partial, npartial)) < nlocal)
		return snap_newer_than(local, nlocal, p, 1, order);
	for (newest = 0, b = 1; b < nlocal; b++)
		if (snap_info_cmp(&local[b], &local[newest]) > 0)
			newest = b;
	order[0] = newest;
	return 1;
}
