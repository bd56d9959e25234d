/*
 * Exact progress of a receive, for resuming after the process was killed.
 *
 * The durable checkpoint (syncfs + checkpoint snapshot + state file)
 * survives a crash of the machine, but it is only as recent as the last
 * checkpoint.  A process that is merely killed leaves the page cache
 * intact, so the engine also keeps "commands handed to the kernel so far"
 * in a shared mapping of a small file beside the staging subvolume: plain
 * stores, no system call per command.  A resume that finds it valid uses
 * the staging subvolume as it is and replays from there (tolerantly: the
 * command in flight may be half applied).  The record carries the boot
 * id: after a reboot the page cache is gone, the record is ignored, and
 * the staging subvolume is restored from the checkpoint snapshot, so the
 * resume starts exactly at the checkpoint (apply_ckpt.c).  In the test
 * build (proto/base/testing.h) the environment variable
 * BTRSEND_TEST_IGNORE_PROGRESS makes every record count as ignored, to
 * simulate that in tests.
 *
 * Two slots, written alternately, each with a sequence number and a CRC,
 * so a kill in the middle of an update leaves the other slot intact.
 *
 * The file beside the staging subvolume is the lock ("a receive of this
 * name is running"); the record itself lives on tmpfs, in
 * APPLY_PROGRESS_DIR/<dev>.<inode of that file>.  It has to outlive the
 * process, not the boot, and on btrfs every write-back (apply_sync.c)
 * took its page and made the next store wait until the page was on disk
 * behind the data being flushed: the apply stood still for most of each
 * flush.  The directory is one no one else may write (it was /dev/shm,
 * where any local user could pre-create the predictable names: read the
 * records, truncate them under the mapping, or plant one that makes a
 * resume skip commands).  Records are opened in it without following
 * links or blocking, created exclusively, and used only when they are
 * regular files of ours of exactly the record's size; anything else there
 * counts as no record, so the resume starts at the durable checkpoint.
 * When the directory itself is not usable, the record stays in the file
 * beside the subvolume, as it was.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/apply_impl.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"

#define PROGRESS_MAGIC  "BTRSPRG1"
#define PROGRESS_SIZE   4096

struct progress_slot {
	char magic[8];
	char boot_id[40];
	uint8_t uuid[16];
	uint64_t ctransid;
	uint64_t seq;
	uint64_t ncmds;
	uint64_t offset;
	uint8_t digest[STREAM_DIGEST_LEN];
	uint32_t crc;                   /* of everything above */
};

static char progress_boot[40];

static const char *
boot_id(void)
{
	int fd;
	ssize_t n;

	if (progress_boot[0] != '\0')
		return progress_boot;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return progress_boot;
	n = read(fd, progress_boot, sizeof(progress_boot) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	progress_boot[n] = '\0';
	return progress_boot;
}

static int
progress_name(const struct apply *a, char out[NAME_MAX + 1])
{
	return partial_name(a->name, PARTIAL_PROGRESS, out);
}

/* The name of the record of the lock file described by st. */
static void
progress_rec_name(const struct stat *st, char out[64])
{
	snprintf(out, 64, "%llx.%llx", (unsigned long long)st->st_dev,
	    (unsigned long long)st->st_ino);
}

/* The directory of the records; tests point it elsewhere. */
static const char *
progress_dir(void)
{
	const char *d;

	if (TEST_HOOKS && (d = TEST_HOOK_ENV("BTRSEND_TEST_PROGRESS_DIR")) !=
	    NULL)
		return d;
	return APPLY_PROGRESS_DIR;
}

/* Make directory `path` (0700) and, if missing, its parent (0755). */
static void
progress_dir_make(const char *path)
{
	char parent[PATH_MAX], *slash;

	if (mkdir(path, 0700) == 0 || errno != ENOENT ||
	    strlen(path) >= sizeof(parent))
		return;
	strcpy(parent, path);
	if ((slash = strrchr(parent, '/')) == NULL || slash == parent)
		return;
	*slash = '\0';
	if (mkdir(parent, 0755) == 0 || errno == EEXIST)
		(void)mkdir(path, 0700);
}

/* 0 if st is ours and no one else may write it, else -1 and why. */
static int
progress_ours(const struct stat *st, char *why, size_t len)
{
	if (st->st_uid != geteuid())
		snprintf(why, len, "owned by uid %u, not %u",
		    (unsigned)st->st_uid, (unsigned)geteuid());
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, len, "writable by group or others, mode %04o",
		    (unsigned)(st->st_mode & 07777));
	else
		return 0;
	return -1;
}

/* Directory `path`, if it is ours and no one else may write it. */
static int
progress_dir_check(const char *path, char *why, size_t len)
{
	struct stat st;
	int fd, e;

	progress_dir_make(path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			snprintf(why, len, "a symbolic link");
		else
			snprintf(why, len, "%s", strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(why, len, "%s", strerror(errno));
	else if (progress_ours(&st, why, len) == 0)
		return fd;
	close(fd);
	return -1;
}

/* The checked directory of the records, or -1 (said once): no tmpfs. */
static int
progress_dir_open(void)
{
	static bool warned;
	char why[128];
	int fd;

	fd = progress_dir_check(progress_dir(), why, sizeof(why));
	if (fd == -1 && !warned) {
		warned = true;
		log_warnx("progress records: cannot use %s (%s); keeping them "
		    "beside the staging subvolumes, which slows receiving on "
		    "btrfs: make it a directory owned by uid %u, mode 0700, or "
		    "remove it so that it is made again", progress_dir(), why,
		    (unsigned)geteuid());
	}
	return fd;
}

int
apply_progress_dir_fd(void)
{
	return progress_dir_open();
}

static void
progress_refused(const char *name, const char *why)
{
	log_warnx("progress record %s/%s refused (%s): resuming from the last "
	    "checkpoint instead; remove it", progress_dir(), name, why);
}

/* 0 if fd is a record of ours no one else may change, else -1 and why. */
static int
progress_rec_check(int fd, char *why, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		snprintf(why, len, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, len, "not a regular file");
	else if (progress_ours(&st, why, len) == -1)
		return -1;
	else if (st.st_size != PROGRESS_SIZE)
		snprintf(why, len, "%lld bytes, not %d",
		    (long long)st.st_size, PROGRESS_SIZE);
	else
		return 0;
	return -1;
}

/*
 * Open record `name` in dfd with `flags`; -1 with why if not usable, errno
 * ENOENT if there is none.
 */
static int
progress_rec_openat(int dfd, const char *name, int flags, char *why,
    size_t len)
{
	int fd, e;

	fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		e = errno;
		snprintf(why, len, "%s", e == ELOOP ? "a symbolic link" :
		    strerror(e));
		errno = e;
		return -1;
	}
	if (progress_rec_check(fd, why, len) == -1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/*
 * A new record: one of ours left by a lock file gone (whose inode the new
 * one reuses) is removed first, anything else there is refused.
 */
static int
progress_rec_create(int dfd, const char *name, char *why, size_t len)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			snprintf(why, len, "left there, and not a regular file "
			    "of ours");
			return -1;
		}
		if (unlinkat(dfd, name, 0) == -1) {
			snprintf(why, len, "%s", strerror(errno));
			return -1;
		}
	}
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd == -1 || ftruncate(fd, PROGRESS_SIZE) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		if (fd != -1) {
			(void)unlinkat(dfd, name, 0);
			close(fd);
		}
		return -1;
	}
	return fd;
}

/*
 * The record of lock file `lockfd`: a new one when `fresh`, else the one a
 * killed run left (or a new one), in the directory of records; the lock
 * file itself when that directory is not usable or what is in it is
 * refused.  A descriptor, or -1.
 */
static int
progress_record_open(int lockfd, bool fresh)
{
	struct stat st;
	char name[64], why[128];
	int dfd, fd = -1;

	if (fstat(lockfd, &st) == -1)
		return -1;
	if ((dfd = progress_dir_open()) != -1) {
		progress_rec_name(&st, name);
		if (!fresh)
			fd = progress_rec_openat(dfd, name, O_RDWR, why,
			    sizeof(why));
		if (fresh || (fd == -1 && errno == ENOENT))
			fd = progress_rec_create(dfd, name, why, sizeof(why));
		if (fd == -1)
			progress_refused(name, why);
		close(dfd);
	}
	if (fd == -1)
		fd = fcntl(lockfd, F_DUPFD_CLOEXEC, 3);
	return fd;
}

/*
 * For reading the record of lock file st: 0 with *fd the record in the
 * directory, or with *fd -1 when there is none there (the lock file holds
 * it); -1 (said) when what is there is refused.
 */
static int
progress_record_reopen(const struct stat *st, int *fd)
{
	char name[64], why[128];
	int dfd, rc = 0;

	*fd = -1;
	if ((dfd = progress_dir_open()) == -1)
		return 0;
	progress_rec_name(st, name);
	*fd = progress_rec_openat(dfd, name, O_RDONLY, why, sizeof(why));
	if (*fd == -1 && errno != ENOENT) {
		progress_refused(name, why);
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* Create (or reuse) and map the progress record of the current subvolume. */
int
apply_progress_open(struct apply *a)
{
	struct progress_slot *slots;
	char name[NAME_MAX + 1];
	bool fresh = true;
	void *p;
	int fd, rec;

	if (a->progress != NULL)
		return 0;
	if (progress_name(a, name) == -1)
		return apply_fail(a, 0, "progress file name too long");
	fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		fresh = false;
		fd = openat(a->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		return apply_fail(a, errno, "open %s", name);
	/* the lock says "a receive of this name is running": held to the end */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return apply_fail(a, errno == EWOULDBLOCK ? EBUSY : errno,
		    "another receive of %s is running in DIR (lock on %s)",
		    a->name, name);
	}
	if ((rec = progress_record_open(fd, fresh)) == -1 ||
	    ftruncate(rec, PROGRESS_SIZE) == -1) {
		if (rec != -1)
			close(rec);
		close(fd);
		return apply_fail(a, errno, "progress record of %s", name);
	}
	p = mmap(NULL, PROGRESS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rec,
	    0);
	close(rec);
	if (p == MAP_FAILED) {
		close(fd);
		return apply_fail(a, errno, "map %s", name);
	}
	a->progress = p;
	a->progress_fd = fd;
	/* continue after the sequence numbers a killed run left */
	slots = p;
	a->progress_seq = slots[0].seq > slots[1].seq ? slots[0].seq :
	    slots[1].seq;
	return 0;
}

void
apply_progress_close(struct apply *a, bool remove)
{
	char name[NAME_MAX + 1], rec[64];
	struct stat st;
	int dfd;

	if (a->progress != NULL)
		munmap(a->progress, PROGRESS_SIZE);
	a->progress = NULL;
	/* unlink before the lock goes, so no one locks a file on its way out */
	if (remove && progress_name(a, name) == 0) {
		if (fstatat(a->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (dfd = progress_dir_open()) != -1) {
			progress_rec_name(&st, rec);
			(void)unlinkat(dfd, rec, 0);
			close(dfd);
		}
		(void)unlinkat(a->dirfd, name, 0);
	}
	if (a->progress_fd != -1)
		close(a->progress_fd);
	a->progress_fd = -1;
}

/* Everything up to (not including) command ncmds is in the kernel's hands. */
void
apply_progress_publish(struct apply *a, uint64_t ncmds, uint64_t offset,
    const struct stream_digest *d)
{
	struct progress_slot *slots = a->progress, *s;
	uint64_t seq;

	if (slots == NULL)
		return;
	seq = ++a->progress_seq;
	s = &slots[seq & 1];
	s->seq = 0;     /* invalid while being written */
	memcpy(s->magic, PROGRESS_MAGIC, sizeof(s->magic));
	memcpy(s->boot_id, boot_id(), sizeof(s->boot_id));
	memcpy(s->uuid, a->id.uuid, 16);
	s->ctransid = a->id.ctransid;
	s->ncmds = ncmds;
	s->offset = offset;
	memcpy(s->digest, d->d, STREAM_DIGEST_LEN);
	s->seq = seq;
	s->crc = stream_crc32c(0, s, offsetof(struct progress_slot, crc));
}

/*
 * Refine a durable checkpoint with the progress record, if the record is
 * from this boot, of the same stream, and further along.  1 if refined.
 */
int
apply_progress_refine(int dirfd, const char *subvol, struct checkpoint *c)
{
	struct progress_slot slots[2], *best = NULL;
	char name[NAME_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, rec, i;

	/* test only: act as if the machine had crashed (boot id changed) */
	if (TEST_HOOK_ENV("BTRSEND_TEST_IGNORE_PROGRESS") != NULL)
		return 0;
	if (partial_name(subvol, PARTIAL_PROGRESS, name) == -1)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    progress_record_reopen(&st, &rec) == -1) {
		close(fd);
		return 0;
	}
	if (rec != -1) {
		close(fd);
		fd = rec;
	}
	n = read(fd, slots, sizeof(slots));
	close(fd);
	if (n != (ssize_t)sizeof(slots))
		return 0;
	for (i = 0; i < 2; i++) {
		struct progress_slot *s = &slots[i];

		if (memcmp(s->magic, PROGRESS_MAGIC, sizeof(s->magic)) != 0 ||
		    s->seq == 0 || s->crc != stream_crc32c(0, s,
		    offsetof(struct progress_slot, crc)))
			continue;
		if (strncmp(s->boot_id, boot_id(), sizeof(s->boot_id)) != 0 ||
		    memcmp(s->uuid, c->id.uuid, 16) != 0 ||
		    s->ctransid != c->id.ctransid)
			continue;
		if (best == NULL || s->seq > best->seq)
			best = s;
	}
	if (best == NULL || best->ncmds <= c->ncmds || best->offset < c->offset)
		return 0;
	c->ncmds = best->ncmds;
	c->offset = best->offset;
	memcpy(c->digest.d, best->digest, STREAM_DIGEST_LEN);
	return 1;
}
