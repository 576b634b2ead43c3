/*
 * rng.c - xoshiro256** streams seeded by splitmix64 (see rng.h).
 *
 * The stream name is folded into the seed with FNV-1a, then splitmix64
 * fills the four state words, which cannot all be zero because splitmix64
 * is a bijection of a counter that never repeats within four steps.
 */
#include "rng.h"

#include <assert.h>

uint64_t
sim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
sim_rng_init(struct sim_rng *r, uint64_t seed, const char *stream)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325), x;
	const unsigned char *p = (const unsigned char *)stream;
	int i;

	for (; p != NULL && *p != '\0'; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	x = seed ^ h;
	for (i = 0; i < 4; i++)
		r->s[i] = sim_splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_u64(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t
sim_rng_below(struct sim_rng *r, uint64_t n)
{
	uint64_t x, lim;

	assert(n >= 1);
	/* reject the top partial block so every residue is equally likely */
	lim = UINT64_MAX - UINT64_MAX % n;
	do
		x = sim_rng_u64(r);
	while (x >= lim);
	return x % n;
}

int64_t
sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
	assert(lo <= hi);
	return lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1);
}

bool
sim_rng_chance(struct sim_rng *r, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (ppm >= SIM_PPM)
		return true;
	return sim_rng_below(r, SIM_PPM) < ppm;
}

void
sim_rng_bytes(struct sim_rng *r, uint8_t *p, size_t n)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			x = sim_rng_u64(r);
		p[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}
