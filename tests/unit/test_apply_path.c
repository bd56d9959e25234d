/*
 * Receive engine path rules: what a stream path or a subvolume name may
 * look like (design.md "Security model"), and what an errno means when a
 * command is re-applied after a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply.h"

static int
check(const char *p, bool root_ok)
{
	const char *why = NULL;
	int rc;

	rc = apply_path_check((const uint8_t *)p, (uint32_t)strlen(p), root_ok,
	    &why);
	if (rc == -1)
		assert_non_null(why);
	return rc;
}

static void
test_paths_accepted(void **state)
{
	static const char *ok[] = {
		"a", "a/b", "o257-7-0", "dir/sub/file", ".hidden", "..dots",
		"a/.b/..c/...", "name with spaces", "\xc3\xa9t\xc3\xa9",
		"x\ny", "back\\slash",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(check(ok[i], false), 0);
	assert_int_equal(check("", true), 0);
}

static void
test_paths_refused(void **state)
{
	static const char *bad[] = {
		"..", ".", "../x", "a/../b", "a/..", "./a", "a/./b", "a/.",
		"/etc/passwd", "/", "a//b", "a/", "//a",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(check(bad[i], true), -1);
	/* the root only where the command allows it */
	assert_int_equal(check("", false), -1);
}

static void
test_paths_nul_and_length(void **state)
{
	const char *why;
	char *p;
	size_t n;

	(void)state;
	assert_int_equal(apply_path_check((const uint8_t *)"a\0b", 3, false,
	    &why), -1);
	assert_non_null(strstr(why, "NUL"));

	/* one component of NAME_MAX is fine, one byte more is not */
	p = malloc(PATH_MAX + 2);
	assert_non_null(p);
	memset(p, 'x', NAME_MAX + 1);
	assert_int_equal(apply_path_check((uint8_t *)p, NAME_MAX, false, &why), 0);
	assert_int_equal(apply_path_check((uint8_t *)p, NAME_MAX + 1, false,
	    &why), -1);

	/* deep paths: fine up to PATH_MAX - 1 bytes in all */
	for (n = 0; n < PATH_MAX + 1; n++)
		p[n] = n % 2 ? '/' : 'd';
	assert_int_equal(apply_path_check((uint8_t *)p, PATH_MAX - 1, false,
	    &why), 0);
	assert_int_equal(apply_path_check((uint8_t *)p, PATH_MAX, false, &why),
	    -1);
	free(p);
}

static void
test_subvol_names(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(apply_name_check((const uint8_t *)"snap.1", 6, &why), 0);
	assert_int_equal(apply_name_check((const uint8_t *)"a/b", 3, &why), -1);
	assert_int_equal(apply_name_check((const uint8_t *)"..", 2, &why), -1);
	assert_int_equal(apply_name_check((const uint8_t *)".", 1, &why), -1);
	assert_int_equal(apply_name_check((const uint8_t *)"", 0, &why), -1);
	assert_int_equal(apply_name_check((const uint8_t *)"/x", 2, &why), -1);
	assert_int_equal(apply_name_check((const uint8_t *)"x\0", 2, &why), -1);
}

static void
test_replay_verdicts(void **state)
{
	(void)state;
	/* a temp name that already exists is made again */
	assert_int_equal(apply_replay_verdict(SEND_C_MKFILE, EEXIST), REPLAY_REPLACE);
	assert_int_equal(apply_replay_verdict(SEND_C_SYMLINK, EEXIST), REPLAY_REPLACE);
	assert_int_equal(apply_replay_verdict(SEND_C_MKFIFO, EEXIST), REPLAY_REPLACE);
	assert_int_equal(apply_replay_verdict(SEND_C_MKDIR, EEXIST), REPLAY_DONE);
	/* a rename already done, or onto a populated directory */
	assert_int_equal(apply_replay_verdict(SEND_C_RENAME, ENOENT), REPLAY_DONE);
	assert_int_equal(apply_replay_verdict(SEND_C_RENAME, ENOTEMPTY),
	    REPLAY_DROP_SOURCE);
	/* unlink of a missing path, a link that exists */
	assert_int_equal(apply_replay_verdict(SEND_C_UNLINK, ENOENT), REPLAY_DONE);
	assert_int_equal(apply_replay_verdict(SEND_C_RMDIR, ENOENT), REPLAY_DONE);
	assert_int_equal(apply_replay_verdict(SEND_C_LINK, EEXIST), REPLAY_REPLACE);
	assert_int_equal(apply_replay_verdict(SEND_C_REMOVE_XATTR, ENODATA),
	    REPLAY_DONE);
	assert_int_equal(apply_replay_verdict(SEND_C_WRITE, ENOENT), REPLAY_DONE);
	/* real errors stay errors */
	assert_int_equal(apply_replay_verdict(SEND_C_WRITE, ENOSPC), REPLAY_FAIL);
	assert_int_equal(apply_replay_verdict(SEND_C_RMDIR, ENOTEMPTY), REPLAY_FAIL);
	assert_int_equal(apply_replay_verdict(SEND_C_MKDIR, EACCES), REPLAY_FAIL);
	assert_int_equal(apply_replay_verdict(SEND_C_RENAME, EXDEV), REPLAY_FAIL);
	assert_int_equal(apply_replay_verdict(SEND_C_SUBVOL, EEXIST), REPLAY_FAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_accepted),
		cmocka_unit_test(test_paths_refused),
		cmocka_unit_test(test_paths_nul_and_length),
		cmocka_unit_test(test_subvol_names),
		cmocka_unit_test(test_replay_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
