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
 * /dev/shm/btrsend-progress.<dev>.<inode of that file>.  It has to
 * outlive the process, not the boot, and on btrfs every write-back
 * (apply_sync.c) took its page and made the next store wait until the
 * page was on disk behind the data being flushed: the apply stood still
 * for most of each flush.  Without /dev/shm the record stays in the file
 * beside the subvolume, as it was.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/apply_impl.h"
#include "proto/base/testing.h"

#define PROGRESS_MAGIC  "BTRSPRG1"
#define PROGRESS_SIZE   4096
#define PROGRESS_SHM    "/dev/shm/btrsend-progress."

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

/* The tmpfs path of the record of the lock file described by st. */
static void
progress_shm_name(const struct stat *st, char out[64])
{
	snprintf(out, 64, PROGRESS_SHM "%llx.%llx",
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
}

/*
 * The record of lock file `lockfd`: its tmpfs file, emptied when `fresh`
 * (a new lock file may reuse the inode of one gone), or the lock file
 * itself when there is no tmpfs.  A descriptor, or -1.
 */
static int
progress_record_open(int lockfd, bool fresh)
{
	struct stat st;
	char shm[64];
	int fd;

	if (fstat(lockfd, &st) == -1)
		return -1;
	progress_shm_name(&st, shm);
	fd = open(shm, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    (fresh ? O_TRUNC : 0), 0600);
	if (fd == -1)
		fd = fcntl(lockfd, F_DUPFD_CLOEXEC, 3);
	return fd;
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
	char name[NAME_MAX + 1], shm[64];
	struct stat st;

	if (a->progress != NULL)
		munmap(a->progress, PROGRESS_SIZE);
	a->progress = NULL;
	/* unlink before the lock goes, so no one locks a file on its way out */
	if (remove && progress_name(a, name) == 0) {
		if (fstatat(a->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			progress_shm_name(&st, shm);
			(void)unlink(shm);
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
	char name[NAME_MAX + 1], shm[64];
	struct stat st;
	ssize_t n;
	int fd, rec, i;

	/* test only: act as if the machine had crashed (boot id changed) */
	if (TEST_HOOK_ENV("BTRSEND_TEST_IGNORE_PROGRESS") != NULL)
		return 0;
	if (partial_name(subvol, PARTIAL_PROGRESS, name) == -1)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0) {
		progress_shm_name(&st, shm);
		if ((rec = open(shm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
			close(fd);
			fd = rec;
		}
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
