/*
 * file.h - creating the files crypto/ writes (keys, certificates): never
 * overwriting, with a mode, durably.
 */
#ifndef CRY_FILE_H
#define CRY_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "mrx_err.h"

/*
 * Creates `path` with `mode` (O_EXCL, not following a symlink: an existing
 * name, even a dangling link, is MRX_EEXIST), writes the `n` bytes at `p`,
 * fsync()s the file and its directory. On a failure after creation the
 * file is removed. MRX_EEXIST, MRX_ENOENT (no such directory) or MRX_EIO,
 * with diag naming the path.
 */
int cry_file_create(const char *path, mode_t mode, const void *p, size_t n,
    struct mrx_diag *diag);

#endif
