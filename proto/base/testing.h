/*
 * Fault-injection hooks for the integration tests: environment variables
 * that make a process crash, hang, pause or damage a stream on purpose.
 * They exist only in the test build (make TESTING=1 or SAN=1, which define
 * BTRSEND_TESTING).  In a release build TEST_HOOKS is 0 and
 * TEST_HOOK_ENV(name) is NULL without naming the variable, so the compiler
 * drops every hook with its strings: the shipped binaries read no test
 * variable (tests/integration/release_no_hooks.sh checks that).
 *
 * A hook is a static function that reads TEST_HOOK_ENV() and is called
 * only under `if (TEST_HOOKS ...)`, so that a release build keeps neither
 * the call nor the function (at -O0 gcc still emits the unused function,
 * without the variable's name).
 */
#ifndef BTRSEND_PROTO_BASE_TESTING_H
#define BTRSEND_PROTO_BASE_TESTING_H

#ifdef BTRSEND_TESTING
#include <stdlib.h>
#define TEST_HOOKS		1
#define TEST_HOOK_ENV(name)	getenv(name)
#else
#define TEST_HOOKS		0
#define TEST_HOOK_ENV(name)	((const char *)NULL)
#endif

#endif
