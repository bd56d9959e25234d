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

/*
 * keep-source with a target that cannot be asked: its last known base
 * stays beside what the policy keeps, nothing else; unknown: no pruning.
 */
static void
test_last_known_base(void **state)
{
	struct retention_policy p = { .set = 1, .daily = 1 };
	struct prune_req rq;
	struct snap_info s[6];
	int pinned[6] = { 0 };
	bool del[6];
	size_t i;

	(void)state;
	snaps_make(s, 6);
	req(&rq, &p, false);
	assert_int_equal(snap_pin_last_known(s, 6, 1, s[2].name, pinned), 0);
	prune_decide(&rq, s, 6, pinned, del);
	for (i = 0; i < 6; i++)
		assert_int_equal(del[i], i != 2 && i != 5);
	/* it held none of ours: nothing is kept for it */
	memset(pinned, 0, sizeof(pinned));
	assert_int_equal(snap_pin_last_known(s, 6, 1, "", pinned), 0);
	prune_decide(&rq, s, 6, pinned, del);
	for (i = 0; i < 6; i++)
		assert_int_equal(del[i], i != 5);
	/* its base is gone here: pins nothing (a full send comes next) */
	memset(pinned, 0, sizeof(pinned));
	assert_int_equal(snap_pin_last_known(s, 6, 1, "home.gone", pinned),
	    0);
	for (i = 0; i < 6; i++)
		assert_int_equal(pinned[i], 0);
	/* nothing known of it: the caller prunes nothing */
	assert_int_equal(snap_pin_last_known(s, 6, 0, "", pinned), -1);
}

/* The base a target reports: the newest local snapshot it holds. */
static void
test_base_name(void **state)
{
	struct snap_info s[4];
	uint8_t held[2][16];
	size_t i;

	(void)state;
	snaps_make(s, 4);
	for (i = 0; i < 4; i++)
		s[i].rtransid = s[i].ctransid = 10;	/* unchanged */
	memcpy(held[0], s[3].received_uuid, 16);
	memcpy(held[1], s[1].received_uuid, 16);
	assert_string_equal(snap_base_name(s, 4,
	    (const uint8_t (*)[16])held, 2), s[3].name);
	assert_string_equal(snap_base_name(s, 3,
	    (const uint8_t (*)[16])held, 2), s[1].name);
	assert_null(snap_base_name(s, 1, (const uint8_t (*)[16])held, 2));
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

/* Received i days before now: the otime protect ages by. */
static void
snaps_otime(struct snap_info *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i].otime.tv_sec = now - (int64_t)(n - i) * DAY;
}

/* protect: the client's retention picks, the backup host keeps young. */
static void
test_veto_protect(void **state)
{
	struct retention_policy p = { .set = 1, .daily = 1 };
	struct prune_authority a = { .protect = 3 * DAY };
	enum prune_veto why[6];
	struct prune_req rq;
	struct snap_info s[6];
	bool del[6];
	size_t judged;

	(void)state;
	snaps_make(s, 6);
	snaps_otime(s, 6);
	/* Names say old, otime says the backup host got it lately. */
	s[0].otime.tv_sec = now - DAY;
	req(&rq, &p, true);
	judged = prune_decide(&rq, s, 6, NULL, del);
	assert_true(del[0] && del[1] && del[2] && del[3] && del[4]);
	assert_int_equal(prune_veto(&a, now, s, 6, judged, del, why), 2);
	assert_false(del[0]);
	assert_int_equal(why[0], PRUNE_VETO_PROTECT);
	assert_true(del[1]);            /* 5 days: older than protect */
	assert_true(del[2]);
	assert_true(del[3]);            /* exactly 3 days: not younger */
	assert_int_equal(why[3], PRUNE_VETO_NONE);
	assert_false(del[4]);           /* 2 days */
	assert_int_equal(why[4], PRUNE_VETO_PROTECT);
	assert_false(del[5]);           /* newest: never a candidate */
	assert_int_equal(why[5], PRUNE_VETO_NONE);
	/* An otime in the future (a clock set back) is young too. */
	s[1].otime.tv_sec = now + DAY;
	prune_decide(&rq, s, 6, NULL, del);
	prune_veto(&a, now, s, 6, judged, del, why);
	assert_false(del[1]);
}

/* keep-min: the newest of the doomed stay until N are left. */
static void
test_veto_keep_min(void **state)
{
	struct retention_policy p = { .set = 1, .daily = 1 };
	struct prune_authority a = { .keep_min = 4 };
	enum prune_veto why[6];
	struct prune_req rq;
	struct snap_info s[6];
	bool del[6];
	size_t judged;

	(void)state;
	snaps_make(s, 6);
	snaps_otime(s, 6);
	s[2].read_only = 0;             /* a partial: not one of the N */
	req(&rq, &p, true);
	judged = prune_decide(&rq, s, 6, NULL, del);
	assert_int_equal(judged, 5);
	assert_int_equal(prune_veto(&a, now, s, 6, judged, del, why), 3);
	assert_true(del[0]);
	assert_int_equal(why[0], PRUNE_VETO_NONE);
	assert_false(del[1]);
	assert_false(del[2]);
	assert_int_equal(why[2], PRUNE_VETO_NONE);      /* never judged */
	assert_false(del[3] || del[4] || del[5]);
	assert_int_equal(why[1], PRUNE_VETO_KEEP_MIN);
	assert_int_equal(why[3], PRUNE_VETO_KEEP_MIN);
	assert_int_equal(why[4], PRUNE_VETO_KEEP_MIN);
	/* With protect first: only what protect did not keep counts. */
	a.protect = 3 * DAY + 1;        /* keeps 4 and 3 (2 and 3 days) */
	prune_decide(&rq, s, 6, NULL, del);
	assert_int_equal(prune_veto(&a, now, s, 6, judged, del, why), 3);
	assert_int_equal(why[4], PRUNE_VETO_PROTECT);
	assert_int_equal(why[3], PRUNE_VETO_PROTECT);
	assert_int_equal(why[1], PRUNE_VETO_KEEP_MIN);
	assert_true(del[0]);
	/* More than there are: all kept, none below zero. */
	a.protect = 0;
	a.keep_min = 1000;
	prune_decide(&rq, s, 6, NULL, del);
	assert_int_equal(prune_veto(&a, now, s, 6, judged, del, why), 4);
	assert_false(del[0] || del[1] || del[3] || del[4]);
}

/* append-only: nothing is deleted; all zero: nothing vetoed. */
static void
test_veto_append_only(void **state)
{
	struct retention_policy p = { .set = 1, .daily = 1 };
	struct prune_authority a = { .append_only = true, .keep_min = 2 };
	struct prune_authority none = { 0 };
	enum prune_veto why[5];
	struct prune_req rq;
	struct snap_info s[5];
	bool del[5];
	size_t i, judged;

	(void)state;
	snaps_make(s, 5);
	snaps_otime(s, 5);
	req(&rq, &p, true);
	judged = prune_decide(&rq, s, 5, NULL, del);
	assert_int_equal(prune_veto(&a, now, s, 5, judged, del, why), 4);
	for (i = 0; i < 5; i++)
		assert_false(del[i]);
	for (i = 0; i < 4; i++)
		assert_int_equal(why[i], PRUNE_VETO_APPEND_ONLY);
	prune_decide(&rq, s, 5, NULL, del);
	assert_int_equal(prune_veto(&none, now, s, 5, judged, del, why), 0);
	assert_true(del[0] && del[1] && del[2] && del[3]);
}

/* What the client is told. */
static void
test_refusal_text(void **state)
{
	struct prune_authority a = { .protect = 30 * DAY, .keep_min = 5 };
	struct prune_result r;
	char buf[256];

	(void)state;
	memset(&r, 0, sizeof(r));
	prune_refusal_text(&a, &r, buf, sizeof(buf));
	assert_string_equal(buf, "");
	r.refused[PRUNE_VETO_PROTECT] = 2;
	r.refused[PRUNE_VETO_KEEP_MIN] = 1;
	prune_refusal_text(&a, &r, buf, sizeof(buf));
	assert_string_equal(buf, "3 kept by the backup host: protect 30d (2), "
	    "keep-min 5 (1)");
	r.refused[PRUNE_VETO_PROTECT] = 0;
	prune_refusal_text(&a, &r, buf, sizeof(buf));
	assert_string_equal(buf, "1 kept by the backup host: keep-min 5 (1)");
	memset(&r, 0, sizeof(r));
	r.refused[PRUNE_VETO_APPEND_ONLY] = 7;
	prune_refusal_text(&a, &r, buf, sizeof(buf));
	assert_string_equal(buf, "append-only: the backup host deletes "
	    "nothing on a client's request (7 kept)");
	/* Truncation stays a string. */
	prune_refusal_text(&a, &r, buf, 10);
	assert_int_equal(strlen(buf), 9);
	assert_string_equal(prune_fmt_duration(90 * 60, buf, sizeof(buf)),
	    "90m");
	assert_string_equal(prune_fmt_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(prune_fmt_duration(14 * DAY, buf, sizeof(buf)),
	    "2w");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_last_known_base),
		cmocka_unit_test(test_base_name),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_huge_min_age),
		cmocka_unit_test(test_veto_protect),
		cmocka_unit_test(test_veto_keep_min),
		cmocka_unit_test(test_veto_append_only),
		cmocka_unit_test(test_refusal_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
