/*
 * Engine-private: inode flags as FILEATTR commands (spec row 24,
 * Appendix C), shared by the subtree walker (engine/walk.c) and the
 * full-send flag pass (engine/send.c).
 *
 * The kernel's send stream carries FILEATTR only in incremental sends.
 * A full send of version 2 or more made by btrsend gets, just before
 * its END, one FILEATTR for every inode of the snapshot whose flags
 * are not zero, found by walking the read-only snapshot:
 *
 *	fileattr_walk_open()	start at the snapshot's root directory
 *	fileattr_walk_next()	the next command, encoded as the kernel
 *				would (PATH, FILEATTR), CRC included
 *	fileattr_walk_free()
 *
 * The inodes come in inode number order from the snapshot's tree
 * (BTRFS_IOC_TREE_SEARCH_V2), each named by its first path
 * (BTRFS_IOC_INO_PATHS): each inode once, a hard-linked file under one
 * name.  Regular files and directories only (the kernel sends none for
 * symlinks; a special file's flags could not be set through it).  The
 * snapshot is read-only, so the same snapshot gives the same commands
 * (a resume regenerates them and checks the digest).  Memory: a fixed
 * buffer, whatever the tree holds.
 */
#ifndef BTRSEND_ENGINE_FILEATTR_H
#define BTRSEND_ENGINE_FILEATTR_H

#include <stddef.h>
#include <stdint.h>

#include "proto/stream/stream.h"

/* FS_IOC_GETFLAGS flags as a FILEATTR value (btrfs inode flags). */
uint64_t fileattr_from_fsflags(unsigned int fl);
/* A raw btrfs_inode_item.flags as the same value (the flags chattr shows). */
uint64_t fileattr_from_btrfs(uint64_t raw);
/*
 * The FILEATTR value of the inode open at fd: 0 and *v (0 too on a
 * filesystem without inode flags), or -1 with errno.
 */
int  fileattr_get(int fd, uint64_t *v);
/* The command's attributes, after stream_wr_begin(wr, SEND_C_FILEATTR). */
void fileattr_put(struct stream_writer *wr, const char *path, uint64_t v);
/*
 * The whole command into buf (CRC included) and *c as the stream
 * reader would parse it; its length, or -1 when it does not fit.
 */
long fileattr_cmd(uint8_t *buf, size_t cap, uint32_t version,
    const char *path, uint64_t v, struct stream_cmd *c);

struct fileattr_walk;

/* Walk the snapshot open at rootfd (not taken over); -1 with errno. */
int  fileattr_walk_open(struct fileattr_walk **fwp, int rootfd,
    uint32_t version);
/*
 * 1 and *c (raw points into the walk, valid until the next call); 0
 * when the walk is done; -1 with fileattr_walk_errmsg() and errno.
 */
int  fileattr_walk_next(struct fileattr_walk *fw, struct stream_cmd *c);
const char *fileattr_walk_errmsg(const struct fileattr_walk *fw);
void fileattr_walk_free(struct fileattr_walk *fw);

#endif
