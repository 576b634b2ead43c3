/*
 * rng.h - the simulator's seeded pseudo-random numbers: xoshiro256** with
 * state filled by splitmix64, one independent stream per subsystem.
 *
 * Every draw the simulator makes comes from a stream derived from the run's
 * seed and the stream's name (sim_rng_init), so adding draws to one
 * subsystem (the network) never shifts another (the workload). Integer
 * arithmetic only: probabilities are in parts per million, ranges are
 * drawn without modulo bias. No global state.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_PPM 1000000u	/* probability 1 in parts per million */

struct sim_rng {
	uint64_t s[4];		/* xoshiro256** state, never all zero */
};

/* splitmix64: the next value of *x (advanced). */
uint64_t sim_splitmix64(uint64_t *x);

/* Seeds `r` from `seed` and the stream name `stream` (any text). */
void sim_rng_init(struct sim_rng *r, uint64_t seed, const char *stream);

uint64_t sim_rng_u64(struct sim_rng *r);

/* Uniform in 0..n-1 (n >= 1), without modulo bias. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* Uniform in lo..hi, both included (lo <= hi). */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);

/* True with probability ppm / 1e6. */
bool sim_rng_chance(struct sim_rng *r, uint32_t ppm);

/* n pseudo-random bytes. */
void sim_rng_bytes(struct sim_rng *r, uint8_t *p, size_t n);

#endif
