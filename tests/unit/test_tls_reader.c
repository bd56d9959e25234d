/*
 * The TLS read-ahead thread (tls_reader_start, daemon/net/tls.c) over a real
 * TLS 1.3 connection on a socketpair, certificates from
 * tests/lib/mkcerts.sh: bytes come out in order across many turns of the
 * ring while the owner writes on the same connection, also when viewed
 * in place (tls_view); the peer's close,
 * a failure and a timeout come after the bytes before them; a reader
 * waiting on a silent peer stops when told.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/net/tls.h"

#define TOTAL   (10u << 20)     /* more than two turns of the 4 MiB ring */
#define ACK     "ack!"
#define BYE     "bye!"           /* all taken: close now */
#define REPLY   ACK BYE

static char dir[] = "/tmp/btrsend-tlsr.XXXXXX";
static SSL_CTX *server_ctx, *client_ctx;

enum peer_mode { PEER_STREAM, PEER_CUT, PEER_SILENT };

struct pair {
	struct tls_conn srv, cli;
	pthread_mutex_t lock;
	int fds[2];
	pthread_t peer;
	enum peer_mode mode;
	int peer_ok;
	int quit[2];            /* the test tells a silent peer to go */
};

static uint8_t
pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 13));
}

static int
setup_group(void **state)
{
	char cmd[256], cert[128], key[128], ca[128], err[256];
	struct tls_conf c = { cert, key, ca };

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "tests/lib/mkcerts.sh %s", dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(cert, sizeof(cert), "%s/backup.test.crt", dir);
	snprintf(key, sizeof(key), "%s/backup.test.key", dir);
	if ((server_ctx = tls_ctx_new(&c, true, err, sizeof(err))) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/laptop.test.crt", dir);
	snprintf(key, sizeof(key), "%s/laptop.test.key", dir);
	if ((client_ctx = tls_ctx_new(&c, false, err, sizeof(err))) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
teardown_group(void **state)
{
	char cmd[256];

	(void)state;
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The client: connects, then writes, cuts or stays silent. */
static void *
peer_main(void *arg)
{
	struct pair *p = arg;
	char err[256], got[sizeof(REPLY)];
	uint8_t buf[65536 + 11];
	size_t off = 0, n, k, i, have = 0;
	ssize_t r;

	if (tls_connect(&p->cli, client_ctx, p->fds[1], "backup.test", 5000,
	    err, sizeof(err)) == -1)
		return NULL;
	switch (p->mode) {
	case PEER_STREAM:
		/* uneven writes, so records and reads never line up */
		for (k = 0; off < TOTAL; k++) {
			n = 1 + (k * 7919) % sizeof(buf);
			if (n > TOTAL - off)
				n = TOTAL - off;
			for (i = 0; i < n; i++)
				buf[i] = pattern(off + i);
			if (tls_write_all(&p->cli, buf, n, err,
			    sizeof(err)) == -1)
				return NULL;
			off += n;
		}
		/* the replies, the second once everything is taken: our
		 * close_notify then finds room on the socket */
		while (have < sizeof(REPLY) - 1) {
			r = tls_read(&p->cli, got + have,
			    sizeof(REPLY) - 1 - have, err, sizeof(err));
			if (r <= 0)
				return NULL;
			have += (size_t)r;
		}
		p->peer_ok = memcmp(got, REPLY, sizeof(REPLY) - 1) == 0;
		tls_close(&p->cli);
		break;
	case PEER_CUT:
		for (i = 0; i < 1000; i++)
			buf[i] = pattern(i);
		if (tls_write_all(&p->cli, buf, 1000, err, sizeof(err)) == 0)
			p->peer_ok = 1;
		/* gone without close_notify, as a killed process */
		shutdown(p->fds[1], SHUT_RDWR);
		break;
	case PEER_SILENT:
		p->peer_ok = 1;
		r = read(p->quit[0], buf, 1);
		(void)r;
		break;
	}
	return NULL;
}

static void
pair_open(struct pair *p, enum peer_mode mode, int timeout_ms)
{
	char *clients[] = { "laptop.test" };
	char err[256];

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	assert_int_equal(pipe(p->quit), 0);
	assert_int_equal(pthread_create(&p->peer, NULL, peer_main, p), 0);
	assert_int_equal(tls_accept(&p->srv, server_ctx, p->fds[0], timeout_ms,
	    clients, 1, err, sizeof(err)), 0);
	pthread_mutex_init(&p->lock, NULL);
	p->srv.lock = &p->lock;
	assert_int_equal(tls_reader_start(&p->srv), 0);
	assert_non_null(p->srv.rd);
}

static void
pair_close(struct pair *p)
{
	ssize_t r = write(p->quit[1], "q", 1);

	assert_int_equal(r, 1);
	/* ends the peer's wait for our close_notify, and ours for its */
	shutdown(p->fds[1], SHUT_RDWR);
	pthread_join(p->peer, NULL);
	tls_close(&p->cli);
	tls_close(&p->srv);
	assert_null(p->srv.rd);
	assert_int_equal(p->srv.wake_fd, -1);
	pthread_mutex_destroy(&p->lock);
	close(p->fds[0]);
	close(p->fds[1]);
	close(p->quit[0]);
	close(p->quit[1]);
}

static void
reader_keeps_order(void **state)
{
	static uint8_t buf[300007];
	static const size_t sizes[] = { 1, 17, 4096, 65536, 300007, 3 };
	struct pair p;
	char err[256];
	size_t off = 0, k = 0, i;
	ssize_t n;

	(void)state;
	alarm(60);
	pair_open(&p, PEER_STREAM, 10000);
	while (off < TOTAL) {
		n = tls_read(&p.srv, buf, sizes[k++ % 6], err, sizeof(err));
		assert_true(n > 0);
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != pattern(off + i))
				fail_msg("byte %zu: %u, want %u", off + i,
				    buf[i], pattern(off + i));
		off += (size_t)n;
		/* the owner writes while the thread reads */
		if (off >= TOTAL / 2 && off - (size_t)n < TOTAL / 2)
			assert_int_equal(tls_write_all(&p.srv, ACK,
			    sizeof(ACK) - 1, err, sizeof(err)), 0);
		/* let the ring fill up now and then */
		if (k % 97 == 0)
			usleep(20000);
	}
	assert_int_equal(off, TOTAL);
	assert_int_equal(tls_write_all(&p.srv, BYE, sizeof(BYE) - 1, err,
	    sizeof(err)), 0);
	/* then the peer's close_notify, after all the bytes */
	assert_int_equal(tls_read(&p.srv, buf, 10, err, sizeof(err)), 0);
	pair_close(&p);
	assert_int_equal(p.peer_ok, 1);
	alarm(0);
}

/* Check n bytes at buf against the stream from off; the first wrong one fails. */
static void
check_bytes(const uint8_t *buf, size_t n, size_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			fail_msg("byte %zu: %u, want %u", off + i, buf[i],
			    pattern(off + i));
}

/*
 * tls_view hands out the bytes where they lie when they are in one
 * piece, keeps them from the thread until tls_view_done even while the
 * ring fills behind them, and takes nothing when they wrap: tls_read
 * then reads them.
 */
static void
reader_views_in_place(void **state)
{
	static uint8_t buf[300007];
	static const size_t sizes[] = { 131088, 65536, 300007, 16 };
	const uint8_t *v;
	struct pair p;
	char err[256];
	size_t off = 0, k = 0, want, got, views = 0, copies = 0;
	ssize_t n;

	(void)state;
	alarm(60);
	pair_open(&p, PEER_STREAM, 10000);
	while (off < TOTAL) {
		want = sizes[k++ % 4];
		if (want > TOTAL - off)
			want = TOTAL - off;
		if (tls_view(&p.srv, want, &v) == 1) {
			check_bytes(v, want, off);
			if (views++ % 5 == 0) {
				usleep(20000);  /* the ring fills behind it */
				check_bytes(v, want, off);
			}
			tls_view_done(&p.srv, want);
		} else {
			copies++;
			for (got = 0; got < want; got += (size_t)n) {
				n = tls_read(&p.srv, buf + got, want - got, err,
				    sizeof(err));
				assert_true(n > 0);
			}
			check_bytes(buf, want, off);
		}
		if (off < TOTAL / 2 && off + want >= TOTAL / 2)
			assert_int_equal(tls_write_all(&p.srv, ACK,
			    sizeof(ACK) - 1, err, sizeof(err)), 0);
		off += want;
	}
	assert_true(views > 0);
	assert_true(copies > 0);        /* some wrapped */
	assert_int_equal(tls_write_all(&p.srv, BYE, sizeof(BYE) - 1, err,
	    sizeof(err)), 0);
	/* past the end: nothing to view, and the read reports the close */
	assert_int_equal(tls_view(&p.srv, 10, &v), 0);
	assert_int_equal(tls_read(&p.srv, buf, 10, err, sizeof(err)), 0);
	pair_close(&p);
	assert_int_equal(p.peer_ok, 1);
	alarm(0);
}

static void
reader_failure_after_bytes(void **state)
{
	uint8_t buf[4096];
	struct pair p;
	char err[256] = "";
	size_t off = 0, i;
	ssize_t n;

	(void)state;
	alarm(30);
	pair_open(&p, PEER_CUT, 10000);
	usleep(100000);         /* the cut is in before the bytes are taken */
	while ((n = tls_read(&p.srv, buf, sizeof(buf), err, sizeof(err))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			assert_int_equal(buf[i], pattern(off + i));
		off += (size_t)n;
	}
	assert_int_equal(off, 1000);
	assert_int_equal(n, -1);
	assert_true(err[0] != '\0');
	assert_false(p.srv.timed_out);
	/* and it stays reported */
	assert_int_equal(tls_read(&p.srv, buf, sizeof(buf), err,
	    sizeof(err)), -1);
	pair_close(&p);
	assert_int_equal(p.peer_ok, 1);
	alarm(0);
}

static void
reader_times_out(void **state)
{
	uint8_t buf[16];
	struct pair p;
	char err[256] = "";

	(void)state;
	alarm(30);
	pair_open(&p, PEER_SILENT, 300);
	assert_int_equal(tls_read(&p.srv, buf, sizeof(buf), err, sizeof(err)),
	    -1);
	assert_true(p.srv.timed_out);
	assert_non_null(strstr(err, "timeout"));
	pair_close(&p);
	alarm(0);
}

static void
reader_stops_when_told(void **state)
{
	struct pair p;

	(void)state;
	alarm(30);              /* a stop that hangs fails here */
	pair_open(&p, PEER_SILENT, 0);
	usleep(50000);          /* the thread waits on the silent peer */
	assert_false(tls_pending(&p.srv));
	tls_reader_stop(&p.srv);
	assert_null(p.srv.rd);
	assert_int_equal(p.srv.wake_fd, -1);
	pair_close(&p);
	alarm(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader_keeps_order),
		cmocka_unit_test(reader_views_in_place),
		cmocka_unit_test(reader_failure_after_bytes),
		cmocka_unit_test(reader_times_out),
		cmocka_unit_test(reader_stops_when_told),
	};

	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
