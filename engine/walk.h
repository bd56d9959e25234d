/*
 * Engine-private: the subtree stream producer (docs/protocol.md, "The
 * subtree stream").  A subtree of a read-only snapshot becomes a send
 * stream by walking the directory tree instead of BTRFS_IOC_SEND:
 *
 *	walk_open()	resolve the path beneath the snapshot (no symlink
 *			followed) and say whether it names a file
 *	walk_run()	write the whole stream into a pipe (send.c runs it
 *			in the thread the kernel's send would use)
 *	walk_estimate()	the file data bytes the stream will carry
 *
 * The same snapshot and parameters always give the same bytes: a resume
 * regenerates the stream and checks the digest of the skipped prefix.
 */
#ifndef BTRSEND_ENGINE_WALK_H
#define BTRSEND_ENGINE_WALK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/send.h"

struct walk;

/* *wp, and st->is_file set; -1 with e (the path, a symlink, ...). */
int  walk_open(struct walk **wp, struct send_subtree *st, uint32_t version,
    int no_data, struct send_error *e);
/* 0, or an errno with walk_errmsg() saying what failed. */
int  walk_run(struct walk *w, int out, atomic_int *cancel);
int  walk_estimate(struct walk *w, uint64_t *total);
const char *walk_errmsg(const struct walk *w);
void walk_free(struct walk *w);

#endif
