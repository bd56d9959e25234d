/*
 * The receive worker's check of a send stream against the BEGIN that
 * announced it, as a pure state machine (no I/O): recv_worker.c runs it
 * on every command before the apply engine sees the command, and
 * tests/fuzz/fuzz_wire.c drives it with the DATA a hostile client sends.
 *
 * One transfer carries exactly one subvolume, the one BEGIN announced
 * (docs/protocol.md §5, "One subvolume per transfer"):
 *   - the first command is SUBVOL (BEGIN has no parent) or SNAPSHOT (BEGIN
 *     has one) with BEGIN's name, uuid and ctransid, and for SNAPSHOT the
 *     parent uuid of BEGIN (and its ctransid when BEGIN gives one);
 *   - no second SUBVOL or SNAPSHOT, and nothing after the stream's END;
 *   - the wire END's totals and digest are those of what was applied,
 *     checked before the subvolume is finished.
 * A resumed transfer starts past its SUBVOL or SNAPSHOT: none may follow.
 */
#ifndef BTRSEND_DAEMON_NET_RECV_CHECK_H
#define BTRSEND_DAEMON_NET_RECV_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg/wire.h"
#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

struct recv_check {
	char name[WIRE_NAME_MAX + 1];
	struct wire_ref snap, parent;   /* as BEGIN announced them */
	bool subvol;                    /* its SUBVOL/SNAPSHOT was taken */
	bool ended;                     /* the stream's END was taken */
};

/* resumed: the partial already holds the announced SUBVOL/SNAPSHOT. */
void recv_check_init(struct recv_check *k, const struct wire_begin *b,
    bool resumed);
/*
 * One command of the stream, in order, before it is applied.  0, or -1
 * with a message naming the command (absolute index) and *code, the
 * WIRE_E_* to refuse the transfer with.
 */
int  recv_check_cmd(struct recv_check *k, const struct stream_cmd *c,
    uint32_t *code, char *err, size_t errlen);
/*
 * The wire END against what was applied: commands, bytes and digest of
 * the stream from its byte 0.  0, or -1 with a message (the subvolume
 * must not be finished: WIRE_E_STREAM).
 */
int  recv_check_end(const struct recv_check *k, const struct wire_point *end,
    uint64_t ncmds, uint64_t offset, const struct stream_digest *applied,
    char *err, size_t errlen);

#endif
