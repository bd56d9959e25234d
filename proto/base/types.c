/*
 * Names of the shared value types.  The words are on disk (state and
 * history files) and in --json outputs: they must not change.
 */
#include <string.h>

#include "proto/base/types.h"

_Static_assert(RUN_NEVER == 0 && RUN_OK == 1 && RUN_RETRY == 2 &&
    RUN_FAILED == 3 && RUN_RUNNING == 4, "control and IPC result bytes");
_Static_assert(TOTAL_UNKNOWN == 0 && TOTAL_ESTIMATE == 1 &&
    TOTAL_PREVIOUS == 2, "control and IPC total source bytes");
_Static_assert(RUN_EXIT_OK == 0 && RUN_EXIT_FAILED == 1 &&
    RUN_EXIT_RETRY == 75, "worker exit statuses");
_Static_assert(SNAP_NAME_MAX == 255 && JOB_NAME_MAX == 64,
    "wire, control and btrsend.conf(5) name limits");

static const char *const run_result_names[RUN_RESULT_END] = {
	[RUN_NEVER] = "never", [RUN_OK] = "ok", [RUN_RETRY] = "retry",
	[RUN_FAILED] = "failed", [RUN_RUNNING] = "running",
};

static const char *const total_source_names[TOTAL_SOURCE_END] = {
	[TOTAL_UNKNOWN] = "unknown", [TOTAL_ESTIMATE] = "estimate",
	[TOTAL_PREVIOUS] = "previous",
};

const char *
run_result_name(enum run_result r)
{
	return (unsigned)r < RUN_RESULT_END ? run_result_names[r] : "unknown";
}

int
run_result_parse(const char *s, enum run_result *r)
{
	int i;

	for (i = 0; i < RUN_RESULT_END; i++)
		if (strcmp(s, run_result_names[i]) == 0) {
			*r = (enum run_result)i;
			return 0;
		}
	return -1;
}

int
run_result_final(enum run_result r)
{
	return r == RUN_OK || r == RUN_RETRY || r == RUN_FAILED;
}

int
run_result_exit(enum run_result r)
{
	switch (r) {
	case RUN_OK:
		return RUN_EXIT_OK;
	case RUN_RETRY:
		return RUN_EXIT_RETRY;
	default:
		return RUN_EXIT_FAILED;
	}
}

const char *
total_source_name(enum total_source s)
{
	return (unsigned)s < TOTAL_SOURCE_END ? total_source_names[s] :
	    "unknown";
}

const char *
err_class_name(enum err_class c)
{
	switch (c) {
	case ERR_NONE:
		return "ok";
	case ERR_TEMPORARY:
		return "temporary";
	case ERR_CLOSED:
		return "closed";
	case ERR_PERMANENT:
	default:
		return "permanent";
	}
}

enum run_result
err_class_result(enum err_class c)
{
	switch (c) {
	case ERR_NONE:
		return RUN_OK;
	case ERR_PERMANENT:
		return RUN_FAILED;
	default:
		return RUN_RETRY;
	}
}
