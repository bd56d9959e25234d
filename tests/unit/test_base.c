/*
 * The base layer's helpers (proto/base): the hex codec, the size
 * formatter, the JSON emitter and the atomic file replace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/base/hex.h"

static void
test_hex_round_trip(void **state)
{
	const uint8_t in[] = { 0x00, 0x7f, 0x80, 0xff, 0xa5 };
	uint8_t out[5];
	char s[11];

	(void)state;
	assert_int_equal(hex_encode(s, sizeof(s), in, sizeof(in)), 0);
	assert_string_equal(s, "007f80ffa5");
	assert_int_equal(hex_decode(out, sizeof(out), s, HEX_LOWER), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* One byte short for the NUL: refused, nothing written. */
	memset(s, 'z', sizeof(s));
	assert_int_equal(hex_encode(s, sizeof(s) - 1, in, sizeof(in)), -1);
	assert_int_equal(s[0], 'z');
	assert_int_equal(hex_encode(s, 1, in, 0), 0);
	assert_string_equal(s, "");
}

static void
test_hex_decode_refuses(void **state)
{
	uint8_t out[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(hex_decode(out, 2, "AbCd", HEX_ANYCASE), 0);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(out[1], 0xcd);
	out[0] = 1;
	assert_int_equal(hex_decode(out, 2, "AbCd", HEX_LOWER), -1);
	/* Short strings stop at their NUL; a bad digit late leaves out. */
	assert_int_equal(hex_decode(out, 2, "ab", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 1, "a", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 1, "", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 2, "abcg", HEX_ANYCASE), -1);
	assert_int_equal(hex_decode(out, 2, "ab c", HEX_ANYCASE), -1);
	assert_int_equal(out[0], 1);
	assert_int_equal(hex_digit('f', HEX_LOWER), 15);
	assert_int_equal(hex_digit('F', HEX_LOWER), -1);
	assert_int_equal(hex_digit('F', HEX_ANYCASE), 15);
	assert_int_equal(hex_digit('g', HEX_ANYCASE), -1);
	assert_int_equal(hex_digit('\0', HEX_ANYCASE), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_decode_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
