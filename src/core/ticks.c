/* The two clocks of ticks.h side by side. */
#include "invrg/ticks.h"

#include <mpi.h>

invrg_ticks_mark invrg_ticks_now(void) {
  const invrg_ticks_mark m = {MPI_Wtime(), invrg_ticks()};
  return m;
}

double invrg_ticks_seconds_per_tick(invrg_ticks_mark from, invrg_ticks_mark to) {
  if (to.ticks <= from.ticks) return 0.0;
  return (to.wall - from.wall) / (double)(to.ticks - from.ticks);
}
