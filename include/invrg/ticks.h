/**
 * @file ticks.h
 * A cheap clock for costs taken many times a second (the dream stage's costs per level, four
 * readings per level of every dream): the processor's time-stamp counter on x86 (a few
 * nanoseconds to read, where clock_gettime takes 20–50 ns under a hypervisor), else the
 * monotonic clock in nanoseconds. A tick has no fixed length: a caller turns ticks into
 * seconds with the seconds per tick of an interval it also timed by the wall clock
 * (invrg_ticks_seconds_per_tick), so costs summed in ticks add up to the wall time of that
 * interval. Not collective.
 */
#ifndef INVRG_TICKS_H
#define INVRG_TICKS_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t invrg_ticks(void) { return (uint64_t)__rdtsc(); }
#else
#include <time.h>
static inline uint64_t invrg_ticks(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec;
}
#endif

/** A moment on both clocks: the wall clock (MPI_Wtime) and the ticks. */
typedef struct {
  double wall;
  uint64_t ticks;
} invrg_ticks_mark;

/** Now, on both clocks. */
invrg_ticks_mark invrg_ticks_now(void);

/** Seconds per tick between two marks (0 when the ticks did not advance). */
double invrg_ticks_seconds_per_tick(invrg_ticks_mark from, invrg_ticks_mark to);

#endif
