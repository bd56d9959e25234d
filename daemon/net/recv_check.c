/*
 * A stream against its BEGIN (see recv_check.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/net/recv_check.h"

void
recv_check_init(struct recv_check *k, const struct wire_begin *b,
    bool resumed)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", b->name);
	k->snap = b->id.snap;
	k->parent = b->id.parent;
	k->subvol = resumed;
}

/* What differs between the first command and BEGIN, or NULL. */
static const char *
recv_check_differs(const struct recv_check *k, const struct stream_cmd *c)
{
	static const uint8_t zero[16];
	bool has_parent = memcmp(k->parent.uuid, zero, 16) != 0;
	const uint8_t *name;
	uint32_t len;
	uint8_t uuid[16];
	uint64_t ctransid;

	if (c->type != SEND_C_SUBVOL && c->type != SEND_C_SNAPSHOT)
		return "it does not begin with SUBVOL or SNAPSHOT";
	if (stream_get_bytes(c, SEND_A_PATH, &name, &len) == -1 ||
	    len != strlen(k->name) || memcmp(name, k->name, len) != 0)
		return "its subvolume has another name";
	if (stream_get_uuid(c, SEND_A_UUID, uuid) == -1 ||
	    memcmp(uuid, k->snap.uuid, 16) != 0)
		return "its subvolume has another uuid";
	if (stream_get_u64(c, SEND_A_CTRANSID, &ctransid) == -1 ||
	    ctransid != k->snap.ctransid)
		return "its subvolume has another ctransid";
	if (has_parent != (c->type == SEND_C_SNAPSHOT))
		return has_parent ? "it is a full stream (SUBVOL), BEGIN "
		    "announced an incremental one" : "it is incremental "
		    "(SNAPSHOT), BEGIN announced a full one";
	if (!has_parent)
		return NULL;
	if (stream_get_uuid(c, SEND_A_CLONE_UUID, uuid) == -1 ||
	    memcmp(uuid, k->parent.uuid, 16) != 0)
		return "its parent has another uuid";
	/* A sender that gives no parent ctransid (0) leaves it to apply. */
	if (stream_get_u64(c, SEND_A_CLONE_CTRANSID, &ctransid) == -1 ||
	    (k->parent.ctransid != 0 && ctransid != k->parent.ctransid))
		return "its parent has another ctransid";
	return NULL;
}

int
recv_check_cmd(struct recv_check *k, const struct stream_cmd *c,
    uint32_t *code, char *err, size_t errlen)
{
	const char *why;

	*code = WIRE_E_DENIED;
	if (k->subvol && (c->type == SEND_C_SUBVOL ||
	    c->type == SEND_C_SNAPSHOT)) {
		frame_errf(err, errlen, "command %" PRIu64 " (%s): a second "
		    "subvolume in one transfer; it carries only the subvolume "
		    "'%s' its BEGIN announced", c->index,
		    stream_cmd_name(c->type), k->name);
		return -1;
	}
	if (k->ended) {
		frame_errf(err, errlen, "command %" PRIu64 " (%s) follows the "
		    "stream's END; a transfer carries only the subvolume '%s' "
		    "its BEGIN announced", c->index, stream_cmd_name(c->type),
		    k->name);
		return -1;
	}
	if (!k->subvol) {
		if ((why = recv_check_differs(k, c)) != NULL) {
			frame_errf(err, errlen, "command %" PRIu64 ": the "
			    "stream does not create the announced subvolume "
			    "'%s': %s", c->index, k->name, why);
			return -1;
		}
		k->subvol = true;
	}
	if (c->type == SEND_C_END)
		k->ended = true;
	return 0;
}

int
recv_check_end(const struct recv_check *k, const struct wire_point *end,
    uint64_t ncmds, uint64_t offset, const struct stream_digest *applied,
    char *err, size_t errlen)
{
	char want[STREAM_DIGEST_HEXLEN], got[STREAM_DIGEST_HEXLEN];

	if (end->index == ncmds && end->offset == offset &&
	    memcmp(end->digest.d, applied->d, STREAM_DIGEST_LEN) == 0)
		return 0;
	stream_digest_hex(&end->digest, want);
	stream_digest_hex(applied, got);
	frame_errf(err, errlen, "the sender's totals of '%s' (%" PRIu64
	    " commands, %" PRIu64 " bytes, digest %.16s...) differ from what "
	    "was applied (%" PRIu64 ", %" PRIu64 ", digest %.16s...)", k->name,
	    end->index, end->offset, want, ncmds, offset, got);
	return -1;
}
