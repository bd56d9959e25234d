/*
 * Private to engine/: the FILEATTR commands a full send gets before its
 * END when send_params.fileattrs is set (send.c).  The kernel sends a
 * file's inode flags (FILEATTR) only in an incremental stream, for an
 * inode whose flags changed (spec §3), so a full send of a snapshot
 * loses them; a restore must not.  They are found by walking the
 * snapshot (FS_IOC_GETFLAGS of each directory and regular file, never
 * following a symlink nor opening a special file), in readdir order,
 * which a read-only snapshot keeps: a regenerated stream has the same
 * commands, so resume and its digest hold.  "No compression" is left
 * out: btrfs sets it by itself where data did not compress.  The root
 * directory's own flags are not sent (no path names it).
 */
#ifndef BTRSEND_ENGINE_SEND_FA_H
#define BTRSEND_ENGINE_SEND_FA_H

#include <stddef.h>
#include <stdint.h>

#define SEND_FA_MAX_DEPTH       256     /* deeper directories are not walked */

struct send_fa {
	uint8_t **cmds;                 /* whole commands, CRC'd */
	size_t *lens;
	size_t n, next;                 /* count, next to yield */
	int built;
};

/* Walk the snapshot at rootfd; 0, or -1 with errno (err says where). */
int  send_fa_collect(int rootfd, uint32_t version, struct send_fa *fa,
    char *err, size_t errlen);
void send_fa_free(struct send_fa *fa);

#endif
