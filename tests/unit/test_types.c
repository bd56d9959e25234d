/*
 * The shared value types (proto/base/types.h): the words the state and
 * history files and --json print, the exit statuses a run's result
 * becomes and comes back from, and the class each wire error code and
 * errno gives a failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "proto/base/types.h"
#include "proto/msg/wire.h"
#include "engine/send.h"
#include "daemon/worker/worker.h"

static void
test_run_result_names(void **state)
{
	static const char *const words[] = {
		"never", "ok", "retry", "failed", "running",
	};
	enum run_result r;
	int i;

	(void)state;
	for (i = 0; i < RUN_RESULT_END; i++) {
		assert_string_equal(run_result_name((enum run_result)i),
		    words[i]);
		assert_int_equal(run_result_parse(words[i], &r), 0);
		assert_int_equal(r, i);
	}
	assert_string_equal(run_result_name(RUN_RESULT_END), "unknown");
	assert_int_equal(run_result_parse("okay", &r), -1);
	assert_int_equal(run_result_parse("", &r), -1);
	assert_false(run_result_final(RUN_NEVER));
	assert_false(run_result_final(RUN_RUNNING));
	assert_true(run_result_final(RUN_RETRY));
}

/* What a worker exits with is what the parent reads back. */
static void
test_run_result_exit(void **state)
{
	enum run_result r;

	(void)state;
	assert_int_equal(run_result_exit(RUN_OK), 0);
	assert_int_equal(run_result_exit(RUN_FAILED), 1);
	assert_int_equal(run_result_exit(RUN_RETRY), 75);
	for (r = RUN_OK; r <= RUN_FAILED; r++)
		assert_int_equal(worker_outcome(W_EXITCODE(run_result_exit(r),
		    0), 0), r);
}

static void
test_total_source_names(void **state)
{
	(void)state;
	assert_string_equal(total_source_name(TOTAL_UNKNOWN), "unknown");
	assert_string_equal(total_source_name(TOTAL_ESTIMATE), "estimate");
	assert_string_equal(total_source_name(TOTAL_PREVIOUS), "previous");
	assert_string_equal(total_source_name(TOTAL_SOURCE_END), "unknown");
}

static void
test_err_class(void **state)
{
	(void)state;
	assert_int_equal(err_class_result(ERR_NONE), RUN_OK);
	assert_int_equal(err_class_result(ERR_TEMPORARY), RUN_RETRY);
	assert_int_equal(err_class_result(ERR_CLOSED), RUN_RETRY);
	assert_int_equal(err_class_result(ERR_PERMANENT), RUN_FAILED);
	assert_string_equal(err_class_name(ERR_TEMPORARY), "temporary");
	assert_string_equal(err_class_name(ERR_PERMANENT), "permanent");
	assert_int_equal(send_classify(EAGAIN), ERR_TEMPORARY);
	assert_int_equal(send_classify(EPERM), ERR_PERMANENT);
}

/* docs/protocol.md, "Error codes": the sender's reaction to each. */
static void
test_wire_error_class(void **state)
{
	static const struct {
		uint32_t code;
		enum err_class cls;
	} want[] = {
		{ WIRE_E_PROTOCOL, ERR_TEMPORARY },
		{ WIRE_E_VERSION, ERR_PERMANENT },
		{ WIRE_E_AUTH, ERR_PERMANENT },
		{ WIRE_E_DENIED, ERR_PERMANENT },
		{ WIRE_E_NOTFOUND, ERR_PERMANENT },
		{ WIRE_E_STREAM, ERR_TEMPORARY },
		{ WIRE_E_APPLY, ERR_PERMANENT },
		{ WIRE_E_BUSY, ERR_TEMPORARY },
		{ WIRE_E_RESOURCE, ERR_TEMPORARY },
		{ WIRE_E_TIMEOUT, ERR_TEMPORARY },
		{ WIRE_E_INTERNAL, ERR_TEMPORARY },
		{ WIRE_E_SHUTDOWN, ERR_TEMPORARY },
		{ 0, ERR_TEMPORARY },
		{ WIRE_E_MAX + 1, ERR_TEMPORARY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(wire_error_class(want[i].code), want[i].cls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_result_names),
		cmocka_unit_test(test_run_result_exit),
		cmocka_unit_test(test_total_source_names),
		cmocka_unit_test(test_err_class),
		cmocka_unit_test(test_wire_error_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
