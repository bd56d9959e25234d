/*
 * btrsendctl admin commands: the connection to btrsendd's control socket
 * (see ctl_admin.h) and the commands that only act: run, cancel, pause,
 * unpause, reload.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/ctl_admin.h"
#include "proto/base/log.h"

/* The socket: -s, else the config's (-f, or the default file if any). */
static int
admin_socket(struct admin_opts *o)
{
	static char sock[256];
	struct conf_errors errs;
	struct conf *conf;
	const char *path = o->conf != NULL ? o->conf : CONF_DEFAULT_PATH;

	if (o->socket != NULL)
		return CTL_OK;
	o->socket = CONF_DEFAULT_SOCKET;
	if (o->conf == NULL && access(path, R_OK) == -1)
		return CTL_OK;
	if ((conf = conf_load(path, &errs)) == NULL) {
		if (o->conf == NULL) {
			conf_errors_free(&errs);
			return CTL_OK;
		}
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		log_warnx("%s has errors; give the socket with -s", path);
		return CTL_USAGE;
	}
	snprintf(sock, sizeof(sock), "%s", conf->control_socket);
	o->socket = sock;
	conf_free(conf);
	return CTL_OK;
}

int
admin_getopt(int argc, char **argv, const char *allowed, int nargs,
    const char *usage, struct admin_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:s:n:h", longopts, NULL)) != -1) {
		if (ch != 'f' && ch != 's' && ch != 'h' && ch != '?' &&
		    strchr(allowed, ch) == NULL) {
			log_warnx("%s: option %s is not for this command",
			    argv[0], ch == 'j' ? "--json" : "-n");
			ch = '?';
		}
		switch (ch) {
		case 'f':
			o->conf = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'n':
			o->n = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || o->n < 1) {
				log_warnx("-n %s: not a positive number",
				    optarg);
				goto usage;
			}
			break;
		case 'h':
			printf("usage: btrsendctl %s %s\n", argv[0], usage);
			exit(CTL_OK);
		default:
			goto usage;
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->argc != nargs)
		goto usage;
	return admin_socket(o);
usage:
	fprintf(stderr, "usage: btrsendctl %s %s\n", argv[0], usage);
	return CTL_USAGE;
}

static int
admin_hello(struct admin_conn *c)
{
	struct ctl_hello h = { .version = CTL_VERSION };
	const struct frame_hdr *hdr;
	const uint8_t *p;
	char err[256];

	/* A refusal may close before our hello is written: read it. */
	if ((admin_send(c, 0, NULL, 0) == -1 && errno != EPIPE &&
	    errno != ECONNRESET) || admin_next(c, &hdr, &p) == -1)
		return -1;
	if (hdr->type == CTL_M_FAIL) {
		if (ctl_get_text(p, hdr->len, err, sizeof(err), err,
		    sizeof(err)) == -1)
			log_warnx("%s: refused (%s)", c->sock, err);
		else
			log_warnx("%s: %s", c->sock, err);
		return -1;
	}
	if (hdr->type != CTL_HELLO ||
	    ctl_get_hello(p, hdr->len, &h, err, sizeof(err)) == -1) {
		log_warnx("%s: no hello from btrsendd (%s message)", c->sock,
		    ctl_type_name(hdr->type));
		return -1;
	}
	if (h.version != CTL_VERSION) {
		log_warnx("%s: btrsendd speaks control protocol version %u, "
		    "this btrsendctl %u: use the btrsendctl of the daemon's "
		    "release", c->sock, h.version, CTL_VERSION);
		return -1;
	}
	c->access = h.access;
	return 0;
}

int
admin_connect(const struct admin_opts *o, struct admin_conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	signal(SIGPIPE, SIG_IGN);
	memset(c, 0, sizeof(*c));
	snprintf(c->sock, sizeof(c->sock), "%s", o->socket);
	frame_decoder_init(&c->dec, &ctl_rules);
	if (strlen(o->socket) >= sizeof(sun.sun_path)) {
		log_warnx("%s: socket path too long", o->socket);
		c->fd = -1;
		return CTL_FAILED;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", o->socket);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES)
			log_warnx("%s: permission denied: only root and the "
			    "control group may use btrsendd's socket",
			    o->socket);
		else if (errno == ENOENT || errno == ECONNREFUSED)
			log_warnx("%s: %s: is btrsendd running? (-f CONF or "
			    "-s SOCKET name another)", o->socket,
			    strerror(errno));
		else
			log_warn("%s", o->socket);
		return CTL_FAILED;
	}
	if (admin_hello(c) == -1)
		return CTL_FAILED;
	return CTL_OK;
}

void
admin_close(struct admin_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	frame_decoder_free(&c->dec);
}

/* cmd 0: the hello. */
int
admin_send(struct admin_conn *c, uint8_t cmd, const char *arg, uint32_t num)
{
	struct ctl_hello h = { .version = CTL_VERSION };
	struct msgbuf b = { 0 };
	struct ctl_request rq;
	size_t off = 0;
	ssize_t n;

	if (cmd == 0) {
		ctl_put_hello(&b, &h);
	} else {
		memset(&rq, 0, sizeof(rq));
		rq.cmd = cmd;
		rq.num = num;
		if (arg != NULL && strlen(arg) >= sizeof(rq.arg)) {
			log_warnx("'%.40s...' is too long", arg);
			msgbuf_free(&b);
			return -1;
		}
		snprintf(rq.arg, sizeof(rq.arg), "%s", arg ? arg : "");
		ctl_put_request(&b, &rq);
	}
	while (off < b.len) {
		n = write(c->fd, b.p + off, b.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errno != EPIPE && errno != ECONNRESET)
				log_warn("%s: write", c->sock);
			msgbuf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	msgbuf_free(&b);
	return 0;
}

volatile sig_atomic_t admin_interrupted;

int
admin_next(struct admin_conn *c, const struct frame_hdr **h,
    const uint8_t **p)
{
	char err[192];
	size_t used;
	ssize_t n;

	for (;;) {
		if (c->off < c->have) {
			switch (frame_decoder_push(&c->dec, c->buf + c->off,
			    c->have - c->off, &used)) {
			case FRAME_ERROR:
				log_warnx("%s: %s", c->sock, c->dec.err);
				return -1;
			case FRAME_READY:
				c->off += used;
				if (ctl_hdr_check(&c->dec.hdr, err,
				    sizeof(err)) == -1) {
					log_warnx("%s: %s", c->sock, err);
					return -1;
				}
				*h = &c->dec.hdr;
				*p = c->dec.payload;
				return 0;
			case FRAME_NEED_MORE:
				c->off += used;
				break;
			}
		}
		n = read(c->fd, c->buf, sizeof(c->buf));
		if (n == -1 && errno == EINTR && admin_interrupted)
			return -1;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == -1)
				log_warn("%s: read", c->sock);
			else
				log_warnx("%s: btrsendd closed the connection",
				    c->sock);
			return -1;
		}
		c->have = (size_t)n;
		c->off = 0;
	}
}

int
admin_call(struct admin_conn *c, uint8_t cmd, const char *arg, uint32_t num,
    admin_record_fn *fn, void *fnarg, char *ok, size_t oklen)
{
	const struct frame_hdr *h;
	const uint8_t *p;
	char text[CTL_TEXT_MAX], err[256];

	if (admin_send(c, cmd, arg, num) == -1)
		return CTL_FAILED;
	for (;;) {
		if (admin_next(c, &h, &p) == -1)
			return CTL_FAILED;
		if (h->type != CTL_M_OK && h->type != CTL_M_FAIL) {
			if (fn == NULL || fn(h, p, fnarg) == -1) {
				log_warnx("%s: unexpected %s message in the "
				    "reply to %s", c->sock,
				    ctl_type_name(h->type), ctl_cmd_name(cmd));
				return CTL_FAILED;
			}
			continue;
		}
		if (ctl_get_text(p, h->len, text, sizeof(text), err,
		    sizeof(err)) == -1) {
			log_warnx("%s: %s", c->sock, err);
			return CTL_FAILED;
		}
		if (h->type == CTL_M_FAIL) {
			log_warnx("%s", text);
			return CTL_FAILED;
		}
		if (ok != NULL)
			snprintf(ok, oklen, "%s", text);
		return CTL_OK;
	}
}

int
admin_simple(const struct admin_opts *o, uint8_t cmd, const char *arg,
    uint32_t num)
{
	struct admin_conn c;
	char ok[CTL_TEXT_MAX];
	int r;

	if ((r = admin_connect(o, &c)) == CTL_OK) {
		r = admin_call(&c, cmd, arg, num, NULL, NULL, ok, sizeof(ok));
		if (r == CTL_OK && ok[0] != '\0')
			printf("%s\n", ok);
	}
	admin_close(&c);
	return r;
}

/* run, pause, unpause: a command on the one job named. */
static int
admin_job_cmd(int argc, char **argv, uint8_t cmd)
{
	struct admin_opts o;
	int r;

	if ((r = admin_getopt(argc, argv, "", 1, "[-f CONF|-s SOCK] JOB",
	    &o)) != CTL_OK)
		return r;
	return admin_simple(&o, cmd, o.argv[0], 0);
}

int
ctl_run_job(int argc, char **argv)
{
	return admin_job_cmd(argc, argv, CTL_CMD_RUN);
}

int
ctl_cancel(int argc, char **argv)
{
	struct admin_opts o;
	unsigned long id;
	char *end;
	int r;

	if ((r = admin_getopt(argc, argv, "", 1, "[-f CONF|-s SOCK] ID",
	    &o)) != CTL_OK)
		return r;
	errno = 0;
	id = strtoul(o.argv[0], &end, 10);
	if (*end != '\0' || end == o.argv[0] || errno != 0 || id == 0 ||
	    id > UINT32_MAX) {
		log_warnx("cancel: '%s' is not a run id (see btrsendctl "
		    "status)", o.argv[0]);
		return CTL_USAGE;
	}
	return admin_simple(&o, CTL_CMD_CANCEL, NULL, (uint32_t)id);
}

int
ctl_pause(int argc, char **argv)
{
	return admin_job_cmd(argc, argv, CTL_CMD_PAUSE);
}

int
ctl_unpause(int argc, char **argv)
{
	return admin_job_cmd(argc, argv, CTL_CMD_UNPAUSE);
}

int
ctl_reload(int argc, char **argv)
{
	struct admin_opts o;
	int r;

	if ((r = admin_getopt(argc, argv, "", 0, "[-f CONF|-s SOCK]",
	    &o)) != CTL_OK)
		return r;
	return admin_simple(&o, CTL_CMD_RELOAD, NULL, 0);
}
