/*
 * nngstall.c - an LD_PRELOAD library for tests/test_faults.py: nng_close()
 * never returns, as nng 1.5.2's can hang when a pipe closes while a send is
 * still under way (docs/design-notes.md, "Stopping right after a burst of
 * feed messages"). mrxd preloaded with it must still stop on SIGTERM
 * within its bound, exit 0 and say why in its log, and its store must be
 * whole afterwards.
 */
#include <nng/nng.h>
#include <unistd.h>

int
nng_close(nng_socket s)
{
	(void)s;
	for (;;)
		pause();
}
