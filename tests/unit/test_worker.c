/*
 * Exit-status mapping of workers (daemon/worker/worker.h), from the statuses of
 * real child processes that exit or die in each way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/worker/worker.h"

/* how >= 0: exit with it; < 0: die of signal -how. */
static int
child_status(int how)
{
	struct rlimit no_core = { 0, 0 };
	int st;
	pid_t pid;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (how >= 0)
			_exit(how);
		signal(-how, SIG_DFL);
		raise(-how);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(worker_outcome(child_status(RUN_EXIT_OK), 0),
	    RUN_OK);
	assert_int_equal(worker_outcome(child_status(RUN_EXIT_RETRY), 0),
	    RUN_RETRY);
	assert_int_equal(worker_outcome(child_status(RUN_EXIT_FAILED), 0),
	    RUN_FAILED);
	assert_int_equal(worker_outcome(child_status(2), 0), RUN_FAILED);
	assert_int_equal(worker_outcome(child_status(127), 0), RUN_FAILED);
	/* An exit code is what the worker decided, even after our signal. */
	assert_int_equal(worker_outcome(child_status(RUN_EXIT_OK), 1),
	    RUN_OK);
}

static void
test_signals(void **state)
{
	(void)state;
	/* A crash fails the run ... */
	assert_int_equal(worker_outcome(child_status(-SIGSEGV), 0),
	    RUN_FAILED);
	assert_int_equal(worker_outcome(child_status(-SIGABRT), 0),
	    RUN_FAILED);
	/* ... unless we killed it (timeout, shutdown): then retry. */
	assert_int_equal(worker_outcome(child_status(-SIGSEGV), 1),
	    RUN_RETRY);
	/* Stopped from outside (OOM killer, admin): retry too. */
	assert_int_equal(worker_outcome(child_status(-SIGKILL), 0),
	    RUN_RETRY);
	assert_int_equal(worker_outcome(child_status(-SIGTERM), 0),
	    RUN_RETRY);
}

static void
test_status_strings(void **state)
{
	char buf[128];

	(void)state;
	worker_status_str(child_status(3), buf, sizeof(buf));
	assert_string_equal(buf, "exit 3");
	worker_status_str(child_status(-SIGSEGV), buf, sizeof(buf));
	assert_non_null(strstr(buf, "killed by signal 11"));
	assert_string_equal(run_result_name(RUN_RETRY), "retry");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_status_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
