/*
 * Journal detection of proto/base/log.c: messages go to the journal only when
 * JOURNAL_STREAM names the very stream stderr is (systemd's documented
 * check), never with -d, and stderr otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto/base/log.h"

static void
set_stream(const struct stat *sb, long long ino_delta)
{
	char v[64];

	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)sb->st_dev,
	    (unsigned long long)sb->st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", v, 1);
}

static void
test_journal_only_for_our_stream(void **state)
{
	struct stat sb;

	(void)state;
	assert_int_equal(fstat(fileno(stderr), &sb), 0);
	unsetenv("JOURNAL_STREAM");
	log_use_journal(0);
	assert_false(log_journal_active());

	set_stream(&sb, 0);
	log_use_journal(0);
	assert_true(log_journal_active());
	/* -d: stderr even under journald. */
	log_use_journal(1);
	assert_false(log_journal_active());

	/* Another stream (stderr redirected after systemd set it up). */
	set_stream(&sb, 1);
	log_use_journal(0);
	assert_false(log_journal_active());

	setenv("JOURNAL_STREAM", "garbage", 1);
	log_use_journal(0);
	assert_false(log_journal_active());
	unsetenv("JOURNAL_STREAM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_only_for_our_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
