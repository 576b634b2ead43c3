/*
 * file.c - creating the files crypto/ writes (file.h).
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
write_fd(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync()s the directory holding `path`, so that the new entry lasts. */
static void
sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int
cry_file_create(const char *path, mode_t mode, const void *p, size_t n,
    struct mrx_diag *diag)
{
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		e = errno;
		if (e == EEXIST)
			return mrx_diag_set(diag, MRX_EEXIST,
			    MRX_DIAG_NO_OFFSET, path,
			    "%s already exists; refusing to overwrite it",
			    path);
		return mrx_diag_set(diag, e == ENOENT ? MRX_ENOENT : MRX_EIO,
		    MRX_DIAG_NO_OFFSET, path, "cannot create %s: %s", path,
		    strerror(e));
	}
	if (fchmod(fd, mode) != 0 || write_fd(fd, p, n) != 0 ||
	    fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(path);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, path,
		    "cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0) {
		e = errno;
		unlink(path);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, path,
		    "cannot write %s: %s", path, strerror(e));
	}
	sync_parent(path);
	return 0;
}
