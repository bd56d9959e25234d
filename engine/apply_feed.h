/*
 * Feeding a send stream into the apply engine: the one loop that takes
 * whole commands from a stream_reader and hands them, with every stream
 * header, to apply_header and apply_cmd in the stream's own numbering,
 * keeping, if asked, the running digest of what was fed.
 *
 * btrsendctl receive feeds a file or pipe (apply_feed_fd: a regular file
 * is mapped and parsed in place).  The network receiver lends each DATA
 * payload where the TLS read-ahead left it (apply_feed_lend): commands
 * are applied from there and only the unparsed tail of a payload is
 * copied, so the receive path stays zero-copy.
 */
#ifndef BTRSEND_ENGINE_APPLY_FEED_H
#define BTRSEND_ENGINE_APPLY_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/stream/digest.h"
#include "proto/stream/stream.h"

struct apply;
struct checkpoint;

enum apply_feed_status {
	APPLY_FEED_MORE,	/* all whole commands applied; feed more */
	APPLY_FEED_DONE,	/* the input ended cleanly */
	APPLY_FEED_ESTREAM,	/* malformed stream: f->r.err */
	APPLY_FEED_EAPPLY,	/* the engine refused: apply_error(f->a) */
	APPLY_FEED_ESTOP,	/* the first or each check refused */
	APPLY_FEED_ENOMEM,
	APPLY_FEED_EREAD,	/* read(2) failed: errno */
};

struct apply_feed {
	struct apply	*a;		/* the caller's */
	struct stream_reader r;
	/*
	 * keep_digest: keep the running digest of the stream from its byte
	 * 0 (a network receiver checks END against it); it costs a hash per
	 * command, so btrsendctl receive does not.
	 */
	bool		 keep_digest;
	struct stream_digest digest;
	/*
	 * Resumed (apply_feed_resume): the reader starts at a synthetic
	 * header, so its indexes and offsets are the stream's minus these.
	 */
	bool		 resumed;
	uint64_t	 idx_base, off_base;
	/*
	 * Called with the stream's first command before it is applied (not
	 * on a resume), or NULL; -1 stops the feed with APPLY_FEED_ESTOP.
	 */
	int		(*first)(const struct stream_cmd *c, void *arg);
	/*
	 * Called with every command fed (after first), before it is
	 * applied, or NULL; -1 stops the feed with APPLY_FEED_ESTOP.
	 */
	int		(*each)(const struct stream_cmd *c, void *arg);
	void		*arg;
	bool		 first_seen;
	uint8_t		*map;		/* apply_feed_fd's mapped file */
	size_t		 maplen, dropped;
};

/* 0, or -1 (ENOMEM).  Set keep_digest, first, each, arg afterwards. */
int	apply_feed_init(struct apply_feed *f, struct apply *a);
/* The reader and any mapping; not the apply engine.  Safe on zeroes. */
void	apply_feed_free(struct apply_feed *f);

/*
 * Continue the partial of checkpoint ck (apply_resume): the commands fed
 * next are those from ck->ncmds on.  APPLY_FEED_MORE, or an error.
 */
enum apply_feed_status apply_feed_resume(struct apply_feed *f,
	    const struct checkpoint *ck);

/* Apply every whole command the reader holds. */
enum apply_feed_status apply_feed_drain(struct apply_feed *f);
/* Apply the len bytes at p in place; p may change once this returns. */
enum apply_feed_status apply_feed_lend(struct apply_feed *f, const void *p,
	    size_t len);
/* No more input: apply what is left. */
enum apply_feed_status apply_feed_eof(struct apply_feed *f);
/* Everything fd holds, to its end. */
enum apply_feed_status apply_feed_fd(struct apply_feed *f, int fd);

/* Commands and bytes of the stream fed so far, in its own numbering. */
uint64_t apply_feed_ncmds(const struct apply_feed *f);
uint64_t apply_feed_offset(const struct apply_feed *f);

#endif
