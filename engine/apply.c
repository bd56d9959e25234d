/*
 * Receive/apply engine: input position, digest, resume skipping and
 * checkpoint pacing.  The filesystem work is in apply_fs.c, subvolume
 * life cycle in apply_subvol.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "engine/apply_impl.h"

int
apply_fail(struct apply *a, int err, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	a->errnum = err;
	if (a->cur != NULL)
		n = snprintf(a->err, sizeof(a->err),
		    "command %llu (%s) at byte offset %llu: ",
		    (unsigned long long)a->cur->index,
		    stream_cmd_name(a->cur->type),
		    (unsigned long long)a->cur->offset);
	if (n < 0 || (size_t)n >= sizeof(a->err))
		n = 0;
	snprintf(a->err + n, sizeof(a->err) - n, "%s%s%s", why,
	    err ? ": " : "", err ? strerror(err) : "");
	return -1;
}

struct apply *
apply_new(int dirfd, const struct apply_opts *o)
{
	struct apply *a;
	size_t i;

	a = xcalloc(1, sizeof(*a));
	if (o != NULL)
		a->o = *o;
	if (a->o.ckpt_bytes == 0)
		a->o.ckpt_bytes = APPLY_CKPT_BYTES_DEFAULT;
	if (a->o.ckpt_msecs == 0)
		a->o.ckpt_msecs = APPLY_CKPT_MSECS_DEFAULT;
	if (a->o.plain_dir)
		a->o.force_decompress = true;   /* not btrfs, or not ours */
	a->o.single_file = a->o.single_file && a->o.plain_dir;
	a->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (a->dirfd == -1) {
		free(a);
		return NULL;
	}
	a->subfd = a->fd_file = a->clone_fd = a->progress_fd = -1;
	a->defer_fd = -1;
	a->ck_snap = -1;
	for (i = 0; i < APPLY_NDIRS; i++)
		a->dirs[i].fd = -1;
	a->wbuf = xmalloc(APPLY_WBUF);
	stream_digest_init(&a->digest);
	return a;
}

void
apply_clear_subvol(struct apply *a)
{
	(void)apply_sync_wait(a);
	apply_close_caches(a);
	if (a->subfd != -1)
		close(a->subfd);
	a->subfd = -1;
	apply_defer_close(a);
	a->root_flags = 0;
	apply_progress_close(a, false);
	a->sub = SUB_NONE;
	a->resuming = a->sealed = a->tolerant = a->resumed = false;
	a->lost = false;
	a->rule_synced = false;
	a->end_held = false;
	a->pub_pending = false;
	a->ck_snap = -1;
	apply_plain_clear(a);
}

void
apply_free(struct apply *a)
{
	size_t i;

	if (a == NULL)
		return;
	apply_clear_subvol(a);
	apply_sync_free(a);
	if (a->clone_fd != -1)
		close(a->clone_fd);
	for (i = 0; i < a->nsubvs; i++)
		free(a->subvs[i].rel);
	free(a->subvs);
	free(a->wbuf);
	for (i = 0; i < WARN_NKINDS; i++)
		free(a->warns[i].first);
	free(a->warn_text);
	close(a->dirfd);
	free(a);
}

void
apply_set_summary_cb(struct apply *a,
    void (*cb)(const struct apply_summary *, void *), void *arg)
{
	a->cb = cb;
	a->cbarg = arg;
}

const char *
apply_error(const struct apply *a)
{
	return a->err;
}

int
apply_errno(const struct apply *a)
{
	return a->errnum;
}

uint64_t
apply_nfinished(const struct apply *a)
{
	return a->nfinished;
}

int
apply_header(struct apply *a, const uint8_t *hdr, size_t len, uint64_t offset)
{
	uint32_t v;

	a->cur = NULL;
	if (len != STREAM_HEADER_LEN || offset != a->pos) {
		a->errnum = 0;
		snprintf(a->err, sizeof(a->err),
		    "stream header at byte offset %llu: out of sequence",
		    (unsigned long long)offset);
		return -1;
	}
	v = hdr[13] | hdr[14] << 8 | hdr[15] << 16 | (uint32_t)hdr[16] << 24;
	a->version = v;
	stream_digest_add(&a->digest, hdr, len);
	a->pos += len;
	return 0;
}

static uint64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Publish progress now, or once the merged writes reach the kernel. */
static void
apply_progress_note(struct apply *a)
{
	if (a->sub != SUB_ACTIVE || a->resuming || a->sealed || a->lost ||
	    a->end_held || a->pinned)
		return;
	if (a->wlen == 0 && !a->mk.on) {
		a->pub_pending = false;
		apply_progress_publish(a, a->next_index, a->pos, &a->digest);
		return;
	}
	a->pub_pending = true;
	a->pub_ncmds = a->next_index;
	a->pub_offset = a->pos;
	a->pub_digest = a->digest;
}

static bool
apply_ckpt_due(struct apply *a)
{
	if (a->sub != SUB_ACTIVE || a->resuming || a->sealed || a->end_held ||
	    a->pinned)
		return false;
	if (a->o.ckpt_bytes != UINT64_MAX &&
	    a->pos - a->ck_pos >= a->o.ckpt_bytes)
		return true;
	return a->o.ckpt_msecs != UINT32_MAX &&
	    ms_since(&a->ck_time) >= a->o.ckpt_msecs;
}

/* A subvolume is being written: checkpoints have something to name. */
static bool
apply_ckpt_active(const struct apply *a)
{
	return a->sub == SUB_ACTIVE && !a->resuming && !a->sealed &&
	    !a->end_held;
}

/* Every APPLY_FLUSH_AHEAD bytes, start writing back (apply_sync.c). */
static int
apply_flush_ahead(struct apply *a)
{
	if (!apply_ckpt_active(a) || a->pos - a->flush_pos < APPLY_FLUSH_AHEAD ||
	    apply_sync_idle(a) != 1)
		return 0;
	if (apply_flush(a) == -1)
		return -1;
	a->flush_pos = a->pos;
	return apply_sync_flush(a);
}

/* Skipping the prefix a partial already holds; check it on arrival. */
static int
apply_skip_check(struct apply *a, const struct stream_cmd *c)
{
	char want[STREAM_DIGEST_HEXLEN], got[STREAM_DIGEST_HEXLEN];

	if (c->index < a->resume_index)
		return 1;
	a->resuming = false;
	if (memcmp(&a->digest, &a->resume_digest, sizeof(a->digest)) == 0) {
		log_info("%s: resuming at command %llu (byte offset %llu)",
		    a->name, (unsigned long long)c->index,
		    (unsigned long long)c->offset);
		return 0;
	}
	stream_digest_hex(&a->resume_digest, want);
	stream_digest_hex(&a->digest, got);
	log_warnx("%s: stream prefix differs from the checkpoint "
	    "(digest %.16s..., checkpoint %.16s...); partial discarded",
	    a->name, got, want);
	apply_drop_partial(a);
	return apply_fail(a, 0, "stream does not match the partial of %s "
	    "(discarded; run again to start over)", a->name);
}

/* Taken, counted, but not finished: apply_commit does that. */
static int
apply_hold_end(struct apply *a)
{
	a->end_held = true;
	a->end_index = a->next_index;
	a->end_pos = a->pos;
	a->end_digest = a->digest;
	return 0;
}

/*
 * The END held is given up (input cut, a mismatch, a failed finish): the
 * position goes back to before it, so a checkpoint of the partial never
 * lies past an END that was not finished, and a resume sends it again.
 */
static void
apply_unhold(struct apply *a)
{
	if (!a->end_held)
		return;
	a->end_held = false;
	a->next_index = a->end_index;
	a->pos = a->end_pos;
	a->digest = a->end_digest;
}

static int
apply_dispatch(struct apply *a, const struct stream_cmd *c)
{
	int rc;

	switch (c->type) {
	case SEND_C_SUBVOL:
	case SEND_C_SNAPSHOT:
		if (c->type == SEND_C_SNAPSHOT && a->o.plain_dir)
			return apply_fail(a, 0, "SNAPSHOT in a subtree stream: "
			    "a plain directory is only ever restored in full");
		if (a->sub != SUB_NONE && a->o.hold_end)
			return apply_fail(a, 0, "a second subvolume in a stream "
			    "that carries one");
		if (a->sub != SUB_NONE && apply_subvol_end(a) == -1)
			return -1;
		return apply_subvol_begin(a, c);
	case SEND_C_END:
		if (a->sub == SUB_NONE)
			return 0;
		if (a->o.hold_end)
			return apply_hold_end(a);
		return apply_subvol_end(a);
	default:
		break;
	}
	if (a->sub == SUB_NONE)
		return apply_fail(a, 0, "command outside a subvolume "
		    "(no SUBVOL or SNAPSHOT before it)");
	if (a->sub == SUB_SKIP || a->resuming || a->sealed)
		return 0;
	rc = apply_fs_dispatch(a, c);
	if (rc == 0) {
		a->s_ncmds++;
		a->s_bytes += STREAM_CMD_HEADER_LEN + c->len;
	}
	return rc;
}

int
apply_cmd(struct apply *a, const struct stream_cmd *c)
{
	int rc;

	a->cur = c;
	if (a->end_held)
		return apply_fail(a, 0, "a command after the stream's END");
	if (c->offset != a->pos || c->index != a->next_index)
		return apply_fail(a, 0, "out of sequence (engine expects "
		    "command %llu at byte offset %llu)",
		    (unsigned long long)a->next_index,
		    (unsigned long long)a->pos);
	if (a->resuming && a->sub == SUB_ACTIVE) {
		rc = apply_skip_check(a, c);
		if (rc == -1)
			return -1;
		if (rc == 0 && a->sealed)
			a->resuming = false;
	}
	if (c->type == SEND_C_END && a->resuming)
		return apply_fail(a, 0, "stream ended before the checkpoint of "
		    "the partial %s", a->staging);
	if (apply_dispatch(a, c) == -1)
		return -1;
	stream_digest_add(&a->digest, c->raw, STREAM_CMD_HEADER_LEN);
	a->pos += STREAM_CMD_HEADER_LEN + c->len;
	a->next_index = c->index + 1;
	apply_progress_note(a);
	if (apply_ckpt_due(a))
		return apply_checkpoint_async(a);
	if (a->ck_pending)
		return apply_ckpt_active(a) && apply_sync_idle(a) == 1 ?
		    apply_checkpoint_async(a) : 0;
	return apply_flush_ahead(a);
}

int
apply_checkpoint(struct apply *a)
{
	if (!apply_ckpt_active(a))
		return 0;
	return apply_write_checkpoint(a, true, false);
}

int
apply_checkpoint_start(struct apply *a, bool wait)
{
	if (!apply_ckpt_active(a))
		return 0;
	if (!wait && apply_sync_idle(a) == 0) {
		a->ck_pending = true;
		return 0;
	}
	return apply_checkpoint_async(a);
}

int
apply_commit(struct apply *a)
{
	struct stream_digest d;
	uint64_t next, pos;

	a->cur = NULL;
	if (!a->end_held)
		return apply_fail(a, 0, "the stream did not end its subvolume "
		    "%s (no END command)", a->sub != SUB_NONE ? a->name : "");
	next = a->next_index;
	pos = a->pos;
	d = a->digest;
	/* finished as when END is applied: sealed at the point before it */
	apply_unhold(a);
	if (apply_subvol_end(a) == -1)
		return -1;
	a->next_index = next;
	a->pos = pos;
	a->digest = d;
	return 0;
}

int
apply_finish(struct apply *a)
{
	a->cur = NULL;
	apply_unhold(a);
	if (a->sub == SUB_NONE)
		return 0;
	if (a->sub == SUB_ACTIVE && !a->resuming && !a->sealed &&
	    apply_write_checkpoint(a, true, false) == -1) {
		apply_clear_subvol(a);
		return -1;
	}
	a->errnum = 0;
	snprintf(a->err, sizeof(a->err), "input ended inside subvolume %s "
	    "at byte offset %llu (command %llu); partial %s kept for resume",
	    a->name, (unsigned long long)a->pos,
	    (unsigned long long)a->next_index, a->staging);
	apply_clear_subvol(a);
	return -1;
}

void
apply_abort(struct apply *a, bool keep_partial)
{
	apply_unhold(a);
	if (a->sub == SUB_ACTIVE) {
		if (keep_partial && !a->resuming && !a->sealed)
			(void)apply_write_checkpoint(a, true, false);
		else if (!keep_partial)
			apply_drop_partial(a);
	}
	apply_clear_subvol(a);
}
