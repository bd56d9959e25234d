/*
 * Journal detection of proto/base/log.c: messages go to the journal only when
 * JOURNAL_STREAM names the very stream stderr is (systemd's documented
 * check), never with -d, and stderr otherwise.  A message is one line:
 * control bytes a peer may send are escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* What log_warnx("peer says: %s", arg) writes to stderr, in buf. */
static void
stderr_of(char *buf, size_t len, const char *arg)
{
	FILE *f = tmpfile();
	int saved = dup(fileno(stderr));
	size_t n;

	assert_non_null(f);
	assert_true(saved != -1);
	unsetenv("JOURNAL_STREAM");
	log_use_journal(1);
	fflush(stderr);
	assert_true(dup2(fileno(f), fileno(stderr)) != -1);
	log_warnx("peer says: %s", arg);
	fflush(stderr);
	assert_true(dup2(saved, fileno(stderr)) != -1);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
test_control_bytes_escaped(void **state)
{
	char out[4096], big[3000];

	(void)state;
	log_init("test", 0);
	/* a peer's ERROR text forging a line and moving the cursor */
	stderr_of(out, sizeof(out),
	    "x\nbtrsendd: forged line\r\x1b[2J\x7f\tend");
	assert_string_equal(out, "test: peer says: x\\x0abtrsendd: forged "
	    "line\\x0d\\x1b[2J\\x7f\\x09end\n");
	/* UTF-8 and backslashes pass as they are */
	stderr_of(out, sizeof(out), "caf\xc3\xa9 a\\b");
	assert_string_equal(out, "test: peer says: caf\xc3\xa9 a\\b\n");
	/* a long run of escapes is cut whole, still one line */
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stderr_of(out, sizeof(out), big);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_int_equal((strlen(out) - strlen("test: peer says: ") - 1) % 4,
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_only_for_our_stream),
		cmocka_unit_test(test_control_bytes_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
