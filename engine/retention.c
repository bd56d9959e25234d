#include <stdlib.h>
#include <time.h>

#include "engine/retention.h"

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * min_age as the arithmetic has always taken it: a value beyond INT64_MAX
 * (only a hostile PRUNE can carry one) is negative, that is, no rule.
 */
static int64_t
retention_min_age(const struct retention_policy *p)
{
	return (int64_t)p->min_age;
}

int
retention_policy_empty(const struct retention_policy *p)
{
	return p->hourly == 0 && p->daily == 0 && p->weekly == 0 &&
	    p->monthly == 0 && p->yearly == 0 && retention_min_age(p) <= 0;
}

int64_t
retention_period_key(enum retention_period per, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	switch (per) {
	case RET_HOUR:
		return floordiv(t, 3600);
	case RET_DAY:
		return floordiv(t, 86400);
	case RET_WEEK:
		/* Day 0 (1970-01-01) was a Thursday: +3 makes weeks start Monday. */
		return floordiv(floordiv(t, 86400) + 3, 7);
	case RET_MONTH:
		gmtime_r(&tt, &tm);
		return ((int64_t)tm.tm_year + 1900) * 12 + tm.tm_mon;
	case RET_YEAR:
	default:
		gmtime_r(&tt, &tm);
		return (int64_t)tm.tm_year + 1900;
	}
}

static int
retention_cmp_newest(const void *a, const void *b)
{
	const struct retention_item *x = *(struct retention_item * const *)a;
	const struct retention_item *y = *(struct retention_item * const *)b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return x < y ? 1 : (x > y ? -1 : 0);
}

/*
 * Walk newest first: the first item seen in a period is that period's
 * newest; keep it while fewer than `count` periods have been used.  Only
 * periods that hold a snapshot count, so a paused schedule does not age
 * everything out at once.
 */
static void
retention_mark_periods(struct retention_item **sorted, size_t n,
    enum retention_period per, uint32_t count, unsigned bit)
{
	size_t i, used = 0;
	int64_t key, last = 0;

	for (i = 0; i < n && used < count; i++) {
		key = retention_period_key(per, sorted[i]->time);
		if (used > 0 && key == last)
			continue;
		sorted[i]->keep |= bit;
		last = key;
		used++;
	}
}

void
retention_apply(const struct retention_policy *p, int64_t now,
    struct retention_item *items, size_t n)
{
	static const unsigned bits[RET_NPERIODS] = {
		RET_KEEP_HOURLY, RET_KEEP_DAILY, RET_KEEP_WEEKLY,
		RET_KEEP_MONTHLY, RET_KEEP_YEARLY,
	};
	uint32_t counts[RET_NPERIODS];
	struct retention_item **sorted;
	size_t i;
	int per;

	if (n == 0)
		return;
	counts[RET_HOUR] = p->hourly;
	counts[RET_DAY] = p->daily;
	counts[RET_WEEK] = p->weekly;
	counts[RET_MONTH] = p->monthly;
	counts[RET_YEAR] = p->yearly;
	sorted = calloc(n, sizeof(*sorted));
	for (i = 0; i < n; i++) {
		items[i].keep = 0;
		if (sorted != NULL)
			sorted[i] = &items[i];
		if (items[i].pinned)
			items[i].keep |= RET_KEEP_PINNED;
		if (retention_policy_empty(p))
			items[i].keep |= RET_KEEP_NOPOLICY;
		if (items[i].time > now || now - items[i].time < retention_min_age(p))
			items[i].keep |= RET_KEEP_YOUNG;
	}
	if (sorted == NULL) {
		/* Out of memory: deleting nothing is always safe. */
		for (i = 0; i < n; i++)
			items[i].keep |= RET_KEEP_NOPOLICY;
		return;
	}
	qsort(sorted, n, sizeof(*sorted), retention_cmp_newest);
	sorted[0]->keep |= RET_KEEP_NEWEST;
	for (per = 0; per < RET_NPERIODS; per++)
		retention_mark_periods(sorted, n, per, counts[per], bits[per]);
	free(sorted);
}
