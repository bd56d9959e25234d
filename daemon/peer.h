/*
 * A framed channel to one peer on a non-blocking stream socket: the
 * parent's end of a job worker's channel and each control client.  A
 * libevent bufferevent reads at most PEER_READ_HIGH bytes ahead (its
 * high watermark); a frame decoder (proto/msg/frame.h) under the
 * channel's rules cuts that input into frames, handed to the owner one at
 * a time; the output is bounded, so a peer that does not read what it is
 * sent costs memory up to the bound and is then dropped, never a wait.
 */
#ifndef BTRSEND_DAEMON_PEER_H
#define BTRSEND_DAEMON_PEER_H

#include <stddef.h>

#include "proto/msg/frame.h"

#define PEER_READ_HIGH	(64u << 10)	/* input read ahead of the decoder */

struct event_base;
struct peer;

/*
 * The owner's callbacks, with its arg.  From frame and bad the owner may
 * send, stop and close the peer, but not free it.
 */
struct peer_cb {
	/* One frame: d->hdr, d->payload (valid during the call), d->nframes. */
	void	(*frame)(struct peer *, const struct frame_decoder *d,
		    void *arg);
	/* The input broke the channel's rules (why); reading has stopped. */
	void	(*bad)(struct peer *, const char *why, void *arg);
	/*
	 * The channel ended: error is 0 at end of file or once peer_close's
	 * output is written, else the errno of the failed read or write.
	 * The owner peer_frees it, here or later, and uses it no more.
	 */
	void	(*closed)(struct peer *, int error, void *arg);
};

/*
 * Take over fd (closed by peer_free) and read frames under rules from
 * now on; outmax bounds the bytes waiting to be written.
 */
struct peer *peer_new(struct event_base *base, int fd,
	    const struct frame_rules *rules, size_t outmax,
	    const struct peer_cb *cb, void *arg);
void	peer_free(struct peer *p);
/* For writing around the output, while it is empty. */
int	peer_fd(const struct peer *p);
/*
 * Queue len bytes.  When the output would then hold more than outmax,
 * the peer does not read: what waits is dropped, the peer closes (as
 * peer_close) and -1 is returned.  A closing peer takes nothing more.
 */
int	peer_send(struct peer *p, const void *buf, size_t len);
/* Bytes queued and not yet written. */
size_t	peer_pending(const struct peer *p);
/* Hand over no more frames; the socket stays open. */
void	peer_stop(struct peer *p);
/* Stop; closed is called, from the loop, once the output is written. */
void	peer_close(struct peer *p);
int	peer_closing(const struct peer *p);
/*
 * Read and hand over, now, everything the socket holds, up to its end
 * (then closed is called): the last frames of a peer known to be gone.
 */
void	peer_drain(struct peer *p);

#endif
