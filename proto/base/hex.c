#include <string.h>

#include "proto/base/hex.h"

int
hex_digit(int c, int flags)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F' && !(flags & HEX_LOWER))
		return c - 'A' + 10;
	return -1;
}

int
hex_encode(char *out, size_t outlen, const void *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;
	size_t i;

	if (n > (SIZE_MAX - 1) / 2 || outlen < 2 * n + 1)
		return -1;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

int
hex_decode(void *out, size_t n, const char *in, int flags)
{
	uint8_t *o = out;
	size_t i;

	if (n > SIZE_MAX / 2)
		return -1;
	/* Check every digit first: a bad one late on leaves out untouched. */
	for (i = 0; i < 2 * n; i++)
		if (hex_digit(in[i], flags) == -1)
			return -1;
	for (i = 0; i < n; i++)
		o[i] = (uint8_t)(hex_digit(in[2 * i], flags) << 4 |
		    hex_digit(in[2 * i + 1], flags));
	return 0;
}
