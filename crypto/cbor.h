/*
 * cbor.h - the project's one wrapper around libcbor: a zero-copy, strict CBOR
 * reader and a bounded deterministic writer.
 *
 * Reader: cry_cbor_next() reads one data item head at a time from a byte span
 * (strings are returned as pointers into the input, never copied, nothing is
 * allocated). It rejects what mrx never accepts on the wire: indefinite
 * lengths, break codes, reserved additional-information values, and nesting
 * deeper than CRY_CBOR_DEPTH_MAX. It reports, but does not reject, whether a
 * head used the shortest form, so that record decoders can insist on core
 * deterministic encoding (RFC 8949 4.2.1) while COSE envelopes made by other
 * implementations are still read.
 *
 * Writer: cry_cbor_put_*() append to a caller-owned buffer of fixed capacity.
 * Heads are always shortest-form. The first failure (MRX_ENOSPC) is sticky:
 * later puts do nothing and cry_cbor_wr_finish() reports it. Map key order is
 * the caller's responsibility (write keys in bytewise order of their encoding).
 */
#ifndef CRY_CBOR_H
#define CRY_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"

#define CRY_CBOR_DEPTH_MAX 16	/* nesting limit for skip and for decoders */

enum cry_cbor_type {
	CRY_CBOR_UINT = 0,	/* major 0; value in .val */
	CRY_CBOR_NEGINT,	/* major 1; the integer is -1 - .val */
	CRY_CBOR_BSTR,		/* major 2; .ptr/.val = data/length */
	CRY_CBOR_TSTR,		/* major 3; .ptr/.val = data/length (not checked UTF-8) */
	CRY_CBOR_ARRAY,		/* major 4; .val = number of items */
	CRY_CBOR_MAP,		/* major 5; .val = number of pairs */
	CRY_CBOR_TAG,		/* major 6; .val = tag number; the tagged item follows */
	CRY_CBOR_FALSE,
	CRY_CBOR_TRUE,
	CRY_CBOR_NULL,
	CRY_CBOR_UNDEF,
	CRY_CBOR_FLOAT,		/* any float width; the value is not decoded */
};

/* One data item head, as read by cry_cbor_next(). */
struct cry_cbor_item {
	enum cry_cbor_type type;	/* what the head is */
	uint64_t val;			/* see enum cry_cbor_type */
	const uint8_t *ptr;		/* string data inside the input, else NULL */
	size_t off;			/* offset of the head in the input */
	size_t len;			/* bytes of head (+ string data) */
	bool shortest;			/* head used the shortest encoding */
};

/* A read cursor over `len` bytes at `buf`; the bytes must outlive it. */
struct cry_cbor_rd {
	const uint8_t *buf;	/* input, not owned */
	size_t len;		/* input length */
	size_t off;		/* next byte to read */
};

void cry_cbor_rd_init(struct cry_cbor_rd *rd, const uint8_t *buf, size_t len);

/*
 * Reads the next item head into `it` and advances past it (and past string
 * data). For arrays, maps and tags only the head is consumed: the contained
 * items follow. Returns 0, MRX_ETRUNC when the input ends inside the item,
 * MRX_EINDEF for indefinite lengths or a break, MRX_EMALFORMED for reserved
 * encodings. On error `rd` is unchanged and `diag` names the byte offset.
 */
int cry_cbor_next(struct cry_cbor_rd *rd, struct cry_cbor_item *it,
    struct mrx_diag *diag);

/*
 * Skips the content of `it` (an item just read by cry_cbor_next()): the
 * elements of an array, the pairs of a map, the item under a tag; nothing for
 * other types. Enforces CRY_CBOR_DEPTH_MAX. Returns 0 or an error as above.
 */
int cry_cbor_skip(struct cry_cbor_rd *rd, const struct cry_cbor_item *it,
    struct mrx_diag *diag);

/* Reads one whole item (head and content) and reports its byte span. */
int cry_cbor_read_span(struct cry_cbor_rd *rd, size_t *start, size_t *end,
    struct mrx_diag *diag);

/* True when the cursor has consumed all input. */
bool cry_cbor_rd_done(const struct cry_cbor_rd *rd);

/* A bounded output buffer; the caller owns `buf`. */
struct cry_cbor_wr {
	uint8_t *buf;	/* output, not owned (may be NULL with cap 0 to measure) */
	size_t cap;	/* capacity of buf */
	size_t len;	/* bytes written (or needed, once err is set) */
	int err;	/* first error, sticky */
};

void cry_cbor_wr_init(struct cry_cbor_wr *wr, uint8_t *buf, size_t cap);
void cry_cbor_put_uint(struct cry_cbor_wr *wr, uint64_t v);
void cry_cbor_put_int(struct cry_cbor_wr *wr, int64_t v);
void cry_cbor_put_bstr(struct cry_cbor_wr *wr, const void *p, size_t n);
/* Only the head of a byte string of n bytes; the caller puts the bytes. */
void cry_cbor_put_bstr_head(struct cry_cbor_wr *wr, size_t n);
void cry_cbor_put_tstr(struct cry_cbor_wr *wr, const char *s);
void cry_cbor_put_tstrn(struct cry_cbor_wr *wr, const char *s, size_t n);
void cry_cbor_put_array(struct cry_cbor_wr *wr, size_t n);
void cry_cbor_put_map(struct cry_cbor_wr *wr, size_t n);
void cry_cbor_put_tag(struct cry_cbor_wr *wr, uint64_t tag);
void cry_cbor_put_bool(struct cry_cbor_wr *wr, bool b);
void cry_cbor_put_null(struct cry_cbor_wr *wr);
/* Appends bytes that are already CBOR. */
void cry_cbor_put_raw(struct cry_cbor_wr *wr, const void *p, size_t n);

/* Returns 0 and the length written, or the sticky error (MRX_ENOSPC). */
int cry_cbor_wr_finish(const struct cry_cbor_wr *wr, size_t *len);

#endif
