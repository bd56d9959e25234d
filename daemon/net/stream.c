/*
 * The data path of a transfer (netsend_impl.h): stream commands packed
 * into DATA frames, compressed when agreed, sent at no more than the
 * bandwidth limit, with the receiver's ACKs taken as they come.  The
 * fault-injection hooks of the test build live here, beside what they
 * damage or delay.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/netsend_impl.h"

/* Keep the average rate at or below the limit. */
static void
net_throttle(struct netsend *n)
{
	struct timespec now, ts;
	double secs, due;

	if (n->limit == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = net_secs(&n->start, &now);
	due = (double)n->bytes / (double)n->limit;
	if (due > secs) {
		ts.tv_sec = (time_t)(due - secs);
		ts.tv_nsec = (long)((due - secs - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Take any ACKs that arrived, without waiting. */
static int
net_poll_acks(struct netsend *n)
{
	struct wire_msg m;
	int r;

	while ((r = wireio_poll(n->w, &m)) == 1) {
		if (m.type == WIRE_ACK)
			n->acked = m.u.point.index;
		wire_msg_free(&m);
	}
	return r == -1 ? net_fail(n) : 0;
}

static int
net_flush(struct netsend *n)
{
	struct wire_msg m;
	long z = -1;

	if (n->flen == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data.index = n->f_index;
	m.u.data.offset = n->f_offset;
	m.u.data.ncmds = n->f_ncmds;
	m.u.data.raw_len = (uint32_t)n->flen;
	m.u.data.body = n->frame;
	m.u.data.body_len = (uint32_t)n->flen;
	if (n->use_zstd)
		z = wire_zstd_compress(n->cctx, n->frame, n->flen, n->zbuf,
		    ZSTD_compressBound(WIRE_DATA_RAW_MAX));
	if (z > 0) {
		m.u.data.zstd = true;
		m.u.data.body = n->zbuf;
		m.u.data.body_len = (uint32_t)z;
	}
	if (wireio_send(n->w, &m) == -1)
		return net_fail_send(n);
	n->bytes += n->flen;
	n->f_index += n->f_ncmds;
	n->f_offset += n->flen;
	if (n->f_offset > n->sent_to)
		n->sent_to = n->f_offset;
	n->flen = 0;
	n->f_ncmds = 0;
	net_throttle(n);
	net_progress(n, false, false);
	return net_poll_acks(n);
}

/*
 * TEST ONLY: BTRSEND_TEST_FLIP_AT=N flips the last byte of the Nth stream
 * command (counted from 0 as the receiver's errors count, header
 * not counted) after the kernel produced it and
 * the sender checked its CRC, once per process, so that the receiver's
 * CRC check is exercised behind TLS (tests/integration/net_corrupt.sh).
 * Test build only (proto/base/testing.h); unset, it costs one getenv.
 */
static uint64_t
net_test_flip_at(void)
{
	static int read;
	static uint64_t at;
	const char *v;

	if (!read) {
		read = 1;
		at = UINT64_MAX;
		if ((v = TEST_HOOK_ENV("BTRSEND_TEST_FLIP_AT")) != NULL)
			at = strtoull(v, NULL, 10);
	}
	return at;
}

static void
net_test_flip(struct netsend *n)
{
	static int flipped;

	if (flipped)
		return;
	flipped = 1;
	n->frame[n->flen - 1] ^= 0x01;
	log_warnx("send: TEST: flipped the last byte of command %llu",
	    (unsigned long long)n->ncmds);
}

/*
 * TEST ONLY: BTRSEND_TEST_PAUSE_AT=N:SECS makes the sender, once per
 * process, flush what it holds and then send nothing for SECS seconds
 * before command N (counted like BTRSEND_TEST_FLIP_AT), as a slow kernel
 * or a long fast-forward would: keepalives must carry the connection
 * (tests/integration/net_keepalive.sh).  Test build only; unset, it
 * costs one getenv.
 */
static int
net_test_pause(struct netsend *n)
{
	static int read, done;
	static uint64_t at = UINT64_MAX;
	static unsigned secs;
	const char *v;
	char *end;

	if (!read) {
		read = 1;
		if ((v = TEST_HOOK_ENV("BTRSEND_TEST_PAUSE_AT")) != NULL) {
			at = strtoull(v, &end, 10);
			secs = *end == ':' ? (unsigned)atoi(end + 1) : 0;
		}
	}
	if (done || n->ncmds != at)
		return 0;
	done = 1;
	if (net_flush(n) == -1)
		return -1;
	log_warnx("send: TEST: pausing %u s before command %llu", secs,
	    (unsigned long long)n->ncmds);
	sleep(secs);
	return 0;
}

int
net_stream(struct netsend *n, struct send *s)
{
	struct send_unit u;
	struct send_error e;
	int r;

	while ((r = send_next(s, &u, &e)) == 1) {
		if (TEST_HOOKS && !u.is_header && net_test_pause(n) == -1)
			return -1;
		if (n->flen + u.len > WIRE_DATA_RAW_MAX ||
		    (n->flen >= NET_FRAME && n->f_ncmds > 0))
			if (net_flush(n) == -1)
				return -1;
		memcpy(n->frame + n->flen, u.raw, u.len);
		n->flen += u.len;
		if (TEST_HOOKS && !u.is_header &&
		    n->ncmds == net_test_flip_at())
			net_test_flip(n);
		if (!u.is_header) {
			n->f_ncmds++;
			n->ncmds++;
		}
	}
	if (r == -1) {
		log_warnx("send: %s", e.msg);
		n->permanent = e.cls == ERR_PERMANENT;
		return -1;
	}
	return net_flush(n);
}
