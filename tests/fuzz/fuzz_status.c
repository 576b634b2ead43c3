/*
 * fuzz_status.c - status list decompression of untrusted bytes:
 * proto_status_list_unpack() (protocol/status.c), the zlib "lst" of a
 * status-list record.
 *
 * Properties:
 *  - the work and memory are bounded whatever the stream (a zlib bomb is
 *    MRX_ETOOBIG, never an allocation of what it claims; ASan's and
 *    libFuzzer's RSS and malloc limits would report otherwise);
 *  - on error the list is unchanged (its size, bits pointer and content),
 *    the code is a documented one and the diag names the lst field;
 *  - on success the size is 4 entries per inflated byte, within
 *    4..PROTO_STATUS_ENTRIES_MAX; proto_status_list_check() (with no
 *    reasons) passes exactly when an independent scan finds every entry
 *    valid; and packing the bits and unpacking them gives the same bits.
 * Inputs over FUZZ_STATUS_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzkit.h"
#include "record.h"

#define FUZZ_STATUS_MAX 65536
#define STATUS_FIELD_LST "payload.status_list.lst"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* True when every entry of the n bytes is 0 (valid). */
static bool
all_valid(const uint8_t *bits, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (bits[i] != 0)
			return false;
	return true;
}

static void
check_unpacked(struct proto_status_list *sl)
{
	struct proto_status_list again;
	struct mrx_diag d;
	uint8_t *lst = NULL;
	size_t n = sl->size / 4, lst_len = 0;
	int rc;

	FUZZ_CHECK(sl->size >= 4 && sl->size % 4 == 0 &&
	    sl->size <= PROTO_STATUS_ENTRIES_MAX, "size %u", sl->size);
	FUZZ_CHECK(sl->bits != NULL, "no bits");
	mrx_diag_clear(&d);
	rc = proto_status_list_check(sl, &d);
	/* no reasons: consistent exactly when every entry is valid */
	FUZZ_CHECK((rc == 0) == all_valid(sl->bits, n),
	    "check says %d, yet the scan finds %s", rc,
	    all_valid(sl->bits, n) ? "every entry valid" : "entries not valid");
	rc = proto_status_list_pack(sl, &lst, &lst_len);
	FUZZ_CHECK(rc == 0 && lst != NULL, "pack: %d", rc);
	memset(&again, 0, sizeof(again));
	rc = proto_status_list_unpack(&again, lst, lst_len, &d);
	FUZZ_CHECK(rc == 0 && again.size == sl->size &&
	    memcmp(again.bits, sl->bits, n) == 0,
	    "pack then unpack: rc %d, %u entries of %u", rc, again.size,
	    sl->size);
	free(lst);
	proto_status_list_fini(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pattern = 0x24;	/* valid, suspended, revoked */
	struct proto_status_list sl;
	struct mrx_diag d;
	uint8_t *old;
	int rc;

	if (size > FUZZ_STATUS_MAX)
		return 0;
	memset(&sl, 0, sizeof(sl));
	FUZZ_CHECK(proto_status_list_init(&sl, 4) == 0, "init");
	sl.bits[0] = pattern;
	old = sl.bits;
	mrx_diag_clear(&d);
	rc = proto_status_list_unpack(&sl, size > 0 ? data : NULL, size, &d);
	if (rc != 0) {
		FUZZ_CHECK(rc == MRX_ETOOBIG || rc == MRX_EMALFORMED ||
		    rc == MRX_ETRAILING || rc == MRX_ERANGE || rc == MRX_ENOMEM,
		    "unpack: undocumented code %d", rc);
		FUZZ_CHECK(rc == MRX_ENOMEM || (d.code == rc &&
		    strcmp(d.field, STATUS_FIELD_LST) == 0),
		    "unpack: diag %d on '%s'", d.code, d.field);
		FUZZ_CHECK(sl.size == 4 && sl.bits == old &&
		    sl.bits[0] == pattern, "a failed unpack changed the list");
	} else {
		check_unpacked(&sl);
	}
	proto_status_list_fini(&sl);
	return 0;
}
