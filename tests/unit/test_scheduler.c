/*
 * Scheduler arithmetic (daemon/scheduler.h).  Expected instants are
 * written as UTC with timegm from the published zone rules: the EU
 * changes clocks at 01:00 UTC on the last Sunday of March and October
 * (Berlin: CET = UTC+1, CEST = UTC+2); the US at 02:00 local on the second
 * Sunday of March and the first Sunday of November (New York: EST = UTC-5,
 * EDT = UTC-4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "daemon/scheduler.h"

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm);
}

static struct conf_schedule
every(uint64_t s)
{
	struct conf_schedule c = { .kind = CONF_SCHED_EVERY, .every = s };

	return c;
}

static struct conf_schedule
at(int h, int m)
{
	struct conf_schedule c = { .kind = CONF_SCHED_AT, .hour = h,
	    .minute = m };

	return c;
}

static void
test_every_first_run_at_startup(void **state)
{
	struct conf_schedule s = every(3600);
	int64_t now = utc(2026, 5, 1, 12, 0, 0);

	(void)state;
	assert_int_equal(sched_next(&s, NULL, 0, now), now);
}

static void
test_every_counts_from_previous_start(void **state)
{
	struct conf_schedule s = every(7200);
	int64_t last = utc(2026, 5, 1, 12, 0, 0);

	(void)state;
	assert_int_equal(sched_next(&s, NULL, last, last + 10),
	    utc(2026, 5, 1, 14, 0, 0));
	/* Exactly due: now. */
	assert_int_equal(sched_next(&s, NULL, last, last + 7200), last + 7200);
}

static void
test_every_missed_runs_once(void **state)
{
	struct conf_schedule s = every(3600);
	int64_t last = utc(2026, 5, 1, 0, 0, 0);
	int64_t now = utc(2026, 5, 3, 9, 30, 0);	/* 57 runs missed */
	int64_t next;

	(void)state;
	next = sched_next(&s, NULL, last, now);
	assert_int_equal(next, now);
	/* Having run at start-up, the next one is a full interval later. */
	assert_int_equal(sched_next(&s, NULL, next, now + 1), now + 3600);
}

static void
test_every_clock_went_back(void **state)
{
	struct conf_schedule s = every(600);
	int64_t now = utc(2026, 5, 1, 12, 0, 0);

	(void)state;
	/* A last start in the future does not delay the job beyond now+D. */
	assert_int_equal(sched_next(&s, NULL, now + 86400, now), now + 600);
}

static void
test_every_huge_interval(void **state)
{
	struct conf_schedule s = every(UINT64_MAX / 2);

	(void)state;
	assert_true(sched_next(&s, NULL, 1000, 2000) == SCHED_NEVER);
}

static void
test_manual_never(void **state)
{
	struct conf_schedule s = { .kind = CONF_SCHED_MANUAL };

	(void)state;
	assert_true(sched_next(&s, NULL, 0, 1000) == SCHED_NEVER);
	assert_true(sched_next(&s, "Europe/Berlin", 5, 1000) == SCHED_NEVER);
}

static void
test_at_utc(void **state)
{
	struct conf_schedule s = at(3, 15);
	int64_t now = utc(2026, 5, 1, 12, 0, 0);

	(void)state;
	/* Never ran: the next 03:15, not now. */
	assert_int_equal(sched_next(&s, NULL, 0, now),
	    utc(2026, 5, 2, 3, 15, 0));
	assert_int_equal(sched_next(&s, "UTC", 0, utc(2026, 5, 1, 1, 0, 0)),
	    utc(2026, 5, 1, 3, 15, 0));
	/* Ran today at 03:15: tomorrow. */
	assert_int_equal(sched_next(&s, NULL, utc(2026, 5, 1, 3, 15, 0), now),
	    utc(2026, 5, 2, 3, 15, 0));
	/* Across a month and a year end. */
	assert_int_equal(sched_at_next(NULL, 3, 15, utc(2026, 12, 31, 4, 0, 0)),
	    utc(2027, 1, 1, 3, 15, 0));
}

static void
test_at_missed_runs_once(void **state)
{
	struct conf_schedule s = at(3, 0);
	int64_t last = utc(2026, 5, 1, 3, 0, 5);
	int64_t now = utc(2026, 5, 4, 12, 0, 0);	/* down 3 days */
	int64_t next;

	(void)state;
	next = sched_next(&s, NULL, last, now);
	assert_int_equal(next, now);
	assert_int_equal(sched_next(&s, NULL, next, now + 1),
	    utc(2026, 5, 5, 3, 0, 0));
}

static void
test_at_zone_plain_days(void **state)
{
	(void)state;
	/* 02:30 in Berlin: CET in January, CEST in July. */
	assert_int_equal(sched_at_next("Europe/Berlin", 2, 30,
	    utc(2026, 1, 10, 12, 0, 0)), utc(2026, 1, 11, 1, 30, 0));
	assert_int_equal(sched_at_next("Europe/Berlin", 2, 30,
	    utc(2026, 7, 10, 12, 0, 0)), utc(2026, 7, 11, 0, 30, 0));
	/* 23:30 in New York is the next UTC day. */
	assert_int_equal(sched_at_next("America/New_York", 23, 30,
	    utc(2026, 1, 10, 12, 0, 0)), utc(2026, 1, 11, 4, 30, 0));
}

static void
test_at_skipped_time_runs_after_gap(void **state)
{
	(void)state;
	/*
	 * 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC,
	 * so 02:30 does not exist; it runs at the first moment after the
	 * gap, 03:00 CEST = 01:00 UTC.
	 */
	assert_int_equal(sched_at_next("Europe/Berlin", 2, 30,
	    utc(2026, 3, 28, 12, 0, 0)), utc(2026, 3, 29, 1, 0, 0));
	/* The day after, 02:30 CEST = 00:30 UTC. */
	assert_int_equal(sched_at_next("Europe/Berlin", 2, 30,
	    utc(2026, 3, 29, 1, 0, 0)), utc(2026, 3, 30, 0, 30, 0));
	/* New York, 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00 UTC. */
	assert_int_equal(sched_at_next("America/New_York", 2, 15,
	    utc(2026, 3, 7, 12, 0, 0)), utc(2026, 3, 8, 7, 0, 0));
}

static void
test_at_repeated_time_runs_once(void **state)
{
	struct conf_schedule s = at(2, 30);
	int64_t first = utc(2026, 10, 25, 0, 30, 0);	/* 02:30 CEST */
	int64_t second = utc(2026, 10, 25, 1, 30, 0);	/* 02:30 CET */

	(void)state;
	/* 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC. */
	assert_int_equal(sched_at_next("Europe/Berlin", 2, 30,
	    utc(2026, 10, 24, 12, 0, 0)), first);
	/* Ran at the first 02:30: the second one does not run. */
	assert_int_equal(sched_next(&s, "Europe/Berlin", first, first + 60),
	    utc(2026, 10, 26, 1, 30, 0));
	assert_true(sched_next(&s, "Europe/Berlin", first, second) != second);
	/* Outside the repeated hour, a time in the changed-back day is once. */
	assert_int_equal(sched_at_next("Europe/Berlin", 4, 0,
	    utc(2026, 10, 24, 12, 0, 0)), utc(2026, 10, 25, 3, 0, 0));
}

static void
test_at_unknown_zone(void **state)
{
	struct conf_schedule s = at(1, 0);

	(void)state;
	assert_int_equal(sched_next(&s, "No/Such_Zone", 0, 1000), -1);
	assert_int_equal(sched_at_next("../../etc/passwd", 1, 0, 1000), -1);
}

static void
test_zone_does_not_leak_into_environment(void **state)
{
	(void)state;
	setenv("TZ", "America/New_York", 1);
	assert_true(sched_at_next("Europe/Berlin", 2, 30, 1000000) > 0);
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	assert_true(sched_at_next(NULL, 2, 30, 1000000) > 0);
	assert_null(getenv("TZ"));
}

static void
test_jitter_bounds(void **state)
{
	struct conf_schedule m = { .kind = CONF_SCHED_MANUAL };
	struct conf_schedule s;

	(void)state;
	s = every(2);
	assert_int_equal(sched_jitter_max_ms(&s), 200);	/* a tenth */
	s = every(60);
	assert_int_equal(sched_jitter_max_ms(&s), 6000);
	s = every(3600);
	assert_int_equal(sched_jitter_max_ms(&s), 30000);	/* capped */
	s = at(3, 0);
	assert_int_equal(sched_jitter_max_ms(&s), 30000);
	assert_int_equal(sched_jitter_max_ms(&m), 0);
}

static void
test_backoff_doubles_to_cap(void **state)
{
	static const uint32_t want[] = { 0, 10, 20, 40, 80, 160, 320, 640,
	    1280, 2560, 3600, 3600 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(sched_backoff(i), want[i]);
	assert_int_equal(sched_backoff(1000000), SCHED_BACKOFF_CAP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_first_run_at_startup),
		cmocka_unit_test(test_every_counts_from_previous_start),
		cmocka_unit_test(test_every_missed_runs_once),
		cmocka_unit_test(test_every_clock_went_back),
		cmocka_unit_test(test_every_huge_interval),
		cmocka_unit_test(test_manual_never),
		cmocka_unit_test(test_at_utc),
		cmocka_unit_test(test_at_missed_runs_once),
		cmocka_unit_test(test_at_zone_plain_days),
		cmocka_unit_test(test_at_skipped_time_runs_after_gap),
		cmocka_unit_test(test_at_repeated_time_runs_once),
		cmocka_unit_test(test_at_unknown_zone),
		cmocka_unit_test(test_zone_does_not_leak_into_environment),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_backoff_doubles_to_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
