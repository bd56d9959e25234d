/*
 * tlspeer: both ends of the btrsend TLS handshake and hello, using the
 * daemon's own tls.c and wireio.c, for the authentication tests.
 *
 *   tlspeer serve -c CERT -k KEY -a CA -P PORTFILE [-C CLIENT]... [-n N]
 *       listen on 127.0.0.1 (port written to PORTFILE), take N
 *       connections one at a time, print one line for each:
 *       "admitted NAME" or "refused: WHY"
 *   tlspeer connect -c CERT -k KEY -a CA -H NAME -p PORT [-V VERSION]
 *           [-L JOB | -E TEXT] [-W SECS]
 *       print "connected: receiver speaks version V" (exit 0) or
 *       "refused: WHY" (exit 1); -V sends a hello of another version;
 *       -W holds the connection SECS seconds after the hello (a client's
 *       transfer in progress, as the receiver counts them).
 *       After the hello, as a hostile client would: -L sends LIST of JOB
 *       as it is (no name check) and prints "reply: TYPE" (exit 0) or
 *       "refused: WHY" (exit 1); -E sends ERROR internal with TEXT and
 *       prints "sent error".
 * Either mode dies after 60 s.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "daemon/net/tls.h"
#include "daemon/net/wireio.h"

#define TIMEOUT_MS 10000

struct opts {
	struct tls_conf tls;
	const char *portfile, *name, *list, *error;
	char *clients[16];
	size_t nclients;
	int n, port, version, hold;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tlspeer serve|connect -c CERT -k KEY -a CA "
	    "[-P PORTFILE] [-C CLIENT]... [-n N] [-H NAME] [-p PORT] "
	    "[-V VERSION] [-L JOB | -E TEXT] [-W SECS]\n");
	exit(2);
}

static void
serve_one(SSL_CTX *ctx, int fd, const struct opts *o)
{
	struct tls_conn t;
	struct wireio w;
	struct wire_hello peer;
	char err[512];
	int r;

	r = tls_accept(&t, ctx, fd, TIMEOUT_MS, o->clients, o->nclients, err,
	    sizeof(err));
	if (r == -1) {
		printf("refused: %s\n", err);
		goto done;
	}
	wireio_init(&w, &t, WIRE_SERVER);
	if (r == -2) {
		wireio_fail(&w, WIRE_E_AUTH, "%s", err);
		printf("refused: %s\n", err);
	} else if (wireio_hello(&w, WIRE_CAP_ZSTD, 2, &peer) == -1)
		printf("refused: %s: %s\n", t.peer, w.err);
	else
		printf("admitted %s\n", t.peer);
	wireio_free(&w);
done:
	fflush(stdout);
	tls_close(&t);
	close(fd);
}

static int
serve(const struct opts *o)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	SSL_CTX *ctx;
	char err[512];
	FILE *f;
	int s, fd, i;

	if ((ctx = tls_ctx_new(&o->tls, true, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1)
		fatal("bind/listen");
	if ((f = fopen(o->portfile, "w")) == NULL)
		fatal("%s", o->portfile);
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	for (i = 0; i < o->n; i++) {
		if ((fd = accept(s, NULL, NULL)) == -1)
			fatal("accept");
		serve_one(ctx, fd, o);
	}
	SSL_CTX_free(ctx);
	close(s);
	return 0;
}

static int
client_hello(struct wireio *w, int version)
{
	struct wire_msg m;
	struct wire_hello peer;

	if (version == WIRE_VERSION)
		return wireio_hello(w, WIRE_CAP_ZSTD, 2, &peer);
	/* Bypass our own order check to put a foreign version on the wire. */
	memset(&m, 0, sizeof(m));
	m.type = WIRE_HELLO;
	m.u.hello.version = (uint16_t)version;
	w->out.len = 0;
	if (wire_encode(&w->out, &m, w->err, sizeof(w->err)) == -1 ||
	    tls_write_all(w->tls, w->out.p, w->out.len, w->err,
	    sizeof(w->err)) == -1)
		return -1;
	w->fsm.hello_c = true;
	if (wireio_recv(w, &m) == -1)
		return -1;
	wire_msg_free(&m);
	return 0;
}

/* LIST of job framed by hand: our encoder would refuse a bad name. */
static int
client_list(struct wireio *w, const char *job)
{
	struct frame_hdr h = { WIRE_LIST, 0, 0, 0, 0 };
	uint8_t buf[FRAME_HEADER_LEN + 2 + 256];
	struct wire_msg m;
	size_t n = strlen(job);

	if (n > 256)
		n = 256;
	h.len = (uint32_t)(2 + n);
	frame_hdr_encode(buf, &h);
	frame_put16(buf + FRAME_HEADER_LEN, (uint16_t)n);
	memcpy(buf + FRAME_HEADER_LEN + 2, job, n);
	if (tls_write_all(w->tls, buf, FRAME_HEADER_LEN + 2 + n, w->err,
	    sizeof(w->err)) == -1)
		return -1;
	w->fsm.pending = WIRE_LIST;
	if (wireio_recv(w, &m) == -1)
		return -1;
	printf("reply: %s\n", wire_type_name(m.type));
	wire_msg_free(&m);
	return 0;
}

/* After the hello: what -L or -E ask, else report the hello. */
static int
client_act(struct wireio *w, const struct opts *o)
{
	if (o->list != NULL)
		return client_list(w, o->list);
	if (o->error != NULL) {
		wireio_fail(w, WIRE_E_INTERNAL, "%s", o->error);
		printf("sent error\n");
		return 0;
	}
	if (o->hold > 0)
		sleep((unsigned)o->hold);
	printf("connected: receiver speaks version %d\n", WIRE_VERSION);
	return 0;
}

static int
connect_to(const struct opts *o)
{
	struct sockaddr_in sa;
	struct tls_conn t;
	struct wireio w;
	SSL_CTX *ctx;
	char err[512];
	int fd, rc = 1;

	if ((ctx = tls_ctx_new(&o->tls, false, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)o->port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		fatal("connect to port %d", o->port);
	if (tls_connect(&t, ctx, fd, o->name, TIMEOUT_MS, err,
	    sizeof(err)) == -1) {
		printf("refused: %s\n", err);
		goto done;
	}
	wireio_init(&w, &t, WIRE_CLIENT);
	if (client_hello(&w, o->version) == -1 || client_act(&w, o) == -1)
		printf("refused: %s\n", w.err);
	else
		rc = 0;
	wireio_free(&w);
done:
	tls_close(&t);
	close(fd);
	SSL_CTX_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	const char *mode;
	int ch;

	memset(&o, 0, sizeof(o));
	o.n = 1;
	o.version = WIRE_VERSION;
	log_init("tlspeer", 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "a:C:c:E:H:k:L:n:P:p:V:W:")) != -1) {
		switch (ch) {
		case 'a': o.tls.ca = optarg; break;
		case 'C':
			if (o.nclients == 16)
				usage();
			o.clients[o.nclients++] = optarg;
			break;
		case 'c': o.tls.certificate = optarg; break;
		case 'E': o.error = optarg; break;
		case 'H': o.name = optarg; break;
		case 'k': o.tls.key = optarg; break;
		case 'L': o.list = optarg; break;
		case 'n': o.n = atoi(optarg); break;
		case 'P': o.portfile = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'V': o.version = atoi(optarg); break;
		case 'W': o.hold = atoi(optarg); break;
		default: usage();
		}
	}
	if (!o.tls.ca || !o.tls.certificate || !o.tls.key)
		usage();
	/* Bounded: a test waiting on a connection that never comes fails. */
	alarm(60);
	if (strcmp(mode, "serve") == 0 && o.portfile)
		return serve(&o);
	if (strcmp(mode, "connect") == 0 && o.name && o.port)
		return connect_to(&o);
	usage();
}
