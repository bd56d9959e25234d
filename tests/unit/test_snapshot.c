/* Snapshot names and parent/clone choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine/snapshot.h"

static void
test_name_format(void **state)
{
	char buf[64];

	(void)state;
	/* 1700000000 = 2023-11-14 22:13:20 UTC (date -u -d @1700000000). */
	assert_int_equal(snap_name_format(buf, sizeof(buf), "home", 1700000000, 1), 0);
	assert_string_equal(buf, "home.20231114T221320Z");
	assert_int_equal(snap_name_format(buf, sizeof(buf), "home", 1700000000, 2), 0);
	assert_string_equal(buf, "home.20231114T221320Z.2");
	assert_int_equal(snap_name_format(buf, 10, "home", 1700000000, 1), -1);
}

static void
test_name_parse(void **state)
{
	int64_t t;
	unsigned seq;

	(void)state;
	assert_int_equal(snap_name_parse("home.20231114T221320Z", "home", &t, &seq), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(seq, 1);
	assert_int_equal(snap_name_parse("home.20231114T221320Z.12", "home", &t, &seq), 0);
	assert_int_equal(seq, 12);
	assert_int_equal(snap_name_parse("a.b.20240229T000000Z", "a.b", &t, &seq), 0);
	assert_int_equal(t, 1709164800);
}

static void
test_name_parse_rejects(void **state)
{
	static const char *bad[] = {
		"home.20231114T221320", "home.20231114T221320Z.1",
		"home.20231114T221320Z.", "home.20231114T221320Z.2x",
		"home.20231114t221320Z", "homer.20231114T221320Z",
		"hom.20231114T221320Z", "home20231114T221320Z",
		"home.20230229T000000Z", "home.20231114T246000Z",
		"home.2023111AT221320Z", "home.20231114T221320Z.1000",
		"home.20231114T221320Zx", "other.20231114T221320Z",
	};
	int64_t t;
	unsigned seq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (snap_name_parse(bad[i], "home", &t, &seq) == 0)
			fail_msg("accepted %s", bad[i]);
}

static void
test_name_roundtrip(void **state)
{
	char buf[64];
	int64_t t, in;
	unsigned seq;

	(void)state;
	for (in = 0; in < 4102444800; in += 86400 * 37 + 3601) {
		assert_int_equal(snap_name_format(buf, sizeof(buf), "j", in, 3), 0);
		assert_int_equal(snap_name_parse(buf, "j", &t, &seq), 0);
		assert_int_equal(t, in);
		assert_int_equal(seq, 3);
	}
}

static struct snap_info snaps[6];

static void
mk(size_t i, int64_t t, uint8_t tag, uint8_t rtag)
{
	memset(&snaps[i], 0, sizeof(snaps[i]));
	snaps[i].time = t;
	snaps[i].seq = 1;
	snaps[i].uuid[0] = tag;
	snaps[i].received_uuid[0] = rtag;
	/* read-only, unchanged since created or received */
	snaps[i].read_only = 1;
	snaps[i].ctransid = 10;
	snaps[i].otransid = 10;
	snaps[i].rtransid = rtag != 0 ? 10 : 0;
}

static void
test_choose(void **state)
{
	uint8_t held[4][16];
	size_t parent, clones[8], n;

	(void)state;
	/* Deliberately unsorted input: index order is not time order. */
	mk(0, 300, 0xa3, 0);
	mk(1, 100, 0xa1, 0);
	mk(2, 200, 0xa2, 0);
	mk(3, 500, 0xa5, 0);    /* being sent */
	mk(4, 600, 0xa6, 0);    /* newer than the one sent: never a base */
	mk(5, 400, 0xa4, 0);
	memset(held, 0, sizeof(held));
	held[0][0] = 0xa1;
	held[1][0] = 0xa3;
	held[2][0] = 0xa6;
	held[3][0] = 0xa2;

	assert_int_equal(snap_choose(snaps, 6, 3, held, 4, &parent, clones, 8, &n), 1);
	assert_int_equal(parent, 0);
	assert_int_equal(n, 2);
	assert_int_equal(clones[0], 2);
	assert_int_equal(clones[1], 1);

	/* max_clones bounds the list, keeping the newest. */
	assert_int_equal(snap_choose(snaps, 6, 3, held, 4, &parent, clones, 1, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(clones[0], 2);

	/* Nothing common, or only newer ones common: full send. */
	assert_int_equal(snap_choose(snaps, 6, 3, held + 2, 1, &parent, clones, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(snap_choose(snaps, 6, 3, held, 0, &parent, clones, 8, &n), 0);
}

static void
test_choose_received_uuid(void **state)
{
	uint8_t held[1][16];
	size_t parent, clones[4], n;

	(void)state;
	mk(0, 100, 0xb1, 0xc1);  /* itself received: target knows it as c1 */
	mk(1, 200, 0xb2, 0);
	memset(held, 0, sizeof(held));
	held[0][0] = 0xb1;
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 0);
	held[0][0] = 0xc1;
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 1);
	assert_int_equal(parent, 0);
	assert_int_equal(n, 0);

	/* Changed since received, or writable: no longer what c1 names. */
	snaps[0].ctransid = 11;
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 0);
	snaps[0].ctransid = 10;
	snaps[0].read_only = 0;
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 0);
}

static void
test_unchanged_since(void **state)
{
	size_t parent, clones[4], n;
	uint8_t held[1][16];

	(void)state;
	assert_true(snap_unchanged_since(1, 9, 11));
	assert_true(snap_unchanged_since(1, 11, 11));
	assert_false(snap_unchanged_since(1, 12, 11));
	assert_false(snap_unchanged_since(0, 9, 11));
	assert_false(snap_unchanged_since(1, 9, 0));    /* never received */

	/* An origin changed after it was created is no parent either. */
	mk(0, 100, 0xb1, 0);
	mk(1, 200, 0xb2, 0);
	memset(held, 0, sizeof(held));
	held[0][0] = 0xb1;
	snaps[0].ctransid = 11;
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 0);
	snaps[0].ctransid = 9;  /* a writable snapshot made read-only */
	assert_int_equal(snap_choose(snaps, 2, 1, held, 1, &parent, clones, 4, &n), 1);
}

static void
test_choose_same_second_uses_seq(void **state)
{
	uint8_t held[2][16];
	size_t parent, clones[4], n;

	(void)state;
	mk(0, 100, 0xd1, 0);
	mk(1, 100, 0xd2, 0);
	snaps[1].seq = 2;
	mk(2, 100, 0xd3, 0);
	snaps[2].seq = 3;
	memset(held, 0, sizeof(held));
	held[0][0] = 0xd1;
	held[1][0] = 0xd2;
	assert_int_equal(snap_choose(snaps, 3, 2, held, 2, &parent, clones, 4, &n), 1);
	assert_int_equal(parent, 1);
	assert_int_equal(n, 1);
	assert_int_equal(clones[0], 0);
}

static void
test_pin_held(void **state)
{
	uint8_t held_a[2][16], held_b[1][16];
	int pinned[4] = { 0 };

	(void)state;
	mk(0, 400, 0xe4, 0);
	mk(1, 100, 0xe1, 0);
	mk(2, 300, 0xe3, 0);
	mk(3, 200, 0xe2, 0xf2);
	memset(held_a, 0, sizeof(held_a));
	memset(held_b, 0, sizeof(held_b));
	held_a[0][0] = 0xe1;
	held_a[1][0] = 0xe3;
	held_b[0][0] = 0xf2;        /* by received uuid */
	snap_pin_held(snaps, 4, held_a, 2, pinned);
	assert_int_equal(pinned[0] + pinned[1] + pinned[2] + pinned[3], 1);
	assert_true(pinned[2]);
	snap_pin_held(snaps, 4, held_b, 1, pinned);
	assert_true(pinned[3]);
	assert_false(pinned[0]);
	assert_false(pinned[1]);
	snap_pin_held(snaps, 4, held_b, 0, pinned);     /* nothing held */
	assert_false(pinned[0]);
}

static void
test_plan_chain_from_newest_held(void **state)
{
	uint8_t held[2][16];
	size_t order[6], base, n;

	(void)state;
	/* Unsorted on purpose; the target holds 0xa1 and 0xa3. */
	mk(0, 500, 0xa5, 0);
	mk(1, 100, 0xa1, 0);
	mk(2, 300, 0xa3, 0);
	mk(3, 600, 0xa6, 0);
	mk(4, 200, 0xa2, 0);    /* older than the base: never sent */
	mk(5, 400, 0xa4, 0);
	memset(held, 0, sizeof(held));
	held[0][0] = 0xa1;
	held[1][0] = 0xa3;
	n = snap_plan(snaps, 6, held, 2, NULL, 0, order, &base);
	assert_int_equal(base, 2);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 5);  /* 400 */
	assert_int_equal(order[1], 0);  /* 500 */
	assert_int_equal(order[2], 3);  /* 600 */

	/* The target holds the newest: nothing to send. */
	held[1][0] = 0xa6;
	n = snap_plan(snaps, 6, held, 2, NULL, 0, order, &base);
	assert_int_equal(base, 3);
	assert_int_equal(n, 0);
}

static void
test_plan_same_second_and_received(void **state)
{
	uint8_t held[1][16];
	size_t order[3], base, n;

	(void)state;
	mk(0, 100, 0xd3, 0);
	snaps[0].seq = 3;
	mk(1, 100, 0xd1, 0xc1); /* known to the target by its received uuid */
	mk(2, 100, 0xd2, 0);
	snaps[2].seq = 2;
	memset(held, 0, sizeof(held));
	held[0][0] = 0xc1;
	n = snap_plan(snaps, 3, held, 1, NULL, 0, order, &base);
	assert_int_equal(base, 1);
	assert_int_equal(n, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 0);
	/* Its own uuid is not what the target knows it by. */
	held[0][0] = 0xd1;
	n = snap_plan(snaps, 3, held, 1, NULL, 0, order, &base);
	assert_int_equal(base, 3);
	assert_int_equal(n, 1);
	assert_int_equal(order[0], 0);
}

static void
test_plan_nothing_common(void **state)
{
	uint8_t held[1][16], partial[2][16];
	size_t order[4], base, n;

	(void)state;
	mk(0, 300, 0xb3, 0);
	mk(1, 100, 0xb1, 0);
	mk(2, 400, 0xb4, 0);
	mk(3, 200, 0xb2, 0);
	memset(held, 0, sizeof(held));
	memset(partial, 0, sizeof(partial));
	held[0][0] = 0x77;      /* something this job does not have */
	/* One full send of the newest only. */
	n = snap_plan(snaps, 4, held, 1, partial, 0, order, &base);
	assert_int_equal(base, 4);
	assert_int_equal(n, 1);
	assert_int_equal(order[0], 2);
	/* A full partial of 0xb2 is resumed first, then the newer ones. */
	partial[0][0] = 0xb2;
	partial[1][0] = 0x99;
	n = snap_plan(snaps, 4, held, 1, partial, 2, order, &base);
	assert_int_equal(base, 4);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 2);
	/* A base wins over a partial: the partial's stream is not needed. */
	held[0][0] = 0xb3;
	n = snap_plan(snaps, 4, held, 1, partial, 2, order, &base);
	assert_int_equal(base, 0);
	assert_int_equal(n, 1);
	assert_int_equal(order[0], 2);
	/* No local snapshot at all. */
	assert_int_equal(snap_plan(snaps, 0, held, 1, NULL, 0, order, &base), 0);
	assert_int_equal(base, 0);
}

static void
test_pin_uuids(void **state)
{
	uint8_t use[2][16];
	int pinned[4] = { 0 };

	(void)state;
	mk(0, 400, 0xe4, 0);
	mk(1, 100, 0xe1, 0);
	mk(2, 300, 0xe3, 0xf3);
	mk(3, 200, 0xe2, 0);
	memset(use, 0, sizeof(use));
	use[0][0] = 0xe1;
	use[1][0] = 0xf3;       /* by received uuid */
	snap_pin_uuids(snaps, 4, use, 2, pinned);
	assert_false(pinned[0]);
	assert_true(pinned[1]);
	assert_true(pinned[2]);
	assert_false(pinned[3]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_format),
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_name_parse_rejects),
		cmocka_unit_test(test_name_roundtrip),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_choose_received_uuid),
		cmocka_unit_test(test_unchanged_since),
		cmocka_unit_test(test_choose_same_second_uses_seq),
		cmocka_unit_test(test_pin_held),
		cmocka_unit_test(test_plan_chain_from_newest_held),
		cmocka_unit_test(test_plan_same_second_and_received),
		cmocka_unit_test(test_plan_nothing_common),
		cmocka_unit_test(test_pin_uuids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
