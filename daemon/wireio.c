/*
 * Network messages over TLS (see wireio.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/wireio.h"

#ifndef BTRSEND_VERSION
#define BTRSEND_VERSION "0.1.0"
#endif

void
wireio_init(struct wireio *w, struct tls_conn *t, enum wire_role role)
{
	memset(w, 0, sizeof(*w));
	w->tls = t;
	frame_decoder_init(&w->dec, &wire_rules);
	wire_fsm_init(&w->fsm, role);
	w->in = xmalloc(WIREIO_READ_CHUNK);
}

void
wireio_free(struct wireio *w)
{
	frame_decoder_free(&w->dec);
	wire_buf_free(&w->out);
	free(w->in);
	w->in = NULL;
}

int
wireio_send(struct wireio *w, const struct wire_msg *m)
{
	char why[256];

	if (wire_fsm_step(&w->fsm, true, m, why, sizeof(why)) == -1) {
		frame_errf(w->err, sizeof(w->err), "internal: %s", why);
		return -1;
	}
	w->out.len = 0;
	if (wire_encode(&w->out, m, why, sizeof(why)) == -1) {
		frame_errf(w->err, sizeof(w->err), "cannot encode %s: %s",
		    wire_type_name(m->type), why);
		return -1;
	}
	if (tls_write_all(w->tls, w->out.p, w->out.len, why, sizeof(why)) == -1) {
		frame_errf(w->err, sizeof(w->err), "sending %s: %s",
		    wire_type_name(m->type), why);
		return -1;
	}
	return 0;
}

void
wireio_fail(struct wireio *w, uint32_t code, const char *fmt, ...)
{
	struct wire_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.type = WIRE_ERROR;
	m.u.error.code = code;
	va_start(ap, fmt);
	vsnprintf(m.u.error.text, sizeof(m.u.error.text), fmt, ap);
	va_end(ap);
	frame_errf(w->err, sizeof(w->err), "%s", m.u.error.text);
	if (w->fsm.closed || w->tls->ssl == NULL)
		return;
	w->out.len = 0;
	if (wire_encode(&w->out, &m, NULL, 0) == 0 &&
	    wire_fsm_step(&w->fsm, true, &m, NULL, 0) == 0) {
		char why[256];

		(void)tls_write_all(w->tls, w->out.p, w->out.len, why,
		    sizeof(why));
	}
}

/* Bytes until the decoder holds one whole frame.  0 or -1. */
static int
wireio_frame(struct wireio *w)
{
	enum frame_event ev;
	char why[256];
	ssize_t n;
	size_t used;

	for (;;) {
		if (w->inoff < w->inlen) {
			ev = frame_decoder_push(&w->dec, w->in + w->inoff,
			    w->inlen - w->inoff, &used);
			w->inoff += used;
			if (ev == FRAME_READY)
				return 0;
			if (ev == FRAME_ERROR) {
				wireio_fail(w, WIRE_E_PROTOCOL, "protocol error: %s",
				    w->dec.err);
				return -1;
			}
		}
		n = tls_read(w->tls, w->in, WIREIO_READ_CHUNK, why, sizeof(why));
		if (n <= 0) {
			frame_errf(w->err, sizeof(w->err), "%s",
			    n == 0 ? (frame_decoder_idle(&w->dec) ?
			    "connection closed by peer" :
			    "connection closed by peer inside a message") : why);
			return -1;
		}
		w->inlen = (size_t)n;
		w->inoff = 0;
	}
}

int
wireio_recv(struct wireio *w, struct wire_msg *m)
{
	char why[256];
	uint32_t code;

	memset(m, 0, sizeof(*m));
	for (;;) {
		if (wireio_frame(w) == -1)
			return -1;
		if (wire_decode(m, &w->dec.hdr, w->dec.payload, why,
		    sizeof(why)) == -1) {
			wire_msg_free(m);
			wireio_fail(w, WIRE_E_PROTOCOL, "protocol error: %s", why);
			return -1;
		}
		if (wire_fsm_step(&w->fsm, false, m, why, sizeof(why)) == -1) {
			code = m->type == WIRE_HELLO &&
			    m->u.hello.version != WIRE_VERSION ?
			    WIRE_E_VERSION : WIRE_E_PROTOCOL;
			wire_msg_free(m);
			wireio_fail(w, code, "protocol error: %s", why);
			return -1;
		}
		if (m->type == WIRE_ERROR) {
			w->peer_error = m->u.error.code;
			frame_errf(w->err, sizeof(w->err), "peer reports %s "
			    "error: %s", wire_error_name(m->u.error.code),
			    m->u.error.text);
			wire_msg_free(m);
			return -1;
		}
		if (m->type != WIRE_KEEPALIVE)
			return 0;
		wire_msg_free(m);
	}
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
