/*
 * Retention arithmetic: which snapshots of a job to keep.  Pure: no I/O,
 * no clock; the caller passes "now".  Rules are in docs/retention.md.
 */
#ifndef BTRSEND_ENGINE_RETENTION_H
#define BTRSEND_ENGINE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/types.h"

/* Why an item is kept (bits of retention_item.keep). */
#define RET_KEEP_PINNED   0x01
#define RET_KEEP_YOUNG    0x02      /* younger than min-age, or in the future */
#define RET_KEEP_HOURLY   0x04
#define RET_KEEP_DAILY    0x08
#define RET_KEEP_WEEKLY   0x10
#define RET_KEEP_MONTHLY  0x20
#define RET_KEEP_YEARLY   0x40
#define RET_KEEP_NEWEST   0x80      /* the newest snapshot of the job */
#define RET_KEEP_NOPOLICY 0x100     /* the policy is empty: keep all */

enum retention_period {
	RET_HOUR, RET_DAY, RET_WEEK, RET_MONTH, RET_YEAR, RET_NPERIODS
};

struct retention_item {
	int64_t time;                   /* creation time, seconds since epoch UTC */
	int pinned;                     /* in: never delete */
	unsigned keep;                  /* out: RET_KEEP_* bits, 0 = delete */
};

/*
 * True when the policy has no rule at all (it then keeps everything);
 * p->set is not looked at.
 */
int  retention_policy_empty(const struct retention_policy *p);

/*
 * Key of the UTC calendar period containing t: equal keys, same period;
 * larger key, later period.  Weeks are ISO weeks (Monday to Sunday).
 */
int64_t retention_period_key(enum retention_period per, int64_t t);

/* Fill items[i].keep for every item; items may be in any order. */
void retention_apply(const struct retention_policy *p, int64_t now,
    struct retention_item *items, size_t n);

#endif
