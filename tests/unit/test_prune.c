/*
 * Pruning decisions (engine/prune.c): what keep-source and keep-target
 * may delete, and what they never do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/prune.h"
#include "engine/snapshot.h"

#define DAY 86400
static const int64_t now = 1767312000;  /* 2026-01-02 00:00:00 UTC */

/* n daily snapshots of job "home", oldest first, all received. */
static void
snaps_make(struct snap_info *s, size_t n)
{
	size_t i;

	memset(s, 0, n * sizeof(*s));
	for (i = 0; i < n; i++) {
		s[i].time = now - (int64_t)(n - i) * DAY;
		s[i].seq = 1;
		snap_name_format(s[i].name, sizeof(s[i].name), "home",
		    s[i].time, 1);
		s[i].read_only = 1;
		memset(s[i].received_uuid, (int)i + 1, 16);
	}
}

static void
req(struct prune_req *rq, const struct retention_policy *p, bool received)
{
	memset(rq, 0, sizeof(*rq));
	rq->job = "home";
	rq->policy = p;
	rq->now = now;
	rq->received = received;
}

/* keep-source: the policy, the caller's pins and the newest. */
static void
test_local(void **state)
{
	struct retention_policy p = { .set = 1, .daily = 2 };
	struct prune_req rq;
	struct snap_info s[6];
	int pinned[6] = { 0, 1, 0, 0, 0, 0 };
	bool del[6];

	(void)state;
	snaps_make(s, 6);
	req(&rq, &p, false);
	assert_int_equal(prune_decide(&rq, s, 6, pinned, del), 6);
	assert_true(del[0]);
	assert_false(del[1]);           /* pinned */
	assert_true(del[2]);
	assert_true(del[3]);
	assert_false(del[4]);           /* daily 2 */
	assert_false(del[5]);
	/* a partial (writable) is judged like any other snapshot here */
	s[0].read_only = 0;
	prune_decide(&rq, s, 6, NULL, del);
	assert_true(del[0]);
	assert_true(del[1]);
}

/* keep-target: partials are never judged; the newest complete is kept. */
static void
test_received(void **state)
{
	struct retention_policy p = { .min_age = 1 };   /* keeps only young */
	struct prune_req rq;
	struct snap_info s[5];
	bool del[5];

	(void)state;
	snaps_make(s, 5);
	s[4].read_only = 0;             /* the newest is a partial */
	memset(s[1].received_uuid, 0, 16);      /* made here, not received */
	req(&rq, &p, true);
	assert_int_equal(prune_decide(&rq, s, 5, NULL, del), 3);
	assert_true(del[0]);
	assert_false(del[1]);
	assert_true(del[2]);
	assert_false(del[3]);           /* newest complete: the next parent */
	assert_false(del[4]);
	/* an empty policy keeps all */
	memset(&p, 0, sizeof(p));
	prune_decide(&rq, s, 5, NULL, del);
	assert_false(del[0] || del[1] || del[2] || del[3] || del[4]);
}

/* A min-age beyond INT64_MAX, as only a hostile PRUNE can carry: none. */
static void
test_huge_min_age(void **state)
{
	struct retention_policy p = { .daily = 1, .min_age = UINT64_MAX };
	struct prune_req rq;
	struct snap_info s[3];
	bool del[3];

	(void)state;
	snaps_make(s, 3);
	req(&rq, &p, true);
	prune_decide(&rq, s, 3, NULL, del);
	assert_true(del[0]);
	assert_true(del[1]);
	assert_false(del[2]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_huge_min_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
