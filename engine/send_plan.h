/*
 * Engine-private: what each BTRFS_IOC_SEND of a send_params will be
 * given.  Resolution follows `btrfs send` (spec 5.4) so that the bytes
 * are identical for the same arguments.
 */
#ifndef BTRSEND_ENGINE_SEND_PLAN_H
#define BTRSEND_ENGINE_SEND_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "engine/send.h"

struct send_plan_item {
	char *path;
	uint64_t root;                  /* root id of the snapshot */
	uint64_t parent_root;           /* 0: full send */
	uint64_t *clones;               /* root ids handed to the ioctl */
	size_t nclones;
	/* As the stream carries them (received uuid when set), see send.h. */
	uint8_t uuid[16];
	uint8_t parent_uuid[16];        /* zero for a full send */
	uint8_t (*clone_uuids)[16];
};

struct send_plan {
	struct send_plan_item *items;
	size_t n;
	uint64_t flags;                 /* BTRFS_SEND_FLAG_* for every ioctl */
	uint32_t version;               /* requested; 0 = kernel's highest */
};

int  send_plan_make(const struct send_params *p, struct send_plan *plan,
    struct send_error *e);
void send_plan_free(struct send_plan *plan);
/*
 * Fill e: class from errnum, message from fmt and " (strerror)" when
 * errnum is not 0.  send_seterr_named is for a message that already
 * names errnum's cause: nothing is appended.
 */
void send_seterr(struct send_error *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void send_seterr_named(struct send_error *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
