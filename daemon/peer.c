/*
 * Framed channel to one peer (see peer.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon/peer.h"
#include "proto/base/log.h"

struct peer {
	struct bufferevent	*bev;
	struct frame_decoder	 dec;
	size_t			 outmax;
	struct peer_cb		 cb;
	void			*arg;
	int			 stopped;	/* no more frames */
	int			 closing;	/* closed once output is out */
	int			 dropped;	/* the output is not written */
};

/* Hand the frames in buf to the owner; the bytes taken. */
static size_t
peer_feed(struct peer *p, const uint8_t *buf, size_t len)
{
	enum frame_event e;
	size_t off = 0, used;

	while (!p->stopped && off < len) {
		e = frame_decoder_push(&p->dec, buf + off, len - off, &used);
		off += used;
		if (e == FRAME_READY)
			p->cb.frame(p, &p->dec, p->arg);
		else if (e == FRAME_ERROR) {
			peer_stop(p);
			p->cb.bad(p, p->dec.err, p->arg);
		}
	}
	return off;
}

/* What the bufferevent read, chunk by chunk. */
static void
peer_input(struct peer *p)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	struct evbuffer_iovec v;

	while (!p->stopped && evbuffer_peek(in, -1, NULL, &v, 1) > 0)
		evbuffer_drain(in, peer_feed(p, v.iov_base, v.iov_len));
	if (p->stopped)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
peer_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	peer_input(arg);
}

/* The output is written: a closing peer ends here. */
static void
peer_writecb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;

	if (p->closing && (p->dropped ||
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0))
		p->cb.closed(p, 0, p->arg);
}

static void
peer_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;
	int error = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_ERROR)
		p->cb.closed(p, error != 0 ? error : EIO, p->arg);
	else if (what & BEV_EVENT_EOF)
		p->cb.closed(p, 0, p->arg);
}

struct peer *
peer_new(struct event_base *base, int fd, const struct frame_rules *rules,
    size_t outmax, const struct peer_cb *cb, void *arg)
{
	struct peer *p;

	p = xcalloc(1, sizeof(*p));
	p->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL)
		fatalx("bufferevent_socket_new");
	frame_decoder_init(&p->dec, rules);
	p->outmax = outmax;
	p->cb = *cb;
	p->arg = arg;
	bufferevent_setcb(p->bev, peer_readcb, peer_writecb, peer_eventcb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, PEER_READ_HIGH);
	if (bufferevent_enable(p->bev, EV_READ | EV_WRITE) == -1)
		fatalx("bufferevent_enable");
	return p;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	bufferevent_free(p->bev);
	frame_decoder_free(&p->dec);
	free(p);
}

int
peer_fd(const struct peer *p)
{
	return bufferevent_getfd(p->bev);
}

int
peer_send(struct peer *p, const void *buf, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);

	if (p->closing)
		return 0;
	if (evbuffer_get_length(out) + len > p->outmax) {
		/* Only the bufferevent may drain its output: stop writing it. */
		p->dropped = 1;
		bufferevent_disable(p->bev, EV_WRITE);
		peer_close(p);
		return -1;
	}
	if (bufferevent_write(p->bev, buf, len) == -1)
		fatalx("bufferevent_write");
	return 0;
}

size_t
peer_pending(const struct peer *p)
{
	if (p->dropped)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(p->bev));
}

void
peer_stop(struct peer *p)
{
	p->stopped = 1;
	bufferevent_disable(p->bev, EV_READ);
}

void
peer_close(struct peer *p)
{
	if (p->closing)
		return;
	peer_stop(p);
	p->closing = 1;
	/* Its socket may never turn writable: close from the loop. */
	if (peer_pending(p) == 0)
		bufferevent_trigger(p->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

int
peer_closing(const struct peer *p)
{
	return p->closing;
}

void
peer_drain(struct peer *p)
{
	uint8_t buf[8192];
	ssize_t n;

	peer_input(p);
	while (!p->stopped) {
		n = read(peer_fd(p), buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			peer_stop(p);
			p->cb.closed(p, n == -1 ? errno : 0, p->arg);
			return;
		}
		peer_feed(p, buf, (size_t)n);
	}
}
