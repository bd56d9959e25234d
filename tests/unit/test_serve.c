/*
 * The backup host's choice of a base for a whole restore
 * (daemon/net/serve.c, serve_choose_base): the newest snapshot older
 * than the one asked for, unchanged since it was received, that the
 * client holds by its received uuid or its own uuid; none: a full send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/net/serve.h"
#include "engine/snapshot.h"

/* Snapshot i: uuid 0x10+i, received uuid 0x20+i, unchanged since received. */
static void
snaps(struct snap_info *s, size_t n)
{
	size_t i;

	memset(s, 0, n * sizeof(*s));
	for (i = 0; i < n; i++) {
		memset(s[i].uuid, 0x10 + (int)i, 16);
		memset(s[i].received_uuid, 0x20 + (int)i, 16);
		s[i].read_only = 1;
		s[i].ctransid = 100 + i;
		s[i].rtransid = 100 + i;
	}
}

static void
ref(struct wire_ref *r, int byte)
{
	memset(r, 0, sizeof(*r));
	memset(r->uuid, byte, 16);
}

static void
test_newest_older_held(void **state)
{
	struct snap_info s[4];
	struct wire_ref have[3];

	(void)state;
	snaps(s, 4);
	ref(&have[0], 0x20);            /* 0, by received uuid */
	ref(&have[1], 0x11);            /* 1, by its own uuid */
	ref(&have[2], 0x23);            /* 3: not older than 2 */
	assert_int_equal(serve_choose_base(s, 4, 2, have, 3), 1);
	assert_int_equal(serve_choose_base(s, 4, 1, have, 3), 0);
	/* the oldest has nothing older: full */
	assert_int_equal(serve_choose_base(s, 4, 0, have, 3), 4);
	/* newer than asked never counts, nor the snapshot itself */
	assert_int_equal(serve_choose_base(s, 4, 3, have + 2, 1), 4);
}

static void
test_nothing_in_common(void **state)
{
	struct snap_info s[3];
	struct wire_ref have[2];

	(void)state;
	snaps(s, 3);
	ref(&have[0], 0x77);
	ref(&have[1], 0x00);            /* an all-zero uuid names nothing */
	memset(s[0].received_uuid, 0, 16);
	assert_int_equal(serve_choose_base(s, 3, 2, have, 2), 3);
	assert_int_equal(serve_choose_base(s, 3, 2, NULL, 0), 3);
}

static void
test_changed_since_received(void **state)
{
	struct snap_info s[3];
	struct wire_ref have[2];

	(void)state;
	snaps(s, 3);
	ref(&have[0], 0x20);
	ref(&have[1], 0x21);
	s[1].ctransid = s[1].rtransid + 1;      /* changed after receive */
	assert_int_equal(serve_choose_base(s, 3, 2, have, 2), 0);
	s[0].read_only = 0;                     /* writable now */
	assert_int_equal(serve_choose_base(s, 3, 2, have, 2), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newest_older_held),
		cmocka_unit_test(test_nothing_in_common),
		cmocka_unit_test(test_changed_since_received),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
