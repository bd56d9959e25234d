/* Numbers for people. */
#ifndef BTRSEND_PROTO_BASE_FMT_H
#define BTRSEND_PROTO_BASE_FMT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_SIZE_LEN	16	/* holds any size in either spelling */
#define FMT_SIZE_SHORT	0x1	/* "1.5K": fits a 7-column table */

/*
 * bytes in powers of 1024 with one decimal, exact below 1024: "512 B",
 * "1.5 KiB" ... "16.0 EiB"; with FMT_SIZE_SHORT "512B", "1.5K" ...
 * "16.0E" (at most 7 characters).  One scale, two spellings: the tables
 * of btrsendctl status/history/monitor are 7 columns wide.
 */
void	fmt_size(char *buf, size_t len, uint64_t bytes, int flags);

#endif
