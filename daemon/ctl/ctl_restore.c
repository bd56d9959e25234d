/*
 * btrsendctl restore --from TARGET [--job JOB] [--path PATH] SNAPSHOT DEST:
 * a snapshot (or a subtree of one) back from the backup host.  This file
 * checks what can be checked before connecting (DEST, the name it would
 * take, root for a subvolume), gathers the subvolumes DEST holds as
 * possible bases, confines the process, and hands over to the client
 * side of the restore (daemon/net/netrestore.h).
 */
#include <sys/stat.h>
#include <sys/vfs.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/value.h"
#include "daemon/ctl/ctl.h"
#include "daemon/net/netrestore.h"
#include "daemon/net/netsend.h"
#include "daemon/net/sandbox.h"
#include "daemon/net/tls.h"
#include "engine/apply.h"
#include "engine/snapshot.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"

struct restore_cmd {
	const char *conf_path, *from, *job, *snapshot, *dest;
	char path[WIRE_PATH_MAX + 1];
	bool subtree;
	int retries;
	bool zstd;              /* the target's compress zstd */
	uint64_t timeout;       /* seconds, 0: the target's or the default */
	/* resolved */
	struct tls_conf tls;
	char host[256], name[256], port[8];
	int destfd;
	int fsfd;               /* the top of DEST's filesystem (whole) */
	char fspath[4096];
};

/* What the C library reads to dial again (names, NSS, OpenSSL). */
static const char *const restore_ro_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	"/etc/host.conf", "/etc/services", "/etc/ld.so.cache",
	"/etc/localtime", "/etc/ssl/openssl.cnf",
	"/proc/sys/kernel/random/boot_id",
};

static const char *const restore_lib_dirs[] = {
	"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib",
};

#define RESTORE_DNS_PORT	53

enum { OPT_FROM = 256, OPT_JOB, OPT_PATH, OPT_RETRIES, OPT_TIMEOUT };

static const struct option restore_opts[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

/* PATH inside the snapshot, without leading or trailing slashes. */
static int
restore_path(struct restore_cmd *r, const char *arg)
{
	size_t len;

	while (*arg == '/')
		arg++;
	if (strlen(arg) >= sizeof(r->path))
		return -1;
	snprintf(r->path, sizeof(r->path), "%s", arg);
	while ((len = strlen(r->path)) > 0 && r->path[len - 1] == '/')
		r->path[len - 1] = '\0';
	if (r->path[0] == '\0' || !wire_path_valid(r->path)) {
		log_warnx("restore: --path %s: a file or directory inside the "
		    "snapshot, like etc/ssh or home/ann/notes.txt", arg);
		return -1;
	}
	r->subtree = true;
	return 0;
}

static int
restore_parse(int argc, char **argv, struct restore_cmd *r)
{
	const char *why;
	int c;

	r->conf_path = CONF_DEFAULT_PATH;
	r->job = "manual";
	r->retries = 10;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:", restore_opts, NULL)) != -1) {
		switch (c) {
		case 'f': r->conf_path = optarg; break;
		case OPT_FROM: r->from = optarg; break;
		case OPT_JOB: r->job = optarg; break;
		case OPT_PATH:
			if (restore_path(r, optarg) == -1)
				return -1;
			break;
		case OPT_RETRIES:
			r->retries = atoi(optarg);
			if (r->retries < 0)
				return -1;
			break;
		case OPT_TIMEOUT:
			if (conf_parse_duration(optarg, &r->timeout, &why) == -1 ||
			    r->timeout == 0 || r->timeout > CONF_MAX_TIMEOUT) {
				log_warnx("restore: --timeout %s: from 1s to 1d",
				    optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 2 || r->from == NULL || !wire_name_valid(r->job))
		return -1;
	r->snapshot = argv[optind];
	r->dest = argv[optind + 1];
	if (!wire_name_valid(r->snapshot)) {
		log_warnx("restore: '%s' is no snapshot name (or latest)",
		    r->snapshot);
		return -1;
	}
	return 0;
}

/* The tls block, and the target named, or HOST[:PORT] itself. */
static int
restore_resolve(struct restore_cmd *r)
{
	struct ctl_net t;

	if (ctl_net_resolve(r->conf_path, r->from, "restore", &t) == -1)
		return -1;
	r->tls = t.tls;
	snprintf(r->host, sizeof(r->host), "%s", t.host);
	snprintf(r->port, sizeof(r->port), "%s", t.port);
	snprintf(r->name, sizeof(r->name), "%s", t.name);
	if (r->timeout == 0)
		r->timeout = t.timeout;
	r->zstd = t.zstd;
	return 0;
}

/* The name DEST would get: SNAPSHOT, or PATH's last component. */
static const char *
restore_landed(const struct restore_cmd *r)
{
	const char *s;

	if (!r->subtree)
		return r->snapshot;
	s = strrchr(r->path, '/');
	return s != NULL ? s + 1 : r->path;
}

/*
 * DEST: a directory, on btrfs for a whole snapshot (a subvolume is made
 * there, as root).  The name it would take must be free, or (whole, a
 * name given) a read-only received subvolume, which the backup host's
 * catalog then tells identical or not.  0, or -1 with a message.
 */
static int
restore_dest(struct restore_cmd *r)
{
	struct statfs sfs;
	struct stat st;
	const char *name = restore_landed(r);

	if ((r->destfd = open(r->dest, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			log_warnx("restore: %s: %s; DEST must be an existing "
			    "directory", r->dest, strerror(errno));
		else
			log_warn("restore: %s", r->dest);
		return -1;
	}
	if (!r->subtree) {
		if (fstatfs(r->destfd, &sfs) == -1) {
			log_warn("restore: %s", r->dest);
			return -1;
		}
		if (sfs.f_type != BTRFS_SUPER_MAGIC) {
			log_warnx("restore: %s is not on btrfs: a whole "
			    "snapshot can only be restored as a subvolume; "
			    "use --path for files", r->dest);
			return -1;
		}
		if (geteuid() != 0) {
			log_warnx("restore: restoring a whole snapshot makes "
			    "a subvolume in %s, which needs root; run it as "
			    "root, or restore files with --path", r->dest);
			return -1;
		}
	}
	if (strcmp(name, "latest") == 0 && !r->subtree)
		return 0;       /* the catalog names it */
	if (fstatat(r->destfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (!r->subtree && S_ISDIR(st.st_mode) && st.st_ino == 256)
		return 0;       /* perhaps restored already: the catalog tells */
	log_warnx("restore: %s/%s already exists; nothing is ever "
	    "overwritten: rename or delete it, or restore into another "
	    "directory", r->dest, name);
	return -1;
}

/*
 * The top of DEST's filesystem as mounted (the highest directory above
 * DEST on the same device): the offers and the parent lookup look
 * beneath it, so that the job's own snapshots in its snapshot-dir serve
 * as bases for a restore elsewhere on that filesystem.
 */
static int
restore_fs_top(struct restore_cmd *r)
{
	struct stat st, up;
	char link[64];
	ssize_t len;
	int fd, next;

	if ((fd = dup(r->destfd)) == -1 || fstat(fd, &st) == -1)
		goto fail;
	for (;;) {
		if ((next = openat(fd, "..", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || fstat(next, &up) == -1)
			goto fail;
		if (up.st_dev != st.st_dev || up.st_ino == st.st_ino) {
			close(next);
			break;
		}
		close(fd);
		fd = next;
		st = up;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((len = readlink(link, r->fspath, sizeof(r->fspath) - 1)) == -1)
		goto fail;
	r->fspath[len] = '\0';
	r->fsfd = fd;
	return 0;
fail:
	log_warn("restore: the top of %s's filesystem", r->dest);
	if (fd != -1)
		close(fd);
	return -1;
}

static bool
restore_numeric_host(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1;
}

/*
 * Once the TLS keys are in memory and DEST and its bases are known, and
 * before a byte from the backup host is parsed: the receive worker's
 * capabilities (none for a user), no_new_privs, Landlock (full access
 * beneath DEST and the engine's progress directory, reading what
 * dialing again needs, TCP connect to the target's port and DNS's), and
 * the seccomp list of receiving plus dialing (daemon/net/sandbox.h).
 */
static int
restore_confine(const struct restore_cmd *r)
{
	unsigned short ports[2];
	const char *fsdirs[1];
	struct sandbox sb;
	char err[256];
	int dirs[2], rc;

	memset(&sb, 0, sizeof(sb));
	sb.role = SANDBOX_RESTORE;
	dirs[0] = r->destfd;
	dirs[1] = geteuid() == 0 ? apply_progress_dir_fd() : -1;
	sb.rw_dirs = dirs;
	sb.nrw_dirs = dirs[1] == -1 ? 1 : 2;
	if (r->fsfd != -1) {
		/* the bases: read beneath the filesystem's top */
		fsdirs[0] = r->fspath;
		sb.ro_dirs = fsdirs;
		sb.nro_dirs = 1;
	}
	sb.ro_files = restore_ro_files;
	sb.nro_files = sizeof(restore_ro_files) / sizeof(restore_ro_files[0]);
	sb.lib_dirs = restore_lib_dirs;
	sb.nlib_dirs = sizeof(restore_lib_dirs) / sizeof(restore_lib_dirs[0]);
	ports[0] = (unsigned short)atoi(r->port);
	sb.nports = 1;
	if (!restore_numeric_host(r->host))
		ports[sb.nports++] = RESTORE_DNS_PORT;
	sb.ports = ports;
	sb.landlock = sb.seccomp = true;
	rc = sandbox_apply(&sb, err, sizeof(err));
	if (dirs[1] != -1)
		close(dirs[1]);
	if (rc == -1) {
		log_warnx("restore: cannot confine the restore: %s; nothing "
		    "restored", err);
		return -1;
	}
	if (TEST_HOOKS)
		sandbox_test_probe();
	return 0;
}

static void
restore_usage(void)
{
	log_warnx("restore: usage: restore [-f CONF] --from TARGET "
	    "[--job JOB] [--path PATH] [--retries N] [--timeout DURATION] "
	    "SNAPSHOT|latest DEST");
}

/* What the destination could not hold: reported, not fatal. */
static void
restore_warnings(const struct restore_cmd *r, char *w)
{
	char *line, *save = NULL;

	for (line = strtok_r(w, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("restore: %s/%s: %s", r->dest, restore_landed(r),
		    line);
}

static int
restore_run(struct restore_cmd *r, SSL_CTX *ctx, struct netrestore_have *h,
    size_t nh)
{
	struct netsend_target tg;
	struct netrestore_opts o;
	struct netrestore_result res;
	struct ctl_meter m;
	const char *env;

	memset(&tg, 0, sizeof(tg));
	tg.label = r->from;
	tg.host = r->host;
	tg.port = r->port;
	tg.cert_name = r->name;
	tg.timeout_ms = (int)(r->timeout ? r->timeout : CONF_DEFAULT_TIMEOUT) *
	    1000;
	memset(&o, 0, sizeof(o));
	o.job = r->job;
	o.snapshot = r->snapshot;
	o.path = r->subtree ? r->path : NULL;
	o.destfd = r->destfd;
	o.fsfd = r->fsfd;
	o.dest = r->dest;
	o.have = h;
	o.nhave = nh;
	o.retries = r->retries;
	o.zstd = r->zstd;
	/* The test build lets tests shorten it to exercise resume. */
	if (TEST_HOOKS && (env = TEST_HOOK_ENV("BTRSEND_CKPT_BYTES")) != NULL)
		o.ckpt_bytes = strtoull(env, NULL, 0);
	memset(&m, 0, sizeof(m));
	m.verb = "restore";
	m.snapshot = restore_landed(r);
	m.tty = isatty(STDERR_FILENO);
	o.on_progress = ctl_meter;
	o.progress_arg = &m;
	if (netrestore_run(ctx, &tg, &o, &res) == -1)
		return CTL_FAILED;
	if (res.already)
		printf("%s/%s: already restored in %s/%s\n", r->job, res.name,
		    r->dest, res.landed);
	else
		printf("restored %s/%s%s%s from %s into %s/%s (%llu bytes%s%s%s"
		    "%s)\n", r->job, res.name, r->subtree ? ":" : "",
		    r->subtree ? r->path : "", r->from, r->dest, res.landed,
		    (unsigned long long)res.bytes, res.base[0] ?
		    ", incremental from " : "", res.base[0] ? r->fspath : "",
		    res.base[0] && strcmp(r->fspath, "/") != 0 ? "/" : "",
		    res.base);
	if (res.warnings[0] != '\0')
		restore_warnings(r, res.warnings);
	return CTL_OK;
}

int
ctl_restore(int argc, char **argv)
{
	static struct restore_cmd r;
	struct netrestore_have *h = NULL;
	size_t nh = 0;
	SSL_CTX *ctx;
	char err[512];
	int rc = CTL_FAILED;

	memset(&r, 0, sizeof(r));
	r.destfd = r.fsfd = -1;
	if (restore_parse(argc, argv, &r) == -1) {
		restore_usage();
		return CTL_USAGE;
	}
	if (restore_resolve(&r) == -1)
		return CTL_USAGE;
	if ((ctx = tls_ctx_new(&r.tls, false, err, sizeof(err))) == NULL) {
		log_warnx("restore: %s", err);
		return CTL_USAGE;
	}
	if (restore_dest(&r) == -1)
		goto done;
	if (!r.subtree && (restore_fs_top(&r) == -1 ||
	    netrestore_offers(r.fsfd, &h, &nh, err, sizeof(err)) == -1)) {
		if (r.fsfd != -1)
			log_warnx("restore: %s: %s", r.fspath, err);
		goto done;
	}
	if (restore_confine(&r) == -1)
		goto done;
	rc = restore_run(&r, ctx, h, nh);
done:
	free(h);
	if (r.destfd != -1)
		close(r.destfd);
	if (r.fsfd != -1)
		close(r.fsfd);
	SSL_CTX_free(ctx);
	return rc;
}
