/*
 * One text line per send-stream command, byte-identical to what
 * `btrfs receive --dump` of btrfs-progs 6.2 prints (spec section 7, with
 * the pre-6.9.1 layout of set_xattr, remove_xattr, clone and
 * encoded_write).  Pure formatting: the caller reads the stream and
 * decides where the lines go.
 *
 * Faithful to progs also where progs is odd: strings end at their first
 * NUL, one trailing '/' of a path is dropped, joined paths of PATH_MAX
 * (4096) bytes or more are an error, set_xattr/remove_xattr/clone print
 * raw bytes, times follow the caller's TZ, fallocate's mode is signed
 * and fileattr is printed in decimal after "0x".
 */
#ifndef BTRSEND_PROTO_STREAM_DUMP_H
#define BTRSEND_PROTO_STREAM_DUMP_H

#include <stddef.h>
#include <stdio.h>

#include "proto/stream/stream.h"

#define DUMP_PATH_MAX 4096      /* progs' PATH_MAX path buffers */

struct dump_state {
	char	 ds_subvol[DUMP_PATH_MAX];  /* prefix: "." before any subvol */
	char	*ds_line;                   /* the last formatted line */
	size_t	 ds_len, ds_cap;
	char	 ds_err[256];               /* why dump_format failed */
};

void dump_init(struct dump_state *ds);
void dump_free(struct dump_state *ds);

/*
 * Format one command into ds_line/ds_len (with its '\n').  Returns 1 when
 * there is a line, 0 when progs prints nothing for the command (END,
 * unknown commands), -1 when progs would fail on it (ds_err says why,
 * naming the command index and byte offset).
 */
int dump_format(struct dump_state *ds, const struct stream_cmd *c);

/* dump_format, then write the line to f; -1 also on a write error. */
int dump_cmd(struct dump_state *ds, const struct stream_cmd *c, FILE *f);

#endif
