/*
 * ctlpeer: a control socket client that does what btrsendctl never
 * does, for tests/integration/control_*.sh.
 *
 *   ctlpeer SOCK hello VERSION      hello with VERSION, print the reply
 *   ctlpeer SOCK raw HEX            send bytes, print the reply
 *   ctlpeer SOCK early              a request before the hello
 *   ctlpeer SOCK many N             N connections with a hello each,
 *                                   held open; print "ok A refused R"
 *   ctlpeer SOCK flood              requests without reading, until the
 *                                   daemon closes; print "closed"
 *   ctlpeer SOCK hold N SECS        N connections, silent, for SECS
 *   ctlpeer SOCK serve VERSION      a daemon of another version: answer
 *                                   one client's hello with VERSION
 *
 * A reply prints as "hello VERSION ACCESS", "fail TEXT", "ok TEXT" or
 * "closed".  Exit 0 unless the tool itself failed.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/msg/ctl.h"

static int
peer_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(path);
		exit(1);
	}
	return s;
}

static void
peer_write(int s, const void *p, size_t n)
{
	/* A refused client may be closed on before it writes: no error. */
	if (write(s, p, n) != (ssize_t)n && errno != EPIPE &&
	    errno != ECONNRESET) {
		perror("write");
		exit(1);
	}
}

static void
peer_hello(int s, uint32_t version)
{
	struct ctl_hello h = { .version = version };
	struct msgbuf b = { 0 };

	ctl_put_hello(&b, &h);
	peer_write(s, b.p, b.len);
	msgbuf_free(&b);
}

/* Read one message into text; its type, or 0 when the daemon closed. */
static uint16_t
peer_reply(int s, char *text, size_t len)
{
	struct frame_decoder d;
	struct ctl_hello h;
	uint8_t buf[4096];
	char err[256];
	uint16_t type = 0;
	size_t used;
	ssize_t n;

	frame_decoder_init(&d, &ctl_rules);
	text[0] = '\0';
	while ((n = read(s, buf, 1)) == 1) {
		if (frame_decoder_push(&d, buf, 1, &used) != FRAME_READY)
			continue;
		type = d.hdr.type;
		if (type == CTL_HELLO && ctl_get_hello(d.payload, d.hdr.len,
		    &h, err, sizeof(err)) == 0)
			snprintf(text, len, "%u %u", h.version, h.access);
		else if (ctl_get_text(d.payload, d.hdr.len, text, len, err,
		    sizeof(err)) == -1)
			snprintf(text, len, "(%s)", err);
		break;
	}
	frame_decoder_free(&d);
	return type;
}

static void
peer_print(int s)
{
	char text[CTL_TEXT_MAX];
	uint16_t t = peer_reply(s, text, sizeof(text));

	if (t == 0)
		printf("closed\n");
	else
		printf("%s %s\n", ctl_type_name(t), text);
}

static void
peer_raw(int s, const char *hex)
{
	unsigned v;
	uint8_t c;

	for (; hex[0] && hex[1]; hex += 2) {
		sscanf(hex, "%2x", &v);
		c = (uint8_t)v;
		peer_write(s, &c, 1);
	}
}

static void
peer_many(const char *path, int n)
{
	char text[CTL_TEXT_MAX];
	int i, ok = 0, refused = 0, *fds = calloc((size_t)n, sizeof(int));

	for (i = 0; i < n; i++) {
		fds[i] = peer_connect(path);
		peer_hello(fds[i], CTL_VERSION);
		if (peer_reply(fds[i], text, sizeof(text)) == CTL_HELLO)
			ok++;
		else if (strstr(text, "too many") != NULL)
			refused++;
	}
	printf("ok %d refused %d\n", ok, refused);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

static void
peer_serve(const char *path, uint32_t version)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_hello h = { .version = version,
	    .access = CTL_ACCESS_ADMIN };
	struct msgbuf b = { 0 };
	char text[CTL_TEXT_MAX];
	int s, c;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(s, 1) == -1 || (c = accept(s, NULL, NULL)) == -1) {
		perror(path);
		exit(1);
	}
	if (peer_reply(c, text, sizeof(text)) != CTL_HELLO) {
		fprintf(stderr, "ctlpeer: no hello from the client\n");
		exit(1);
	}
	printf("client hello %s\n", text);
	ctl_put_hello(&b, &h);
	peer_write(c, b.p, b.len);
	msgbuf_free(&b);
	/* The client must close: read until it does. */
	printf("%s\n", peer_reply(c, text, sizeof(text)) == 0 ? "closed" :
	    "client went on");
	close(c);
	close(s);
	unlink(path);
}

static void
peer_hold(const char *path, int n, int secs)
{
	int i;

	for (i = 0; i < n; i++)
		peer_connect(path);
	sleep((unsigned)secs);
}

/* Ask for status over and over, never reading. */
static void
peer_flood(int s)
{
	struct ctl_request rq = { .cmd = CTL_CMD_STATUS };
	struct msgbuf b = { 0 };
	struct pollfd pfd = { .fd = s, .events = POLLOUT };
	int i;

	peer_hello(s, CTL_VERSION);
	for (i = 0; i < 64; i++)
		ctl_put_request(&b, &rq);
	for (;;) {
		if (poll(&pfd, 1, 10000) <= 0 || (pfd.revents & (POLLHUP | POLLERR)))
			break;
		if (write(s, b.p, b.len) == -1) {
			if (errno == EPIPE || errno == ECONNRESET)
				break;
		}
	}
	msgbuf_free(&b);
	printf("closed\n");
}

int
main(int argc, char **argv)
{
	struct ctl_request rq = { .cmd = CTL_CMD_STATUS };
	struct msgbuf b = { 0 };
	int s;

	if (argc < 3) {
		fprintf(stderr, "usage: ctlpeer SOCK hello V|raw HEX|early|"
		    "many N|flood\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[2], "hold") == 0 && argc == 5) {
		peer_hold(argv[1], atoi(argv[3]), atoi(argv[4]));
		return 0;
	}
	if (strcmp(argv[2], "serve") == 0 && argc == 4) {
		peer_serve(argv[1], (uint32_t)strtoul(argv[3], NULL, 10));
		return 0;
	}
	if (strcmp(argv[2], "many") == 0 && argc == 4) {
		peer_many(argv[1], atoi(argv[3]));
		return 0;
	}
	s = peer_connect(argv[1]);
	if (strcmp(argv[2], "hello") == 0 && argc == 4) {
		peer_hello(s, (uint32_t)strtoul(argv[3], NULL, 10));
	} else if (strcmp(argv[2], "raw") == 0 && argc == 4) {
		peer_raw(s, argv[3]);
	} else if (strcmp(argv[2], "early") == 0) {
		ctl_put_request(&b, &rq);
		peer_write(s, b.p, b.len);
		msgbuf_free(&b);
	} else if (strcmp(argv[2], "flood") == 0) {
		peer_flood(s);
		return 0;
	} else {
		fprintf(stderr, "ctlpeer: bad arguments\n");
		return 2;
	}
	peer_print(s);
	close(s);
	return 0;
}
