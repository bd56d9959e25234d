/*
 * btrsendctl ls --from TARGET [--job JOB] [--json] [SNAPSHOT [PATH]]:
 * what a backup host holds for this client (its certificate): the job's
 * snapshots, oldest first so that the newest is last on the screen, or
 * the entries of a directory in one of them, like `ls -l`.  Owners are
 * the numbers of the host the snapshot came from; times are UTC.  Names
 * are bytes from the network: control bytes and backslashes are printed
 * escaped, never raw, so a name cannot move the cursor or fake a line.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uuid/uuid.h>

#include "conf/conf.h"
#include "daemon/ctl/ctl.h"
#include "daemon/net/netsend.h"
#include "daemon/net/tls.h"
#include "proto/base/json.h"
#include "proto/base/log.h"

struct ls {
	const char *conf_path, *from, *job, *snapshot, *path;
	int json;
	struct json j;
	uint64_t n;
};

/* s with every byte below 0x20, DEL and '\' as a C escape. */
static void
ls_put_escaped(FILE *f, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* "YYYY-MM-DD HH:MM:SS" in UTC, or "-" before 1970 or unknown. */
static void
ls_time(char *buf, size_t len, int64_t t, int secs)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, secs ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
}

static void
ls_mode(char out[11], uint32_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	switch (mode & S_IFMT) {
	case S_IFDIR: out[0] = 'd'; break;
	case S_IFLNK: out[0] = 'l'; break;
	case S_IFCHR: out[0] = 'c'; break;
	case S_IFBLK: out[0] = 'b'; break;
	case S_IFIFO: out[0] = 'p'; break;
	case S_IFSOCK: out[0] = 's'; break;
	case S_IFREG: out[0] = '-'; break;
	default: out[0] = '?'; break;
	}
	for (i = 0; i < 9; i++)
		out[i + 1] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

static const char *
ls_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char-device";
	case S_IFBLK: return "block-device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFREG: return "file";
	default: return "unknown";
	}
}

static void
ls_entry_text(const struct wire_ls_entry *e)
{
	char mode[11], when[32], size[48];

	ls_mode(mode, e->mode);
	ls_time(when, sizeof(when), e->mtime_sec, 0);
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
		snprintf(size, sizeof(size), "%u, %u", major(e->rdev),
		    minor(e->rdev));
	else
		snprintf(size, sizeof(size), "%" PRIu64, e->size);
	printf("%s %3u %5u %5u %10s %s ", mode, e->nlink, e->uid, e->gid,
	    size, when);
	ls_put_escaped(stdout, e->name);
	if (S_ISLNK(e->mode)) {
		fputs(" -> ", stdout);
		ls_put_escaped(stdout, e->target);
	}
	putchar('\n');
}

static void
ls_entry_json(struct json *j, const struct wire_ls_entry *e)
{
	char when[32];

	json_object(j, NULL);
	json_string(j, "name", e->name);
	json_string(j, "type", ls_type(e->mode));
	json_uint(j, "mode", e->mode & 07777);
	json_uint(j, "nlink", e->nlink);
	json_uint(j, "uid", e->uid);
	json_uint(j, "gid", e->gid);
	json_uint(j, "size", e->size);
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode)) {
		json_uint(j, "major", major(e->rdev));
		json_uint(j, "minor", minor(e->rdev));
	}
	json_int(j, "mtime", e->mtime_sec);
	json_uint(j, "mtime_nsec", e->mtime_nsec);
	ls_time(when, sizeof(when), e->mtime_sec, 1);
	json_string(j, "mtime_utc", when);
	if (S_ISLNK(e->mode))
		json_string(j, "target", e->target);
	json_end(j);
}

static int
ls_page(const struct wire_ls_entry *e, size_t n, void *arg)
{
	struct ls *l = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		if (l->json)
			ls_entry_json(&l->j, &e[i]);
		else
			ls_entry_text(&e[i]);
	}
	l->n += n;
	return ferror(stdout) ? -1 : 0;
}

static void
ls_catalog_print(struct ls *l, const struct wire_catalog_reply *c)
{
	char when[32], u[37];
	uint32_t i;

	if (l->json) {
		json_start(&l->j, stdout);
		json_object(&l->j, NULL);
		json_string(&l->j, "target", l->from);
		json_string(&l->j, "job", l->job);
		json_array(&l->j, "snapshots");
		for (i = 0; i < c->n; i++) {
			json_object(&l->j, NULL);
			json_string(&l->j, "name", c->snaps[i].name);
			json_uint(&l->j, "received", c->snaps[i].otime);
			ls_time(when, sizeof(when), (int64_t)c->snaps[i].otime,
			    1);
			json_string(&l->j, "received_utc", when);
			if (c->snaps[i].size > 0)
				json_uint(&l->j, "size", c->snaps[i].size);
			else
				json_null(&l->j, "size");
			uuid_unparse(c->snaps[i].received.uuid, u);
			json_string(&l->j, "uuid", u);
			json_end(&l->j);
		}
		json_end(&l->j);
		json_end(&l->j);
		return;
	}
	if (c->n == 0) {
		fprintf(stderr, "btrsendctl: ls: %s holds no snapshot of job "
		    "%s for this client\n", l->from, l->job);
		return;
	}
	printf("%-40s %-19s %s\n", "SNAPSHOT", "RECEIVED (UTC)", "SIZE");
	for (i = 0; i < c->n; i++) {
		ls_time(when, sizeof(when), (int64_t)c->snaps[i].otime, 1);
		ls_put_escaped(stdout, c->snaps[i].name);
		printf("%*s %-19s ", (int)(strlen(c->snaps[i].name) < 40 ?
		    40 - strlen(c->snaps[i].name) : 0), "", when);
		if (c->snaps[i].size > 0)
			printf("%" PRIu64 "\n", c->snaps[i].size);
		else
			printf("-\n");
	}
}

enum { OPT_FROM = 256, OPT_JOB, OPT_JSON };

static const struct option ls_opts[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

static int
ls_parse(int argc, char **argv, struct ls *l)
{
	int c;

	l->conf_path = CONF_DEFAULT_PATH;
	l->job = "manual";
	l->path = "";
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:", ls_opts, NULL)) != -1) {
		switch (c) {
		case 'f': l->conf_path = optarg; break;
		case OPT_FROM: l->from = optarg; break;
		case OPT_JOB: l->job = optarg; break;
		case OPT_JSON: l->json = 1; break;
		default: return -1;
		}
	}
	if (l->from == NULL || argc - optind > 2) {
		log_warnx("ls: usage: ls [-f CONF] --from TARGET [--job JOB] "
		    "[--json] [SNAPSHOT [PATH]]");
		return -1;
	}
	if (!wire_name_valid(l->job)) {
		log_warnx("ls: --job %s is not a job name", l->job);
		return -1;
	}
	if (optind < argc)
		l->snapshot = argv[optind++];
	if (optind < argc)
		l->path = argv[optind];
	return 0;
}

/*
 * PATH as the wire carries it: leading, trailing and doubled slashes
 * dropped ("/" is the root); "." and ".." refused, not resolved here.
 */
static int
ls_path(const char *in, char *out, size_t len)
{
	const char *p = in;
	size_t o = 0, n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (o + n + 1 >= len)
			return -1;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return wire_path_valid(out) ? 0 : -1;
}

/* SNAPSHOT, or the newest of the catalog for `latest`. */
static int
ls_snapshot(struct ls *l, SSL_CTX *ctx, const struct netsend_target *tg,
    char *out, size_t len)
{
	struct wire_msg m;
	enum err_class cls;

	if (strcmp(l->snapshot, "latest") != 0) {
		if (!wire_name_valid(l->snapshot)) {
			log_warnx("ls: %s is not a snapshot name", l->snapshot);
			return -1;
		}
		snprintf(out, len, "%s", l->snapshot);
		return 0;
	}
	if (netsend_catalog(ctx, tg, l->job, &m, &cls) == -1)
		return -1;
	if (m.u.catalog.n == 0) {
		log_warnx("ls: %s holds no snapshot of job %s for this client",
		    l->from, l->job);
		wire_msg_free(&m);
		return -1;
	}
	snprintf(out, len, "%s", m.u.catalog.snaps[m.u.catalog.n - 1].name);
	wire_msg_free(&m);
	return 0;
}

static int
ls_entries(struct ls *l, SSL_CTX *ctx, const struct netsend_target *tg)
{
	char snap[WIRE_NAME_MAX + 1], path[WIRE_PATH_MAX + 1];
	enum err_class cls;
	int rc;

	if (ls_path(l->path, path, sizeof(path)) == -1) {
		log_warnx("ls: %s: give a path inside the snapshot without "
		    "\".\" or \"..\" components", l->path);
		return CTL_USAGE;
	}
	if (ls_snapshot(l, ctx, tg, snap, sizeof(snap)) == -1)
		return CTL_FAILED;
	if (l->json) {
		json_start(&l->j, stdout);
		json_object(&l->j, NULL);
		json_string(&l->j, "target", l->from);
		json_string(&l->j, "job", l->job);
		json_string(&l->j, "snapshot", snap);
		json_string(&l->j, "path", path);
		json_array(&l->j, "entries");
	}
	rc = netsend_ls(ctx, tg, l->job, snap, path, ls_page, l, &cls);
	if (l->json) {
		json_end(&l->j);
		json_end(&l->j);
		if (rc == 0 && json_finish(&l->j) == -1)
			rc = -1;
	}
	return rc == 0 ? CTL_OK : CTL_FAILED;
}

int
ctl_ls(int argc, char **argv)
{
	struct ls l;
	struct ctl_net t;
	struct netsend_target tg;
	struct wire_msg m;
	enum err_class cls;
	SSL_CTX *ctx;
	char err[512];
	int rc = CTL_FAILED;

	memset(&l, 0, sizeof(l));
	if (ls_parse(argc, argv, &l) == -1)
		return CTL_USAGE;
	if (ctl_net_resolve(l.conf_path, l.from, "ls", &t) == -1)
		return CTL_USAGE;
	if ((ctx = tls_ctx_new(&t.tls, false, err, sizeof(err))) == NULL) {
		log_warnx("ls: %s", err);
		return CTL_USAGE;
	}
	memset(&tg, 0, sizeof(tg));
	tg.label = l.from;
	tg.host = t.host;
	tg.port = t.port;
	tg.cert_name = t.name;
	tg.timeout_ms = (int)(t.timeout ? t.timeout : CONF_DEFAULT_TIMEOUT) *
	    1000;
	if (l.snapshot != NULL)
		rc = ls_entries(&l, ctx, &tg);
	else if (netsend_catalog(ctx, &tg, l.job, &m, &cls) == 0) {
		ls_catalog_print(&l, &m.u.catalog);
		wire_msg_free(&m);
		rc = l.json && json_finish(&l.j) == -1 ? CTL_FAILED : CTL_OK;
	}
	SSL_CTX_free(ctx);
	if (fflush(stdout) == EOF)
		rc = CTL_FAILED;
	return rc;
}
