/*
 * The stale episode state machine of the receiver (daemon/recvstat.c):
 * one BEGIN per episode whatever the number of scans, one END when the
 * client delivers again, nothing for a job with no snapshot or with
 * stale-after off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/recvstat.h"

#define T0	1700000000

static void
test_episode(void **state)
{
	int stale = 0, i;

	(void)state;
	/* Fresh: nothing, however often asked. */
	assert_int_equal(stale_step(&stale, T0, T0 + 10, 60), STALE_NONE);
	assert_int_equal(stale_step(&stale, T0, T0 + 59, 60), STALE_NONE);
	assert_int_equal(stale, 0);
	/* Exactly stale-after old: the episode starts, once. */
	assert_int_equal(stale_step(&stale, T0, T0 + 60, 60), STALE_BEGIN);
	assert_int_equal(stale, 1);
	for (i = 0; i < 100; i++)
		assert_int_equal(stale_step(&stale, T0, T0 + 61 + i, 60),
		    STALE_NONE);
	/* A new snapshot ends it, once. */
	assert_int_equal(stale_step(&stale, T0 + 200, T0 + 201, 60),
	    STALE_END);
	assert_int_equal(stale, 0);
	assert_int_equal(stale_step(&stale, T0 + 200, T0 + 202, 60),
	    STALE_NONE);
	/* The next silence is a new episode. */
	assert_int_equal(stale_step(&stale, T0 + 200, T0 + 260, 60),
	    STALE_BEGIN);
}

static void
test_nothing_to_watch(void **state)
{
	int stale = 0;

	(void)state;
	/* No complete snapshot yet: never stale. */
	assert_int_equal(stale_step(&stale, 0, T0, 60), STALE_NONE);
	/* stale-after off (the default): never stale. */
	assert_int_equal(stale_step(&stale, T0, T0 + 86400 * 365, 0),
	    STALE_NONE);
	/* A snapshot from the future (clock set back) is fresh. */
	assert_int_equal(stale_step(&stale, T0 + 1000, T0, 60), STALE_NONE);
	assert_int_equal(stale, 0);
}

static void
test_config_change(void **state)
{
	int stale = 0;

	(void)state;
	assert_int_equal(stale_step(&stale, T0, T0 + 100, 60), STALE_BEGIN);
	/* Raised by a reload past the age: the episode ends. */
	assert_int_equal(stale_step(&stale, T0, T0 + 101, 3600), STALE_END);
	assert_int_equal(stale_step(&stale, T0, T0 + 102, 60), STALE_BEGIN);
	/* Turned off: ends too. */
	assert_int_equal(stale_step(&stale, T0, T0 + 103, 0), STALE_END);
	assert_int_equal(stale, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episode),
		cmocka_unit_test(test_nothing_to_watch),
		cmocka_unit_test(test_config_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
