/* Hexadecimal digits of byte strings, both ways, with length checks. */
#ifndef BTRSEND_PROTO_BASE_HEX_H
#define BTRSEND_PROTO_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

#define HEX_ANYCASE	0	/* accept a-f and A-F */
#define HEX_LOWER	1	/* accept only a-f: canonical file formats */

/* The value of one digit, or -1. */
int	hex_digit(int c, int flags);

/*
 * Write the 2 * n lowercase digits of in[0..n) and a NUL to out, which
 * holds outlen bytes; -1 (out untouched) when it is too small.
 */
int	hex_encode(char *out, size_t outlen, const void *in, size_t n);

/*
 * Decode exactly 2 * n digits at in into out[0..n).  Digits are read in
 * order and the first non-digit stops it, so a NUL-terminated string
 * shorter than 2 * n is safe to pass.  0, or -1 with out untouched.
 */
int	hex_decode(void *out, size_t n, const char *in, int flags);

#endif
