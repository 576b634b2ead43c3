/*
 * powercut.c - an LD_PRELOAD library for tests/test_powercut.py: it keeps,
 * for the store's files, a copy of what a power cut would leave on disk.
 *
 * A process killed with SIGKILL loses nothing it wrote: the kernel's page
 * cache keeps it. A power cut loses every write not yet made durable by
 * fsync or fdatasync. To test what mrxd acknowledges against that, this
 * library wraps fsync() and fdatasync(): when the descriptor is a file named
 * mrx.db or mrx.db-wal, it first copies the file's whole content to
 * $MRX_POWERCUT_DIR/<name>.durable (written beside and renamed, so a copy
 * is whole), then calls the real function. A sync makes durable at least
 * what was written before it began, which is what the copy holds; writes
 * racing with the copy may also land in it, which only makes the model
 * keep more than a real cut might. Restoring the .durable copies (and
 * removing mrx.db-shm) after SIGKILL gives a state a power cut could have
 * left; one file without a copy was never synced and is empty.
 *
 * MRX_POWERCUT_DELAY_US holds each sync that long before its copy (the
 * copy is then still of writes made before the real sync): a commit spends
 * that long written but not yet durable, so a kill in that time drops it,
 * and a reply sent before its commit is durable shows as a loss.
 *
 * A failure to make a copy aborts the process: the test must not pass on
 * a model that silently stopped.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "powercut: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

/* The basename of fd's file if it is one the model keeps, else NULL. */
static const char *
kept_name(int fd, char *path, size_t cap)
{
	char link[64];
	const char *base;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, cap - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (strcmp(base, "mrx.db") != 0 && strcmp(base, "mrx.db-wal") != 0)
		return NULL;
	return base;
}

static void
copy_out(int fd, const char *dir, const char *name)
{
	char tmp[PATH_MAX + 32], dst[PATH_MAX + 32];
	static char buf[1 << 16];
	off_t off = 0;
	ssize_t n;
	int out;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s.durable", dir, name);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		die("open", tmp);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			die("write", tmp);
		off += n;
	}
	if (n < 0)
		die("pread for", dst);
	if (close(out) != 0)
		die("close", tmp);
	if (rename(tmp, dst) != 0)
		die("rename to", dst);
}

static void
model(int fd)
{
	const char *dir = getenv("MRX_POWERCUT_DIR");
	char path[PATH_MAX];
	const char *name;
	int e = errno;

	if (dir == NULL || dir[0] == '\0')
		return;
	if ((name = kept_name(fd, path, sizeof(path))) == NULL)
		return;
	if (getenv("MRX_POWERCUT_DELAY_US") != NULL)
		usleep((useconds_t)atoi(getenv("MRX_POWERCUT_DELAY_US")));
	pthread_mutex_lock(&mu);
	copy_out(fd, dir, name);
	pthread_mutex_unlock(&mu);
	errno = e;
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	model(fd);
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	model(fd);
	return real(fd);
}
