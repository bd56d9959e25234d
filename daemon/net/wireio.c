/*
 * Network messages over TLS (see wireio.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "daemon/net/wireio.h"

#ifndef BTRSEND_VERSION
#define BTRSEND_VERSION "0.1.0"
#endif

static void wireio_ka_stop(struct wireio *);

void
wireio_init(struct wireio *w, struct tls_conn *t, enum wire_role role)
{
	memset(w, 0, sizeof(*w));
	w->tls = t;
	frame_decoder_init(&w->dec, wire_rules_for(role));
	wire_fsm_init(&w->fsm, role);
	w->in = xmalloc(WIREIO_READ_CHUNK);
}

void
wireio_free(struct wireio *w)
{
	tls_reader_stop(w->tls);        /* it takes the keepalive's lock */
	w->view = 0;                    /* the ring went with it */
	if (w->ka_running) {
		wireio_ka_stop(w);
		pthread_join(w->ka_thread, NULL);
		w->tls->lock = NULL;
		pthread_cond_destroy(&w->ka_cond);
		pthread_mutex_destroy(&w->ka_lock);
		w->ka_running = false;
	}
	frame_decoder_free(&w->dec);
	msgbuf_free(&w->out);
	free(w->in);
	w->in = NULL;
}

/* Writes of whole frames exclude each other (and keepalives). */
static void
wireio_write_begin(struct wireio *w)
{
	if (!w->ka_running)
		return;
	pthread_mutex_lock(&w->ka_lock);
	while (w->ka_writing) {
		w->ka_waiters++;
		pthread_cond_wait(&w->ka_cond, &w->ka_lock);
		w->ka_waiters--;
	}
	w->ka_writing = true;
	pthread_mutex_unlock(&w->ka_lock);
}

static void
wireio_write_end(struct wireio *w, bool last)
{
	if (!w->ka_running)
		return;
	pthread_mutex_lock(&w->ka_lock);
	w->ka_writing = false;
	clock_gettime(CLOCK_MONOTONIC, &w->ka_last);
	if (last)
		w->ka_stop = true;
	/*
	 * Only a waiter needs waking: the keepalive thread finds the later
	 * ka_last when its timer ends (a wakeup per frame cost the sender
	 * two context switches per 128 KiB).
	 */
	if (w->ka_waiters > 0 || last)
		pthread_cond_broadcast(&w->ka_cond);
	pthread_mutex_unlock(&w->ka_lock);
}

static void
wireio_ka_stop(struct wireio *w)
{
	if (!w->ka_running)
		return;
	pthread_mutex_lock(&w->ka_lock);
	w->ka_stop = true;
	pthread_cond_broadcast(&w->ka_cond);
	pthread_mutex_unlock(&w->ka_lock);
}

static void *
wireio_ka_main(void *arg)
{
	struct wireio *w = arg;
	struct msgbuf b = { 0 };
	struct wire_msg m;
	struct timespec due, now;
	char why[256];
	int r;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_KEEPALIVE;
	if (wire_encode(&b, &m, why, sizeof(why)) == -1)
		return NULL;
	pthread_mutex_lock(&w->ka_lock);
	while (!w->ka_stop) {
		due = w->ka_last;
		due.tv_sec += w->ka_ms / 1000;
		due.tv_nsec += (long)(w->ka_ms % 1000) * 1000000;
		if (due.tv_nsec >= 1000000000) {
			due.tv_sec++;
			due.tv_nsec -= 1000000000;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (w->ka_writing) {
			w->ka_waiters++;
			pthread_cond_wait(&w->ka_cond, &w->ka_lock);
			w->ka_waiters--;
			continue;
		}
		if (now.tv_sec < due.tv_sec || (now.tv_sec == due.tv_sec &&
		    now.tv_nsec < due.tv_nsec)) {
			pthread_cond_timedwait(&w->ka_cond, &w->ka_lock, &due);
			continue;
		}
		w->ka_writing = true;
		pthread_mutex_unlock(&w->ka_lock);
		r = tls_write_all(w->tls, b.p, b.len, why, sizeof(why));
		pthread_mutex_lock(&w->ka_lock);
		w->ka_writing = false;
		clock_gettime(CLOCK_MONOTONIC, &w->ka_last);
		w->ka_sent++;
		pthread_cond_broadcast(&w->ka_cond);
		if (r == -1)
			break;  /* the owner sees the broken connection itself */
	}
	pthread_mutex_unlock(&w->ka_lock);
	msgbuf_free(&b);
	return NULL;
}

int
wireio_keepalive_start(struct wireio *w, int interval_ms)
{
	pthread_condattr_t ca;

	if (w->ka_running || interval_ms <= 0)
		return 0;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&w->ka_lock, NULL) != 0 ||
	    pthread_cond_init(&w->ka_cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	w->ka_ms = interval_ms;
	w->ka_stop = w->ka_writing = false;
	clock_gettime(CLOCK_MONOTONIC, &w->ka_last);
	w->tls->lock = &w->ka_lock;
	w->ka_running = true;
	if ((errno = pthread_create(&w->ka_thread, NULL, wireio_ka_main,
	    w)) != 0) {
		w->ka_running = false;
		w->tls->lock = NULL;
		pthread_cond_destroy(&w->ka_cond);
		pthread_mutex_destroy(&w->ka_lock);
		return -1;
	}
	return 0;
}

/*
 * A failure of the connection after its handshake: closed or not.  A
 * certificate refused there (the server checks ours after the client's
 * handshake ends) is retried, like any lost connection.
 */
static enum err_class
wireio_tls_class(const struct wireio *w)
{
	return w->tls->cls == ERR_CLOSED ? ERR_CLOSED : ERR_TEMPORARY;
}

bool
wireio_timed_out(const struct wireio *w)
{
	return w->tls != NULL && w->tls->timed_out;
}

int
wireio_send(struct wireio *w, const struct wire_msg *m)
{
	char why[256];
	bool data;

	if (wire_fsm_step(&w->fsm, true, m, why, sizeof(why)) == -1) {
		w->cls = ERR_TEMPORARY;
		frame_errf(w->err, sizeof(w->err), "internal: %s", why);
		return -1;
	}
	/* A DATA body (up to 8 MiB) goes from the caller's buffer. */
	data = m->type == WIRE_DATA;
	w->out.len = 0;
	if ((data ? wire_encode_head(&w->out, m, why, sizeof(why)) :
	    wire_encode(&w->out, m, why, sizeof(why))) == -1) {
		w->cls = ERR_TEMPORARY;
		frame_errf(w->err, sizeof(w->err), "cannot encode %s: %s",
		    wire_type_name(m->type), why);
		return -1;
	}
	wireio_write_begin(w);
	if (tls_write2_all(w->tls, w->out.p, w->out.len, data ?
	    m->u.data.body : NULL, data ? m->u.data.body_len : 0, why,
	    sizeof(why)) == -1) {
		wireio_write_end(w, true);
		w->cls = wireio_tls_class(w);
		frame_errf(w->err, sizeof(w->err), "sending %s: %s",
		    wire_type_name(m->type), why);
		return -1;
	}
	wireio_write_end(w, m->type == WIRE_ERROR);
	return 0;
}

void
wireio_fail(struct wireio *w, uint32_t code, const char *fmt, ...)
{
	struct wire_msg m;
	va_list ap;

	va_start(ap, fmt);
	wire_error_vset(&m, code, fmt, ap);
	va_end(ap);
	frame_errf(w->err, sizeof(w->err), "%s", m.u.error.text);
	w->cls = ERR_TEMPORARY;
	if (w->fsm.closed || w->tls->ssl == NULL)
		return;
	w->out.len = 0;
	if (wire_encode(&w->out, &m, NULL, 0) == 0 &&
	    wire_fsm_step(&w->fsm, true, &m, NULL, 0) == 0) {
		char why[256];
		int saved = w->tls->timeout_ms;

		/* Last words: not worth a whole timeout of a stalled peer. */
		if (saved == 0 || saved > 2000)
			w->tls->timeout_ms = 2000;
		wireio_write_begin(w);
		(void)tls_write_all(w->tls, w->out.p, w->out.len, why,
		    sizeof(why));
		wireio_write_end(w, true);
		w->tls->timeout_ms = saved;
	}
	wireio_ka_stop(w);
}

/*
 * What a decoder event means to wireio_frame: 0 a whole frame, 1 more
 * bytes wanted, -1 a protocol error (told to the peer).
 */
static int
wireio_event(struct wireio *w, enum frame_event ev)
{
	if (ev == FRAME_READY)
		return 0;
	if (ev == FRAME_ERROR) {
		wireio_fail(w, WIRE_E_PROTOCOL, "protocol error: %s",
		    w->dec.err);
		return -1;
	}
	return 1;
}

/* Bytes until the decoder holds one whole frame.  0 or -1. */
static int
wireio_frame(struct wireio *w)
{
	enum frame_event ev;
	char why[256];
	ssize_t n;
	int rc;
	size_t used, dlen;
	uint8_t *direct;
	const uint8_t *view;

	if (w->view > 0) {      /* the last payload is no longer needed */
		tls_view_done(w->tls, w->view);
		w->view = 0;
	}
	for (;;) {
		if (w->inoff < w->inlen) {
			ev = frame_decoder_push(&w->dec, w->in + w->inoff,
			    w->inlen - w->inoff, &used);
			w->inoff += used;
			if ((rc = wireio_event(w, ev)) != 1)
				return rc;
		}
		/*
		 * Inside a big payload: use it where the read-ahead thread
		 * put it, or read into it, not through w->in.
		 */
		if (w->inoff == w->inlen &&
		    (direct = frame_decoder_space(&w->dec, &dlen)) != NULL &&
		    dlen >= WIREIO_DIRECT_MIN) {
			if (dlen == w->dec.hdr.len &&
			    tls_view(w->tls, dlen, &view) == 1) {
				w->view = dlen;
				if (frame_decoder_adopt(&w->dec, view) ==
				    FRAME_READY)
					return 0;
				wireio_fail(w, WIRE_E_PROTOCOL, "%s", w->dec.err);
				return -1;
			}
			n = tls_read(w->tls, direct, dlen, why, sizeof(why));
		} else {
			direct = NULL;
			n = tls_read(w->tls, w->in, WIREIO_READ_CHUNK, why,
			    sizeof(why));
		}
		if (n < 0 && w->tls->timed_out) {
			/* tell the peer, if it still listens: it may resume */
			wireio_fail(w, WIRE_E_TIMEOUT, "%s", why);
			return -1;
		}
		if (n <= 0) {
			w->cls = n == 0 ? ERR_CLOSED : wireio_tls_class(w);
			frame_errf(w->err, sizeof(w->err), "%s",
			    n == 0 ? (frame_decoder_idle(&w->dec) ?
			    "connection closed by peer" :
			    "connection closed by peer inside a message") : why);
			return -1;
		}
		if (direct != NULL) {
			ev = frame_decoder_commit(&w->dec, (size_t)n);
			if ((rc = wireio_event(w, ev)) != 1)
				return rc;
			continue;
		}
		w->inlen = (size_t)n;
		w->inoff = 0;
	}
}

/* The next message, keepalives included.  0 or -1. */
static int
wireio_next(struct wireio *w, struct wire_msg *m)
{
	char why[256];
	uint32_t code;

	memset(m, 0, sizeof(*m));
	if (wireio_frame(w) == -1)
		return -1;
	if (wire_take(&w->fsm, &w->dec.hdr, w->dec.payload, m, &code, why,
	    sizeof(why)) == -1) {
		wire_msg_free(m);
		/* A version refusal says which end to upgrade, nothing more. */
		wireio_fail(w, code, code == WIRE_E_VERSION ? "%s" :
		    "protocol error: %s", why);
		return -1;
	}
	if (m->type == WIRE_ERROR) {
		wireio_ka_stop(w);
		w->peer_error = m->u.error.code;
		w->cls = wire_error_class(m->u.error.code);
		frame_errf(w->err, sizeof(w->err), "peer reports %s "
		    "error: %s", wire_error_name(m->u.error.code),
		    m->u.error.text);
		wire_msg_free(m);
		return -1;
	}
	return 0;
}

int
wireio_recv(struct wireio *w, struct wire_msg *m)
{
	for (;;) {
		if (wireio_next(w, m) == -1)
			return -1;
		if (m->type != WIRE_KEEPALIVE)
			return 0;
		wire_msg_free(m);
	}
}

int
wireio_poll(struct wireio *w, struct wire_msg *m)
{
	struct pollfd p = { w->tls->fd, POLLIN, 0 };

	memset(m, 0, sizeof(*m));
	while (w->inoff < w->inlen || tls_pending(w->tls) ||
	    poll(&p, 1, 0) == 1) {
		if (wireio_next(w, m) == -1)
			return -1;
		if (m->type != WIRE_KEEPALIVE)
			return 1;
		wire_msg_free(m);
		p.revents = 0;
	}
	return 0;
}

static int
wireio_hello_send(struct wireio *w, uint32_t caps, uint32_t stream_max)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_HELLO;
	m.u.hello.version = WIRE_VERSION;
	m.u.hello.caps = caps;
	m.u.hello.stream_version_max = stream_max;
	m.u.hello.data_max = WIRE_DATA_RAW_MAX;
	frame_errf(m.u.hello.agent, sizeof(m.u.hello.agent), "btrsend %s",
	    BTRSEND_VERSION);
	return wireio_send(w, &m);
}

int
wireio_hello(struct wireio *w, uint32_t caps, uint32_t stream_max,
    struct wire_hello *peer)
{
	struct wire_msg m;

	if (w->fsm.role == WIRE_CLIENT &&
	    wireio_hello_send(w, caps, stream_max) == -1)
		return -1;
	if (wireio_recv(w, &m) == -1)
		return -1;
	if (m.type != WIRE_HELLO) {
		wire_msg_free(&m);
		wireio_fail(w, WIRE_E_PROTOCOL, "expected hello");
		return -1;
	}
	*peer = m.u.hello;
	wire_msg_free(&m);
	if (w->fsm.role == WIRE_SERVER &&
	    wireio_hello_send(w, caps, stream_max) == -1)
		return -1;
	return 0;
}
