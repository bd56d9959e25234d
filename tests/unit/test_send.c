/* Error classification of the send runner: what the daemon retries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/send.h"
#include "engine/send_plan.h"

static void
test_temporary(void **state)
{
	static const int temp[] = { EAGAIN, EINTR, ENOMEM, EPIPE, ECANCELED,
	    EBUSY, ETIMEDOUT, ENOBUFS };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		if (send_classify(temp[i]) != ERR_TEMPORARY)
			fail_msg("%s should be temporary", strerror(temp[i]));
}

static void
test_permanent(void **state)
{
	static const int perm[] = { EPERM, EACCES, ENOENT, ENOTDIR, ENOTTY,
	    EINVAL, EPROTO, EOPNOTSUPP, EXDEV, EIO, EBADMSG };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (send_classify(perm[i]) != ERR_PERMANENT)
			fail_msg("%s should be permanent", strerror(perm[i]));
}

static void
test_none_and_unknown(void **state)
{
	(void)state;
	assert_int_equal(send_classify(0), ERR_NONE);
	/* Unknown errors are retried: a send only reads. */
	assert_int_equal(send_classify(EHOSTDOWN), ERR_TEMPORARY);
	assert_string_equal(err_class_name(ERR_NONE), "ok");
	assert_string_equal(err_class_name(ERR_TEMPORARY), "temporary");
	assert_string_equal(err_class_name(ERR_PERMANENT), "permanent");
}

static void
test_seterr_message(void **state)
{
	struct send_error e;

	(void)state;
	send_seterr(&e, EAGAIN, "send of %s", "/mnt/snap");
	assert_int_equal(e.cls, ERR_TEMPORARY);
	assert_int_equal(e.errnum, EAGAIN);
	assert_non_null(strstr(e.msg, "send of /mnt/snap"));
	assert_non_null(strstr(e.msg, strerror(EAGAIN)));
	/* strerror is not repeated when the message already has it. */
	send_seterr_named(&e, ENOENT, "x: %s", strerror(ENOENT));
	assert_ptr_equal(strstr(e.msg, strerror(ENOENT)),
	    strrchr(e.msg, ':') + 2);
	send_seterr(&e, 0, "plain");
	assert_string_equal(e.msg, "plain");
	assert_int_equal(e.cls, ERR_PERMANENT);
}

static void
test_nothing_to_send(void **state)
{
	struct send_params p;
	struct send_error e;
	struct send *s = (struct send *)&p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.proto = 1;
	assert_int_equal(send_start(&s, &p, &e), -1);
	assert_null(s);
	assert_int_equal(e.cls, ERR_PERMANENT);
	assert_non_null(strstr(e.msg, "no snapshot"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_temporary),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_none_and_unknown),
		cmocka_unit_test(test_seterr_message),
		cmocka_unit_test(test_nothing_to_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
