/*
 * faultproxy: a TCP proxy on 127.0.0.1 that injects faults, for the
 * transfer tests.  It counts the bytes it passes in each direction.
 *
 *   faultproxy -P PORTFILE -t PORT [-c N[,N...]] [-s N:SECS] [-r SEED:MEAN]
 *              [-m MAXCUTS] [-T SECS] [-o COUNTFILE] [-S]
 *
 *   -P  write the port it listens on to PORTFILE
 *   -t  forward to 127.0.0.1:PORT
 *   -c  cut the k-th connection after N_k bytes from the client
 *   -s  once the first connection has passed N client bytes, stop
 *       forwarding in both directions for SECS seconds (a stall)
 *   -r  connections without a -c entry are cut after a number of client
 *       bytes drawn uniformly from [1, 2 * MEAN] (seeded, reproducible)
 *   -m  at most MAXCUTS cuts in all (default: unlimited)
 *   -T  exit after SECS seconds whatever happens (default 600)
 *   -S  -c, -s and -r count the bytes from the server instead (a
 *       restore: the backup host sends the stream), and -s stalls the
 *       first connection to pass N (a client may ask questions on
 *       connections of its own first)
 *   -o  write "c2s N / s2c N / conns N / cuts N" lines to COUNTFILE after
 *       every connection and at exit; otherwise print them to stdout at
 *       exit.  SIGTERM and SIGINT exit cleanly.
 *
 * A cut closes both sides at once, in the middle of whatever was being
 * sent: the client sees a reset or an early end of its TLS stream.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXPAIRS 16
#define MAXCUTLIST 64
#define BUFSZ (64 * 1024)

struct pair {
	int cfd, sfd;           /* client side, server side; -1: unused */
	unsigned long long c2s; /* client bytes passed on this connection */
	unsigned long long s2c; /* server bytes passed on this connection */
	unsigned long long cut; /* cut after this many, 0: never */
	int first;              /* the first connection (stall applies) */
};

static struct {
	int port;
	unsigned long long cuts[MAXCUTLIST];
	int ncuts;
	unsigned long long stall_at;
	int stall_secs, stalled;
	unsigned seed;
	unsigned long long mean;
	int maxcuts;
	int deadline;
	const char *countfile;
	int server;             /* -S: cuts count server bytes */
} opt = { .maxcuts = -1, .deadline = 600 };

static unsigned long long tot_c2s, tot_s2c;
static int nconns, ncut;
static volatile sig_atomic_t quit;

/* Replaced atomically: a test may read it at any time. */
static void
counts(void)
{
	char tmp[4096];
	FILE *f = stdout;

	if (opt.countfile != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt.countfile);
		if ((f = fopen(tmp, "w")) == NULL)
			return;
	}
	fprintf(f, "c2s %llu\ns2c %llu\nconns %d\ncuts %d\n", tot_c2s,
	    tot_s2c, nconns, ncut);
	if (f == stdout) {
		fflush(f);
		return;
	}
	fclose(f);
	rename(tmp, opt.countfile);
}

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: faultproxy -P PORTFILE -t PORT [-c N[,N...]] "
	    "[-s N:SECS] [-r SEED:MEAN] [-m MAXCUTS] [-T SECS] [-o FILE] [-S]\n");
	exit(2);
}

static int
listen_any(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1)
		return -1;
	*port = ntohs(sa.sin_port);
	return s;
}

static int
dial(int port)
{
	struct sockaddr_in sa;
	int s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(s);
		return -1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* Bytes of the direction cuts and stalls count (-S). */
static unsigned long long
counted(const struct pair *p)
{
	return opt.server ? p->s2c : p->c2s;
}

static void
pair_close(struct pair *p, int was_cut)
{
	struct linger lg = { 1, 0 };

	if (was_cut) {
		/* A reset, as a dropped route or a killed peer would give. */
		setsockopt(p->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(p->sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		ncut++;
	}
	close(p->cfd);
	close(p->sfd);
	p->cfd = p->sfd = -1;
	if (opt.countfile != NULL)
		counts();
}

static unsigned long long
cut_point(int conn)
{
	if (opt.maxcuts >= 0 && ncut >= opt.maxcuts)
		return 0;
	if (conn < opt.ncuts)
		return opt.cuts[conn];
	if (opt.mean > 0)
		return 1 + (unsigned long long)rand_r(&opt.seed) % (2 * opt.mean);
	return 0;
}

static void
accept_one(int ls, struct pair *pairs)
{
	int c, s, i, one = 1;

	if ((c = accept(ls, NULL, NULL)) == -1)
		return;
	for (i = 0; i < MAXPAIRS && pairs[i].cfd != -1; i++)
		;
	if (i == MAXPAIRS || (s = dial(opt.port)) == -1) {
		close(c);
		return;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pairs[i].cfd = c;
	pairs[i].sfd = s;
	pairs[i].c2s = pairs[i].s2c = 0;
	pairs[i].first = nconns == 0;
	pairs[i].cut = cut_point(nconns);
	nconns++;
}

/* Move what is readable from one side to the other; -1: close the pair. */
static int
forward(struct pair *p, int from_client)
{
	static char buf[BUFSZ];
	size_t want = sizeof(buf);
	ssize_t n, w, off;
	int in = from_client ? p->cfd : p->sfd;
	int out = from_client ? p->sfd : p->cfd;

	int limited = from_client != opt.server;

	if (limited && p->cut > 0 && p->cut - counted(p) < want)
		want = p->cut - counted(p);
	if (limited && (p->first || opt.server) && !opt.stalled &&
	    opt.stall_secs > 0 && opt.stall_at > counted(p) &&
	    opt.stall_at - counted(p) < want)
		want = opt.stall_at - counted(p);
	if ((n = read(in, buf, want)) <= 0)
		return -1;
	for (off = 0; off < n; off += w)
		if ((w = write(out, buf + off, n - off)) <= 0)
			return -1;
	if (from_client) {
		p->c2s += n;
		tot_c2s += n;
	} else {
		p->s2c += n;
		tot_s2c += n;
	}
	return 0;
}

static int
cut_due(const struct pair *p)
{
	return p->cut > 0 && counted(p) >= p->cut;
}

static void
stall_check(struct pair *p)
{
	if ((p->first || opt.server) && !opt.stalled && opt.stall_secs > 0 &&
	    counted(p) >= opt.stall_at) {
		opt.stalled = 1;
		sleep(opt.stall_secs);
	}
}

static void
loop(int ls)
{
	struct pair pairs[MAXPAIRS];
	struct pollfd pf[1 + 2 * MAXPAIRS];
	time_t end = time(NULL) + opt.deadline;
	int i, n, r;

	for (i = 0; i < MAXPAIRS; i++)
		pairs[i].cfd = pairs[i].sfd = -1;
	while (!quit && time(NULL) < end) {
		pf[0].fd = ls;
		pf[0].events = POLLIN;
		for (i = 0; i < MAXPAIRS; i++) {
			pf[1 + 2 * i].fd = pairs[i].cfd;
			pf[2 + 2 * i].fd = pairs[i].sfd;
			pf[1 + 2 * i].events = pf[2 + 2 * i].events = POLLIN;
		}
		if ((n = poll(pf, 1 + 2 * MAXPAIRS, 200)) <= 0)
			continue;
		if (pf[0].revents & POLLIN)
			accept_one(ls, pairs);
		for (i = 0; i < MAXPAIRS; i++) {
			if (pairs[i].cfd == -1)
				continue;
			r = 0;
			if (pf[1 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR))
				r = forward(&pairs[i], 1);
			if (r == 0 && cut_due(&pairs[i])) {
				pair_close(&pairs[i], 1);
				continue;
			}
			stall_check(&pairs[i]);
			if (r == 0 && (pf[2 + 2 * i].revents &
			    (POLLIN | POLLHUP | POLLERR)))
				r = forward(&pairs[i], 0);
			if (r == 0 && cut_due(&pairs[i])) {
				pair_close(&pairs[i], 1);
				continue;
			}
			stall_check(&pairs[i]);
			if (r == -1)
				pair_close(&pairs[i], 0);
		}
	}
	for (i = 0; i < MAXPAIRS; i++)
		if (pairs[i].cfd != -1)
			pair_close(&pairs[i], 0);
}

static void
parse_cuts(char *s)
{
	char *tok;

	for (tok = strtok(s, ","); tok && opt.ncuts < MAXCUTLIST;
	    tok = strtok(NULL, ","))
		opt.cuts[opt.ncuts++] = strtoull(tok, NULL, 10);
}

int
main(int argc, char **argv)
{
	const char *portfile = NULL;
	struct sigaction sa;
	FILE *f;
	int ch, ls, port;

	while ((ch = getopt(argc, argv, "c:m:o:P:r:Ss:T:t:")) != -1) {
		switch (ch) {
		case 'c': parse_cuts(optarg); break;
		case 'm': opt.maxcuts = atoi(optarg); break;
		case 'o': opt.countfile = optarg; break;
		case 'P': portfile = optarg; break;
		case 'S': opt.server = 1; break;
		case 'r':
			if (sscanf(optarg, "%u:%llu", &opt.seed, &opt.mean) != 2)
				usage();
			break;
		case 's':
			if (sscanf(optarg, "%llu:%d", &opt.stall_at,
			    &opt.stall_secs) != 2)
				usage();
			break;
		case 'T': opt.deadline = atoi(optarg); break;
		case 't': opt.port = atoi(optarg); break;
		default: usage();
		}
	}
	if (portfile == NULL || opt.port <= 0)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((ls = listen_any(&port)) == -1) {
		perror("faultproxy: listen");
		return 1;
	}
	if ((f = fopen(portfile, "w")) == NULL) {
		perror(portfile);
		return 1;
	}
	fprintf(f, "%d\n", port);
	fclose(f);
	loop(ls);
	counts();
	return 0;
}
